package nodes

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestFindScript(t *testing.T) {
	root := t.TempDir()
	deep := filepath.Join(root, "test", "e2e", "nodes")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		create  bool
		start   string
		want    string
		wantErr bool
	}{
		{name: "found from a nested package", create: true, start: deep, want: filepath.Join(root, "hack", "nodes")},
		{name: "found from the root", create: true, start: root, want: filepath.Join(root, "hack", "nodes")},
		{name: "missing", create: false, start: deep, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			script := filepath.Join(root, "hack", "nodes")
			os.RemoveAll(filepath.Join(root, "hack"))
			if tc.create {
				if err := os.MkdirAll(filepath.Dir(script), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(script, []byte("#!/bin/sh\n"), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			got, err := findScript(tc.start)
			if (err != nil) != tc.wantErr {
				t.Fatalf("findScript(%q) error = %v, wantErr %v", tc.start, err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("findScript(%q) = %q, want %q", tc.start, got, tc.want)
			}
		})
	}
}

func TestScriptEnvOverride(t *testing.T) {
	t.Setenv(ScriptEnv, "/somewhere/nodes")
	got, err := Script()
	if err != nil || got != "/somewhere/nodes" {
		t.Fatalf("Script() = %q, %v; want %q, nil", got, err, "/somewhere/nodes")
	}
}

func TestParseUp(t *testing.T) {
	tests := []struct {
		name    string
		out     string
		want    map[string]string
		wantErr bool
	}{
		{name: "two nodes", out: "n1 10.77.0.2\nn2 10.77.0.3\n", want: map[string]string{"n1": "10.77.0.2", "n2": "10.77.0.3"}},
		{name: "blank lines ignored", out: "\nn1 10.77.0.2\n\n", want: map[string]string{"n1": "10.77.0.2"}},
		{name: "empty", out: "", want: map[string]string{}},
		{name: "not an address", out: "warning: something\n", wantErr: true},
		{name: "too many fields", out: "n1 10.77.0.2 up\n", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseUp(tc.out)
			if (err != nil) != tc.wantErr {
				t.Fatalf("parseUp error = %v, wantErr %v", err, tc.wantErr)
			}
			if !tc.wantErr && !reflect.DeepEqual(got, tc.want) {
				t.Errorf("parseUp = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestTail(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{in: "a\nb\nc\n", n: 2, want: "b\nc"},
		{in: "a\nb\n", n: 5, want: "a\nb"},
		{in: "", n: 3, want: ""},
	}
	for _, tc := range tests {
		if got := tail(tc.in, tc.n); got != tc.want {
			t.Errorf("tail(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

func TestRoot(t *testing.T) {
	t.Setenv(DirEnv, "/x/nodes")
	if got, want := Root(t, "n1"), "/x/nodes/n1/root"; got != want {
		t.Errorf("Root = %q, want %q", got, want)
	}
}

// TestUpExecDown brings up two real nodes (without images, so it is quick)
// and checks what the e2e tests rely on.
func TestUpExecDown(t *testing.T) {
	if os.Geteuid() != 0 {
		SkipOrFail(t, "test nodes need root")
	}
	if _, err := exec.LookPath("containerd"); err != nil {
		SkipOrFail(t, "containerd is not installed (hack/containerd.sh install)")
	}
	t.Setenv("KUBEADMIN_NODES_SKIP_IMAGES", "1")
	// A stand-in kubeadmin under /tmp, where a clone of the repository may
	// be: the node's systemd has a private /tmp and must still run it.
	binDir, err := os.MkdirTemp("/tmp", "nodes-test-bin-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(binDir) })
	fakeBin := filepath.Join(binDir, "kubeadmin")
	if err := os.WriteFile(fakeBin, []byte("#!/bin/sh\necho stand-in kubeadmin \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KUBEADMIN_BIN", fakeBin)
	a, b := fmt.Sprintf("nt%d-a", os.Getpid()), fmt.Sprintf("nt%d-b", os.Getpid())
	Up(t, a, b)

	ipA, ipB := IP(t, a), IP(t, b)
	if !strings.HasPrefix(ipA, "10.77.0.") || ipA == ipB {
		t.Fatalf("IP(%s) = %q, IP(%s) = %q: want two different 10.77.0.x addresses", a, ipA, b, ipB)
	}
	out, _, err := Exec(t, a, "hostname")
	if err != nil || strings.TrimSpace(out) != a {
		t.Fatalf("hostname in %s = %q, %v; want %q", a, out, err, a)
	}
	out, _, err = Exec(t, a, "ip", "-4", "-o", "addr", "show", "eth0")
	if err != nil || !strings.Contains(out, ipA+"/24") {
		t.Fatalf("eth0 of %s = %q, %v; want %s/24", a, out, err, ipA)
	}
	// eth0's MAC follows from the address (the last byte in hex), so that a
	// node that reuses an address keeps the host's ARP entry right.
	var last int
	fmt.Sscanf(ipA[strings.LastIndexByte(ipA, '.')+1:], "%d", &last)
	wantMAC := fmt.Sprintf("02:6b:6e:00:00:%02x", last)
	if out, _, err := Exec(t, a, "ip", "-o", "link", "show", "eth0"); err != nil || !strings.Contains(out, "link/ether "+wantMAC+" ") {
		t.Errorf("eth0 of %s = %q, %v; want MAC %s", a, out, err, wantMAC)
	}
	if _, _, err := Exec(t, b, "ping", "-c1", "-W2", ipA); err != nil && !isNotFound(err) {
		t.Errorf("ping %s from %s: %v", ipA, b, err)
	}
	if _, stderr, err := Exec(t, a, "sh", "-c", "echo only-a > /etc/kubernetes/marker"); err != nil {
		t.Fatalf("write in %s: %v %s", a, err, stderr)
	}
	if data, err := os.ReadFile(filepath.Join(Root(t, a), "etc/kubernetes/marker")); err != nil || string(data) != "only-a\n" {
		t.Errorf("the marker is not in %s's folder: %q, %v", a, data, err)
	}
	if _, _, err := Exec(t, b, "test", "-e", "/etc/kubernetes/marker"); err == nil {
		t.Errorf("a file written to /etc/kubernetes in %s is visible in %s", a, b)
	}
	if _, err := os.Stat("/etc/kubernetes/marker"); err == nil {
		t.Errorf("a file written to /etc/kubernetes in %s is visible on the host", a)
	}
	_, _, err = Exec(t, a, "sh", "-c", "exit 7")
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 7 {
		t.Errorf("exit code = %v, want 7", err)
	}
	if out, _, err := Exec(t, a, "ctr", "version"); err != nil || !strings.Contains(out, "Server:") {
		t.Errorf("containerd of %s does not answer: %q, %v", a, out, err)
	}

	// go fails at once inside a node (it has no route to the module proxy)
	// and says why and where to build.
	_, stderr, err := Exec(t, a, "go", "version")
	if err == nil || !strings.Contains(stderr, "go is not available inside test node "+a) || !strings.Contains(stderr, "on the host") {
		t.Errorf("go version in %s: err %v, stderr %q; want a failure saying go is not available in the node", a, err, stderr)
	}

	// The hack scripts never build inside a node: a missing tool is an
	// error that names the host command, not a build that cannot work.
	script, err := Script()
	if err != nil {
		t.Fatal(err)
	}
	tools := filepath.Join(filepath.Dir(script), "tools.sh")
	_, stderr, err = Exec(t, a, "env", "KUBEADMIN_CACHE="+t.TempDir(), tools, "path", "cristatus")
	if err == nil || !strings.Contains(stderr, "not built inside test node "+a) || !strings.Contains(stderr, "hack/tools.sh build on the host") {
		t.Errorf("tools.sh path cristatus in %s with an empty cache: err %v, stderr %q; want a failure naming the host command", a, err, stderr)
	}

	// kubeadmin is installed at the node's own fixed path, also for the
	// node's systemd, whose private /tmp hides the file it was copied from.
	if out, _, err := Exec(t, a, "sh", "-c", "command -v kubeadmin"); err != nil || strings.TrimSpace(out) != "/opt/kubeadmin/bin/kubeadmin" {
		t.Errorf("kubeadmin in %s is %q (%v), want /opt/kubeadmin/bin/kubeadmin", a, out, err)
	}
	if _, err := exec.LookPath("/usr/lib/systemd/systemd"); err != nil {
		SkipOrFail(t, "systemd is not installed (hack/containerd.sh install)")
	}
	Systemd(t, b)
	if out, stderr, err := Exec(t, b, "kubeadmin", "version"); err != nil || strings.TrimSpace(out) != "stand-in kubeadmin version" {
		t.Errorf("kubeadmin under systemd in %s: %q %q %v; want the stand-in from %s", b, out, stderr, err, fakeBin)
	}
	if out, _, err := Exec(t, b, "test", "-e", fakeBin); err == nil {
		t.Errorf("%s is visible under the systemd of %s (%q): the check above proves nothing", fakeBin, b, out)
	}

	if err := Down(a, b); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{a, b} {
		if _, err := os.Stat("/run/netns/" + n); err == nil {
			t.Errorf("network namespace %s left after Down", n)
		}
	}
	mounts, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{a, b} {
		if strings.Contains(string(mounts), "/"+n+"/") {
			t.Errorf("mounts of %s left after Down", n)
		}
	}
}

// tbRecorder records what SkipOrFail asks of its test.
type tbRecorder struct {
	testing.TB
	skipped, failed string
}

func (r *tbRecorder) Helper()          {}
func (r *tbRecorder) Skip(args ...any) { r.skipped = fmt.Sprint(args...) }
func (r *tbRecorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
}

func TestSkipOrFail(t *testing.T) {
	tests := []struct {
		ci       string
		wantSkip bool
	}{
		{ci: "", wantSkip: true},
		{ci: "false", wantSkip: true},
		{ci: "true", wantSkip: false},
	}
	for _, tc := range tests {
		t.Run("CI="+tc.ci, func(t *testing.T) {
			t.Setenv(CIEnv, tc.ci)
			r := &tbRecorder{TB: t}
			SkipOrFail(r, "no %s here", "containerd")
			if tc.wantSkip {
				if r.skipped != "no containerd here" || r.failed != "" {
					t.Errorf("skipped %q, failed %q; want a skip naming the prerequisite", r.skipped, r.failed)
				}
				return
			}
			if r.skipped != "" || !strings.Contains(r.failed, "no containerd here") || !strings.Contains(r.failed, "CI=true") {
				t.Errorf("skipped %q, failed %q; want a failure naming the prerequisite and CI=true", r.skipped, r.failed)
			}
		})
	}
}

func isNotFound(err error) bool {
	var ee *exec.ExitError
	return errors.As(err, &ee) && ee.ExitCode() == 127
}
