package volume

import (
	"os"
	"path/filepath"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestEmptyDirUsage(t *testing.T) {
	root := t.TempDir()
	pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{UID: "u1"}}
	dir := emptyDirPath(root, pod, "scratch")
	if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	empty, err := EmptyDirUsage(root, pod, "scratch")
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 3<<20)
	for i := range data {
		data[i] = byte(i)
	}
	if err := os.WriteFile(filepath.Join(dir, "sub", "big"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	// A second name of the same file is counted once.
	if err := os.Link(filepath.Join(dir, "sub", "big"), filepath.Join(dir, "again")); err != nil {
		t.Fatal(err)
	}
	got, err := EmptyDirUsage(root, pod, "scratch")
	if err != nil {
		t.Fatal(err)
	}
	if grew := got - empty; grew < 3<<20 || grew > 3<<20+64<<10 {
		t.Errorf("usage grew by %d bytes for a 3 MiB file (linked twice), want about 3 MiB", grew)
	}
	if _, err := EmptyDirUsage(root, pod, "missing"); err == nil {
		t.Error("a missing volume has no error")
	}
}
