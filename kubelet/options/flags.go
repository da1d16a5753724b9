package options

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/pflag"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	kubeletapis "k8s.io/kubelet/pkg/apis"

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
	// HostnameOverride is --hostname-override: the node name.
	HostnameOverride string
	// NodeIP is --node-ip.
	NodeIP string
	// ContainerRuntimeEndpoint is --container-runtime-endpoint; it
	// overrides the config file.
	ContainerRuntimeEndpoint string
	// NodeLabels is --node-labels (k=v,k2=v2), applied at registration.
	NodeLabels string
	// RegisterWithTaints is --register-with-taints (k=v:Effect,k2:Effect),
	// applied at registration; it replaces registerWithTaints of --config.
	RegisterWithTaints string
	// MaxPods is --max-pods, the Node's pods capacity; 0 keeps maxPods
	// of --config (default 110).
	MaxPods int32
	// PodInfraContainerImage is --pod-infra-container-image, the sandbox
	// image the agent expects. containerd chooses the sandbox image itself
	// (sandbox_image in its config; CRI has no field for it), so the agent
	// checks at start that the runtime uses this image and has it, and
	// logs a warning naming both images otherwise.
	PodInfraContainerImage string
	// PodNetwork is --pod-network: PodNetworkBuiltin (the default) runs
	// the built-in pod network (kubelet/network); PodNetworkNone leaves
	// CNI, routes and masquerade to a network add-on.
	PodNetwork string
}

// Values of --pod-network.
const (
	PodNetworkBuiltin = "builtin"
	PodNetworkNone    = "none"
)

// NewFlagSet returns the agent's flag set, bound to f. Defaults are set
// in f as the flags are defined.
func NewFlagSet(f *Flags) *pflag.FlagSet {
	fs := pflag.NewFlagSet("kubelet", pflag.ContinueOnError)
	fs.StringVar(&f.ConfigFile, "config", "", "KubeletConfiguration file (kubelet.config.k8s.io/v1beta1)")
	fs.StringVar(&f.KubeConfig, "kubeconfig", "", "kubeconfig of the node; without it (and --bootstrap-kubeconfig) the agent runs standalone")
	fs.StringVar(&f.BootstrapKubeConfig, "bootstrap-kubeconfig", "", "kubeconfig used to obtain the node's client certificate")
	fs.StringVar(&f.RootDir, "root-dir", DefaultRootDir, "directory for the pods' volumes and files")
	fs.StringVar(&f.HostnameOverride, "hostname-override", "", "node name to use instead of the hostname")
	fs.StringVar(&f.NodeIP, "node-ip", "", "IP address of the node (default: the address that reaches the API server)")
	fs.StringVar(&f.ContainerRuntimeEndpoint, "container-runtime-endpoint", "", "CRI endpoint; overrides containerRuntimeEndpoint of --config")
	fs.StringVar(&f.NodeLabels, "node-labels", "", "labels to register the node with (key=value pairs separated by commas)")
	fs.StringVar(&f.RegisterWithTaints, "register-with-taints", "", "taints to register the node with (key=value:Effect or key:Effect, separated by commas); overrides registerWithTaints of --config")
	fs.Int32Var(&f.MaxPods, "max-pods", 0, "number of pods the node can run (its pods capacity); overrides maxPods of --config (default 110)")
	fs.StringVar(&f.PodInfraContainerImage, "pod-infra-container-image", "", "sandbox (pause) image the runtime should use; the agent checks containerd's sandbox_image against it and warns on a mismatch")
	fs.StringVar(&f.PodNetwork, "pod-network", PodNetworkBuiltin, "pod network: \"builtin\" writes the CNI configuration and keeps routes and masquerade for the node's pod CIDR; \"none\" when a network add-on (Calico, Cilium, Flannel, ...) does it")
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
		return nil, flagError(err)
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("invalid kubelet arguments: unexpected argument %q: the agent takes flags only", fs.Arg(0))
	}
	if err := f.Validate(); err != nil {
		return nil, err
	}
	return f, nil
}

// flagError words a flag parse error for someone editing
// kubeletExtraArgs: pflag's message names the flag.
func flagError(err error) error {
	msg := err.Error()
	if strings.HasPrefix(msg, "unknown flag") || strings.HasPrefix(msg, "unknown shorthand flag") {
		return fmt.Errorf("invalid kubelet arguments: %s: the kubeadmin node agent does not support this flag; remove it from nodeRegistration.kubeletExtraArgs (or KUBELET_EXTRA_ARGS), or set the matching KubeletConfiguration field", msg)
	}
	return fmt.Errorf("invalid kubelet arguments: %w", err)
}

// Validate checks the flag values on their own.
func (f *Flags) Validate() error {
	if f.RootDir != "" && !filepath.IsAbs(f.RootDir) {
		return fmt.Errorf("invalid flag --root-dir=%q: use an absolute path such as /var/lib/kubelet", f.RootDir)
	}
	if f.NodeIP != "" && net.ParseIP(f.NodeIP) == nil {
		return fmt.Errorf("invalid flag --node-ip=%q: use an IP address of this node", f.NodeIP)
	}
	if f.MaxPods < 0 {
		return fmt.Errorf("invalid flag --max-pods=%d: use a positive number of pods such as 110", f.MaxPods)
	}
	if f.PodInfraContainerImage != "" && strings.ContainsAny(f.PodInfraContainerImage, " \t\n") {
		return fmt.Errorf("invalid flag --pod-infra-container-image=%q: use an image reference such as registry.k8s.io/pause:3.10", f.PodInfraContainerImage)
	}
	switch f.PodNetwork {
	case "", PodNetworkBuiltin, PodNetworkNone:
	default:
		return fmt.Errorf("invalid flag --pod-network=%q: use %q (the built-in pod network) or %q (a network add-on such as Calico, Cilium or Flannel provides it)", f.PodNetwork, PodNetworkBuiltin, PodNetworkNone)
	}
	if _, err := ParseNodeLabels(f.NodeLabels); err != nil {
		return err
	}
	_, err := ParseTaints(f.RegisterWithTaints)
	return err
}

// ParseNodeLabels parses --node-labels: keys and values must be valid
// label keys and values, and keys in the kubernetes.io and k8s.io
// namespaces are limited to those a kubelet may set on its own Node (the
// NodeRestriction admission plugin refuses the others, and registration
// would never succeed).
func ParseNodeLabels(s string) (map[string]string, error) {
	labels := map[string]string{}
	var restricted []string
	for _, kv := range strings.Split(s, ",") {
		if kv = strings.TrimSpace(kv); kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("invalid --node-labels entry %q: use key=value pairs separated by commas", kv)
		}
		if errs := validation.IsQualifiedName(k); len(errs) > 0 {
			return nil, fmt.Errorf("invalid --node-labels key %q: %s", k, strings.Join(errs, "; "))
		}
		if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
			return nil, fmt.Errorf("invalid --node-labels value %q of %q: %s", v, k, strings.Join(errs, "; "))
		}
		if kubernetesNamespace(k) && !kubeletapis.IsKubeletLabel(k) {
			restricted = append(restricted, k)
		}
		labels[k] = v
	}
	if len(restricted) > 0 {
		sort.Strings(restricted)
		return nil, fmt.Errorf("invalid --node-labels %s: a node may only set kubernetes.io or k8s.io labels with a prefix in %v or one of %v; set the others (for example node-role.kubernetes.io/...) with kubectl label",
			strings.Join(restricted, ", "), kubeletapis.KubeletLabelNamespaces(), kubeletapis.KubeletLabels())
	}
	return labels, nil
}

// kubernetesNamespace reports whether key's prefix is kubernetes.io,
// k8s.io or a subdomain of them.
func kubernetesNamespace(key string) bool {
	prefix, _, ok := strings.Cut(key, "/")
	if !ok {
		return false
	}
	for _, ns := range []string{"kubernetes.io", "k8s.io"} {
		if prefix == ns || strings.HasSuffix(prefix, "."+ns) {
			return true
		}
	}
	return false
}

// taintEffects are the effects a taint may have.
var taintEffects = []v1.TaintEffect{v1.TaintEffectNoSchedule, v1.TaintEffectPreferNoSchedule, v1.TaintEffectNoExecute}

// ParseTaints parses --register-with-taints: comma-separated
// key=value:Effect or key:Effect entries, as kubeadm writes them.
func ParseTaints(s string) ([]v1.Taint, error) {
	var taints []v1.Taint
	for _, entry := range strings.Split(s, ",") {
		if entry = strings.TrimSpace(entry); entry == "" {
			continue
		}
		i := strings.LastIndex(entry, ":")
		if i < 0 {
			return nil, fmt.Errorf("invalid --register-with-taints entry %q: use key=value:Effect or key:Effect, with Effect one of %v", entry, taintEffects)
		}
		t := v1.Taint{Effect: v1.TaintEffect(entry[i+1:])}
		t.Key, t.Value, _ = strings.Cut(entry[:i], "=")
		if err := checkTaint(t); err != nil {
			return nil, fmt.Errorf("invalid --register-with-taints entry %q: %w", entry, err)
		}
		for _, prev := range taints {
			if prev.Key == t.Key && prev.Effect == t.Effect {
				return nil, fmt.Errorf("invalid --register-with-taints: key %q with effect %s is given twice", t.Key, t.Effect)
			}
		}
		taints = append(taints, t)
	}
	return taints, nil
}

// checkTaint checks a taint's key, value and effect.
func checkTaint(t v1.Taint) error {
	if errs := validation.IsQualifiedName(t.Key); len(errs) > 0 {
		return fmt.Errorf("key %q: %s", t.Key, strings.Join(errs, "; "))
	}
	if errs := validation.IsValidLabelValue(t.Value); len(errs) > 0 {
		return fmt.Errorf("value %q: %s", t.Value, strings.Join(errs, "; "))
	}
	for _, e := range taintEffects {
		if t.Effect == e {
			return nil
		}
	}
	if t.Effect == "" {
		return errors.New("the effect is missing: use NoSchedule, PreferNoSchedule or NoExecute")
	}
	return fmt.Errorf("effect %q: use NoSchedule, PreferNoSchedule or NoExecute", t.Effect)
}
