package volume

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func files(kv ...string) payload {
	p := payload{}
	for i := 0; i+1 < len(kv); i += 2 {
		p[kv[i]] = projFile{data: []byte(kv[i+1]), mode: 0o644}
	}
	return p
}

// A content change is a new timestamped directory behind ..data; the old
// one goes, and a key no longer there loses its link. No change writes
// nothing.
func TestWriteAtomicUpdates(t *testing.T) {
	dir := t.TempDir()
	if wrote, err := writeAtomic(dir, files("a", "1", "sub/b", "1", "gone", "x"), ownership{}); err != nil || !wrote {
		t.Fatalf("first write: %v, %v", wrote, err)
	}
	first := mustReadlink(t, filepath.Join(dir, dataDirName))

	if wrote, err := writeAtomic(dir, files("a", "1", "sub/b", "1", "gone", "x"), ownership{}); err != nil || wrote {
		t.Fatalf("same content: wrote %v, %v; want no write", wrote, err)
	}
	if cur := mustReadlink(t, filepath.Join(dir, dataDirName)); cur != first {
		t.Errorf("same content moved ..data from %q to %q", first, cur)
	}

	if wrote, err := writeAtomic(dir, files("a", "2", "sub/b", "2"), ownership{}); err != nil || !wrote {
		t.Fatalf("update: %v, %v", wrote, err)
	}
	second := mustReadlink(t, filepath.Join(dir, dataDirName))
	if second == first {
		t.Fatal("an update kept the timestamped directory")
	}
	if _, err := os.Lstat(filepath.Join(dir, first)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("old directory %q still there: %v", first, err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "gone")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("link of a removed key still there: %v", err)
	}
	for _, p := range []string{"a", "sub/b"} {
		if data, err := os.ReadFile(filepath.Join(dir, p)); err != nil || string(data) != "2" {
			t.Errorf("%s = %q, %v; want 2", p, data, err)
		}
	}
	if _, err := os.Lstat(filepath.Join(dir, newDataDirName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s left behind: %v", newDataDirName, err)
	}
}

// A reader that resolves ..data once reads one version of every file,
// whatever updates run meanwhile.
func TestWriteAtomicReadersSeeOneVersion(t *testing.T) {
	dir := t.TempDir()
	_, err := writeAtomic(dir, files("a", "0", "b", "0"), ownership{})
	must(t, err)
	const updates = 40
	var wg sync.WaitGroup
	done := make(chan struct{})
	var torn []string
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			ts, err := os.Readlink(filepath.Join(dir, dataDirName))
			if err != nil {
				torn = append(torn, "..data unreadable: "+err.Error())
				return
			}
			a, errA := os.ReadFile(filepath.Join(dir, ts, "a"))
			b, errB := os.ReadFile(filepath.Join(dir, ts, "b"))
			if errA != nil || errB != nil {
				continue // that version was removed under the reader
			}
			if string(a) != string(b) {
				torn = append(torn, fmt.Sprintf("a=%s b=%s", a, b))
			}
		}
	}()
	for i := 1; i <= updates; i++ {
		v := fmt.Sprint(i)
		if _, err := writeAtomic(dir, files("a", v, "b", v), ownership{}); err != nil {
			close(done)
			wg.Wait()
			t.Fatal(err)
		}
	}
	close(done)
	wg.Wait()
	if len(torn) > 0 {
		t.Errorf("torn reads: %v", torn)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "a")); string(data) != fmt.Sprint(updates) {
		t.Errorf("a = %q after %d updates", data, updates)
	}
}

// What a crash between the steps leaves (a ..data_tmp link, a timestamped
// directory nothing points to) does not block the next write and goes.
func TestWriteAtomicAfterACrash(t *testing.T) {
	dir := t.TempDir()
	_, err := writeAtomic(dir, files("a", "1"), ownership{})
	must(t, err)
	orphan := filepath.Join(dir, "..2020_01_01_00_00_00.1")
	must(t, os.Mkdir(orphan, 0o755))
	must(t, os.Symlink(filepath.Base(orphan), filepath.Join(dir, newDataDirName)))
	if _, err := writeAtomic(dir, files("a", "2"), ownership{}); err != nil {
		t.Fatal(err)
	}
	es, err := os.ReadDir(dir)
	must(t, err)
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	if len(names) != 3 { // ..<ts>, ..data, a
		t.Errorf("entries after the write: %v", names)
	}
}

func TestWriteAtomicRefusesBadPaths(t *testing.T) {
	for _, p := range []string{"", "/etc/passwd", "../x", "a/../../x", "..data", "..x/y", strings.Repeat("n", 256)} {
		if _, err := writeAtomic(t.TempDir(), files(p, "x"), ownership{}); err == nil {
			t.Errorf("path %q accepted", p)
		}
	}
}

// A file where a directory was (or the reverse) is a new version, not an
// error.
func TestWriteAtomicFileReplacesDirectory(t *testing.T) {
	dir := t.TempDir()
	_, err := writeAtomic(dir, files("a/b", "1"), ownership{})
	must(t, err)
	if _, err := writeAtomic(dir, files("a", "2"), ownership{}); err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(filepath.Join(dir, "a")); err != nil || string(data) != "2" {
		t.Errorf("a = %q, %v", data, err)
	}
	if _, err := writeAtomic(dir, files("a/b", "3"), ownership{}); err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(filepath.Join(dir, "a", "b")); err != nil || string(data) != "3" {
		t.Errorf("a/b = %q, %v", data, err)
	}
}
