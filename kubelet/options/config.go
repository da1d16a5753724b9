// Package options is the node agent's command line and its
// KubeletConfiguration: the flag set, strict decoding of --config,
// upstream defaults and validation with errors that name the flag or
// field and the fix. It is pure (no engine, no runtime connection), so
// that init's preflight can check kubeletExtraArgs with the same rules.
package options

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
	kubeletv1beta1 "k8s.io/kubelet/config/v1beta1"
	"sigs.k8s.io/yaml"

	"github.com/kubeadmin/kubeadmin/internal/constants"
	"github.com/kubeadmin/kubeadmin/kubelet/cri"
	"github.com/kubeadmin/kubeadmin/kubelet/crilog"
)

// Config is the agent's validated, defaulted configuration.
type Config struct {
	// Kubelet is the KubeletConfiguration with defaults applied.
	Kubelet *kubeletv1beta1.KubeletConfiguration

	NodeName string
	// NodeIP is --node-ip, "" when not given: the agent then chooses the
	// node IP with node.ChooseNodeIP.
	NodeIP              string
	RootDir             string
	KubeConfig          string
	BootstrapKubeConfig string
	// Standalone is true when no kubeconfig is given: static pods only.
	Standalone bool

	StaticPodPath      string
	RuntimeEndpoint    string
	CgroupRoot         string
	FileCheckFrequency time.Duration
	// HealthzAddress is host:port, or "" when healthzPort is 0.
	HealthzAddress string
	PodLogsDir     string
	ClusterDNS     []string
	ClusterDomain  string
	ResolvConf     string

	// NodeLabels are --node-labels, applied at registration.
	NodeLabels map[string]string
	// RegisterTaints are --register-with-taints, else registerWithTaints
	// of --config: the Node's taints at registration.
	RegisterTaints []v1.Taint
	// MaxPods is --max-pods, else maxPods (default 110): the Node's pods
	// capacity and allocatable.
	MaxPods int
	// PodInfraContainerImage is --pod-infra-container-image, "" when not
	// given: the sandbox image the runtime is checked against at start.
	PodInfraContainerImage string
	// PodNetwork is --pod-network: PodNetworkBuiltin or PodNetworkNone.
	PodNetwork string
	// RotateCertificates is rotateCertificates: renew the client
	// certificate before it expires (kubeadm sets it).
	RotateCertificates bool
	// ServerTLSBootstrap is serverTLSBootstrap: request the serving
	// certificate from the cluster instead of a self-signed one.
	ServerTLSBootstrap bool

	// Warnings are non-fatal configuration notes to log at start.
	Warnings []string
}

// Load reads and validates the configuration from the flags and the
// --config file. Errors name the file, the field, the bad value and the fix.
func Load(o Flags) (*Config, error) {
	kc := &kubeletv1beta1.KubeletConfiguration{}
	if o.ConfigFile != "" {
		data, err := os.ReadFile(o.ConfigFile)
		if err != nil {
			return nil, fmt.Errorf("failed to read the kubelet configuration %q: %w", o.ConfigFile, err)
		}
		if kc, err = ParseKubeletConfiguration(data, o.ConfigFile); err != nil {
			return nil, err
		}
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.ContainerRuntimeEndpoint != "" {
		kc.ContainerRuntimeEndpoint = o.ContainerRuntimeEndpoint
	}
	if o.MaxPods > 0 {
		kc.MaxPods = o.MaxPods
	}
	if o.RegisterWithTaints != "" {
		// Validated above.
		kc.RegisterWithTaints, _ = ParseTaints(o.RegisterWithTaints)
	}
	SetKubeletDefaults(kc)
	cfg := &Config{
		Kubelet:             kc,
		RootDir:             o.RootDir,
		KubeConfig:          o.KubeConfig,
		BootstrapKubeConfig: o.BootstrapKubeConfig,
		Standalone:          o.KubeConfig == "" && o.BootstrapKubeConfig == "",
		StaticPodPath:       kc.StaticPodPath,
		RuntimeEndpoint:     kc.ContainerRuntimeEndpoint,
		CgroupRoot:          kc.CgroupRoot,
		FileCheckFrequency:  kc.FileCheckFrequency.Duration,
		PodLogsDir:          kc.PodLogsDir,
		ClusterDNS:          kc.ClusterDNS,
		ClusterDomain:       kc.ClusterDomain,
		ResolvConf:          *kc.ResolverConfig,
		RegisterTaints:      kc.RegisterWithTaints,
		MaxPods:             int(kc.MaxPods),

		PodInfraContainerImage: o.PodInfraContainerImage,
		PodNetwork:             o.PodNetwork,
		RotateCertificates:     kc.RotateCertificates,
		ServerTLSBootstrap:     kc.ServerTLSBootstrap,
	}
	if cfg.PodNetwork == "" {
		cfg.PodNetwork = PodNetworkBuiltin
	}
	if cfg.RootDir == "" {
		cfg.RootDir = DefaultRootDir
	}
	if *kc.HealthzPort != 0 {
		cfg.HealthzAddress = net.JoinHostPort(kc.HealthzBindAddress, fmt.Sprint(*kc.HealthzPort))
	}
	if err := validate(cfg, o); err != nil {
		return nil, err
	}
	name, err := nodeName(o.HostnameOverride)
	if err != nil {
		return nil, err
	}
	cfg.NodeName = name
	if cfg.CgroupRoot == "" {
		// One parent per node, so that several agents on one machine (test
		// nodes) keep their pods apart and a node's cgroups can be removed
		// with it.
		cfg.CgroupRoot = constants.KubeletDefaultCgroupRoot + "-" + name
	}
	cfg.NodeIP = o.NodeIP
	if kc.CgroupDriver == "systemd" {
		cfg.Warnings = append(cfg.Warnings, "cgroupDriver \"systemd\" is not supported by the kubeadmin node agent; using cgroupfs with parent "+cfg.CgroupRoot)
	}
	if cfg.StaticPodPath == "" {
		cfg.Warnings = append(cfg.Warnings, "staticPodPath is empty: no static pods will run")
	}
	if cfg.NodeLabels, err = ParseNodeLabels(o.NodeLabels); err != nil {
		return nil, err
	}
	return cfg, nil
}

// ParseKubeletConfiguration strictly decodes a KubeletConfiguration
// (YAML or JSON): an unknown field or a bad value is an error that names
// the file and the field.
func ParseKubeletConfiguration(data []byte, file string) (*kubeletv1beta1.KubeletConfiguration, error) {
	kc := &kubeletv1beta1.KubeletConfiguration{}
	if err := yaml.UnmarshalStrict(data, kc); err != nil {
		return nil, fmt.Errorf("invalid kubelet configuration %q: %s", file, fieldError(data, err))
	}
	const wantAPI, wantKind = "kubelet.config.k8s.io/v1beta1", "KubeletConfiguration"
	if kc.APIVersion != wantAPI || kc.Kind != wantKind {
		return nil, fmt.Errorf("invalid kubelet configuration %q: apiVersion %q, kind %q: want apiVersion %q and kind %q", file, kc.APIVersion, kc.Kind, wantAPI, wantKind)
	}
	return kc, nil
}

// fieldError finds the top-level field that makes strict decoding fail by
// decoding each field alone, so that the message names it.
func fieldError(data []byte, whole error) string {
	var raw map[string]json.RawMessage
	js, err := yaml.YAMLToJSON(data)
	if err != nil || json.Unmarshal(js, &raw) != nil {
		return whole.Error()
	}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		one, _ := json.Marshal(map[string]json.RawMessage{k: raw[k]})
		dec := json.NewDecoder(bytes.NewReader(one))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&kubeletv1beta1.KubeletConfiguration{}); err != nil {
			if strings.Contains(err.Error(), "unknown field") {
				return fmt.Sprintf("unknown field %q: remove it or check its spelling", k)
			}
			return fmt.Sprintf("field %q has a bad value %s: %v", k, truncate(string(raw[k]), 60), err)
		}
	}
	return whole.Error()
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// SetKubeletDefaults applies the upstream kubelet's defaults to the fields
// the agent uses.
func SetKubeletDefaults(kc *kubeletv1beta1.KubeletConfiguration) {
	if kc.FileCheckFrequency.Duration == 0 {
		kc.FileCheckFrequency.Duration = 20 * time.Second
	}
	if kc.SyncFrequency.Duration == 0 {
		kc.SyncFrequency.Duration = time.Minute
	}
	if kc.HealthzBindAddress == "" {
		kc.HealthzBindAddress = constants.KubeletHealthzBindAddress
	}
	if kc.HealthzPort == nil {
		p := int32(constants.KubeletHealthzPort)
		kc.HealthzPort = &p
	}
	if kc.Address == "" {
		kc.Address = constants.KubeletDefaultAddress
	}
	if kc.Port == 0 {
		kc.Port = constants.KubeletPort
	}
	if kc.PodLogsDir == "" {
		kc.PodLogsDir = constants.PodLogsDir
	}
	if kc.CgroupDriver == "" {
		kc.CgroupDriver = "cgroupfs"
	}
	if kc.ContainerRuntimeEndpoint == "" {
		kc.ContainerRuntimeEndpoint = constants.KubeletDefaultRuntimeEndpoint
	}
	if kc.MaxPods == 0 {
		kc.MaxPods = constants.KubeletDefaultMaxPods
	}
	if kc.ResolverConfig == nil {
		r := "/etc/resolv.conf"
		kc.ResolverConfig = &r
	}
}

func validate(cfg *Config, o Flags) error {
	kc := cfg.Kubelet
	file := o.ConfigFile
	if file == "" {
		file = "(no --config)"
	}
	bad := func(fieldName string, value any, fix string) error {
		return fmt.Errorf("invalid kubelet configuration %q: field %q has a bad value %v: %s", file, fieldName, value, fix)
	}
	if kc.StaticPodPath != "" && !filepath.IsAbs(kc.StaticPodPath) {
		return bad("staticPodPath", kc.StaticPodPath, "use an absolute path such as /etc/kubernetes/manifests")
	}
	if _, err := cri.Target(kc.ContainerRuntimeEndpoint); err != nil {
		return bad("containerRuntimeEndpoint", kc.ContainerRuntimeEndpoint, "use unix:///run/containerd/containerd.sock or another unix socket")
	}
	if kc.CgroupDriver != "cgroupfs" && kc.CgroupDriver != "systemd" {
		return bad("cgroupDriver", kc.CgroupDriver, `use "cgroupfs" or "systemd"`)
	}
	if kc.CgroupRoot != "" && !strings.HasPrefix(kc.CgroupRoot, "/") {
		return bad("cgroupRoot", kc.CgroupRoot, "use an absolute cgroup path such as /kubeadmin")
	}
	if net.ParseIP(kc.HealthzBindAddress) == nil {
		return bad("healthzBindAddress", kc.HealthzBindAddress, "use an IP address such as 127.0.0.1")
	}
	if p := *kc.HealthzPort; p < 0 || p > 65535 {
		return bad("healthzPort", p, "use a port between 1 and 65535, or 0 to disable the health endpoint")
	}
	if net.ParseIP(kc.Address) == nil {
		return bad("address", kc.Address, "use an IP address such as 0.0.0.0")
	}
	if kc.Port < 1 || kc.Port > 65535 {
		return bad("port", kc.Port, "use a port between 1 and 65535")
	}
	if kc.FileCheckFrequency.Duration < 0 {
		return bad("fileCheckFrequency", kc.FileCheckFrequency.Duration, "use a positive duration such as 20s")
	}
	for i, ip := range kc.ClusterDNS {
		if net.ParseIP(ip) == nil {
			return bad(fmt.Sprintf("clusterDNS[%d]", i), ip, "use IP addresses such as 10.96.0.10")
		}
	}
	if kc.PodLogsDir != "" && !filepath.IsAbs(kc.PodLogsDir) {
		return bad("podLogsDir", kc.PodLogsDir, "use an absolute path such as /var/log/pods")
	}
	if kc.MaxPods < 0 {
		return bad("maxPods", kc.MaxPods, "use a positive number of pods such as 110")
	}
	for i, t := range kc.RegisterWithTaints {
		if err := checkTaint(t); err != nil {
			return bad(fmt.Sprintf("registerWithTaints[%d]", i), t.ToString(), err.Error())
		}
	}
	// The rotation fields are checked where they are used; here the error
	// gains the file's name.
	if _, err := crilog.NewRotatePolicy(kc.ContainerLogMaxSize, kc.ContainerLogMaxFiles, kc.ContainerLogMonitorInterval); err != nil {
		return fmt.Errorf("%s (in %q)", err, file)
	}
	return nil
}

// nodeName is the lowercased --hostname-override or hostname.
func nodeName(override string) (string, error) {
	name := override
	if name == "" {
		h, err := os.Hostname()
		if err != nil {
			return "", fmt.Errorf("failed to read the hostname (set --hostname-override): %w", err)
		}
		name = h
	}
	name = strings.ToLower(strings.TrimSpace(name))
	if name == "" {
		return "", fmt.Errorf("invalid flag --hostname-override=%q: the node name must not be empty", override)
	}
	return name, nil
}
