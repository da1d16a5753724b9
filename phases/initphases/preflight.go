package initphases

import (
	"fmt"

	"github.com/kubeadmin/kubeadmin/internal/config"
	"github.com/kubeadmin/kubeadmin/kubelet/service"
	"github.com/kubeadmin/kubeadmin/phases"
	"github.com/kubeadmin/kubeadmin/phases/preflight"
	"github.com/kubeadmin/kubeadmin/phases/workflow"
)

func newPreflightPhase() workflow.Phase {
	return workflow.Phase{
		Name:         "preflight",
		Short:        "Run pre-flight checks",
		Long:         "Run pre-flight checks for kubeadmin init.",
		Example:      "  # Run pre-flight checks for kubeadmin init using a config file.\n  kubeadmin init phase preflight --config kubeadmin-config.yaml",
		Run:          workflow.RunAs(runPreflight),
		InheritFlags: []string{phases.FlagConfig, phases.FlagImageRepository, phases.FlagCRISocket, phases.FlagIgnorePreflightErrors, phases.FlagDryRun},
	}
}

func runPreflight(d preflightData) error {
	fmt.Fprintln(d.Out(), "[preflight] Running pre-flight checks")
	cfg := d.Cfg()
	opts := preflight.InitOptions{
		Cfg:          cfg,
		ManifestsDir: d.HostManifestDir(),
		EtcdDataDir:  etcdDataDirOf(cfg),
		Images:       config.Images(&cfg.Cluster),
		DryRun:       d.DryRun(),
	}
	// Without a host name kubelet-start fails with the reason; the flags
	// cannot be known before.
	if validate := d.KubeletArgsValidator(); validate != nil {
		if env, err := kubeletFlagsEnv(cfg); err == nil {
			opts.KubeletArgs, opts.ValidateKubeletArgs = service.AgentFlags(env), validate
		}
	}
	checks := preflight.InitChecks(opts)
	if err := preflight.RunChecks(checks, d.Out(), d.IgnorePreflightErrors()); err != nil {
		return err
	}
	if d.DryRun() {
		fmt.Fprintln(d.Out(), "[preflight] Would check that the required images are present in the container runtime")
	}
	return nil
}

// etcdDataDirOf is the configured local etcd data directory of the host.
func etcdDataDirOf(cfg *config.InitConfig) string {
	if cfg.Cluster.Etcd.Local == nil {
		return ""
	}
	return cfg.Cluster.Etcd.Local.DataDir
}
