package initphases

import (
	"fmt"
	"path/filepath"

	kubeletv1beta1 "k8s.io/kubelet/config/v1beta1"

	"github.com/kubeadmin/kubeadmin/internal/config"
	"github.com/kubeadmin/kubeadmin/internal/constants"
	"github.com/kubeadmin/kubeadmin/kubelet/service"
	"github.com/kubeadmin/kubeadmin/manifests"
	"github.com/kubeadmin/kubeadmin/phases"
	"github.com/kubeadmin/kubeadmin/phases/workflow"
)

func newKubeletStartPhase() workflow.Phase {
	return workflow.Phase{
		Name:         "kubelet-start",
		Short:        "Write kubelet settings and (re)start the kubelet",
		Long:         "Write a file with KubeletConfiguration and an environment file with node specific kubelet settings, and then (re)start the node agent (kubeadmin kubelet).",
		Example:      "  # Writes a dynamic environment file with kubelet flags from a InitConfiguration file.\n  kubeadmin init phase kubelet-start --config config.yaml",
		InheritFlags: []string{phases.FlagConfig, phases.FlagImageRepository, phases.FlagCRISocket, phases.FlagNodeName, phases.FlagPatches, phases.FlagDryRun},
		Run:          workflow.RunAs(runKubeletStart),
	}
}

func runKubeletStart(d kubeletStartData) error {
	cfg := d.Cfg()
	out := d.Out()
	nr := cfg.Init.NodeRegistration
	flags, err := kubeletFlagsEnv(cfg)
	if err != nil {
		return err
	}
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
	return service.Start(flags)
}

// kubeletFlagsEnv renders this node's kubeadm-flags.env.
func kubeletFlagsEnv(cfg *config.InitConfig) ([]byte, error) {
	nr := cfg.Init.NodeRegistration
	hostname, err := manifests.KubeletHostname()
	if err != nil {
		return nil, err
	}
	return manifests.KubeletFlagsEnv(nr.Name, hostname, nr.KubeletExtraArgs, nil, false), nil
}

// clusterKubeletConfig is the KubeletConfiguration every node of the
// cluster shares: the user's document, or kubeadm's defaults.
func clusterKubeletConfig(cfg *config.InitConfig) *kubeletv1beta1.KubeletConfiguration {
	if cfg.Components.Kubelet != nil {
		return cfg.Components.Kubelet.DeepCopy()
	}
	return config.DefaultKubeletConfiguration(&cfg.Cluster)
}

// localKubeletConfig adapts the shared configuration to this host.
func localKubeletConfig(cfg *config.InitConfig) *kubeletv1beta1.KubeletConfiguration {
	return phases.LocalKubeletConfig(clusterKubeletConfig(cfg))
}
