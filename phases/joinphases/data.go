package joinphases

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubeadmin/kubeadmin/internal/config"
	"github.com/kubeadmin/kubeadmin/internal/constants"
	"github.com/kubeadmin/kubeadmin/phases"
	"github.com/kubeadmin/kubeadmin/phases/clusterobjects"
	"github.com/kubeadmin/kubeadmin/phases/discovery"
)

// JoinOptions are the values of `kubeadmin join`'s flags and its
// positional api-server-endpoint.
type JoinOptions struct {
	ConfigPath string
	// Endpoint is the positional <host:port> of token discovery.
	Endpoint string
	// NodeName, CRISocket and CACertPath fill nodeRegistration and caCertPath.
	NodeName   string
	CRISocket  string
	CACertPath string
	// Token fills the discovery and TLS bootstrap tokens left empty.
	Token                    string
	DiscoveryToken           string
	CACertHashes             []string
	UnsafeSkipCAVerification bool
	DiscoveryFile            string
	TLSBootstrapToken        string
	// ControlPlane and the flags that only make sense with it.
	ControlPlane     bool
	CertificateKey   string
	AdvertiseAddress string
	BindPort         int32

	DryRun                bool
	IgnorePreflightErrors []string
	PatchesDir            string
	// ChangedFlags are the names of the flags the user set.
	ChangedFlags []string
	// ValidateKubeletArgs parses arguments with the node agent's flag set,
	// for preflight's KubeletFlags check; nil leaves the check out.
	ValidateKubeletArgs func(args []string) error
}

// DiscoverFunc finds and trusts the cluster; discovery.Discover outside
// tests.
type DiscoverFunc func(ctx context.Context, d config.Discovery, timeout time.Duration, out io.Writer) (*clientcmdapi.Config, error)

// JoinData is the state of one join run. Phases see it through the views
// in join.go, never through its fields.
type JoinData struct {
	cfg        *config.JoinConfiguration
	out        io.Writer
	dryRun     bool
	dryRunDir  string
	ignore     map[string]bool
	patchesDir string
	k8sDir     string
	kubeletDir string

	validateArgs func(args []string) error
	discover     DiscoverFunc

	tlsBootstrap *clientcmdapi.Config
	initCfg      *config.InitConfig
	client       kubernetes.Interface

	// written are the files this run created, removed again if it fails.
	written []string
}

// NewJoinData builds the join data from the flags: it refuses flags that
// cannot be mixed with --config, loads the file or applies the flags,
// fills defaults and validates. Nothing is read from the network and
// nothing is written before a phase runs.
func NewJoinData(o *JoinOptions, out io.Writer) (*JoinData, error) {
	if err := config.CheckMixedConfigFlags(o.ConfigPath, o.ChangedFlags); err != nil {
		return nil, err
	}
	var cfg *config.JoinConfiguration
	if o.ConfigPath != "" {
		c, err := config.LoadJoinConfigFile(o.ConfigPath)
		if err != nil {
			return nil, err
		}
		cfg = c
		if o.NodeName != "" {
			cfg.NodeRegistration.Name = o.NodeName
		}
	} else {
		cfg = joinConfigFromFlags(o)
	}
	if o.ControlPlane || cfg.ControlPlane != nil {
		return nil, errControlPlaneJoin
	}
	config.SetDefaultsJoin(cfg)
	if err := config.SetDynamicDefaultsJoin(cfg, config.DynamicOptions{}); err != nil {
		return nil, err
	}
	if err := config.ValidateJoinConfig(cfg); err != nil {
		return nil, err
	}
	ignore, err := config.ParseIgnorePreflightErrors(o.IgnorePreflightErrors, cfg.NodeRegistration.IgnorePreflightErrors)
	if err != nil {
		return nil, err
	}
	d := &JoinData{
		cfg: cfg, out: out, dryRun: o.DryRun || cfg.DryRun, ignore: ignore,
		patchesDir: o.PatchesDir, k8sDir: constants.KubernetesDir, kubeletDir: constants.KubeletRunDir,
		validateArgs: o.ValidateKubeletArgs, discover: discovery.Discover,
	}
	if d.patchesDir == "" && cfg.Patches != nil {
		d.patchesDir = cfg.Patches.Directory
	}
	if d.dryRun {
		dir, err := phases.MakeDryRunDir(constants.JoinDryRunDirEnv, constants.JoinDryRunDirPrefix)
		if err != nil {
			return nil, err
		}
		d.dryRunDir = dir
		fmt.Fprintf(out, "[dryrun] Using this directory for the files a real join would write: %s\n", dir)
	}
	return d, nil
}

// errControlPlaneJoin refuses what this release cannot do yet, rather than
// joining a worker where a control plane was asked for.
var errControlPlaneJoin = errors.New("joining an additional control-plane node (--control-plane, controlPlane in the JoinConfiguration) is not supported by kubeadmin yet: join this node as a worker (leave out --control-plane and --certificate-key), or add the control-plane node with kubeadm join")

// joinConfigFromFlags builds the JoinConfiguration of a run without
// --config, as kubeadm does: --discovery-file wins over token discovery,
// and --token fills whichever of the two tokens is empty.
func joinConfigFromFlags(o *JoinOptions) *config.JoinConfiguration {
	cfg := &config.JoinConfiguration{CACertPath: o.CACertPath}
	cfg.NodeRegistration.Name = o.NodeName
	cfg.NodeRegistration.CRISocket = o.CRISocket
	discoveryToken, tlsToken := o.DiscoveryToken, o.TLSBootstrapToken
	if discoveryToken == "" {
		discoveryToken = o.Token
	}
	if tlsToken == "" {
		tlsToken = o.Token
	}
	if o.DiscoveryFile != "" {
		cfg.Discovery.File = &config.FileDiscovery{KubeConfigPath: o.DiscoveryFile}
	} else {
		cfg.Discovery.BootstrapToken = &config.BootstrapTokenDiscovery{
			Token: discoveryToken, APIServerEndpoint: o.Endpoint,
			CACertHashes: o.CACertHashes, UnsafeSkipCAVerification: o.UnsafeSkipCAVerification,
		}
	}
	cfg.Discovery.TLSBootstrapToken = tlsToken
	return cfg
}

// Cfg returns the defaulted and validated JoinConfiguration.
func (d *JoinData) Cfg() *config.JoinConfiguration { return d.cfg }

// Out is where phases print their progress.
func (d *JoinData) Out() io.Writer { return d.out }

// DryRun reports whether join only simulates.
func (d *JoinData) DryRun() bool { return d.dryRun }

// DryRunDir receives every file in dry-run mode.
func (d *JoinData) DryRunDir() string { return d.dryRunDir }

// IgnorePreflightErrors is the set of preflight checks to downgrade.
func (d *JoinData) IgnorePreflightErrors() map[string]bool { return d.ignore }

// PatchesDir is the --patches directory, if any.
func (d *JoinData) PatchesDir() string { return d.patchesDir }

// KubeletArgsValidator parses the node agent's arguments (nil: not known).
func (d *JoinData) KubeletArgsValidator() func(args []string) error { return d.validateArgs }

// KubernetesDir is the host's /etc/kubernetes, also in dry-run mode.
func (d *JoinData) KubernetesDir() string { return d.k8sDir }

// KubeConfigDir is where kubeconfig files are written.
func (d *JoinData) KubeConfigDir() string {
	if d.dryRun {
		return d.dryRunDir
	}
	return d.k8sDir
}

// KubeletDir is where the kubelet's files are written.
func (d *JoinData) KubeletDir() string {
	if d.dryRun {
		return d.dryRunDir
	}
	return d.kubeletDir
}

// CACertWritePath is where the cluster CA is written if missing.
func (d *JoinData) CACertWritePath() string {
	if d.dryRun {
		return filepath.Join(d.dryRunDir, filepath.Base(d.cfg.CACertPath))
	}
	return d.cfg.CACertPath
}

// TLSBootstrapCfg runs discovery once and returns the TLS bootstrap
// kubeconfig, its cluster renamed after the cluster's clusterName once
// the cluster configuration is known.
func (d *JoinData) TLSBootstrapCfg() (*clientcmdapi.Config, error) {
	if d.tlsBootstrap != nil {
		return d.tlsBootstrap, nil
	}
	timeout := constants.DiscoveryTimeout
	if t := d.cfg.Timeouts; t != nil && t.Discovery != nil {
		timeout = t.Discovery.Duration
	}
	kc, err := d.discover(context.Background(), d.cfg.Discovery, timeout, d.out)
	if err != nil {
		return nil, err
	}
	d.tlsBootstrap = kc
	return kc, nil
}

// BootstrapClient is the client of the TLS bootstrap credentials.
func (d *JoinData) BootstrapClient() (kubernetes.Interface, error) {
	if d.client != nil {
		return d.client, nil
	}
	kc, err := d.TLSBootstrapCfg()
	if err != nil {
		return nil, err
	}
	rc, err := clientcmd.NewDefaultClientConfig(*kc, nil).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("failed to build a client from the discovered cluster: %w", err)
	}
	rc.Timeout = apiCallTimeout(d.cfg)
	c, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("failed to build a client from the discovered cluster: %w", err)
	}
	d.client = c
	return c, nil
}

// apiCallTimeout is timeouts.kubernetesAPICall.
func apiCallTimeout(cfg *config.JoinConfiguration) time.Duration {
	if t := cfg.Timeouts; t != nil && t.KubernetesAPICall != nil {
		return t.KubernetesAPICall.Duration
	}
	return constants.KubernetesAPICallTimeout
}

// InitCfg reads the cluster's configuration once (kubeadm-config,
// kubelet-config, kube-proxy) with the bootstrap credentials, over the
// TLS that discovery verified, and sets this node's registration from the
// JoinConfiguration.
func (d *JoinData) InitCfg() (*config.InitConfig, error) {
	if d.initCfg != nil {
		return d.initCfg, nil
	}
	client, err := d.BootstrapClient()
	if err != nil {
		return nil, err
	}
	docs, err := clusterobjects.FetchClusterConfig(client, apiCallTimeout(d.cfg), "preflight", d.out)
	if err != nil {
		return nil, err
	}
	cfg, err := config.ParseInitConfig(clusterDocuments(docs), "the cluster's kubeadm-config and kubelet-config ConfigMaps")
	if err != nil {
		return nil, err
	}
	if err := config.ValidateClusterConfig(&cfg.Cluster); err != nil {
		return nil, fmt.Errorf("the cluster's ClusterConfiguration (ConfigMap kube-system/%s) is invalid: %w", constants.KubeadmConfigConfigMap, err)
	}
	cfg.Init.NodeRegistration = d.cfg.NodeRegistration
	renameCluster(d.tlsBootstrap, cfg.Cluster.ClusterName)
	d.initCfg = cfg
	return cfg, nil
}

// clusterDocuments joins the downloaded documents into one file.
func clusterDocuments(docs *clusterobjects.ClusterConfigDocuments) []byte {
	out := append([]byte(nil), docs.ClusterConfiguration...)
	for _, doc := range [][]byte{docs.Kubelet, docs.KubeProxy} {
		if len(doc) > 0 {
			out = append(out, "\n---\n"...)
			out = append(out, doc...)
		}
	}
	return out
}

// renameCluster gives the single cluster of kc the name name, as kubeadm
// does with the TLS bootstrap kubeconfig.
func renameCluster(kc *clientcmdapi.Config, name string) {
	if kc == nil || name == "" {
		return
	}
	ctx := kc.Contexts[kc.CurrentContext]
	if ctx == nil || ctx.Cluster == name {
		return
	}
	if c, ok := kc.Clusters[ctx.Cluster]; ok {
		delete(kc.Clusters, ctx.Cluster)
		kc.Clusters[name] = c
	}
	ctx.Cluster = name
	newCtx := ctx.AuthInfo + "@" + name
	delete(kc.Contexts, kc.CurrentContext)
	kc.Contexts[newCtx] = ctx
	kc.CurrentContext = newCtx
}

// recordWrite remembers a file this run creates, unless it exists already.
func (d *JoinData) recordWrite(path string) {
	if _, err := os.Lstat(path); err == nil {
		return
	}
	d.written = append(d.written, path)
}

// Rollback removes what a failed join left on the node: it stops the node
// agent if this run started it and removes the files this run created
// (kubelet.conf and the agent's certificates included when they did not
// exist before, as the agent wrote them from the bootstrap kubeconfig). It
// returns the removed paths.
func (d *JoinData) Rollback(stopAgent func() error) []string {
	if d.dryRun || len(d.written) == 0 {
		return nil
	}
	if stopAgent != nil {
		_ = stopAgent()
	}
	var removed []string
	for _, p := range d.written {
		if _, err := os.Lstat(p); err != nil {
			continue
		}
		if err := os.RemoveAll(p); err == nil {
			removed = append(removed, p)
		}
	}
	sort.Strings(removed)
	return removed
}
