package config

import (
	"bytes"
	"fmt"
	"sort"

	"sigs.k8s.io/yaml"

	"github.com/kubeadmin/kubeadmin/internal/constants"
)

// printedKubernetesVersion is what `config print init-defaults` shows:
// the current minor with patch 0 and no "v".
var printedKubernetesVersion = fmt.Sprintf("1.%d.0", constants.KubernetesMinor)

// placeholderToken is the token `config print` shows.
func placeholderToken() *BootstrapTokenString {
	return &BootstrapTokenString{ID: "abcdef", Secret: "0123456789abcdef"}
}

// MarshalInitConfig renders cfg like kubeadm: the InitConfiguration, "---",
// the ClusterConfiguration and, with includeComponents, the
// KubeletConfiguration and KubeProxyConfiguration when present. Keys are
// sorted (sigs.k8s.io/yaml).
func MarshalInitConfig(cfg *InitConfig, includeComponents bool) ([]byte, error) {
	var kinds []string
	if includeComponents {
		if cfg.Components.Kubelet != nil {
			kinds = append(kinds, KindKubelet)
		}
		if cfg.Components.KubeProxy != nil {
			kinds = append(kinds, KindKubeProxy)
		}
	}
	return marshalInitConfig(cfg, kinds)
}

func marshalInitConfig(cfg *InitConfig, componentKinds []string) ([]byte, error) {
	ic := cfg.Init
	ic.APIVersion, ic.Kind = APIVersion, KindInit
	initBytes, err := yaml.Marshal(&ic)
	if err != nil {
		return nil, fmt.Errorf("failed to marshal the InitConfiguration: %w", err)
	}
	clusterBytes, err := MarshalClusterConfig(&cfg.Cluster)
	if err != nil {
		return nil, err
	}
	docs := [][]byte{initBytes, clusterBytes}
	for _, kind := range componentKinds {
		b, err := marshalComponent(cfg, kind)
		if err != nil {
			return nil, err
		}
		docs = append(docs, b)
	}
	return bytes.Join(docs, []byte(constants.YAMLDocumentSeparator)), nil
}

func marshalComponent(cfg *InitConfig, kind string) ([]byte, error) {
	switch kind {
	case KindKubelet:
		if cfg.Components.Kubelet == nil {
			return nil, fmt.Errorf("cannot get defaulted config for component %q", kind)
		}
		return MarshalKubeletConfiguration(cfg.Components.Kubelet)
	case KindKubeProxy:
		if cfg.Components.KubeProxy == nil {
			return nil, fmt.Errorf("cannot get defaulted config for component %q", kind)
		}
		return MarshalKubeProxyConfiguration(cfg.Components.KubeProxy)
	}
	return nil, fmt.Errorf("--component-configs needs to contain some of %v", ComponentConfigKinds())
}

// ComponentConfigKinds lists the kinds `--component-configs` accepts, sorted.
func ComponentConfigKinds() []string {
	kinds := []string{KindKubelet, KindKubeProxy}
	sort.Strings(kinds)
	return kinds
}

// MarshalClusterConfig renders a ClusterConfiguration document.
func MarshalClusterConfig(c *ClusterConfiguration) ([]byte, error) {
	cc := *c
	cc.APIVersion, cc.Kind = APIVersion, KindCluster
	b, err := yaml.Marshal(&cc)
	if err != nil {
		return nil, fmt.Errorf("failed to marshal the ClusterConfiguration: %w", err)
	}
	return b, nil
}

// MarshalClusterConfigForUpload renders the ClusterConfiguration stored
// under key ClusterConfiguration of the kubeadm-config ConfigMap: v1beta4,
// static defaults filled, the Kubernetes version resolved. The input is not
// modified.
func MarshalClusterConfigForUpload(c *ClusterConfiguration) ([]byte, error) {
	cc := *c
	SetDefaultsCluster(&cc)
	v, err := NormalizeKubernetesVersion(cc.KubernetesVersion)
	if err != nil {
		return nil, err
	}
	cc.KubernetesVersion = v
	return MarshalClusterConfig(&cc)
}

// ParseClusterConfig decodes a single ClusterConfiguration document, such as
// the one in the kubeadm-config ConfigMap, and applies static defaults.
func ParseClusterConfig(data []byte, source string) (*ClusterConfiguration, error) {
	pf, err := parseFile(data, source)
	if err != nil {
		return nil, err
	}
	if pf.cluster == nil {
		return nil, &LoadError{Source: source, Problems: []string{"no ClusterConfiguration kind was found"}}
	}
	pf.warnIgnored(KindCluster)
	c := *pf.cluster
	SetDefaultsCluster(&c)
	return &c, nil
}

// InitDefaultsForPrint returns what `kubeadm config print init-defaults`
// prints: static defaults with placeholder values (token
// abcdef.0123456789abcdef, advertise address 1.2.3.4, node name "node",
// kubernetesVersion 1.37.0) and defaulted component configs.
func InitDefaultsForPrint() *InitConfig {
	cfg := &InitConfig{}
	cfg.Init.LocalAPIEndpoint.AdvertiseAddress = "1.2.3.4"
	cfg.Init.BootstrapTokens = []BootstrapToken{{Token: placeholderToken()}}
	cfg.Init.NodeRegistration.CRISocket = constants.DefaultCRISocket
	cfg.Init.NodeRegistration.Name = "node"
	cfg.Cluster.KubernetesVersion = printedKubernetesVersion
	SetDefaultsInit(&cfg.Init)
	SetDefaultsCluster(&cfg.Cluster)
	SetComponentDefaults(cfg)
	return cfg
}

// PrintInitDefaults renders `kubeadm config print init-defaults
// [--component-configs kinds]`.
func PrintInitDefaults(componentKinds []string) ([]byte, error) {
	for _, k := range componentKinds {
		if !contains(ComponentConfigKinds(), k) {
			return nil, fmt.Errorf("--component-configs needs to contain some of %v", ComponentConfigKinds())
		}
	}
	return marshalInitConfig(InitDefaultsForPrint(), componentKinds)
}

// JoinDefaultsForPrint returns what `kubeadm config print join-defaults`
// prints; the node name is this host's name.
func JoinDefaultsForPrint() (*JoinConfiguration, error) {
	return joinDefaultsForPrint(DynamicOptions{})
}

func joinDefaultsForPrint(opts DynamicOptions) (*JoinConfiguration, error) {
	cfg := &JoinConfiguration{Discovery: Discovery{BootstrapToken: &BootstrapTokenDiscovery{
		Token:                    placeholderToken().String(),
		APIServerEndpoint:        "kube-apiserver:6443",
		UnsafeSkipCAVerification: true,
	}}}
	SetDefaultsJoin(cfg)
	opts.SkipCRIDetect = true
	if err := SetDynamicDefaultsJoin(cfg, opts); err != nil {
		return nil, err
	}
	return cfg, nil
}

// ResetDefaultsForPrint returns what `kubeadm config print reset-defaults`
// prints.
func ResetDefaultsForPrint() *ResetConfiguration {
	cfg := &ResetConfiguration{CRISocket: constants.DefaultCRISocket}
	SetDefaultsReset(cfg)
	return cfg
}

// MarshalJoinConfig renders a JoinConfiguration document.
func MarshalJoinConfig(cfg *JoinConfiguration) ([]byte, error) {
	jc := *cfg
	jc.APIVersion, jc.Kind = APIVersion, KindJoin
	b, err := yaml.Marshal(&jc)
	if err != nil {
		return nil, fmt.Errorf("failed to marshal the JoinConfiguration: %w", err)
	}
	return b, nil
}

// MarshalResetConfig renders a ResetConfiguration document.
func MarshalResetConfig(cfg *ResetConfiguration) ([]byte, error) {
	rc := *cfg
	rc.APIVersion, rc.Kind = APIVersion, KindReset
	b, err := yaml.Marshal(&rc)
	if err != nil {
		return nil, fmt.Errorf("failed to marshal the ResetConfiguration: %w", err)
	}
	return b, nil
}
