// Package phases holds kubeadmin's workflows: the phases of init (and later
// join and reset) built on the generic runner in phases/workflow. A phase
// reads the shared *InitData and calls into the packages that do the work
// (certs, kubeconfig, manifests, preflight, clusterobjects, kubelet); it
// never parses flags itself.
package phases

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"k8s.io/client-go/kubernetes"

	"github.com/kubeadmin/kubeadmin/internal/config"
	"github.com/kubeadmin/kubeadmin/internal/constants"
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
}

// InitData is what every init phase sees.
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

	client kubernetes.Interface
}

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
		dir, err := makeDryRunDir(constants.InitDryRunDirEnv, constants.InitDryRunDirPrefix)
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

// makeDryRunDir creates the dry-run directory: $ENV if set, else a new
// temporary directory under /etc/kubernetes/tmp (falling back to the system
// temporary directory when that cannot be created, e.g. as non-root).
func makeDryRunDir(env, prefix string) (string, error) {
	if dir := os.Getenv(env); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return "", fmt.Errorf("failed to create the dry-run directory %q from $%s: %w", dir, env, err)
		}
		return dir, nil
	}
	base := filepath.Join(constants.KubernetesDir, constants.TempDirName)
	if err := os.MkdirAll(base, 0o700); err != nil {
		base = os.TempDir()
	}
	dir, err := os.MkdirTemp(base, prefix)
	if err != nil {
		return "", fmt.Errorf("failed to create a temporary directory for the dry run: %w", err)
	}
	return dir, nil
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
