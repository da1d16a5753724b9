package resetphases

import (
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/kubeadmin/kubeadmin/internal/config"
	"github.com/kubeadmin/kubeadmin/internal/constants"
	"github.com/kubeadmin/kubeadmin/manifests"
)

// ResetOptions are the values of `kubeadmin reset`'s flags.
type ResetOptions struct {
	ConfigPath            string
	CertDir               string
	CRISocket             string
	Force                 bool
	DryRun                bool
	CleanupTmpDir         bool
	IgnorePreflightErrors []string
	KubeconfigPath        string
	ChangedFlags          []string
	// In answers the confirmation prompt.
	In io.Reader
}

// ResetData is the state of one reset run. Phases see it through the
// views below, never through its fields.
type ResetData struct {
	cfg     *config.ResetConfiguration
	out     io.Writer
	in      io.Reader
	ignore  map[string]bool
	k8sDir  string
	etcdDir string
	criSock string
	kubelet string
	node    Node
}

// NewResetData builds the reset data from the flags.
func NewResetData(o *ResetOptions, out io.Writer) (*ResetData, error) {
	if err := config.CheckMixedConfigFlags(o.ConfigPath, o.ChangedFlags); err != nil {
		return nil, err
	}
	cfg := &config.ResetConfiguration{}
	if o.ConfigPath != "" {
		c, err := config.LoadResetConfigFile(o.ConfigPath)
		if err != nil {
			return nil, err
		}
		cfg = c
	} else {
		cfg.CertificatesDir, cfg.CRISocket, cfg.Force, cfg.DryRun, cfg.CleanupTmpDir = o.CertDir, o.CRISocket, o.Force, o.DryRun, o.CleanupTmpDir
	}
	cfg.Force = cfg.Force || o.Force
	cfg.DryRun = cfg.DryRun || o.DryRun
	config.SetDefaultsReset(cfg)
	if cfg.CRISocket == "" {
		cfg.CRISocket = criSocketFromInstanceConfig()
	}
	if err := config.SetDynamicDefaultsReset(cfg, config.DynamicOptions{}); err != nil {
		return nil, err
	}
	if err := config.ValidateResetConfig(cfg); err != nil {
		return nil, err
	}
	ignore, err := config.ParseIgnorePreflightErrors(o.IgnorePreflightErrors, cfg.IgnorePreflightErrors)
	if err != nil {
		return nil, err
	}
	in := o.In
	if in == nil {
		in = os.Stdin
	}
	return &ResetData{
		cfg: cfg, out: out, in: in, ignore: ignore,
		k8sDir:  constants.KubernetesDir,
		etcdDir: etcdDataDirFromManifest(manifests.ManifestPath(filepath.Join(constants.KubernetesDir, constants.ManifestsSubDirName), constants.Etcd)),
		criSock: cfg.CRISocket,
		kubelet: constants.KubeletRunDir,
		node:    hostNode(),
	}, nil
}

// criSocketFromInstanceConfig reads the CRI socket kubelet-start recorded.
func criSocketFromInstanceConfig() string {
	b, err := os.ReadFile(filepath.Join(constants.KubeletRunDir, constants.KubeletInstanceFile))
	if err != nil {
		return ""
	}
	_, v, ok := strings.Cut(strings.TrimSpace(string(b)), ":")
	if !ok {
		return ""
	}
	return strings.Trim(strings.TrimSpace(v), `"`)
}

// etcdDataDirFromManifest is the etcd-data hostPath of the etcd manifest,
// or the default data directory.
func etcdDataDirFromManifest(path string) string {
	pod, err := manifests.ReadStaticPod(path)
	if err != nil {
		return constants.DefaultEtcdDataDir
	}
	for _, v := range pod.Spec.Volumes {
		if v.Name == "etcd-data" && v.HostPath != nil {
			return v.HostPath.Path
		}
	}
	return constants.DefaultEtcdDataDir
}

// The views of ResetData the phases assert.
type (
	// baseData is what every reset phase reads.
	baseData interface {
		Cfg() *config.ResetConfiguration
		Out() io.Writer
	}
	preflightData interface {
		baseData
		In() io.Reader
		IgnorePreflightErrors() map[string]bool
	}
	removeEtcdMemberData interface {
		baseData
		KubernetesDir() string
		EtcdDataDir() string
	}
	cleanupNodeData interface {
		baseData
		KubernetesDir() string
		KubeletDir() string
		CRISocket() string
		Node() Node
	}
)

var (
	_ preflightData        = (*ResetData)(nil)
	_ removeEtcdMemberData = (*ResetData)(nil)
	_ cleanupNodeData      = (*ResetData)(nil)
)

// Cfg is the defaulted and validated reset configuration.
func (d *ResetData) Cfg() *config.ResetConfiguration { return d.cfg }

// Out is where phases print their progress.
func (d *ResetData) Out() io.Writer { return d.out }

// In answers the confirmation prompt.
func (d *ResetData) In() io.Reader { return d.in }

// IgnorePreflightErrors is the set of preflight checks to downgrade.
func (d *ResetData) IgnorePreflightErrors() map[string]bool { return d.ignore }

// KubernetesDir holds the kubeconfig files and the manifest directory.
func (d *ResetData) KubernetesDir() string { return d.k8sDir }

// EtcdDataDir is the local etcd data directory to clean.
func (d *ResetData) EtcdDataDir() string { return d.etcdDir }

// CRISocket is the container runtime whose pods are removed.
func (d *ResetData) CRISocket() string { return d.criSock }

// KubeletDir is the node agent's directory (/var/lib/kubelet).
func (d *ResetData) KubeletDir() string { return d.kubelet }

// Node is what cleanup-node does to the host.
func (d *ResetData) Node() Node { return d.node }
