package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kubeadmin/kubeadmin/internal/constants"
	"github.com/kubeadmin/kubeadmin/kubelet/options"
	"github.com/kubeadmin/kubeadmin/phases"
	"github.com/kubeadmin/kubeadmin/phases/initphases"
	"github.com/kubeadmin/kubeadmin/phases/workflow"
)

// newCmdInit wires `kubeadmin init` and its phase subcommands.
func newCmdInit(out io.Writer) *cobra.Command {
	o := &initphases.InitOptions{ValidateKubeletArgs: validateAgentArgs}
	runner := workflow.NewRunner(initphases.Phases()...)
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Run this command in order to set up the Kubernetes control plane",
		Args:  cobra.NoArgs,
	}
	run := func(c *cobra.Command, _ []string) error {
		o.ChangedFlags = changedFlags(c.Flags())
		start := time.Now()
		runner.SetDataInitializer(func() (workflow.RunData, error) {
			d, err := initphases.NewInitData(o, out)
			// Only the whole workflow announces the version, as kubeadm
			// does; a single phase does not.
			if err == nil && c == cmd {
				fmt.Fprintf(out, "[init] Using Kubernetes version: %s\n", d.Cfg().Cluster.KubernetesVersion)
			}
			return d, err
		})
		err := runner.Run()
		if d := runner.BuiltData(); d != nil {
			if data, ok := d.(*initphases.InitData); ok && data.DryRun() && err == nil {
				initphases.PrintDryRunFiles(out, data)
			}
		}
		runner.PrintTimings(out, time.Since(start))
		return err
	}
	cmd.RunE = run

	f := cmd.Flags()
	addInitFlags(f, o)
	extra := pflag.NewFlagSet("phase-only", pflag.ContinueOnError)
	extra.StringVar(&o.KubeconfigPath, phases.FlagKubeconfig, constants.KubernetesDir+"/"+constants.AdminKubeConfigFile, "The kubeconfig file to use when talking to the cluster. If the flag is not set, a set of standard locations can be searched for an existing kubeconfig file.")
	extra.StringVar(&o.KubeconfigDir, phases.FlagKubeconfigDir, constants.KubernetesDir, "The path where to save the kubeconfig file.")
	bindPhases(cmd, runner, extra, run)
	return cmd
}

// addInitFlags binds kubeadm's init flags to o.
func addInitFlags(f *pflag.FlagSet, o *initphases.InitOptions) {
	f.StringVar(&o.ConfigPath, phases.FlagConfig, "", "Path to a kubeadm configuration file.")
	f.StringVar(&o.Init.LocalAPIEndpoint.AdvertiseAddress, phases.FlagAdvertiseAddress, "", "The IP address the API Server will advertise it's listening on. If not set the default network interface will be used.")
	f.Int32Var(&o.Init.LocalAPIEndpoint.BindPort, phases.FlagBindPort, constants.KubeAPIServerPort, "Port for the API Server to bind to.")
	f.StringSliceVar(&o.CertSANs, phases.FlagCertSANs, nil, "Optional extra Subject Alternative Names (SANs) to use for the API Server serving certificate. Can be both IP addresses and DNS names.")
	f.StringVar(&o.Cluster.CertificatesDir, phases.FlagCertDir, constants.DefaultCertDir, "The path where to save and store the certificates.")
	f.StringVar(&o.Init.CertificateKey, phases.FlagCertificateKey, "", "Key used to encrypt the control-plane certificates in the kubeadm-certs Secret. The certificate key is a hex encoded string that is an AES key of size 32 bytes.")
	f.StringVar(&o.Cluster.ControlPlaneEndpoint, phases.FlagControlPlaneEndpoint, "", "Specify a stable IP address or DNS name for the control plane.")
	f.StringVar(&o.Init.NodeRegistration.CRISocket, phases.FlagCRISocket, "", "Path to the CRI socket to connect. If empty kubeadmin will try to auto-detect this value; use this option only if you have more than one CRI installed or if you have non-standard CRI socket.")
	f.BoolVar(&o.DryRun, phases.FlagDryRun, false, "Don't apply any changes; just output what would be done.")
	f.StringVar(&o.FeatureGates, phases.FlagFeatureGates, "", "A set of key=value pairs that describe feature gates for various features. Options are:\nRootlessControlPlane=true|false (ALPHA - default=false)")
	f.StringSliceVar(&o.IgnorePreflightErrors, phases.FlagIgnorePreflightErrors, nil, "A list of checks whose errors will be shown as warnings. Example: 'IsPrivilegedUser,Swap'. Value 'all' ignores errors from all checks.")
	f.StringVar(&o.Cluster.ImageRepository, phases.FlagImageRepository, constants.DefaultImageRepository, "Choose a container registry to pull control plane images from")
	f.StringVar(&o.Cluster.KubernetesVersion, phases.FlagKubernetesVersion, constants.DefaultKubernetesVersionLabel, "Choose a specific Kubernetes version for the control plane.")
	f.StringVar(&o.Init.NodeRegistration.Name, phases.FlagNodeName, "", "Specify the node name.")
	f.StringVar(&o.PatchesDir, phases.FlagPatches, "", `Path to a directory that contains files named "target[suffix][+patchtype].extension". For example, "kube-apiserver0+merge.yaml" or just "etcd.json". "target" can be one of "kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd", "kubeletconfiguration", "corednsdeployment". "patchtype" can be one of "strategic", "merge" or "json" and they match the patch formats supported by kubectl. The default "patchtype" is "strategic". "extension" must be either "json" or "yaml". "suffix" is an optional string that can be used to determine which patches are applied first alpha-numerically.`)
	f.StringVar(&o.Cluster.Networking.PodSubnet, phases.FlagPodNetworkCIDR, "", "Specify range of IP addresses for the pod network. If set, the control plane will automatically allocate CIDRs for every node.")
	f.StringVar(&o.Cluster.Networking.ServiceSubnet, phases.FlagServiceCIDR, constants.DefaultServicesSubnet, "Use alternative range of IP address for service VIPs.")
	f.StringVar(&o.Cluster.Networking.DNSDomain, phases.FlagServiceDNSDomain, constants.DefaultServiceDNSDomain, `Use alternative domain for services, e.g. "myorg.internal".`)
	f.BoolVar(&o.SkipCertificateKeyPrint, phases.FlagSkipCertificateKeyPrint, false, "Don't print the key used to encrypt the control-plane certificates.")
	f.BoolVar(&o.SkipTokenPrint, phases.FlagSkipTokenPrint, false, "Skip printing of the default bootstrap token generated by 'kubeadmin init'.")
	f.StringVar(&o.Token, phases.FlagToken, "", "The token to use for establishing bidirectional trust between nodes and control-plane nodes. The format is [a-z0-9]{6}\\.[a-z0-9]{16} - e.g. abcdef.0123456789abcdef")
	f.StringVar(&o.TokenTTL, phases.FlagTokenTTL, "", "The duration before the token is automatically deleted (e.g. 1s, 2m, 3h). If set to '0', the token will never expire (default 24h0m0s)")
	f.BoolVar(&o.UploadCerts, phases.FlagUploadCerts, false, "Upload control-plane certificates to the kubeadm-certs Secret.")
}

// changedFlags lists the flags the user set on the command line.
func changedFlags(f *pflag.FlagSet) []string {
	var names []string
	f.Visit(func(fl *pflag.Flag) { names = append(names, fl.Name) })
	return names
}

// validateAgentArgs is preflight's KubeletFlags hook: it parses and
// validates args with the node agent's own flag set (kubelet/options) plus
// the flags every command inherits from the root (such as --v), exactly as
// `kubeadmin kubelet` will at start.
func validateAgentArgs(args []string) error {
	f := &options.Flags{}
	fs := options.NewFlagSet(f)
	fs.AddFlagSet(newCmdRoot(strings.NewReader(""), io.Discard, io.Discard).PersistentFlags())
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q: the node agent takes flags only", fs.Arg(0))
	}
	return f.Validate()
}
