package clusterobjects

// This file holds small stand-ins for helpers that package config is meant
// to provide. Each is marked with the config function that should replace it.

import (
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	kubeproxyv1alpha1 "k8s.io/kube-proxy/config/v1alpha1"
	kubeletv1beta1 "k8s.io/kubelet/config/v1beta1"
	netutils "k8s.io/utils/net"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/kubeadmin/kubeadmin/config"
	"github.com/kubeadmin/kubeadmin/constants"
)

// kubeletConfigFor is the cluster-wide KubeletConfiguration: the user's
// document (if any) with kubeadm's defaults filled in where unset, as
// kubeadm's componentconfigs kubelet Default() does.
//
// TODO(lead): replace with config.DefaultKubeletConfiguration(cluster)
// (applied over cfg.Components.Kubelet when the user supplied one).
func kubeletConfigFor(cfg *config.InitConfig) *kubeletv1beta1.KubeletConfiguration {
	kc := &kubeletv1beta1.KubeletConfiguration{}
	if cfg.Components.Kubelet != nil {
		kc = cfg.Components.Kubelet.DeepCopy()
	}
	kc.APIVersion, kc.Kind = config.KubeletAPI, config.KindKubelet
	if kc.FeatureGates == nil {
		kc.FeatureGates = map[string]bool{}
	}
	if kc.StaticPodPath == "" {
		kc.StaticPodPath = filepath.Join(constants.KubernetesDir, constants.ManifestsSubDirName)
	}
	if kc.ClusterDNS == nil {
		ip := constants.DefaultClusterDNSIP
		if dns, err := dnsIP(cfg.Cluster.Networking.ServiceSubnet); err == nil {
			ip = dns.String()
		}
		kc.ClusterDNS = []string{ip}
	}
	if kc.ClusterDomain == "" {
		kc.ClusterDomain = cfg.Cluster.Networking.DNSDomain
	}
	if kc.Authentication.X509.ClientCAFile == "" {
		kc.Authentication.X509.ClientCAFile = filepath.Join(cfg.Cluster.CertificatesDir, "ca.crt")
	}
	if kc.Authentication.Anonymous.Enabled == nil {
		kc.Authentication.Anonymous.Enabled = ptr.To(false)
	}
	if kc.Authorization.Mode == "" {
		kc.Authorization.Mode = kubeletv1beta1.KubeletAuthorizationModeWebhook
	}
	if kc.Authentication.Webhook.Enabled == nil {
		kc.Authentication.Webhook.Enabled = ptr.To(true)
	}
	if kc.HealthzBindAddress == "" {
		kc.HealthzBindAddress = constants.KubeletHealthzBindAddress
	}
	if kc.HealthzPort == nil {
		kc.HealthzPort = ptr.To[int32](constants.KubeletHealthzPort)
	}
	kc.RotateCertificates = true
	if kc.CgroupDriver == "" {
		kc.CgroupDriver = "systemd"
	}
	return kc
}

// kubeProxyConfigFor is the cluster-wide KubeProxyConfiguration with
// kubeadm's defaults filled in where unset.
//
// TODO(lead): replace with config.DefaultKubeProxyConfiguration(cluster,
// advertiseAddr) (applied over cfg.Components.KubeProxy when supplied).
func kubeProxyConfigFor(cfg *config.InitConfig) *kubeproxyv1alpha1.KubeProxyConfiguration {
	kp := &kubeproxyv1alpha1.KubeProxyConfiguration{}
	if cfg.Components.KubeProxy != nil {
		kp = cfg.Components.KubeProxy.DeepCopy()
	}
	kp.APIVersion, kp.Kind = config.KubeProxyAPI, config.KindKubeProxy
	if kp.FeatureGates == nil {
		kp.FeatureGates = map[string]bool{}
	}
	if kp.BindAddress == "" {
		kp.BindAddress = constants.DefaultProxyBindAddrV6
		if ip := netutils.ParseIPSloppy(cfg.Init.LocalAPIEndpoint.AdvertiseAddress); ip != nil && ip.To4() != nil {
			kp.BindAddress = constants.DefaultProxyBindAddrV4
		}
	}
	if kp.ClusterCIDR == "" && cfg.Cluster.Networking.PodSubnet != "" {
		kp.ClusterCIDR = cfg.Cluster.Networking.PodSubnet
	}
	if kp.ClientConnection.Kubeconfig == "" {
		kp.ClientConnection.Kubeconfig = constants.KubeProxyConfigDir + "/" + constants.KubeProxyKubeConfigMapKey
	}
	if kp.Mode == "" {
		kp.Mode = "iptables"
	}
	return kp
}

// marshalClusterConfigForUpload is the ClusterConfiguration as stored in
// the kubeadm-config ConfigMap.
//
// TODO(lead): replace with config.MarshalClusterConfigForUpload(cluster).
func marshalClusterConfigForUpload(cluster *config.ClusterConfiguration) ([]byte, error) {
	c := *cluster // shallow: only TypeMeta is changed
	c.APIVersion, c.Kind = config.APIVersion, config.KindCluster
	b, err := yaml.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("failed to marshal the ClusterConfiguration: %w", err)
	}
	return b, nil
}

var invalidTagChars = regexp.MustCompile(`[^-\w.]`)

// kubeProxyImage is <imageRepository>/kube-proxy:<version>.
//
// TODO(lead): replace with config.ImageFor(cluster, constants.KubeProxy).
func kubeProxyImage(cluster *config.ClusterConfiguration) string {
	tag := invalidTagChars.ReplaceAllString(cluster.KubernetesVersion, "_")
	return fmt.Sprintf("%s/%s:%s", cluster.ImageRepository, constants.KubeProxy, tag)
}

// coreDNSImage is the CoreDNS image: registry.k8s.io/coredns/coredns for the
// default repository, <repo>/coredns otherwise, with dns overrides.
//
// TODO(lead): replace with config.ImageFor(cluster, constants.CoreDNS).
func coreDNSImage(cluster *config.ClusterConfiguration) string {
	repo := cluster.ImageRepository
	if cluster.DNS.ImageRepository != "" {
		repo = cluster.DNS.ImageRepository
	}
	if repo == constants.DefaultImageRepository {
		repo += "/" + constants.CoreDNS
	}
	tag := constants.CoreDNSVersion
	if cluster.DNS.ImageTag != "" {
		tag = cluster.DNS.ImageTag
	}
	return fmt.Sprintf("%s/%s:%s", repo, constants.CoreDNS, tag)
}

// dnsIP is the 10th address of the first service subnet.
func dnsIP(serviceSubnets string) (net.IP, error) {
	first, _, _ := strings.Cut(serviceSubnets, ",")
	_, cidr, err := netutils.ParseCIDRSloppy(strings.TrimSpace(first))
	if err != nil {
		return nil, fmt.Errorf("failed to parse networking.serviceSubnet %q: %w", serviceSubnets, err)
	}
	ip, err := netutils.GetIndexedIP(cidr, 10)
	if err != nil {
		return nil, fmt.Errorf("failed to get the DNS service IP from networking.serviceSubnet %q: %w", serviceSubnets, err)
	}
	return ip, nil
}

// controlPlaneURL is https://<controlPlaneEndpoint> (with bindPort when it
// has no port), or https://<advertiseAddress>:<bindPort>.
func controlPlaneURL(cluster *config.ClusterConfiguration, local config.APIEndpoint) (string, error) {
	port := strconv.Itoa(int(local.BindPort))
	if cpe := cluster.ControlPlaneEndpoint; cpe != "" {
		host, p, err := net.SplitHostPort(cpe)
		if err != nil {
			host, p = strings.Trim(cpe, "[]"), port
		}
		if p == "" {
			p = port
		}
		return "https://" + net.JoinHostPort(host, p), nil
	}
	ip := netutils.ParseIPSloppy(local.AdvertiseAddress)
	if ip == nil {
		return "", fmt.Errorf("invalid localAPIEndpoint.advertiseAddress %q: it must be an IP address", local.AdvertiseAddress)
	}
	return "https://" + net.JoinHostPort(ip.String(), port), nil
}
