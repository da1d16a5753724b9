package initphases

import (
	"fmt"
	"io"
	"net"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubeadmin/kubeadmin/internal/config"
	"github.com/kubeadmin/kubeadmin/internal/constants"
	"github.com/kubeadmin/kubeadmin/phases"
)

// InitOptions are the values of `kubeadmin init`'s flags. Init and Cluster
// are filled directly by the flags, as kubeadm does; with --config they are
// replaced by the file's content (see NewInitData).
type InitOptions struct {
	ConfigPath              string
	Init                    config.InitConfiguration
	Cluster                 config.ClusterConfiguration
	Token                   string
	TokenTTL                string
	UploadCerts             bool
	SkipCertificateKeyPrint bool
	SkipTokenPrint          bool
	DryRun                  bool
	IgnorePreflightErrors   []string
	PatchesDir              string
	CertSANs                []string
	FeatureGates            string
	// KubeconfigDir and KubeconfigPath are the phase-only flags.
	KubeconfigDir  string
	KubeconfigPath string
	// ChangedFlags are the names of the flags the user set.
	ChangedFlags []string
	// ValidateKubeletArgs parses arguments with the node agent's flag set,
	// for preflight's KubeletFlags check; nil leaves the check out.
	ValidateKubeletArgs func(args []string) error
}

// InitData is the state of one init run. Phases see it through the views
// below, never through its fields.
type InitData struct {
	cfg    *config.InitConfig
	out    io.Writer
	dryRun bool
	// dryRunDir receives every file in dry-run mode.
	dryRunDir string

	kubeconfigDir  string
	kubeconfigPath string
	ignore         map[string]bool
	uploadCerts    bool
	skipTokenPrint bool
	skipCertKey    bool
	patchesDir     string
	validateArgs   func(args []string) error

	client kubernetes.Interface
}

// The views of InitData the phases assert: each phase names only what it
// uses, so a join phase can reuse one by offering the same methods.
type (
	// baseData is what every phase reads.
	baseData interface {
		Cfg() *config.InitConfig
		Out() io.Writer
		DryRun() bool
	}
	preflightData interface {
		baseData
		HostManifestDir() string
		IgnorePreflightErrors() map[string]bool
		KubeletArgsValidator() func(args []string) error
	}
	certsData interface {
		baseData
		CertificateWriteDir() string
	}
	kubeConfigData interface {
		baseData
		KubeConfigDir() string
		CertificateWriteDir() string
	}
	// staticPodData is what the etcd and control-plane phases read.
	staticPodData interface {
		baseData
		ManifestDir() string
		PatchesDir() string
		EtcdDataDir() string
	}
	kubeletStartData interface {
		baseData
		KubeletDir() string
		PatchesDir() string
	}
	// clusterData is what the phases that talk to the API server read.
	clusterData interface {
		baseData
		Client() (kubernetes.Interface, error)
	}
	waitControlPlaneData interface {
		clusterData
		KubeConfigDir() string
		LocalAPIEndpoint() string
	}
	uploadCertsData interface {
		clusterData
		UploadCerts() bool
		CertificateWriteDir() string
		SkipCertificateKeyPrint() bool
	}
	bootstrapTokenData interface {
		clusterData
		KubeConfigPath() string
		SkipTokenPrint() bool
	}
	kubeletFinalizeData interface {
		baseData
		KubeConfigDir() string
	}
	showJoinCommandData interface {
		baseData
		KubeConfigPath() string
		HostKubeConfigPath() string
		UploadCerts() bool
		SkipTokenPrint() bool
		SkipCertificateKeyPrint() bool
	}
)

// InitData offers every view.
var (
	_ preflightData        = (*InitData)(nil)
	_ certsData            = (*InitData)(nil)
	_ kubeConfigData       = (*InitData)(nil)
	_ staticPodData        = (*InitData)(nil)
	_ kubeletStartData     = (*InitData)(nil)
	_ waitControlPlaneData = (*InitData)(nil)
	_ uploadCertsData      = (*InitData)(nil)
	_ bootstrapTokenData   = (*InitData)(nil)
	_ kubeletFinalizeData  = (*InitData)(nil)
	_ showJoinCommandData  = (*InitData)(nil)
)

// Cfg returns the complete, defaulted and validated configuration.
func (d *InitData) Cfg() *config.InitConfig { return d.cfg }

// Out is where phases print their progress.
func (d *InitData) Out() io.Writer { return d.out }

// DryRun reports whether init only simulates.
func (d *InitData) DryRun() bool { return d.dryRun }

// DryRunDir is the temporary directory that receives files in dry-run mode.
func (d *InitData) DryRunDir() string { return d.dryRunDir }

// CertificateDir is the directory components read certificates from.
func (d *InitData) CertificateDir() string { return d.cfg.Cluster.CertificatesDir }

// CertificateWriteDir is where certificates are written (the dry-run
// directory itself in dry-run mode, as kubeadm does).
func (d *InitData) CertificateWriteDir() string {
	if d.dryRun {
		return d.dryRunDir
	}
	return d.CertificateDir()
}

// KubeConfigDir is where kubeconfig files are written.
func (d *InitData) KubeConfigDir() string {
	if d.dryRun {
		return d.dryRunDir
	}
	return d.kubeconfigDir
}

// KubeConfigPath is the admin kubeconfig used to talk to the cluster.
func (d *InitData) KubeConfigPath() string {
	if d.dryRun {
		return filepath.Join(d.dryRunDir, constants.AdminKubeConfigFile)
	}
	return d.kubeconfigPath
}

// ManifestDir is where static pod manifests are written.
func (d *InitData) ManifestDir() string {
	if d.dryRun {
		return d.dryRunDir
	}
	return filepath.Join(d.kubeconfigDir, constants.ManifestsSubDirName)
}

// KubeletDir is where the kubelet's files are written.
func (d *InitData) KubeletDir() string {
	if d.dryRun {
		return d.dryRunDir
	}
	return constants.KubeletRunDir
}

// EtcdDataDir is the local etcd data directory to create.
func (d *InitData) EtcdDataDir() string {
	if d.cfg.Cluster.Etcd.Local == nil {
		return ""
	}
	if d.dryRun {
		return filepath.Join(d.dryRunDir, "etcd")
	}
	return d.cfg.Cluster.Etcd.Local.DataDir
}

// IgnorePreflightErrors is the set of preflight checks to downgrade.
func (d *InitData) IgnorePreflightErrors() map[string]bool { return d.ignore }

// UploadCerts reports whether --upload-certs was given.
func (d *InitData) UploadCerts() bool { return d.uploadCerts }

// PatchesDir is the --patches directory, if any.
func (d *InitData) PatchesDir() string { return d.patchesDir }

// HostManifestDir is the manifest directory of this host, also in dry-run
// mode (preflight checks it).
func (d *InitData) HostManifestDir() string {
	return filepath.Join(d.kubeconfigDir, constants.ManifestsSubDirName)
}

// HostKubeConfigPath is the admin kubeconfig path of a real run, also in
// dry-run mode (the success banner shows it).
func (d *InitData) HostKubeConfigPath() string { return d.kubeconfigPath }

// KubeletArgsValidator parses the node agent's arguments with its flag
// set (nil: not known).
func (d *InitData) KubeletArgsValidator() func(args []string) error { return d.validateArgs }

// SkipTokenPrint reports whether --skip-token-print was given.
func (d *InitData) SkipTokenPrint() bool { return d.skipTokenPrint }

// SkipCertificateKeyPrint reports whether --skip-certificate-key-print was
// given.
func (d *InitData) SkipCertificateKeyPrint() bool { return d.skipCertKey }

// LocalAPIEndpoint is https://<advertise address>:<bind port>.
func (d *InitData) LocalAPIEndpoint() string {
	ep := d.cfg.Init.LocalAPIEndpoint
	return "https://" + net.JoinHostPort(ep.AdvertiseAddress, strconv.Itoa(int(ep.BindPort)))
}

// Client returns the client init uses to talk to the new cluster: the admin
// kubeconfig re-pointed, in memory only, at this node's API server (as
// kubeadm does); in dry-run mode a fake that prints every call it gets.
func (d *InitData) Client() (kubernetes.Interface, error) {
	if d.client != nil {
		return d.client, nil
	}
	if d.DryRun() {
		d.client = phases.DryRunClient(d.out, d.cfg.Init.NodeRegistration.Name)
		return d.client, nil
	}
	c, err := phases.ClientFromKubeconfig(d.KubeConfigPath(), d.LocalAPIEndpoint())
	if err != nil {
		return nil, err
	}
	d.client = c
	return c, nil
}

// NewInitData builds the init data from the flags: it refuses flags that
// cannot be mixed with --config, loads the file or applies the flags,
// fills static and dynamic defaults, validates, and creates the dry-run
// directory. Nothing on disk is touched before validation succeeds.
func NewInitData(o *InitOptions, out io.Writer) (*InitData, error) {
	if err := config.CheckMixedConfigFlags(o.ConfigPath, o.ChangedFlags); err != nil {
		return nil, err
	}
	var cfg *config.InitConfig
	if o.ConfigPath != "" {
		c, err := config.LoadInitConfigFile(o.ConfigPath)
		if err != nil {
			return nil, err
		}
		cfg = c
		if name := o.Init.NodeRegistration.Name; name != "" {
			cfg.Init.NodeRegistration.Name = name
		}
	} else {
		cfg = &config.InitConfig{Init: o.Init, Cluster: o.Cluster}
		if err := applyInitFlags(o, cfg); err != nil {
			return nil, err
		}
	}
	config.SetDefaultsInit(&cfg.Init)
	config.SetDefaultsCluster(&cfg.Cluster)
	if err := config.SetDynamicDefaultsInit(cfg, config.DynamicOptions{}); err != nil {
		return nil, err
	}
	if err := config.ValidateInitConfig(cfg); err != nil {
		return nil, err
	}
	ignore, err := config.ParseIgnorePreflightErrors(o.IgnorePreflightErrors, cfg.Init.NodeRegistration.IgnorePreflightErrors)
	if err != nil {
		return nil, err
	}
	cfg.Init.NodeRegistration.IgnorePreflightErrors = sortedKeys(ignore)

	d := &InitData{
		cfg:            cfg,
		out:            out,
		dryRun:         o.DryRun || cfg.Init.DryRun,
		kubeconfigDir:  o.KubeconfigDir,
		kubeconfigPath: o.KubeconfigPath,
		ignore:         ignore,
		uploadCerts:    o.UploadCerts,
		skipTokenPrint: o.SkipTokenPrint,
		skipCertKey:    o.SkipCertificateKeyPrint,
		patchesDir:     o.PatchesDir,
		validateArgs:   o.ValidateKubeletArgs,
	}
	if d.kubeconfigDir == "" {
		d.kubeconfigDir = constants.KubernetesDir
	}
	if d.kubeconfigPath == "" {
		d.kubeconfigPath = filepath.Join(d.kubeconfigDir, constants.AdminKubeConfigFile)
	}
	if d.patchesDir == "" && cfg.Init.Patches != nil {
		d.patchesDir = cfg.Init.Patches.Directory
	}
	if d.dryRun {
		dir, err := phases.MakeDryRunDir(constants.InitDryRunDirEnv, constants.InitDryRunDirPrefix)
		if err != nil {
			return nil, err
		}
		d.dryRunDir = dir
		fmt.Fprintf(out, "[dryrun] Writing files to the temporary directory %q instead of the real ones\n", dir)
	}
	return d, nil
}

// applyInitFlags copies the flags that do not map 1:1 onto config fields.
func applyInitFlags(o *InitOptions, cfg *config.InitConfig) error {
	if o.Token != "" || o.TokenTTL != "" {
		bt := config.BootstrapToken{}
		if o.Token != "" {
			var s config.BootstrapTokenString
			if err := s.UnmarshalJSON([]byte(o.Token)); err != nil {
				return fmt.Errorf("invalid value %q for flag --token: %w", o.Token, err)
			}
			bt.Token = &s
		}
		if o.TokenTTL != "" {
			ttl, err := parseDuration(o.TokenTTL)
			if err != nil {
				return fmt.Errorf("invalid value %q for flag --token-ttl: %w (use a Go duration such as 24h0m0s)", o.TokenTTL, err)
			}
			bt.TTL = ttl
		}
		cfg.Init.BootstrapTokens = []config.BootstrapToken{bt}
	}
	if len(o.CertSANs) > 0 {
		cfg.Cluster.APIServer.CertSANs = o.CertSANs
	}
	if o.FeatureGates != "" {
		gates, err := parseFeatureGates(o.FeatureGates)
		if err != nil {
			return err
		}
		cfg.Cluster.FeatureGates = gates
	}
	return nil
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// parseFeatureGates parses "A=true,B=false".
func parseFeatureGates(s string) (map[string]bool, error) {
	gates := map[string]bool{}
	for _, kv := range strings.Split(s, ",") {
		kv = strings.TrimSpace(kv)
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok || (v != "true" && v != "false") {
			return nil, fmt.Errorf("invalid value %q for flag --feature-gates: expected NAME=true|false pairs separated by commas", kv)
		}
		gates[strings.TrimSpace(k)] = v == "true"
	}
	return gates, nil
}

// parseDuration parses a Go duration flag value.
func parseDuration(s string) (*metav1.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return nil, err
	}
	return &metav1.Duration{Duration: d}, nil
}
