package clusterobjects

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	kubeproxyv1alpha1 "k8s.io/kube-proxy/config/v1alpha1"
	kubeletv1beta1 "k8s.io/kubelet/config/v1beta1"
	netutils "k8s.io/utils/net"

	"github.com/kubeadmin/kubeadmin/internal/config"
)

// kubeletConfigFor is the cluster-wide KubeletConfiguration: the one in
// cfg.Components (completed with kubeadm's defaults by config's dynamic
// defaulting) or, if there is none, kubeadm's default.
func kubeletConfigFor(cfg *config.InitConfig) *kubeletv1beta1.KubeletConfiguration {
	if cfg.Components.Kubelet != nil {
		return cfg.Components.Kubelet
	}
	return config.DefaultKubeletConfiguration(&cfg.Cluster)
}

// kubeProxyConfigFor is the cluster-wide KubeProxyConfiguration, as
// kubeletConfigFor.
func kubeProxyConfigFor(cfg *config.InitConfig) *kubeproxyv1alpha1.KubeProxyConfiguration {
	if cfg.Components.KubeProxy != nil {
		return cfg.Components.KubeProxy
	}
	return config.DefaultKubeProxyConfiguration(&cfg.Cluster, cfg.Init.LocalAPIEndpoint.AdvertiseAddress)
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
