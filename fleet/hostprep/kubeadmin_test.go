package hostprep

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestCheckBinaryArch(t *testing.T) {
	unames := map[string]string{"amd64": "x86_64", "arm64": "aarch64"}
	mine, ok := unames[runtime.GOARCH]
	if !ok || runtime.GOOS != "linux" {
		t.Skip("needs linux on amd64 or arm64")
	}
	exe, err := os.Executable() // this test binary
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckBinaryArch(exe, &Facts{Arch: mine}); err != nil {
		t.Errorf("own arch: %v", err)
	}
	other := "aarch64"
	if mine == other {
		other = "x86_64"
	}
	if err := CheckBinaryArch(exe, &Facts{Arch: other}); err == nil || !strings.Contains(err.Error(), "the host runs "+other) {
		t.Errorf("other arch: %v", err)
	}
	script := filepath.Join(t.TempDir(), "kubeadmin")
	writeExec(t, script, "echo hi\n")
	if err := CheckBinaryArch(script, &Facts{Arch: mine}); err == nil || !strings.Contains(err.Error(), "not a Linux (ELF) executable") {
		t.Errorf("script: %v", err)
	}
}

func TestInstallKubeadmin(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "kubeadmin")
	writeExec(t, bin, "echo v1\n")
	r := &fakeRunner{}
	changed, err := InstallKubeadmin(context.Background(), r, bin, nil)
	if err != nil || !changed || len(r.uploads) != 1 || r.uploads[0] != RemoteKubeadmin {
		t.Fatalf("changed %v err %v uploads %v", changed, err, r.uploads)
	}
	r.skip = true
	if changed, err := InstallKubeadmin(context.Background(), r, bin, nil); err != nil || changed {
		t.Errorf("same content: changed %v err %v", changed, err)
	}
}
