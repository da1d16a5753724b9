package main

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/kubeadmin/kubeadmin/internal/constants"
	"github.com/kubeadmin/kubeadmin/kubelet/service"
	"github.com/kubeadmin/kubeadmin/phases"
	"github.com/kubeadmin/kubeadmin/phases/joinphases"
	"github.com/kubeadmin/kubeadmin/phases/workflow"
)

const joinLong = `
When joining a kubeadm (or kubeadmin) initialized cluster, we need to
establish bidirectional trust. This is split into discovery (having the
Node trust the Kubernetes Control Plane) and TLS bootstrap (having the
Kubernetes Control Plane trust the Node).

There are 2 main schemes for discovery. The first is to use a shared
token along with the IP address of the API server. The second is to
provide a file - a subset of the standard kubeconfig file. This file can
be a local file or downloaded via an HTTPS URL. The forms are
kubeadmin join --discovery-token abcdef.1234567890abcdef 1.2.3.4:6443,
kubeadmin join --discovery-file path/to/file.conf, or kubeadmin join
--discovery-file https://url/file.conf. Only one form can be used. If
the discovery information is loaded from a URL, HTTPS must be used.
Also, in that case the host installed CA bundle is used to verify
the connection.

If you use a shared token for discovery, you should also pass the
--discovery-token-ca-cert-hash flag to validate the public key of the
root certificate authority (CA) presented by the Kubernetes Control Plane.
The value of this flag is specified as "<hash-type>:<hex-encoded-value>",
where the supported hash type is "sha256". The hash is calculated over
the bytes of the Subject Public Key Info (SPKI) object (as in RFC7469).
This value is available in the output of "kubeadmin init" or can be
calculated using standard tools. The --discovery-token-ca-cert-hash flag
may be repeated multiple times to allow more than one public key.

If you cannot know the CA public key hash ahead of time, you can pass
the --discovery-token-unsafe-skip-ca-verification flag to disable this
verification. This weakens the security model since other nodes
can potentially impersonate the Kubernetes Control Plane.

The TLS bootstrap mechanism is also driven via a shared token. This is
used to temporarily authenticate with the Kubernetes Control Plane to submit a
certificate signing request (CSR) for a locally created key pair. By
default, init sets up the Kubernetes Control Plane to automatically
approve these signing requests. This token is passed in with the
--tls-bootstrap-token abcdef.1234567890abcdef flag.

Often times the same token is used for both parts. In this case, the
--token flag can be used instead of specifying each token individually.

kubeadmin joins worker nodes; joining an additional control-plane node
(--control-plane) is refused with an explanation.`

// newCmdJoin wires `kubeadmin join` and its phase subcommands.
func newCmdJoin(out io.Writer) *cobra.Command {
	o := &joinphases.JoinOptions{ValidateKubeletArgs: validateAgentArgs}
	runner := workflow.NewRunner(joinphases.Phases()...)
	cmd := &cobra.Command{
		Use:   "join [api-server-endpoint]",
		Short: "Run this on any machine you wish to join an existing cluster",
		Long:  joinLong,
		Args:  cobra.ArbitraryArgs,
	}
	run := func(c *cobra.Command, args []string) error {
		o.ChangedFlags = changedFlags(c.Flags())
		o.Endpoint = ""
		if len(args) > 0 {
			o.Endpoint = args[0]
			if len(args) > 1 {
				fmt.Fprintf(c.ErrOrStderr(), "[preflight] WARNING: More than one API server endpoint supplied on command line %v. Using the first one.\n", args)
			}
		}
		start := time.Now()
		runner.SetDataInitializer(func() (workflow.RunData, error) { return joinphases.NewJoinData(o, out) })
		err := runner.Run()
		data, _ := runner.BuiltData().(*joinphases.JoinData)
		if err != nil && data != nil {
			if removed := data.Rollback(service.Stop); len(removed) > 0 {
				fmt.Fprintf(out, "[join] The join failed: stopped the node agent and removed what it wrote: %v\n", removed)
			}
		}
		if err == nil && data != nil && c == cmd {
			if data.DryRun() {
				joinphases.PrintDryRunFiles(out, data)
			} else {
				fmt.Fprint(out, joinphases.WorkerJoinedMessage)
			}
		}
		runner.PrintTimings(out, time.Since(start))
		return err
	}
	cmd.RunE = run

	f := cmd.Flags()
	f.StringVar(&o.ConfigPath, phases.FlagConfig, "", "Path to a kubeadm configuration file.")
	f.StringVar(&o.AdvertiseAddress, phases.FlagAdvertiseAddress, "", "If the node should host a new control plane instance, the IP address the API Server will advertise it's listening on (control-plane join is not supported by kubeadmin yet: refused).")
	f.Int32Var(&o.BindPort, phases.FlagBindPort, constants.KubeAPIServerPort, "If the node should host a new control plane instance, the port for the API Server to bind to (refused, as --control-plane).")
	f.StringVar(&o.CertificateKey, phases.FlagCertificateKey, "", "Use this key to decrypt the certificate secrets uploaded by init (control-plane join only: refused, as --control-plane).")
	f.BoolVar(&o.ControlPlane, "control-plane", false, "Create a new control plane instance on this node (not supported by kubeadmin yet: refused with an explanation).")
	f.StringVar(&o.CRISocket, phases.FlagCRISocket, "", "Path to the CRI socket to connect. If empty kubeadmin will try to auto-detect this value; use this option only if you have more than one CRI installed or if you have non-standard CRI socket.")
	f.StringVar(&o.DiscoveryFile, "discovery-file", "", "For file-based discovery, a file or URL from which to load cluster information.")
	f.StringVar(&o.DiscoveryToken, "discovery-token", "", "For token-based discovery, the token used to validate cluster information fetched from the API server.")
	f.StringSliceVar(&o.CACertHashes, "discovery-token-ca-cert-hash", nil, `For token-based discovery, validate that the root CA public key matches this hash (format: "<type>:<value>").`)
	f.BoolVar(&o.UnsafeSkipCAVerification, "discovery-token-unsafe-skip-ca-verification", false, "For token-based discovery, allow joining without --discovery-token-ca-cert-hash pinning.")
	f.BoolVar(&o.DryRun, phases.FlagDryRun, false, "Don't apply any changes; just output what would be done.")
	f.StringSliceVar(&o.IgnorePreflightErrors, phases.FlagIgnorePreflightErrors, nil, "A list of checks whose errors will be shown as warnings. Example: 'IsPrivilegedUser,Swap'. Value 'all' ignores errors from all checks.")
	f.StringVar(&o.NodeName, phases.FlagNodeName, "", "Specify the node name.")
	f.StringVar(&o.PatchesDir, phases.FlagPatches, "", `Path to a directory that contains files named "target[suffix][+patchtype].extension". For example, "kubeletconfiguration0+merge.yaml". On a worker "target" can be "kubeletconfiguration". "patchtype" can be one of "strategic", "merge" or "json" and they match the patch formats supported by kubectl. The default "patchtype" is "strategic". "extension" must be either "json" or "yaml". "suffix" is an optional string that can be used to determine which patches are applied first alpha-numerically.`)
	f.StringVar(&o.TLSBootstrapToken, "tls-bootstrap-token", "", "Specify the token used to temporarily authenticate with the Kubernetes Control Plane while joining the node.")
	f.StringVar(&o.Token, phases.FlagToken, "", "Use this token for both discovery-token and tls-bootstrap-token when those values are not provided.")
	bindPhases(cmd, runner, nil, run)
	return cmd
}
