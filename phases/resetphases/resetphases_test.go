package resetphases

import (
	"os"
	"path/filepath"
	"testing"
)

func TestRemoveAllPodsReportsAnUnreachableRuntime(t *testing.T) {
	_, err := removeAllPods("unix://" + filepath.Join(t.TempDir(), "none.sock"))
	if err == nil {
		t.Fatal("no error for a runtime that is not there")
	}
}

func TestCleanDirKeepsTheDirectory(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"a", "sub/b"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := cleanDir(dir); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 0 {
		t.Errorf("entries %v, err %v", entries, err)
	}
	if err := cleanDir(filepath.Join(dir, "missing")); err != nil {
		t.Errorf("a missing directory is an error: %v", err)
	}
}
