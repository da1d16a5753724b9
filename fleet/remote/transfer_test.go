package remote

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLocalSumIsRecomputedWhenTheFileChanges(t *testing.T) {
	p := filepath.Join(t.TempDir(), "bundle.tar")
	want := func(data string) string {
		s := sha256.Sum256([]byte(data))
		return hex.EncodeToString(s[:])
	}
	write := func(data string, mtime time.Time) {
		t.Helper()
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Unix(1_700_000_000, 0)
	write("first", t0)
	for i := 0; i < 2; i++ {
		sum, size, err := fileSHA256(p)
		if err != nil || sum != want("first") || size != 5 {
			t.Fatalf("call %d: got %s %d %v, want the sum of %q", i, sum, size, err, "first")
		}
	}
	// Same size, new content and time: a sum kept by path alone would be stale.
	write("other", t0.Add(time.Second))
	if sum, _, err := fileSHA256(p); err != nil || sum != want("other") {
		t.Fatalf("after the change: got %s %v, want the sum of %q", sum, err, "other")
	}
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	if _, _, err := fileSHA256(p); err == nil {
		t.Fatal("a removed file: want an error, got a sum")
	}
}

// TestSHA256FuncWithAndWithoutOpenSSL runs the shell function with only
// one of its two tools on PATH: both must print the same bare hex sum.
func TestSHA256FuncWithAndWithoutOpenSSL(t *testing.T) {
	data := strings.Repeat("kubeadmin", 1000)
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256([]byte(data))
	want := hex.EncodeToString(s[:])
	for _, tool := range []string{"openssl", "sha256sum"} {
		bin := t.TempDir()
		for _, c := range []string{"sh", "cut", tool} {
			path, err := exec.LookPath(c)
			if err != nil {
				t.Skipf("%s is not installed", c)
			}
			if err := os.Symlink(path, filepath.Join(bin, c)); err != nil {
				t.Fatal(err)
			}
		}
		l := NewLocal()
		l.Env = []string{"PATH=" + bin}
		for _, cmd := range []string{"sha256hex " + p, "sha256hex < " + p} {
			res, err := l.Run(context.Background(), SHA256Func+cmd, RunOptions{})
			if got := strings.TrimSpace(res.Stdout); err != nil || got != want {
				t.Errorf("with %s, %q printed %q (%v), want %s", tool, cmd, got, err, want)
			}
		}
	}
}
