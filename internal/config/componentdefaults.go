package config

import (
	"path/filepath"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubeproxyv1alpha1 "k8s.io/kube-proxy/config/v1alpha1"
	kubeletv1beta1 "k8s.io/kubelet/config/v1beta1"
	netutils "k8s.io/utils/net"
	"sigs.k8s.io/yaml"

	"github.com/kubeadmin/kubeadmin/internal/constants"
)

// DefaultKubeletConfiguration returns the KubeletConfiguration kubeadm
// writes for a cluster when the user gives none (the kubelet-config
// ConfigMap content): static pod path, cluster DNS (10th IP of the first
// service CIDR), cluster domain, client CA, webhook authn/authz, healthz
// on 127.0.0.1:10248, certificate rotation and cgroupDriver "systemd".
// Fields kubeadm does not set stay at their zero values, as kubeadm
// serializes them.
func DefaultKubeletConfiguration(cluster *ClusterConfiguration) *kubeletv1beta1.KubeletConfiguration {
	kc := newKubeletConfiguration()
	applyKubeletDefaults(kc, cluster)
	return kc
}

// LocalKubeletConfiguration returns a copy of kc for the local node with the
// given cgroup driver. kubeadm keeps cgroupDriver "systemd" in the
// cluster-wide configuration; on machines without systemd as PID 1 the
// node's own config.yaml must say constants.CgroupDriverCgroupfs.
func LocalKubeletConfiguration(kc *kubeletv1beta1.KubeletConfiguration, cgroupDriver string) *kubeletv1beta1.KubeletConfiguration {
	out := kc.DeepCopy()
	if cgroupDriver != "" {
		out.CgroupDriver = cgroupDriver
	}
	return out
}

// DefaultKubeProxyConfiguration returns the KubeProxyConfiguration kubeadm
// writes into the kube-proxy ConfigMap: bind address 0.0.0.0 (:: for an
// IPv6 advertise address), clusterCIDR = podSubnet, the in-pod kubeconfig
// path and mode iptables.
func DefaultKubeProxyConfiguration(cluster *ClusterConfiguration, advertiseAddr string) *kubeproxyv1alpha1.KubeProxyConfiguration {
	kp := newKubeProxyConfiguration()
	applyKubeProxyDefaults(kp, cluster, advertiseAddr)
	return kp
}

// MarshalKubeletConfiguration renders kc as YAML with apiVersion and kind.
func MarshalKubeletConfiguration(kc *kubeletv1beta1.KubeletConfiguration) ([]byte, error) {
	out := kc.DeepCopy()
	out.APIVersion, out.Kind = KubeletAPI, KindKubelet
	return yaml.Marshal(out)
}

// MarshalKubeProxyConfiguration renders kp as YAML with apiVersion and kind.
func MarshalKubeProxyConfiguration(kp *kubeproxyv1alpha1.KubeProxyConfiguration) ([]byte, error) {
	out := kp.DeepCopy()
	out.APIVersion, out.Kind = KubeProxyAPI, KindKubeProxy
	return yaml.Marshal(out)
}

func newKubeletConfiguration() *kubeletv1beta1.KubeletConfiguration {
	return &kubeletv1beta1.KubeletConfiguration{TypeMeta: metav1.TypeMeta{APIVersion: KubeletAPI, Kind: KindKubelet}}
}

func newKubeProxyConfiguration() *kubeproxyv1alpha1.KubeProxyConfiguration {
	return &kubeproxyv1alpha1.KubeProxyConfiguration{TypeMeta: metav1.TypeMeta{APIVersion: KubeProxyAPI, Kind: KindKubeProxy}}
}

// ClusterDNSIP returns the 10th address of the first service CIDR, or
// constants.DefaultClusterDNSIP when the subnet does not parse.
func ClusterDNSIP(serviceSubnet string) string {
	cidrs, err := netutils.ParseCIDRs(strings.Split(serviceSubnet, ","))
	if err != nil || len(cidrs) == 0 {
		return constants.DefaultClusterDNSIP
	}
	ip, err := netutils.GetIndexedIP(cidrs[0], 10)
	if err != nil {
		return constants.DefaultClusterDNSIP
	}
	return ip.String()
}

// APIServerServiceIP returns the 1st address of the first service CIDR (the
// "kubernetes" Service VIP).
func APIServerServiceIP(serviceSubnet string) (string, error) {
	cidrs, err := netutils.ParseCIDRs(strings.Split(serviceSubnet, ","))
	if err != nil {
		return "", err
	}
	ip, err := netutils.GetIndexedIP(cidrs[0], 1)
	if err != nil {
		return "", err
	}
	return ip.String(), nil
}

// warnDefault warns that a user value differs from kubeadm's.
func warnDefault(kind, param string, def, user any) {
	warnf("The recommended value for %q in %q is: %v; the provided value is: %v", param, kind, def, user)
}

// applyKubeletDefaults is kubeadm's kubelet component-config defaulting.
func applyKubeletDefaults(kc *kubeletv1beta1.KubeletConfiguration, c *ClusterConfiguration) {
	const kind = KindKubelet
	if kc.FeatureGates == nil {
		kc.FeatureGates = map[string]bool{}
	}
	if kc.StaticPodPath == "" {
		kc.StaticPodPath = constants.DefaultManifestsDir
	} else if kc.StaticPodPath != constants.DefaultManifestsDir {
		warnDefault(kind, "staticPodPath", constants.DefaultManifestsDir, kc.StaticPodPath)
	}
	dns := ClusterDNSIP(c.Networking.ServiceSubnet)
	if kc.ClusterDNS == nil {
		kc.ClusterDNS = []string{dns}
	} else if len(kc.ClusterDNS) != 1 || kc.ClusterDNS[0] != dns {
		warnDefault(kind, "clusterDNS", []string{dns}, kc.ClusterDNS)
	}
	if kc.ClusterDomain == "" {
		kc.ClusterDomain = c.Networking.DNSDomain
	} else if c.Networking.DNSDomain != "" && kc.ClusterDomain != c.Networking.DNSDomain {
		warnDefault(kind, "clusterDomain", c.Networking.DNSDomain, kc.ClusterDomain)
	}
	clientCA := filepath.Join(c.CertificatesDir, constants.CACertName)
	if kc.Authentication.X509.ClientCAFile == "" {
		kc.Authentication.X509.ClientCAFile = clientCA
	} else if kc.Authentication.X509.ClientCAFile != clientCA {
		warnDefault(kind, "authentication.x509.clientCAFile", clientCA, kc.Authentication.X509.ClientCAFile)
	}
	if kc.Authentication.Anonymous.Enabled == nil {
		kc.Authentication.Anonymous.Enabled = ptrTo(false)
	} else if *kc.Authentication.Anonymous.Enabled {
		warnDefault(kind, "authentication.anonymous.enabled", false, true)
	}
	if kc.Authorization.Mode == "" {
		kc.Authorization.Mode = kubeletv1beta1.KubeletAuthorizationModeWebhook
	} else if kc.Authorization.Mode != kubeletv1beta1.KubeletAuthorizationModeWebhook {
		warnDefault(kind, "authorization.mode", kubeletv1beta1.KubeletAuthorizationModeWebhook, kc.Authorization.Mode)
	}
	if kc.Authentication.Webhook.Enabled == nil {
		kc.Authentication.Webhook.Enabled = ptrTo(true)
	} else if !*kc.Authentication.Webhook.Enabled {
		warnDefault(kind, "authentication.webhook.enabled", true, false)
	}
	if kc.HealthzBindAddress == "" {
		kc.HealthzBindAddress = constants.KubeletHealthzBindAddress
	} else if kc.HealthzBindAddress != constants.KubeletHealthzBindAddress {
		warnDefault(kind, "healthzBindAddress", constants.KubeletHealthzBindAddress, kc.HealthzBindAddress)
	}
	if kc.HealthzPort == nil {
		kc.HealthzPort = ptrTo(int32(constants.KubeletHealthzPort))
	} else if *kc.HealthzPort != constants.KubeletHealthzPort {
		warnDefault(kind, "healthzPort", constants.KubeletHealthzPort, *kc.HealthzPort)
	}
	if kc.ReadOnlyPort != 0 {
		warnDefault(kind, "readOnlyPort", 0, kc.ReadOnlyPort)
	}
	// kubeadm forces rotation: the field is not a pointer, so a user's
	// false cannot be told from unset.
	kc.RotateCertificates = true
	if kc.CgroupDriver == "" {
		kc.CgroupDriver = constants.CgroupDriverSystemd
	}
}

// applyKubeProxyDefaults is kubeadm's kube-proxy component-config defaulting.
func applyKubeProxyDefaults(kp *kubeproxyv1alpha1.KubeProxyConfiguration, c *ClusterConfiguration, advertiseAddr string) {
	const kind = KindKubeProxy
	if kp.FeatureGates == nil {
		kp.FeatureGates = map[string]bool{}
	}
	switch {
	case kp.BindAddress == "":
		kp.BindAddress = proxyBindAddress(advertiseAddr)
	case kp.BindAddress == constants.DefaultProxyBindAddrV4 || kp.BindAddress == constants.DefaultProxyBindAddrV6:
	case netutils.ParseIPSloppy(kp.BindAddress) == nil:
		warnf("The bindAddress %q in %q is not a valid IP address", kp.BindAddress, kind)
	default:
		warnDefault(kind, "bindAddress", proxyBindAddress(kp.BindAddress), kp.BindAddress)
	}
	if kp.ClusterCIDR == "" && c.Networking.PodSubnet != "" {
		kp.ClusterCIDR = c.Networking.PodSubnet
	} else if c.Networking.PodSubnet != "" && kp.ClusterCIDR != c.Networking.PodSubnet {
		warnDefault(kind, "clusterCIDR", c.Networking.PodSubnet, kp.ClusterCIDR)
	}
	if kp.ClientConnection.Kubeconfig == "" {
		kp.ClientConnection.Kubeconfig = constants.KubeProxyKubeConfigFile
	} else if kp.ClientConnection.Kubeconfig != constants.KubeProxyKubeConfigFile {
		warnDefault(kind, "clientConnection.kubeconfig", constants.KubeProxyKubeConfigFile, kp.ClientConnection.Kubeconfig)
	}
	if kp.Mode == "ipvs" {
		warnf("The %q field \"mode\" is set to \"ipvs\" which has been deprecated since version v1.35. "+
			"For newer Linux kernel versions, we recommend using the \"nftables\" mode, which has been GA since v1.33. "+
			"For older Linux kernel versions, you can use the \"iptables\" mode which is still the default one.", kind)
	}
	if kp.Mode == "" {
		kp.Mode = constants.KubeProxyDefaultMode
	}
}

// proxyBindAddress is 0.0.0.0 for an IPv4 address and :: otherwise.
func proxyBindAddress(addr string) string {
	if ip := netutils.ParseIPSloppy(addr); ip != nil && ip.To4() != nil {
		return constants.DefaultProxyBindAddrV4
	}
	return constants.DefaultProxyBindAddrV6
}

func ptrTo[T any](v T) *T { return &v }
