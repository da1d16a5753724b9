package service

import (
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/kubeadmin/kubeadmin/internal/constants"
	"github.com/kubeadmin/kubeadmin/internal/fsutil"
	"github.com/kubeadmin/kubeadmin/templates"
)

// Modes of the unit files and their directories.
const (
	unitFileMode os.FileMode = 0o644
	unitDirMode  os.FileMode = 0o755
)

// systemdHost is where and how the agent's unit is installed. Tests point it
// at a temporary directory and a stand-in systemctl.
type systemdHost struct {
	// runDir exists when systemd is the init system (sd_booted(3)).
	runDir     string
	unitFile   string
	dropInFile string
	systemctl  string
}

var hostSystemd = systemdHost{
	runDir:     constants.SystemdRunDir,
	unitFile:   constants.KubeletUnitFile,
	dropInFile: constants.KubeletDropInFile,
	systemctl:  "systemctl",
}

// running reports whether systemd is PID 1.
func (h systemdHost) running() bool {
	_, err := os.Stat(h.runDir)
	return err == nil
}

// ctl runs systemctl with args.
func (h systemdHost) ctl(args ...string) error {
	if out, err := exec.Command(h.systemctl, args...).CombinedOutput(); err != nil {
		return fmt.Errorf("failed to run systemctl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// startUnit writes the agent's unit and kubeadm's drop-in for it, then
// enables and restarts it, as kubeadm does for the upstream kubelet (whose
// packages install the unit).
func (h systemdHost) startUnit(self string) error {
	if err := fsutil.WriteFileAtomic(h.unitFile, templates.RenderKubeletUnit(self), unitFileMode, unitDirMode); err != nil {
		return err
	}
	if err := fsutil.WriteFileAtomic(h.dropInFile, templates.RenderKubeletDropIn(self), unitFileMode, unitDirMode); err != nil {
		return err
	}
	for _, args := range [][]string{{"daemon-reload"}, {"enable", agentName}, {"restart", agentName}} {
		if err := h.ctl(args...); err != nil {
			return err
		}
	}
	return nil
}
