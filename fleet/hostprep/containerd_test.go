package hostprep

import (
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubeadmin/kubeadmin/fleet/remote"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func TestRenderContainerdConfigGolden(t *testing.T) {
	got := RenderContainerdConfig("registry.k8s.io/pause:3.10.2")
	golden := filepath.Join("testdata", "containerd-config.golden")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("RenderContainerdConfig:\n%s\nwant (%s):\n%s", got, golden, want)
	}
}

// hack/containerd.sh renders the same template: both must agree byte for
// byte, or a test node and a fleet host would restart containerd over it.
func TestRenderContainerdConfigMatchesHack(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	const img = "example.org/my/pause:9.9"
	cmd := exec.Command("bash", "../../hack/containerd.sh", "config")
	cmd.Env = append(os.Environ(), "CONTAINERD_SANDBOX_IMAGE="+img)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("hack/containerd.sh config: %v", err)
	}
	if got := RenderContainerdConfig(img); string(got) != string(out) {
		t.Errorf("Go renders\n%s\nhack/containerd.sh writes\n%s", got, out)
	}
}

func TestEnsureContainerdRefusesOtherOS(t *testing.T) {
	r := &fakeRunner{}
	f := &Facts{OSID: "rocky", OSVersion: "9.4", Arch: "x86_64", MissingPackages: []string{"containerd", "runc"}}
	_, err := EnsureContainerd(context.Background(), r, f, "")
	if err == nil || !strings.Contains(err.Error(), "rocky 9.4") || !strings.Contains(err.Error(), "containerd, runc") || !strings.Contains(err.Error(), "Debian and Ubuntu") {
		t.Fatalf("err = %v", err)
	}
	if len(r.commands) != 0 {
		t.Errorf("ran %q on an unsupported host", r.commands)
	}
}

func TestEnsureContainerdInstallsMissing(t *testing.T) {
	r := &fakeRunner{rules: []fakeRule{{match: "cmp -s", stdout: "written\n"}}}
	f := &Facts{OSID: "debian", Arch: "x86_64", MissingPackages: []string{"containerd", "containernetworking-plugins"}}
	changed, err := EnsureContainerd(context.Background(), r, f, "registry.k8s.io/pause:3.10.2")
	if err != nil || !changed {
		t.Fatalf("changed %v err %v", changed, err)
	}
	if len(r.commands) != 3 {
		t.Fatalf("commands = %q, want install, config, start", r.commands)
	}
	if !strings.Contains(r.commands[0], "install -y -qq --no-install-recommends containerd containernetworking-plugins") {
		t.Errorf("install command = %q", r.commands[0])
	}
	if r.stdins[1] != string(RenderContainerdConfig("registry.k8s.io/pause:3.10.2")) {
		t.Errorf("config written = %q", r.stdins[1])
	}
	if !strings.Contains(r.stdins[2], "setsid -f") || !strings.Contains(r.stdins[2], "kill -TERM") {
		t.Errorf("start script without systemd does not (re)start: %s", r.stdins[2])
	}
}

func TestEnsureContainerdNoChange(t *testing.T) {
	r := &fakeRunner{rules: []fakeRule{{match: "cmp -s", stdout: "unchanged\n"}}}
	f := &Facts{OSID: "debian", Arch: "x86_64", ContainerdInstalled: true, ContainerdRunning: true}
	changed, err := EnsureContainerd(context.Background(), r, f, "")
	if err != nil || changed || len(r.commands) != 1 {
		t.Fatalf("changed %v err %v commands %q: want only the config check", changed, err, r.commands)
	}
	if r.stdins[0] != string(RenderContainerdConfig(DefaultSandboxImage)) {
		t.Errorf("default sandbox image not used: %q", r.stdins[0])
	}
}

func TestEnsureContainerdSystemdEnables(t *testing.T) {
	r := &fakeRunner{rules: []fakeRule{{match: "cmp -s", stdout: "unchanged\n"}}}
	f := &Facts{OSID: "ubuntu", Arch: "x86_64", Systemd: true, ContainerdInstalled: true, ContainerdRunning: true}
	changed, err := EnsureContainerd(context.Background(), r, f, "")
	if err != nil || !changed || len(r.commands) != 2 {
		t.Fatalf("changed %v err %v commands %q", changed, err, r.commands)
	}
	s := r.stdins[1]
	if !strings.Contains(s, "systemctl enable --quiet containerd") || strings.Contains(s, "systemctl restart") || strings.Contains(s, "setsid") {
		t.Errorf("running, unchanged, not enabled: want enable+start only:\n%s", s)
	}
}

func TestEnsureContainerdBadSandboxImage(t *testing.T) {
	r := &fakeRunner{}
	if _, err := EnsureContainerd(context.Background(), r, &Facts{OSID: "debian"}, "pause\"\n[x]"); err == nil || len(r.commands) != 0 {
		t.Fatalf("err %v, commands %q", err, r.commands)
	}
}

func TestWriteFileIfChanged(t *testing.T) {
	p := filepath.Join(t.TempDir(), "etc/containerd/config.toml")
	l := remote.NewLocal()
	for i, want := range []bool{true, false} {
		got, err := writeFileIfChanged(context.Background(), l, p, []byte("a = 1\n"), 0o644)
		if err != nil || got != want {
			t.Fatalf("write %d: changed %v err %v, want %v", i, got, err, want)
		}
	}
	if got, err := writeFileIfChanged(context.Background(), l, p, []byte("a = 2\n"), 0o644); err != nil || !got {
		t.Fatalf("new content: changed %v err %v", got, err)
	}
	b, _ := os.ReadFile(p)
	st, _ := os.Stat(p)
	if string(b) != "a = 2\n" || st.Mode().Perm() != 0o644 {
		t.Errorf("file %q mode %v", b, st.Mode())
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(p), ".*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func TestEnsureIPForward(t *testing.T) {
	r := &fakeRunner{}
	if changed, err := EnsureIPForward(context.Background(), r, &Facts{IPForward: true}); err != nil || changed || len(r.commands) != 0 {
		t.Fatalf("on already: changed %v err %v commands %q", changed, err, r.commands)
	}
	changed, err := EnsureIPForward(context.Background(), r, &Facts{})
	if err != nil || !changed || len(r.commands) != 2 {
		t.Fatalf("changed %v err %v commands %q", changed, err, r.commands)
	}
	if !strings.Contains(r.commands[0], SysctlFile) || !strings.Contains(r.stdins[0], "net.ipv4.ip_forward = 1") || r.commands[1] != "echo 1 >"+IPForwardSysctl {
		t.Errorf("commands %q stdin %q", r.commands, r.stdins[0])
	}
}
