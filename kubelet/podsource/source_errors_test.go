package podsource

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// failingFS makes a Source's directory reads (or the stat of one path)
// fail with err while it is set; safe for use from Run's goroutine.
type failingFS struct {
	mu       sync.Mutex
	err      error
	statPath string // if set, only the stat of this path fails, not readDir
}

func (f *failingFS) set(err error) {
	f.mu.Lock()
	f.err = err
	f.mu.Unlock()
}

func (f *failingFS) current() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

func (f *failingFS) install(s *Source) {
	s.readDir = func(dir string) ([]os.DirEntry, error) {
		if err := f.current(); err != nil && f.statPath == "" {
			return nil, &fs.PathError{Op: "open", Path: dir, Err: err}
		}
		return os.ReadDir(dir)
	}
	s.stat = func(p string) (os.FileInfo, error) {
		if err := f.current(); err != nil && f.statPath == p {
			return nil, &fs.PathError{Op: "stat", Path: p, Err: err}
		}
		return os.Stat(p)
	}
}

func uids(snap Snapshot) string {
	var out []string
	for _, p := range snap.Pods {
		out = append(out, string(p.UID)+"@"+p.Annotations[ConfigSeenAnnotation])
	}
	return strings.Join(out, ",")
}

// A read error of the directory (or of one file's metadata) keeps the pods
// of the last good read, names the path and the cause, and clears once the
// read works again.
func TestListKeepsPodsWhenTheDirectoryCannotBeRead(t *testing.T) {
	for _, tc := range []struct {
		name     string
		err      error
		statPath string // "" fails readDir; "dir" the directory's stat; a file name that file's stat
	}{
		{"permission denied", syscall.EACCES, ""},
		{"too many open files", syscall.EMFILE, ""},
		{"I/O error", syscall.EIO, ""},
		{"stat of the directory", syscall.EIO, "dir"},
		{"stat of one file", syscall.EIO, "b.yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, "a.yaml", podFile("a", "x"))
			write(t, dir, "b.yaml", podFile("b", "x"))
			s := New(dir, "n1", time.Hour, nil)
			ffs := &failingFS{}
			switch tc.statPath {
			case "":
			case "dir":
				ffs.statPath = dir
			default:
				ffs.statPath = filepath.Join(dir, tc.statPath)
			}
			ffs.install(s)
			good := s.List()
			if len(good.Pods) != 2 {
				t.Fatalf("first read: %+v", good)
			}
			ffs.set(tc.err)
			bad := s.List()
			if got, want := uids(bad), uids(good); got != want {
				t.Errorf("pods after a read error = %s, want the previous %s", got, want)
			}
			if len(bad.Errors) != 1 || !strings.Contains(bad.Errors[0].Error, tc.err.Error()) || !strings.Contains(bad.Errors[0].Error, "keeping") {
				t.Fatalf("errors = %+v, want one naming %q and saying the pods are kept", bad.Errors, tc.err)
			}
			if want := ffs.statPath; want != "" && bad.Errors[0].File != want || want == "" && bad.Errors[0].File != dir {
				t.Errorf("error names %q", bad.Errors[0].File)
			}
			if bad.Files[string(good.Pods[1].UID)] != filepath.Join(dir, "b.yaml") {
				t.Errorf("files = %v", bad.Files)
			}
			ffs.set(nil)
			again := s.List()
			if uids(again) != uids(good) || len(again.Errors) != 0 {
				t.Errorf("after the error cleared: pods %s, errors %+v", uids(again), again.Errors)
			}
		})
	}
}

// Until one read of the directory has worked the source sends nothing:
// an empty snapshot would tell the agent to stop the pods it finds in the
// runtime. The problem is available from Err meanwhile.
func TestRelistSendsNothingBeforeTheFirstGoodRead(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.yaml", podFile("a", "x"))
	s := New(dir, "n1", time.Hour, nil)
	ffs := &failingFS{}
	ffs.install(s)
	ffs.set(syscall.EMFILE)
	s.relist()
	select {
	case snap := <-s.Updates():
		t.Fatalf("snapshot sent after a failed first read: %+v", snap)
	default:
	}
	if err := s.Err(); err == nil || !errors.Is(err, syscall.EMFILE) || !strings.Contains(err.Error(), dir) {
		t.Errorf("Err() = %v, want the directory and EMFILE", err)
	}
	ffs.set(nil)
	s.relist()
	select {
	case snap := <-s.Updates():
		if len(snap.Pods) != 1 || len(snap.Errors) != 0 {
			t.Errorf("snapshot = %+v", snap)
		}
	default:
		t.Fatal("no snapshot after a good read")
	}
	if err := s.Err(); err != nil {
		t.Errorf("Err() = %v after a good read", err)
	}
}

// Run retries a failed read on its re-list period; the first snapshot it
// sends is the real content, and a later failure keeps the pods.
func TestRunRetriesAFailedRead(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.yaml", podFile("a", "x"))
	s := New(dir, "n1", 10*time.Millisecond, nil)
	ffs := &failingFS{}
	ffs.install(s)
	ffs.set(syscall.EIO)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { defer close(done); s.Run(ctx) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(5 * time.Second)
	for s.Err() == nil && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	ffs.set(nil)
	if snap := next(t, s); len(snap.Pods) != 1 || len(snap.Errors) != 0 {
		t.Fatalf("first snapshot = %+v, want the pod of a.yaml", snap)
	}
	ffs.set(syscall.EIO)
	snap := next(t, s)
	if len(snap.Pods) != 1 || len(snap.Errors) != 1 || snap.Errors[0].File != dir {
		t.Errorf("snapshot after a failed re-list = %+v, want the pod kept and the error", snap)
	}
}

// An empty staticPodPath means there is no file source: Run sends no
// snapshot at all, so nothing running is stopped on its account.
func TestRunWithoutPathSendsNothing(t *testing.T) {
	s := New("", "n1", time.Hour, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s.Run(ctx)
	select {
	case snap := <-s.Updates():
		t.Fatalf("snapshot sent without a static pod path: %+v", snap)
	default:
	}
	if err := s.Err(); err != nil {
		t.Errorf("Err() = %v", err)
	}
}

// A directory that does not exist (any more) holds no pods, as in the
// upstream kubelet: removing it is how every static pod is removed.
func TestListMissingDirectoryHasNoPods(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "manifests")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, dir, "a.yaml", podFile("a", "x"))
	s := New(dir, "n1", time.Hour, nil)
	if n := len(s.List().Pods); n != 1 {
		t.Fatalf("pods = %d", n)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if snap := s.List(); len(snap.Pods) != 0 || len(snap.Errors) != 0 {
		t.Errorf("missing directory: %+v", snap)
	}
}
