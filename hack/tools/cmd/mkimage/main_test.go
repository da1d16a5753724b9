package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	if err := os.WriteFile(bin, []byte("x"), 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out", "img.tar")
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{name: "ok", args: []string{"--output", out, "--tag", "example.test/a:v1", "--file", bin + ":/a", "--entrypoint", "/a", "--env", "PATH=/bin"}},
		{name: "no output", args: []string{"--tag", "example.test/a:v1"}, wantErr: "--output is required"},
		{name: "no tag", args: []string{"--output", out}, wantErr: "no --tag"},
		{name: "bad file", args: []string{"--output", out, "--tag", "example.test/a:v1", "--file", bin}, wantErr: "want src:dst"},
		{name: "stray arg", args: []string{"--output", out, "extra"}, wantErr: `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := run(tt.args, io.Discard)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("run: %v", err)
				}
				if fi, err := os.Stat(out); err != nil || fi.Size() == 0 {
					t.Fatalf("no tarball written at %s: %v", out, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("run(%v) error = %v, want containing %q", tt.args, err, tt.wantErr)
			}
		})
	}
}
