package config

import (
	"strings"
	"testing"

	kubeproxyv1alpha1 "k8s.io/kube-proxy/config/v1alpha1"
	kubeletv1beta1 "k8s.io/kubelet/config/v1beta1"

	"github.com/kubeadmin/kubeadmin/internal/constants"
)

func clusterWith(mutate func(c *ClusterConfiguration)) *ClusterConfiguration {
	c := &ClusterConfiguration{}
	SetDefaultsCluster(c)
	if mutate != nil {
		mutate(c)
	}
	return c
}

func TestDefaultKubeletConfiguration(t *testing.T) {
	cases := []struct {
		name    string
		cluster *ClusterConfiguration
		dns     string
		domain  string
		ca      string
	}{
		{"defaults", clusterWith(nil), "10.96.0.10", "cluster.local", "/etc/kubernetes/pki/ca.crt"},
		{"custom network and cert dir", clusterWith(func(c *ClusterConfiguration) {
			c.Networking.ServiceSubnet = "10.100.0.0/16,fd00::/112"
			c.Networking.DNSDomain = "corp.local"
			c.CertificatesDir = "/srv/pki"
		}), "10.100.0.10", "corp.local", "/srv/pki/ca.crt"},
		{"IPv6 first", clusterWith(func(c *ClusterConfiguration) { c.Networking.ServiceSubnet = "fd00:10:96::/112" }), "fd00:10:96::a", "cluster.local", "/etc/kubernetes/pki/ca.crt"},
		{"unparsable subnet falls back", clusterWith(func(c *ClusterConfiguration) { c.Networking.ServiceSubnet = "x" }), constants.DefaultClusterDNSIP, "cluster.local", "/etc/kubernetes/pki/ca.crt"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			kc := DefaultKubeletConfiguration(tc.cluster)
			if len(kc.ClusterDNS) != 1 || kc.ClusterDNS[0] != tc.dns {
				t.Errorf("clusterDNS %v, want %s", kc.ClusterDNS, tc.dns)
			}
			if kc.ClusterDomain != tc.domain || kc.Authentication.X509.ClientCAFile != tc.ca {
				t.Errorf("clusterDomain %q clientCAFile %q", kc.ClusterDomain, kc.Authentication.X509.ClientCAFile)
			}
			if kc.StaticPodPath != "/etc/kubernetes/manifests" || kc.HealthzBindAddress != "127.0.0.1" || *kc.HealthzPort != 10248 {
				t.Errorf("staticPodPath/healthz %q %q %d", kc.StaticPodPath, kc.HealthzBindAddress, *kc.HealthzPort)
			}
			if *kc.Authentication.Anonymous.Enabled || !*kc.Authentication.Webhook.Enabled || kc.Authorization.Mode != kubeletv1beta1.KubeletAuthorizationModeWebhook {
				t.Error("authentication/authorization not kubeadm's")
			}
			if !kc.RotateCertificates || kc.CgroupDriver != "systemd" {
				t.Errorf("rotateCertificates %v cgroupDriver %q", kc.RotateCertificates, kc.CgroupDriver)
			}
			if kc.APIVersion != KubeletAPI || kc.Kind != KindKubelet {
				t.Errorf("type meta %+v", kc.TypeMeta)
			}
		})
	}
}

func TestLocalKubeletConfiguration(t *testing.T) {
	kc := DefaultKubeletConfiguration(clusterWith(nil))
	local := LocalKubeletConfiguration(kc, constants.CgroupDriverCgroupfs)
	if local.CgroupDriver != "cgroupfs" || kc.CgroupDriver != "systemd" {
		t.Errorf("local %q cluster %q", local.CgroupDriver, kc.CgroupDriver)
	}
	local.ClusterDNS[0] = "changed"
	if kc.ClusterDNS[0] == "changed" {
		t.Error("LocalKubeletConfiguration must deep-copy")
	}
	if LocalKubeletConfiguration(kc, "").CgroupDriver != "systemd" {
		t.Error("an empty driver keeps the value")
	}
}

func TestUserKubeletConfigurationWarnings(t *testing.T) {
	warnings := quietWarnings(t)
	kc := &kubeletv1beta1.KubeletConfiguration{
		StaticPodPath: "/other", ClusterDNS: []string{"1.1.1.1"}, ClusterDomain: "x.local",
		HealthzBindAddress: "0.0.0.0", ReadOnlyPort: 10255, CgroupDriver: "cgroupfs",
		Authorization: kubeletv1beta1.KubeletAuthorization{Mode: kubeletv1beta1.KubeletAuthorizationModeAlwaysAllow},
	}
	kc.Authentication.Anonymous.Enabled = ptrTo(true)
	kc.Authentication.Webhook.Enabled = ptrTo(false)
	kc.Authentication.X509.ClientCAFile = "/ca.crt"
	kc.HealthzPort = ptrTo(int32(1))
	applyKubeletDefaults(kc, clusterWith(nil))
	if kc.StaticPodPath != "/other" || kc.CgroupDriver != "cgroupfs" || !kc.RotateCertificates {
		t.Errorf("user values must be kept (rotation forced): %+v", kc)
	}
	got := strings.Join(*warnings, "\n")
	for _, field := range []string{"staticPodPath", "clusterDNS", "clusterDomain", "authentication.x509.clientCAFile", "authentication.anonymous.enabled",
		"authorization.mode", "authentication.webhook.enabled", "healthzBindAddress", "healthzPort", "readOnlyPort"} {
		if !strings.Contains(got, `"`+field+`" in "KubeletConfiguration"`) {
			t.Errorf("no warning for %s in %q", field, got)
		}
	}
}

func TestDefaultKubeProxyConfiguration(t *testing.T) {
	cases := []struct {
		name      string
		cluster   *ClusterConfiguration
		advertise string
		bind      string
		cidr      string
	}{
		{"IPv4", clusterWith(func(c *ClusterConfiguration) { c.Networking.PodSubnet = "10.244.0.0/16" }), "10.0.0.10", "0.0.0.0", "10.244.0.0/16"},
		{"IPv6", clusterWith(nil), "fd00::10", "::", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			kp := DefaultKubeProxyConfiguration(tc.cluster, tc.advertise)
			if kp.BindAddress != tc.bind || kp.ClusterCIDR != tc.cidr {
				t.Errorf("bindAddress %q clusterCIDR %q", kp.BindAddress, kp.ClusterCIDR)
			}
			if kp.ClientConnection.Kubeconfig != "/var/lib/kube-proxy/kubeconfig.conf" || kp.Mode != "iptables" {
				t.Errorf("kubeconfig %q mode %q", kp.ClientConnection.Kubeconfig, kp.Mode)
			}
			b, err := MarshalKubeProxyConfiguration(kp)
			if err != nil || !strings.HasPrefix(string(b), "apiVersion: kubeproxy.config.k8s.io/v1alpha1\n") || !strings.Contains(string(b), "kind: KubeProxyConfiguration\n") {
				t.Errorf("marshal: %v\n%s", err, b)
			}
		})
	}
}

func TestUserKubeProxyConfigurationWarnings(t *testing.T) {
	cases := []struct {
		name string
		kp   kubeproxyv1alpha1.KubeProxyConfiguration
		want string
	}{
		{"ipvs", kubeproxyv1alpha1.KubeProxyConfiguration{Mode: "ipvs"}, "deprecated since version v1.35"},
		{"bad bind address", kubeproxyv1alpha1.KubeProxyConfiguration{BindAddress: "x"}, `The bindAddress "x"`},
		{"specific bind address", kubeproxyv1alpha1.KubeProxyConfiguration{BindAddress: "10.0.0.1"}, `"bindAddress" in "KubeProxyConfiguration" is: 0.0.0.0`},
		{"cluster CIDR", kubeproxyv1alpha1.KubeProxyConfiguration{ClusterCIDR: "10.0.0.0/8"}, `"clusterCIDR"`},
		{"kubeconfig", func() kubeproxyv1alpha1.KubeProxyConfiguration {
			var kp kubeproxyv1alpha1.KubeProxyConfiguration
			kp.ClientConnection.Kubeconfig = "/k"
			return kp
		}(), `"clientConnection.kubeconfig"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			warnings := quietWarnings(t)
			kp := tc.kp
			applyKubeProxyDefaults(&kp, clusterWith(func(c *ClusterConfiguration) { c.Networking.PodSubnet = "10.244.0.0/16" }), "10.0.0.10")
			if got := strings.Join(*warnings, "\n"); !strings.Contains(got, tc.want) {
				t.Errorf("warnings %q, want %q", got, tc.want)
			}
		})
	}
}

func TestServiceIPs(t *testing.T) {
	if ip, err := APIServerServiceIP("10.96.0.0/12"); err != nil || ip != "10.96.0.1" {
		t.Errorf("APIServerServiceIP = %q %v", ip, err)
	}
	if _, err := APIServerServiceIP("nope"); err == nil {
		t.Error("want an error")
	}
	if got := ClusterDNSIP("192.168.0.0/24"); got != "192.168.0.10" {
		t.Errorf("ClusterDNSIP = %q", got)
	}
}

func TestMarshalKubeletConfigurationSetsTypeMeta(t *testing.T) {
	b, err := MarshalKubeletConfiguration(&kubeletv1beta1.KubeletConfiguration{CgroupDriver: "cgroupfs"})
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if !strings.HasPrefix(s, "apiVersion: kubelet.config.k8s.io/v1beta1\n") || !strings.Contains(s, "kind: KubeletConfiguration\n") || !strings.Contains(s, "cgroupDriver: cgroupfs\n") {
		t.Errorf("output:\n%s", s)
	}
}
