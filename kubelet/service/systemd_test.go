package service

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fakeSystemd returns a systemdHost at a temporary tree and a systemctl that
// logs its arguments (and fails for the arguments in failOn).
func fakeSystemd(t *testing.T, failOn string) (h systemdHost, calls func() []string) {
	t.Helper()
	dir := t.TempDir()
	log := filepath.Join(dir, "systemctl.log")
	script := "#!/bin/sh\necho \"$*\" >> " + log + "\n"
	if failOn != "" {
		script += "[ \"$*\" = \"" + failOn + "\" ] && { echo 'Unit kubelet.service has a bad setting.' >&2; exit 1; }\n"
	}
	script += "exit 0\n"
	ctl := filepath.Join(dir, "systemctl")
	if err := os.WriteFile(ctl, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	h = systemdHost{
		runDir:     filepath.Join(dir, "run/systemd/system"),
		unitFile:   filepath.Join(dir, "etc/systemd/system/kubelet.service"),
		dropInFile: filepath.Join(dir, "etc/systemd/system/kubelet.service.d/10-kubeadm.conf"),
		systemctl:  ctl,
	}
	return h, func() []string {
		b, err := os.ReadFile(log)
		if os.IsNotExist(err) {
			return nil
		}
		if err != nil {
			t.Fatal(err)
		}
		return strings.Split(strings.TrimSpace(string(b)), "\n")
	}
}

func TestSystemdDetection(t *testing.T) {
	h, _ := fakeSystemd(t, "")
	if h.running() {
		t.Fatal("running() = true without the run directory")
	}
	if err := os.MkdirAll(h.runDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if !h.running() {
		t.Fatal("running() = false with the run directory")
	}
}

func TestStartUnit(t *testing.T) {
	h, calls := fakeSystemd(t, "")
	self := "/usr/local/bin/kubeadmin"
	if err := h.startUnit(self); err != nil {
		t.Fatal(err)
	}
	want := []string{"daemon-reload", "enable kubelet", "restart kubelet"}
	if got := calls(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("systemctl calls = %q, want %q", got, want)
	}
	unit, err := os.ReadFile(h.unitFile)
	if err != nil {
		t.Fatal(err)
	}
	dropIn, err := os.ReadFile(h.dropInFile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(unit), "ExecStart="+self+" kubelet\n") {
		t.Errorf("unit does not run %s kubelet:\n%s", self, unit)
	}
	for _, s := range []string{"EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env", "ExecStart=\nExecStart=" + self + " kubelet $KUBELET_KUBECONFIG_ARGS"} {
		if !strings.Contains(string(dropIn), s) {
			t.Errorf("drop-in lacks %q:\n%s", s, dropIn)
		}
	}
	for _, f := range []string{h.unitFile, h.dropInFile} {
		if fi, err := os.Stat(f); err != nil || fi.Mode().Perm() != 0o644 {
			t.Errorf("%s: mode %v, %v; want 0644", f, fi.Mode().Perm(), err)
		}
	}

	// Running the phase again converges: same files, same calls.
	if err := h.startUnit(self); err != nil {
		t.Fatal(err)
	}
	if got := calls(); len(got) != 6 || got[5] != "restart kubelet" {
		t.Errorf("second run: systemctl calls = %q", got)
	}
}

func TestStartUnitReportsSystemctlFailure(t *testing.T) {
	h, calls := fakeSystemd(t, "enable kubelet")
	err := h.startUnit("/usr/local/bin/kubeadmin")
	if err == nil {
		t.Fatal("no error when systemctl enable fails")
	}
	for _, s := range []string{"systemctl enable kubelet", "bad setting"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not contain %q", err, s)
		}
	}
	if got := calls(); len(got) != 2 {
		t.Errorf("went on after the failure: calls = %q", got)
	}
}

// TestKubeletUnitVerifies has systemd's own unit checker load the unit and
// its drop-in as systemd would, with the test binary as the agent.
func TestKubeletUnitVerifies(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed")
	}
	h, _ := fakeSystemd(t, "")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if err := h.startUnit(self); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", "--man=no", h.unitFile).CombinedOutput()
	// verify prints nothing for a clean unit; any line is a complaint about
	// it (or about the units it references, such as network-online.target).
	if err != nil || strings.Contains(string(out), "kubelet.service") {
		t.Fatalf("systemd-analyze verify %s: %v\n%s", h.unitFile, err, out)
	}
}
