package phases

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	kubeletv1beta1 "k8s.io/kubelet/config/v1beta1"

	"github.com/kubeadmin/kubeadmin/internal/config"
	"github.com/kubeadmin/kubeadmin/internal/constants"
	"github.com/kubeadmin/kubeadmin/internal/fsutil"
	"github.com/kubeadmin/kubeadmin/kubelet/service"
	"github.com/kubeadmin/kubeadmin/manifests"
	"github.com/kubeadmin/kubeadmin/phases/workflow"
	"github.com/kubeadmin/kubeadmin/templates"
)

func newKubeletStartPhase() workflow.Phase {
	return workflow.Phase{
		Name:         "kubelet-start",
		Short:        "Write kubelet settings and (re)start the kubelet",
		Long:         "Write a file with KubeletConfiguration and an environment file with node specific kubelet settings, and then (re)start the node agent (kubeadmin kubelet).",
		Example:      "  # Writes a dynamic environment file with kubelet flags from a InitConfiguration file.\n  kubeadmin init phase kubelet-start --config config.yaml",
		InheritFlags: []string{FlagConfig, FlagImageRepository, FlagCRISocket, FlagNodeName, FlagPatches, FlagDryRun},
		Run:          initPhase(runKubeletStart),
	}
}

// clusterKubeletConfig is the KubeletConfiguration every node of the
// cluster shares: the user's document, or kubeadm's defaults.
func clusterKubeletConfig(cfg *config.InitConfig) *kubeletv1beta1.KubeletConfiguration {
	if cfg.Components.Kubelet != nil {
		return cfg.Components.Kubelet.DeepCopy()
	}
	return config.DefaultKubeletConfiguration(&cfg.Cluster)
}

// localKubeletConfig adapts the shared configuration to this host. Where
// systemd is not the init system its cgroup driver cannot work, so the
// agent uses cgroupfs (a node-local change, as kubeadm's resolvConf one).
func localKubeletConfig(cfg *config.InitConfig) *kubeletv1beta1.KubeletConfiguration {
	kc := clusterKubeletConfig(cfg)
	if kc.CgroupDriver == constants.CgroupDriverSystemd && !hostSystemd.running() {
		return config.LocalKubeletConfiguration(kc, constants.CgroupDriverCgroupfs)
	}
	return kc
}

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

func runKubeletStart(d *InitData) error {
	cfg := d.Cfg()
	out := d.Out()
	nr := cfg.Init.NodeRegistration
	hostname, err := manifests.KubeletHostname()
	if err != nil {
		return err
	}
	flags := manifests.KubeletFlagsEnv(nr.Name, hostname, nr.KubeletExtraArgs, nil, false)
	kubeletCfg, err := manifests.BuildKubeletConfigFile(localKubeletConfig(cfg), nr.CRISocket, d.PatchesDir(), out)
	if err != nil {
		return err
	}
	dir := d.KubeletDir()
	fmt.Fprintf(out, "[kubelet-start] Writing kubelet environment file with flags to file %q\n", filepath.Join(dir, constants.KubeletFlagsEnvFile))
	fmt.Fprintf(out, "[kubelet-start] Writing kubelet configuration to file %q\n", filepath.Join(dir, constants.KubeletConfigFile))
	if err := manifests.WriteKubeletFiles(dir, flags, manifests.InstanceConfig(nr.CRISocket), kubeletCfg); err != nil {
		return err
	}
	if d.DryRun() {
		fmt.Fprintln(out, "[dryrun] Would start the node agent (kubeadmin kubelet)")
		return nil
	}
	fmt.Fprintln(out, "[kubelet-start] Starting the kubelet")
	return startKubelet(flags)
}

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

// startKubelet (re)starts the node agent: as the systemd unit "kubelet"
// where systemd runs, otherwise under kubeadmin's supervisor. The running
// containers survive a restart of the agent: it adopts them.
func startKubelet(flagsEnv []byte) error {
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

// stopKubelet stops the node agent, however it runs.
func stopKubelet() error {
	if hostSystemd.running() {
		if err := hostSystemd.ctl("stop", "kubelet"); err != nil {
			return err
		}
	}
	return service.Stop(constants.KubeletPidFile, 20*time.Second)
}
