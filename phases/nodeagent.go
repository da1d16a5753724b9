package phases

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/kubeadmin/kubeadmin/internal/constants"
	"github.com/kubeadmin/kubeadmin/internal/fsutil"
	"github.com/kubeadmin/kubeadmin/kubelet/service"
	"github.com/kubeadmin/kubeadmin/templates"
)

// systemdHost is where and how the kubelet unit is installed. Tests point it
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

// SystemdRunning reports whether systemd is the init system.
func SystemdRunning() bool { return hostSystemd.running() }

// kubeletArgs are the node agent's arguments, as kubeadm's systemd drop-in
// passes them to the upstream kubelet.
func kubeletArgs() []string {
	return []string{
		"kubelet",
		"--bootstrap-kubeconfig=" + filepath.Join(constants.KubernetesDir, constants.KubeletBootstrapKubeConfigFile),
		"--kubeconfig=" + filepath.Join(constants.KubernetesDir, constants.KubeletKubeConfigFile),
		"--config=" + filepath.Join(constants.KubeletRunDir, constants.KubeletConfigFile),
	}
}

// StartKubelet (re)starts the node agent: as the systemd unit "kubelet"
// where systemd runs, otherwise under kubeadmin's supervisor. The running
// containers survive a restart of the agent: it adopts them.
func StartKubelet(flagsEnv []byte) error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("failed to find the kubeadmin binary: %w", err)
	}
	if hostSystemd.running() {
		return hostSystemd.startKubeletUnit(self)
	}
	args := append(kubeletArgs(), parseFlagsEnv(flagsEnv)...)
	o := service.Options{Name: "kubelet", PIDFile: constants.KubeletPidFile, LogFile: constants.KubeletLogFile, Command: self, Args: args}
	supArgs := append([]string{"supervise", "--name=kubelet", "--pid-file=" + o.PIDFile, "--log-file=" + o.LogFile, "--", self}, args...)
	if err := service.Start(o, self, supArgs, 10*time.Second); err != nil {
		return fmt.Errorf("failed to start the node agent: %w", err)
	}
	return nil
}

// startKubeletUnit writes the kubelet unit and kubeadm's drop-in for the
// agent and restarts it through systemd, as kubeadm does for the upstream
// kubelet (which its packages install).
func (h systemdHost) startKubeletUnit(self string) error {
	if err := fsutil.WriteFileAtomic(h.unitFile, templates.RenderKubeletUnit(self), 0o644, 0o755); err != nil {
		return err
	}
	if err := fsutil.WriteFileAtomic(h.dropInFile, templates.RenderKubeletDropIn(self), 0o644, 0o755); err != nil {
		return err
	}
	for _, args := range [][]string{{"daemon-reload"}, {"enable", "kubelet"}, {"restart", "kubelet"}} {
		if err := h.ctl(args...); err != nil {
			return err
		}
	}
	return nil
}

// StopKubelet stops the node agent, however it runs.
func StopKubelet() error {
	if hostSystemd.running() {
		if err := hostSystemd.ctl("stop", "kubelet"); err != nil {
			return err
		}
	}
	return service.Stop(constants.KubeletPidFile, 20*time.Second)
}
