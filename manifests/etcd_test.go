package manifests

import (
	"slices"
	"testing"

	"github.com/kubeadmin/kubeadmin/internal/config"
)

var defaultEtcdFlags = []string{
	"etcd",
	"--advertise-client-urls=https://10.0.0.10:2379",
	"--cert-file=/etc/kubernetes/pki/etcd/server.crt",
	"--client-cert-auth=true",
	"--data-dir=/var/lib/etcd",
	"--feature-gates=InitialCorruptCheck=true",
	"--initial-advertise-peer-urls=https://10.0.0.10:2380",
	"--initial-cluster=node1=https://10.0.0.10:2380",
	"--key-file=/etc/kubernetes/pki/etcd/server.key",
	"--listen-client-urls=https://127.0.0.1:2379,https://10.0.0.10:2379",
	"--listen-metrics-urls=http://127.0.0.1:2381",
	"--listen-peer-urls=https://10.0.0.10:2380",
	"--name=node1",
	"--peer-cert-file=/etc/kubernetes/pki/etcd/peer.crt",
	"--peer-client-cert-auth=true",
	"--peer-key-file=/etc/kubernetes/pki/etcd/peer.key",
	"--peer-trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt",
	"--snapshot-count=10000",
	"--trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt",
	"--watch-progress-notify-interval=5s",
}

func TestEtcdCommand(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*config.InitConfig)
		members []Member
		want    []string
	}{
		{name: "defaults", mutate: func(*config.InitConfig) {}, want: defaultEtcdFlags},
		{
			name: "joining member",
			mutate: func(c *config.InitConfig) {
				c.Init.LocalAPIEndpoint.AdvertiseAddress = "10.0.0.11"
				c.Init.NodeRegistration.Name = "node2"
			},
			members: []Member{{Name: "node1", PeerURL: "https://10.0.0.10:2380"}, {Name: "node2", PeerURL: EtcdPeerURL("10.0.0.11")}},
			want: []string{
				"etcd",
				"--advertise-client-urls=https://10.0.0.11:2379",
				"--cert-file=/etc/kubernetes/pki/etcd/server.crt",
				"--client-cert-auth=true",
				"--data-dir=/var/lib/etcd",
				"--feature-gates=InitialCorruptCheck=true",
				"--initial-advertise-peer-urls=https://10.0.0.11:2380",
				"--initial-cluster=node1=https://10.0.0.10:2380,node2=https://10.0.0.11:2380",
				"--initial-cluster-state=existing",
				"--key-file=/etc/kubernetes/pki/etcd/server.key",
				"--listen-client-urls=https://127.0.0.1:2379,https://10.0.0.11:2379",
				"--listen-metrics-urls=http://127.0.0.1:2381",
				"--listen-peer-urls=https://10.0.0.11:2380",
				"--name=node2",
				"--peer-cert-file=/etc/kubernetes/pki/etcd/peer.crt",
				"--peer-client-cert-auth=true",
				"--peer-key-file=/etc/kubernetes/pki/etcd/peer.key",
				"--peer-trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt",
				"--snapshot-count=10000",
				"--trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt",
				"--watch-progress-notify-interval=5s",
			},
		},
		{
			name: "IPv6",
			mutate: func(c *config.InitConfig) {
				c.Init.LocalAPIEndpoint.AdvertiseAddress = "fd00::10"
			},
			want: replaceFlags(defaultEtcdFlags, map[string]string{
				"--advertise-client-urls":       "--advertise-client-urls=https://[fd00::10]:2379",
				"--initial-advertise-peer-urls": "--initial-advertise-peer-urls=https://[fd00::10]:2380",
				"--initial-cluster":             "--initial-cluster=node1=https://[fd00::10]:2380",
				"--listen-client-urls":          "--listen-client-urls=https://[::1]:2379,https://[fd00::10]:2379",
				"--listen-metrics-urls":         "--listen-metrics-urls=http://[::1]:2381",
				"--listen-peer-urls":            "--listen-peer-urls=https://[fd00::10]:2380",
			}),
		},
		{
			name: "data dir, cert dir and extra args",
			mutate: func(c *config.InitConfig) {
				c.Cluster.CertificatesDir = "/pki"
				c.Cluster.Etcd.Local.DataDir = "/data"
				c.Cluster.Etcd.Local.ExtraArgs = []config.Arg{{Name: "snapshot-count", Value: "5000"}, {Name: "quota-backend-bytes", Value: "8589934592"}}
			},
			want: []string{
				"etcd",
				"--advertise-client-urls=https://10.0.0.10:2379",
				"--cert-file=/pki/etcd/server.crt",
				"--client-cert-auth=true",
				"--data-dir=/data",
				"--feature-gates=InitialCorruptCheck=true",
				"--initial-advertise-peer-urls=https://10.0.0.10:2380",
				"--initial-cluster=node1=https://10.0.0.10:2380",
				"--key-file=/pki/etcd/server.key",
				"--listen-client-urls=https://127.0.0.1:2379,https://10.0.0.10:2379",
				"--listen-metrics-urls=http://127.0.0.1:2381",
				"--listen-peer-urls=https://10.0.0.10:2380",
				"--name=node1",
				"--peer-cert-file=/pki/etcd/peer.crt",
				"--peer-client-cert-auth=true",
				"--peer-key-file=/pki/etcd/peer.key",
				"--peer-trusted-ca-file=/pki/etcd/ca.crt",
				"--trusted-ca-file=/pki/etcd/ca.crt",
				"--watch-progress-notify-interval=5s",
				"--snapshot-count=5000",
				"--quota-backend-bytes=8589934592",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			tc.mutate(cfg)
			got := EtcdCommand(cfg, tc.members)
			if !slices.Equal(got, tc.want) {
				t.Errorf("EtcdCommand() mismatch\n got: %q\nwant: %q", got, tc.want)
			}
			pod := EtcdPodWithMembers(cfg, tc.members)
			if !slices.Equal(pod.Spec.Containers[0].Command, tc.want) {
				t.Errorf("EtcdPodWithMembers() command differs from EtcdCommand()")
			}
		})
	}
}

func TestEtcdPodAnnotationAndResources(t *testing.T) {
	cfg := testConfig()
	cfg.Init.LocalAPIEndpoint.AdvertiseAddress = "fd00::10"
	pod := EtcdPod(cfg)
	if got := pod.Annotations["kubeadm.kubernetes.io/etcd.advertise-client-urls"]; got != "https://[fd00::10]:2379" {
		t.Errorf("annotation = %q", got)
	}
	req := pod.Spec.Containers[0].Resources.Requests
	if req.Cpu().String() != "100m" || req.Memory().String() != "100Mi" {
		t.Errorf("requests = cpu %s memory %s, want 100m 100Mi", req.Cpu(), req.Memory())
	}
}
