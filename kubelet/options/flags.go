package options

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"

	"github.com/kubeadmin/kubeadmin/internal/constants"
)

// DefaultRootDir is the default --root-dir.
const DefaultRootDir = constants.KubeletRunDir

// Flags are the agent's command-line flags.
type Flags struct {
	// ConfigFile is --config, a KubeletConfiguration file.
	ConfigFile string
	// KubeConfig and BootstrapKubeConfig are --kubeconfig and
	// --bootstrap-kubeconfig. Without either the agent runs standalone.
	KubeConfig          string
	BootstrapKubeConfig string
	// RootDir is --root-dir (default /var/lib/kubelet).
	RootDir string
	// HostnameOverride is --hostname-override.
	HostnameOverride string
	// NodeIP is --node-ip.
	NodeIP string
	// ContainerRuntimeEndpoint is --container-runtime-endpoint; it
	// overrides the config file.
	ContainerRuntimeEndpoint string
	// NodeLabels is --node-labels (k=v,k2=v2), applied at registration.
	NodeLabels string
	// RegisterWithTaints is --register-with-taints. It is accepted for
	// kubeadm compatibility and not used yet: registerWithTaints in
	// --config is.
	RegisterWithTaints string
}

// NewFlagSet returns the agent's flag set, bound to f. Defaults are set
// in f as the flags are defined.
func NewFlagSet(f *Flags) *pflag.FlagSet {
	fs := pflag.NewFlagSet("kubelet", pflag.ContinueOnError)
	fs.StringVar(&f.ConfigFile, "config", "", "KubeletConfiguration file (kubelet.config.k8s.io/v1beta1)")
	fs.StringVar(&f.KubeConfig, "kubeconfig", "", "kubeconfig of the node; without it (and --bootstrap-kubeconfig) the agent runs standalone")
	fs.StringVar(&f.BootstrapKubeConfig, "bootstrap-kubeconfig", "", "kubeconfig used to obtain the node's client certificate")
	fs.StringVar(&f.RootDir, "root-dir", DefaultRootDir, "directory for the pods' volumes and files")
	fs.StringVar(&f.HostnameOverride, "hostname-override", "", "node name to use instead of the hostname")
	fs.StringVar(&f.NodeIP, "node-ip", "", "IP address of the node")
	fs.StringVar(&f.ContainerRuntimeEndpoint, "container-runtime-endpoint", "", "CRI endpoint; overrides containerRuntimeEndpoint of --config")
	fs.StringVar(&f.NodeLabels, "node-labels", "", "labels to register the node with (key=value pairs separated by commas)")
	fs.StringVar(&f.RegisterWithTaints, "register-with-taints", "", "taints to register the node with (accepted for kubeadm compatibility; use registerWithTaints in --config)")
	return fs
}

// Parse parses the agent's arguments (flags only, as in kubeadm's
// kubeletExtraArgs or kubeadm-flags.env) and checks the flag values that
// need no file or host: an unknown flag or a bad value is an error naming
// the flag.
func Parse(args []string) (*Flags, error) {
	f := &Flags{}
	fs := NewFlagSet(f)
	if err := fs.Parse(args); err != nil {
		return nil, fmt.Errorf("invalid kubelet arguments: %w", err)
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("invalid kubelet arguments: unexpected argument %q: the agent takes flags only", fs.Arg(0))
	}
	if err := f.Validate(); err != nil {
		return nil, err
	}
	return f, nil
}

// Validate checks the flag values on their own.
func (f *Flags) Validate() error {
	if f.RootDir != "" && !filepath.IsAbs(f.RootDir) {
		return fmt.Errorf("invalid flag --root-dir=%q: use an absolute path such as /var/lib/kubelet", f.RootDir)
	}
	if f.NodeIP != "" && net.ParseIP(f.NodeIP) == nil {
		return fmt.Errorf("invalid flag --node-ip=%q: use an IP address of this node", f.NodeIP)
	}
	_, err := ParseNodeLabels(f.NodeLabels)
	return err
}

// ParseNodeLabels parses --node-labels.
func ParseNodeLabels(s string) (map[string]string, error) {
	labels := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		if kv = strings.TrimSpace(kv); kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("invalid --node-labels entry %q: use key=value pairs separated by commas", kv)
		}
		labels[k] = v
	}
	return labels, nil
}
