package initphases

import (
	"testing"

	"github.com/kubeadmin/kubeadmin/internal/config"
)

func testConfig() *config.InitConfig {
	cfg := config.DefaultInitConfig()
	cfg.Init.LocalAPIEndpoint.AdvertiseAddress = "10.0.0.10"
	cfg.Init.LocalAPIEndpoint.BindPort = 6444
	cfg.Init.NodeRegistration.Name = "node1"
	cfg.Cluster.KubernetesVersion = "v1.37.2"
	return cfg
}

func TestDryRunRealPaths(t *testing.T) {
	d := &InitData{cfg: testConfig(), dryRunDir: "/tmp/dry", kubeconfigDir: "/etc/kubernetes"}
	for rel, want := range map[string]string{
		"ca.crt":              "/etc/kubernetes/pki/ca.crt",
		"etcd/peer.key":       "/etc/kubernetes/pki/etcd/peer.key",
		"sa.pub":              "/etc/kubernetes/pki/sa.pub",
		"admin.conf":          "/etc/kubernetes/admin.conf",
		"kube-apiserver.yaml": "/etc/kubernetes/manifests/kube-apiserver.yaml",
		"config.yaml":         "/var/lib/kubelet/config.yaml",
		"kubeadm-flags.env":   "/var/lib/kubelet/kubeadm-flags.env",
	} {
		if got := d.realPath(rel); got != want {
			t.Errorf("realPath(%q) = %q, want %q", rel, got, want)
		}
	}
}
