package fsutil

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWriteFileAtomicSetsModeAndReplaces(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "sub", "f.conf")
	if err := WriteFileAtomic(p, []byte("one"), 0o600, 0o755); err != nil {
		t.Fatal(err)
	}
	// An existing file with a looser mode converges to the requested mode.
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(p, []byte("two"), 0o600, 0o755); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode = %o, want 600", st.Mode().Perm())
	}
	b, _ := os.ReadFile(p)
	if string(b) != "two" {
		t.Errorf("content = %q, want %q", b, "two")
	}
	entries, _ := os.ReadDir(filepath.Dir(p))
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

// The directory is synced after the rename, so a crash cannot bring back
// the old file (or none) once WriteFileAtomic returned.
func TestWriteFileAtomicSyncsTheDirectoryAfterTheRename(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "kubelet.conf")
	var synced []string
	orig := syncDir
	syncDir = func(d string) error {
		if b, err := os.ReadFile(p); err != nil || string(b) != "new" {
			t.Errorf("directory synced before the rename: %q, %v", b, err)
		}
		synced = append(synced, d)
		return orig(d)
	}
	t.Cleanup(func() { syncDir = orig })
	if err := WriteFileAtomic(p, []byte("new"), 0o600, 0o755); err != nil {
		t.Fatal(err)
	}
	if len(synced) != 1 || synced[0] != dir {
		t.Errorf("synced %q, want [%s]", synced, dir)
	}
}
