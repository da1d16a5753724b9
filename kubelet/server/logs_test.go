package server

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestWriteLogs(t *testing.T) {
	tests := []struct {
		name string
		o    LogOptions
		in   string
		want string
	}{
		{"all, partial lines joined", LogOptions{TailLines: -1, LimitBytes: -1}, criLog, "one\ntwo\nthree\n"},
		{"tail 0", LogOptions{TailLines: 0, LimitBytes: -1}, criLog, ""},
		{"since", LogOptions{TailLines: -1, LimitBytes: -1, Since: time.Date(2026, 1, 1, 0, 0, 2, 0, time.UTC)}, criLog, "two\nthree\n"},
		{"timestamps", LogOptions{TailLines: 1, LimitBytes: -1, Timestamps: true}, criLog, "2026-01-01T00:00:03Z three\n"},
		{"bad lines skipped", LogOptions{TailLines: -1, LimitBytes: -1}, "garbage\n2026-01-01T00:00:03Z stdout F ok\n", "ok\n"},
		{"incomplete last line ignored", LogOptions{TailLines: -1, LimitBytes: -1}, "2026-01-01T00:00:03Z stdout F ok\n2026-01-01T00:00:04Z stdout F par", "ok\n"},
		{"empty message", LogOptions{TailLines: -1, LimitBytes: -1}, "2026-01-01T00:00:03Z stdout F \n", "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := WriteLogs(context.Background(), strings.NewReader(tt.in), &out, tt.o, nil); err != nil {
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

func TestWriteLogsFollow(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	if err := os.WriteFile(path, []byte("2026-01-01T00:00:01Z stdout F first\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var stopped atomic.Bool
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- WriteLogs(context.Background(), f, out, LogOptions{Follow: true, TailLines: -1, LimitBytes: -1}, stopped.Load)
	}()
	w, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	_, _ = w.WriteString("2026-01-01T00:00:02Z stdout P sec")
	_, _ = w.WriteString("ond\n2026-01-01T00:00:02Z stdout F  half\n")
	deadline := time.Now().Add(5 * time.Second)
	for out.String() != "first\nsecond half\n" {
		if time.Now().After(deadline) {
			t.Fatalf("followed output = %q", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	_, _ = w.WriteString("2026-01-01T00:00:03Z stdout F last\n")
	stopped.Store(true)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("follow did not stop when the container stopped")
	}
	if got := out.String(); got != "first\nsecond half\nlast\n" {
		t.Errorf("output = %q", got)
	}
}

func TestParseLogOptions(t *testing.T) {
	now := time.Date(2026, 1, 1, 1, 0, 0, 0, time.UTC)
	q, _ := url.ParseQuery("follow=true&tailLines=10&sinceSeconds=60&limitBytes=7&timestamps=1")
	o, err := ParseLogOptions(q, now)
	want := LogOptions{Follow: true, Timestamps: true, TailLines: 10, LimitBytes: 7, Since: now.Add(-time.Minute)}
	if err != nil || !reflect.DeepEqual(o, want) {
		t.Errorf("got %+v, %v; want %+v", o, err, want)
	}
	for _, bad := range []string{"follow=maybe", "tailLines=-1", "sinceTime=yesterday"} {
		q, _ := url.ParseQuery(bad)
		if _, err := ParseLogOptions(q, now); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func TestRequestAttributes(t *testing.T) {
	tests := []struct {
		method, path string
		verb         string
		subs         []string
	}{
		{http.MethodGet, "/containerLogs/ns/p/c", "get", []string{"proxy"}},
		{http.MethodPost, "/exec/ns/p/c", "create", []string{"proxy"}},
		{http.MethodGet, "/pods", "get", []string{"pods", "proxy"}},
		{http.MethodGet, "/healthz", "get", []string{"healthz", "proxy"}},
		{http.MethodGet, "/stats/summary", "get", []string{"stats"}},
		{http.MethodGet, "/metrics", "get", []string{"metrics"}},
		{http.MethodGet, "/logs/syslog", "get", []string{"log"}},
		{http.MethodGet, "/podsx", "get", []string{"proxy"}},
	}
	for _, tt := range tests {
		r, _ := http.NewRequest(tt.method, "https://x"+tt.path, nil)
		verb, subs := requestAttributes(r)
		if verb != tt.verb || !reflect.DeepEqual(subs, tt.subs) {
			t.Errorf("%s %s = %s %v, want %s %v", tt.method, tt.path, verb, subs, tt.verb, tt.subs)
		}
	}
}

func TestEnsureServingCert(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	now := time.Now()
	certFile, keyFile, err := EnsureServingCert(dir, "node1", "10.0.0.5", now)
	if err != nil {
		t.Fatal(err)
	}
	for file, mode := range map[string]os.FileMode{certFile: 0o644, keyFile: 0o600} {
		st, err := os.Stat(file)
		if err != nil || st.Mode().Perm() != mode {
			t.Errorf("%s: %v mode %v, want %v", file, err, st.Mode().Perm(), mode)
		}
	}
	first, _ := os.ReadFile(certFile)
	if !usableCert(certFile, keyFile, now) {
		t.Fatal("the new pair is not usable")
	}
	if _, _, err := EnsureServingCert(dir, "node1", "10.0.0.5", now); err != nil {
		t.Fatal(err)
	}
	again, _ := os.ReadFile(certFile)
	if !bytes.Equal(first, again) {
		t.Errorf("a usable pair was not reused")
	}
	if _, _, err := EnsureServingCert(dir, "node1", "10.0.0.5", now.Add(2*servingValidity)); err != nil {
		t.Fatal(err)
	}
	renewed, _ := os.ReadFile(certFile)
	if bytes.Equal(first, renewed) {
		t.Errorf("an expired pair was reused")
	}
}
