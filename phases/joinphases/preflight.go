package joinphases

import (
	"fmt"

	"github.com/kubeadmin/kubeadmin/kubelet/service"
	"github.com/kubeadmin/kubeadmin/phases"
	"github.com/kubeadmin/kubeadmin/phases/preflight"
	"github.com/kubeadmin/kubeadmin/phases/workflow"
)

// discoveryFlags are the flags every join phase that reaches the cluster
// offers.
var discoveryFlags = []string{
	phases.FlagConfig, phases.FlagToken, flagDiscoveryToken, flagDiscoveryFile,
	flagDiscoveryTokenCACertHash, flagDiscoveryTokenUnsafeSkipCAVerification, flagTLSBootstrapToken,
	phases.FlagNodeName, phases.FlagCRISocket, phases.FlagDryRun,
}

// Join-only flag names.
const (
	flagDiscoveryToken                         = "discovery-token"
	flagDiscoveryFile                          = "discovery-file"
	flagDiscoveryTokenCACertHash               = "discovery-token-ca-cert-hash"
	flagDiscoveryTokenUnsafeSkipCAVerification = "discovery-token-unsafe-skip-ca-verification"
	flagTLSBootstrapToken                      = "tls-bootstrap-token"
)

func newPreflightPhase() workflow.Phase {
	return workflow.Phase{
		Name:         "preflight [api-server-endpoint]",
		Short:        "Run join pre-flight checks",
		Long:         "Run pre-flight checks for kubeadmin join, then find and trust the cluster (discovery) and read its configuration.",
		Example:      "  # Run join pre-flight checks using a config file.\n  kubeadmin join phase preflight --config kubeadmin-config.yaml",
		InheritFlags: append([]string{phases.FlagIgnorePreflightErrors}, discoveryFlags...),
		Run:          workflow.RunAs(runPreflight),
	}
}

// runPreflight runs the node checks first, so that a host problem shows
// before the network is touched, then discovery and the cluster
// configuration (which the later phases need).
func runPreflight(d preflightData) error {
	out := d.Out()
	fmt.Fprintln(out, "[preflight] Running pre-flight checks")
	cfg := d.Cfg()
	opts := preflight.JoinOptions{Cfg: cfg, KubernetesDir: d.KubernetesDir()}
	if validate := d.KubeletArgsValidator(); validate != nil {
		if env, err := kubeletFlagsEnv(cfg); err == nil {
			opts.KubeletArgs, opts.ValidateKubeletArgs = service.AgentFlags(env), validate
		}
	}
	if err := preflight.RunChecks(preflight.JoinNodeChecks(opts), out, d.IgnorePreflightErrors()); err != nil {
		return err
	}
	_, err := d.InitCfg()
	return err
}
