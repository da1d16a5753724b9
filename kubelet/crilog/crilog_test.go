package crilog

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kubeadmin/kubeadmin/internal/testutil"
)

// criLog has full and partial lines on two streams.
const criLog = "2026-01-01T00:00:01.000000001Z stdout F one\n" +
	"2026-01-01T00:00:02Z stderr P tw\n" +
	"2026-01-01T00:00:02.5Z stderr F o\n" +
	"2026-01-01T00:00:03Z stdout F three\n"

func TestWrite(t *testing.T) {
	tests := []struct {
		name string
		o    Options
		in   string
		want string
	}{
		{"all, partial lines joined", Options{TailLines: -1, LimitBytes: -1}, criLog, "one\ntwo\nthree\n"},
		{"tail 0", Options{TailLines: 0, LimitBytes: -1}, criLog, ""},
		{"since", Options{TailLines: -1, LimitBytes: -1, Since: time.Date(2026, 1, 1, 0, 0, 2, 0, time.UTC)}, criLog, "two\nthree\n"},
		{"timestamps", Options{TailLines: 1, LimitBytes: -1, Timestamps: true}, criLog, "2026-01-01T00:00:03.000000000Z three\n"},
		{"bad lines skipped", Options{TailLines: -1, LimitBytes: -1}, "garbage\n2026-01-01T00:00:03Z stdout F ok\n", "ok\n"},
		{"incomplete last line ignored", Options{TailLines: -1, LimitBytes: -1}, "2026-01-01T00:00:03Z stdout F ok\n2026-01-01T00:00:04Z stdout F par", "ok\n"},
		{"empty message", Options{TailLines: -1, LimitBytes: -1}, "2026-01-01T00:00:03Z stdout F \n", "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := Write(context.Background(), strings.NewReader(tt.in), &out, tt.o, nil); err != nil {
				t.Fatal(err)
			}
			if out.String() != tt.want {
				t.Errorf("got %q, want %q", out.String(), tt.want)
			}
		})
	}
}

// syncBuffer is a goroutine-safe buffer.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// follow follows the log at path with Write (kubectl logs -f) in the
// background; stop tells it the container stopped and returns Write's
// error, failing the test if Write does not return.
func follow(t *testing.T, path string) (out *syncBuffer, stop func() error) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	var stopped atomic.Bool
	out = &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- Write(context.Background(), f, out, Options{Follow: true, TailLines: -1, LimitBytes: -1}, stopped.Load)
	}()
	return out, func() error {
		stopped.Store(true)
		select {
		case err := <-done:
			return err
		case <-time.After(5 * time.Second):
			t.Fatal("follow did not stop when the container stopped")
			return nil
		}
	}
}

func TestWriteFollow(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	if err := os.WriteFile(path, []byte("2026-01-01T00:00:01Z stdout F first\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, stop := follow(t, path)
	w, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	_, _ = w.WriteString("2026-01-01T00:00:02Z stdout P sec")
	_, _ = w.WriteString("ond\n2026-01-01T00:00:02Z stdout F  half\n")
	testutil.Eventually(t, "the two followed lines", func() bool { return out.String() == "first\nsecond half\n" })
	_, _ = w.WriteString("2026-01-01T00:00:03Z stdout F last\n")
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "first\nsecond half\nlast\n" {
		t.Errorf("output = %q", got)
	}
}

// A follower moves to the new file after the runtime reopens a rotated
// log, and keeps what was written to the old file meanwhile.
func TestWriteFollowAcrossRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	if err := os.WriteFile(path, []byte("2026-01-01T00:00:01Z stdout F before\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The runtime's write end of the current file.
	old, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	out, stop := follow(t, path)
	testutil.Eventually(t, "the first line", func() bool { return out.String() == "before\n" })

	// Rotation: rename, the runtime still writes to the old file until it
	// has reopened the log, then writes to a new file at the same path.
	if err := os.Rename(path, path+".20260101-000001"); err != nil {
		t.Fatal(err)
	}
	_, _ = old.WriteString("2026-01-01T00:00:02Z stdout F spl")
	if err := os.WriteFile(path, []byte("2026-01-01T00:00:03Z stdout F new one\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _ = old.WriteString("it\n")
	testutil.Eventually(t, "the line of the new file", func() bool { return strings.Contains(out.String(), "new one") })

	cur, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer cur.Close()
	_, _ = cur.WriteString("2026-01-01T00:00:04Z stdout F new two\n")
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), "before\nsplit\nnew one\nnew two\n"; got != want {
		t.Errorf("output = %q, want %q", got, want)
	}
}

// failingReader yields its data, then fails.
type failingReader struct{ data string }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.data == "" {
		return 0, errors.New("disk gone")
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

// Without tailLines entries are written as they are read, not collected
// first: what was read before a read error has been written.
func TestWriteStreamsWithoutTail(t *testing.T) {
	var out bytes.Buffer
	err := Write(context.Background(), &failingReader{data: "2026-01-01T00:00:01Z stdout F one\n"}, &out, Options{TailLines: -1, LimitBytes: -1}, nil)
	if err == nil || !strings.Contains(err.Error(), "disk gone") {
		t.Fatalf("error = %v, want the read error", err)
	}
	if out.String() != "one\n" {
		t.Errorf("written before the error = %q, want %q", out.String(), "one\n")
	}
}
