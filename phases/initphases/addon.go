package initphases

import (
	"io"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"

	"github.com/kubeadmin/kubeadmin/internal/config"
	"github.com/kubeadmin/kubeadmin/phases"
	"github.com/kubeadmin/kubeadmin/phases/clusterobjects"
	"github.com/kubeadmin/kubeadmin/phases/workflow"
)

// printManifest is the addon phases' --print-manifest flag.
var printManifest bool

func addonLocalFlags() *pflag.FlagSet {
	fs := pflag.NewFlagSet("addon", pflag.ContinueOnError)
	fs.BoolVar(&printManifest, "print-manifest", false, "Print the addon manifests to STDOUT instead of installing them")
	return fs
}

func newAddonPhase() workflow.Phase {
	local := addonLocalFlags()
	common := []string{phases.FlagConfig, phases.FlagKubeconfig, phases.FlagKubernetesVersion, phases.FlagImageRepository, phases.FlagDryRun}
	proxyFlags := append(append([]string{}, common...), phases.FlagAdvertiseAddress, phases.FlagControlPlaneEndpoint, phases.FlagBindPort, phases.FlagPodNetworkCIDR)
	dnsFlags := append(append([]string{}, common...), phases.FlagFeatureGates, phases.FlagServiceDNSDomain, phases.FlagServiceCIDR)
	return workflow.Phase{
		Name:  "addon",
		Short: "Install required addons for passing conformance tests",
		Phases: []workflow.Phase{
			workflow.AllPhase("Install all the addons", append(append([]string{}, proxyFlags...), phases.FlagFeatureGates, phases.FlagServiceDNSDomain, phases.FlagServiceCIDR)),
			{Name: "coredns", Short: "Install the CoreDNS addon to a Kubernetes cluster", InheritFlags: dnsFlags,
				RunIf:      workflow.RunIfAs(func(d baseData) bool { return !d.Cfg().Cluster.DNS.Disabled }),
				LocalFlags: local,
				Run:        runAddon(clusterobjects.CoreDNSObjects, clusterobjects.EnsureCoreDNS)},
			{Name: "kube-proxy", Short: "Install the kube-proxy addon to a Kubernetes cluster", InheritFlags: proxyFlags,
				RunIf:      workflow.RunIfAs(func(d baseData) bool { return !d.Cfg().Cluster.Proxy.Disabled }),
				LocalFlags: local,
				Run:        runAddon(clusterobjects.KubeProxyObjects, clusterobjects.EnsureKubeProxy)},
		},
	}
}

// runAddon installs an addon, or prints its objects with --print-manifest.
func runAddon(objects func(*config.InitConfig) ([]runtime.Object, error), ensure func(kubernetes.Interface, *config.InitConfig, io.Writer) error) func(workflow.RunData) error {
	return workflow.RunAs(func(d clusterData) error {
		if printManifest {
			objs, err := objects(d.Cfg())
			if err != nil {
				return err
			}
			return clusterobjects.PrintManifests(d.Out(), objs)
		}
		c, err := d.Client()
		if err != nil {
			return err
		}
		return ensure(c, d.Cfg(), d.Out())
	})
}
