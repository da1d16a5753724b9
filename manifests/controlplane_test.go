package manifests

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeadmin/kubeadmin/internal/config"
	"github.com/kubeadmin/kubeadmin/internal/constants"
)

// defaultAPIServerFlags are kubeadm-reference §9.3 for advertise 10.0.0.10.
var defaultAPIServerFlags = []string{
	"kube-apiserver",
	"--advertise-address=10.0.0.10",
	"--allow-privileged=true",
	"--authorization-mode=Node,RBAC",
	"--client-ca-file=/etc/kubernetes/pki/ca.crt",
	"--enable-admission-plugins=NodeRestriction",
	"--enable-bootstrap-token-auth=true",
	"--etcd-cafile=/etc/kubernetes/pki/etcd/ca.crt",
	"--etcd-certfile=/etc/kubernetes/pki/apiserver-etcd-client.crt",
	"--etcd-keyfile=/etc/kubernetes/pki/apiserver-etcd-client.key",
	"--etcd-servers=https://127.0.0.1:2379",
	"--kubelet-client-certificate=/etc/kubernetes/pki/apiserver-kubelet-client.crt",
	"--kubelet-client-key=/etc/kubernetes/pki/apiserver-kubelet-client.key",
	"--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname",
	"--proxy-client-cert-file=/etc/kubernetes/pki/front-proxy-client.crt",
	"--proxy-client-key-file=/etc/kubernetes/pki/front-proxy-client.key",
	"--requestheader-allowed-names=front-proxy-client",
	"--requestheader-client-ca-file=/etc/kubernetes/pki/front-proxy-ca.crt",
	"--requestheader-extra-headers-prefix=X-Remote-Extra-",
	"--requestheader-group-headers=X-Remote-Group",
	"--requestheader-username-headers=X-Remote-User",
	"--secure-port=6443",
	"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
	"--service-account-key-file=/etc/kubernetes/pki/sa.pub",
	"--service-account-signing-key-file=/etc/kubernetes/pki/sa.key",
	"--service-cluster-ip-range=10.96.0.0/12",
	"--tls-cert-file=/etc/kubernetes/pki/apiserver.crt",
	"--tls-private-key-file=/etc/kubernetes/pki/apiserver.key",
}

// replaceFlags returns base with the flags at the named prefixes replaced
// (an empty replacement removes the flag).
func replaceFlags(base []string, repl map[string]string) []string {
	out := []string{}
	for _, f := range base {
		name, _, _ := strings.Cut(f, "=")
		if r, ok := repl[name]; ok {
			if r != "" {
				out = append(out, r)
			}
			continue
		}
		out = append(out, f)
	}
	return out
}

func TestAPIServerCommand(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*config.InitConfig)
		want   []string
	}{
		{name: "defaults", mutate: func(*config.InitConfig) {}, want: defaultAPIServerFlags},
		{
			name: "IPv6 advertise address uses [::1] for etcd",
			mutate: func(c *config.InitConfig) {
				c.Init.LocalAPIEndpoint.AdvertiseAddress = "fd00::10"
			},
			want: replaceFlags(defaultAPIServerFlags, map[string]string{
				"--advertise-address": "--advertise-address=fd00::10",
				"--etcd-servers":      "--etcd-servers=https://[::1]:2379",
			}),
		},
		{
			name: "local etcd advertise-client-urls becomes etcd-servers",
			mutate: func(c *config.InitConfig) {
				c.Cluster.Etcd.Local.ExtraArgs = []config.Arg{{Name: "advertise-client-urls", Value: "https://10.0.0.10:2379"}}
			},
			want: replaceFlags(defaultAPIServerFlags, map[string]string{
				"--etcd-servers": "--etcd-servers=https://10.0.0.10:2379",
			}),
		},
		{
			name: "external etcd with CA, cert and key",
			mutate: func(c *config.InitConfig) {
				c.Cluster.Etcd.Local = nil
				c.Cluster.Etcd.External = &config.ExternalEtcd{
					Endpoints: []string{"https://10.0.0.1:2379", "https://10.0.0.2:2379"},
					CAFile:    "/etc/etcd/ca.crt", CertFile: "/etc/etcd/client.crt", KeyFile: "/etc/etcd/client.key",
				}
			},
			want: replaceFlags(defaultAPIServerFlags, map[string]string{
				"--etcd-cafile":   "--etcd-cafile=/etc/etcd/ca.crt",
				"--etcd-certfile": "--etcd-certfile=/etc/etcd/client.crt",
				"--etcd-keyfile":  "--etcd-keyfile=/etc/etcd/client.key",
				"--etcd-servers":  "--etcd-servers=https://10.0.0.1:2379,https://10.0.0.2:2379",
			}),
		},
		{
			name: "external etcd with a cert but no key passes neither",
			mutate: func(c *config.InitConfig) {
				c.Cluster.Etcd.Local = nil
				c.Cluster.Etcd.External = &config.ExternalEtcd{Endpoints: []string{"http://e:2379"}, CertFile: "/x/c.crt"}
			},
			want: replaceFlags(defaultAPIServerFlags, map[string]string{
				"--etcd-cafile":   "",
				"--etcd-certfile": "",
				"--etcd-keyfile":  "",
				"--etcd-servers":  "--etcd-servers=http://e:2379",
			}),
		},
		{
			name: "authorization-config drops authorization-mode",
			mutate: func(c *config.InitConfig) {
				c.Cluster.APIServer.ExtraArgs = []config.Arg{{Name: "authorization-config", Value: "/etc/authz.yaml"}}
			},
			want: append(replaceFlags(defaultAPIServerFlags, map[string]string{"--authorization-mode": ""}),
				"--authorization-config=/etc/authz.yaml"),
		},
		{
			name: "extraArgs replace defaults and are appended in order",
			mutate: func(c *config.InitConfig) {
				c.Cluster.APIServer.ExtraArgs = []config.Arg{
					{Name: "secure-port", Value: "7443"},
					{Name: "authorization-mode", Value: "Node,RBAC,Webhook"},
					{Name: "audit-log-path", Value: "-"},
				}
			},
			want: append(replaceFlags(defaultAPIServerFlags, map[string]string{"--authorization-mode": "", "--secure-port": ""}),
				"--secure-port=7443", "--authorization-mode=Node,RBAC,Webhook", "--audit-log-path=-"),
		},
		{
			name: "networking and cert dir",
			mutate: func(c *config.InitConfig) {
				c.Cluster.CertificatesDir = "/pki"
				c.Cluster.Networking.DNSDomain = "corp.local"
				c.Cluster.Networking.ServiceSubnet = "10.200.0.0/16"
				c.Init.LocalAPIEndpoint.BindPort = 8443
			},
			want: []string{
				"kube-apiserver",
				"--advertise-address=10.0.0.10",
				"--allow-privileged=true",
				"--authorization-mode=Node,RBAC",
				"--client-ca-file=/pki/ca.crt",
				"--enable-admission-plugins=NodeRestriction",
				"--enable-bootstrap-token-auth=true",
				"--etcd-cafile=/pki/etcd/ca.crt",
				"--etcd-certfile=/pki/apiserver-etcd-client.crt",
				"--etcd-keyfile=/pki/apiserver-etcd-client.key",
				"--etcd-servers=https://127.0.0.1:2379",
				"--kubelet-client-certificate=/pki/apiserver-kubelet-client.crt",
				"--kubelet-client-key=/pki/apiserver-kubelet-client.key",
				"--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname",
				"--proxy-client-cert-file=/pki/front-proxy-client.crt",
				"--proxy-client-key-file=/pki/front-proxy-client.key",
				"--requestheader-allowed-names=front-proxy-client",
				"--requestheader-client-ca-file=/pki/front-proxy-ca.crt",
				"--requestheader-extra-headers-prefix=X-Remote-Extra-",
				"--requestheader-group-headers=X-Remote-Group",
				"--requestheader-username-headers=X-Remote-User",
				"--secure-port=8443",
				"--service-account-issuer=https://kubernetes.default.svc.corp.local",
				"--service-account-key-file=/pki/sa.pub",
				"--service-account-signing-key-file=/pki/sa.key",
				"--service-cluster-ip-range=10.200.0.0/16",
				"--tls-cert-file=/pki/apiserver.crt",
				"--tls-private-key-file=/pki/apiserver.key",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			tc.mutate(cfg)
			got := APIServerCommand(cfg)
			if !slices.Equal(got, tc.want) {
				t.Errorf("APIServerCommand() mismatch\n got: %q\nwant: %q", got, tc.want)
			}
		})
	}
}

var defaultControllerManagerFlags = []string{
	"kube-controller-manager",
	"--authentication-kubeconfig=/etc/kubernetes/controller-manager.conf",
	"--authorization-kubeconfig=/etc/kubernetes/controller-manager.conf",
	"--bind-address=127.0.0.1",
	"--client-ca-file=/etc/kubernetes/pki/ca.crt",
	"--cluster-name=kubernetes",
	"--cluster-signing-cert-file=/etc/kubernetes/pki/ca.crt",
	"--cluster-signing-key-file=/etc/kubernetes/pki/ca.key",
	"--controllers=*,bootstrapsigner,tokencleaner",
	"--kubeconfig=/etc/kubernetes/controller-manager.conf",
	"--leader-elect=true",
	"--requestheader-client-ca-file=/etc/kubernetes/pki/front-proxy-ca.crt",
	"--root-ca-file=/etc/kubernetes/pki/ca.crt",
	"--service-account-private-key-file=/etc/kubernetes/pki/sa.key",
	"--use-service-account-credentials=true",
}

func TestControllerManagerCommand(t *testing.T) {
	tests := []struct {
		name       string
		externalCA bool
		mutate     func(*config.InitConfig)
		want       []string
	}{
		{name: "defaults", mutate: func(*config.InitConfig) {}, want: defaultControllerManagerFlags},
		{
			name:   "podSubnet allocates node CIDRs",
			mutate: func(c *config.InitConfig) { c.Cluster.Networking.PodSubnet = "192.168.0.0/16" },
			want: []string{
				"kube-controller-manager",
				"--allocate-node-cidrs=true",
				"--authentication-kubeconfig=/etc/kubernetes/controller-manager.conf",
				"--authorization-kubeconfig=/etc/kubernetes/controller-manager.conf",
				"--bind-address=127.0.0.1",
				"--client-ca-file=/etc/kubernetes/pki/ca.crt",
				"--cluster-cidr=192.168.0.0/16",
				"--cluster-name=kubernetes",
				"--cluster-signing-cert-file=/etc/kubernetes/pki/ca.crt",
				"--cluster-signing-key-file=/etc/kubernetes/pki/ca.key",
				"--controllers=*,bootstrapsigner,tokencleaner",
				"--kubeconfig=/etc/kubernetes/controller-manager.conf",
				"--leader-elect=true",
				"--requestheader-client-ca-file=/etc/kubernetes/pki/front-proxy-ca.crt",
				"--root-ca-file=/etc/kubernetes/pki/ca.crt",
				"--service-account-private-key-file=/etc/kubernetes/pki/sa.key",
				"--service-cluster-ip-range=10.96.0.0/12",
				"--use-service-account-credentials=true",
			},
		},
		{
			name:       "external CA empties the signing flags",
			externalCA: true,
			mutate:     func(*config.InitConfig) {},
			want: replaceFlags(defaultControllerManagerFlags, map[string]string{
				"--cluster-signing-cert-file": "--cluster-signing-cert-file=",
				"--cluster-signing-key-file":  "--cluster-signing-key-file=",
			}),
		},
		{
			name: "cluster name and extra args",
			mutate: func(c *config.InitConfig) {
				c.Cluster.ClusterName = "prod"
				c.Cluster.ControllerManager.ExtraArgs = []config.Arg{{Name: "bind-address", Value: "0.0.0.0"}, {Name: "v", Value: "2"}}
			},
			want: append(replaceFlags(defaultControllerManagerFlags, map[string]string{
				"--bind-address": "",
				"--cluster-name": "--cluster-name=prod",
			}), "--bind-address=0.0.0.0", "--v=2"),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			tc.mutate(cfg)
			r := testRenderer()
			r.ExternalCA = tc.externalCA
			got := r.ControllerManagerCommand(cfg)
			if !slices.Equal(got, tc.want) {
				t.Errorf("ControllerManagerCommand() mismatch\n got: %q\nwant: %q", got, tc.want)
			}
		})
	}
}

func TestSchedulerCommand(t *testing.T) {
	def := []string{
		"kube-scheduler",
		"--authentication-kubeconfig=/etc/kubernetes/scheduler.conf",
		"--authorization-kubeconfig=/etc/kubernetes/scheduler.conf",
		"--bind-address=127.0.0.1",
		"--kubeconfig=/etc/kubernetes/scheduler.conf",
		"--leader-elect=true",
	}
	tests := []struct {
		name  string
		extra []config.Arg
		want  []string
	}{
		{name: "defaults", want: def},
		{
			name:  "extra args",
			extra: []config.Arg{{Name: "leader-elect", Value: "false"}, {Name: "config", Value: "/etc/s.yaml"}},
			want: []string{
				"kube-scheduler",
				"--authentication-kubeconfig=/etc/kubernetes/scheduler.conf",
				"--authorization-kubeconfig=/etc/kubernetes/scheduler.conf",
				"--bind-address=127.0.0.1",
				"--kubeconfig=/etc/kubernetes/scheduler.conf",
				"--leader-elect=false",
				"--config=/etc/s.yaml",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.Cluster.Scheduler.ExtraArgs = tc.extra
			if got := SchedulerCommand(cfg); !slices.Equal(got, tc.want) {
				t.Errorf("SchedulerCommand() mismatch\n got: %q\nwant: %q", got, tc.want)
			}
		})
	}
}

// volumeSummary summarizes volumes and mounts as "name hostPath type" and
// "name mountPath ro".
func volumeSummary(pod *corev1.Pod) (vols, mounts []string) {
	for _, v := range pod.Spec.Volumes {
		typ := "<nil>"
		if v.HostPath.Type != nil {
			typ = string(*v.HostPath.Type)
		}
		vols = append(vols, v.Name+" "+v.HostPath.Path+" "+typ)
	}
	for _, m := range pod.Spec.Containers[0].VolumeMounts {
		ro := "rw"
		if m.ReadOnly {
			ro = "ro"
		}
		mounts = append(mounts, m.Name+" "+m.MountPath+" "+ro)
	}
	return vols, mounts
}

func TestControlPlaneVolumes(t *testing.T) {
	existing := map[string]bool{"/etc/pki/ca-trust": true, "/usr/share/ca-certificates": true, "/opt/other": true}
	r := Renderer{Exists: func(p string) bool { return existing[p] }}
	tests := []struct {
		name       string
		mutate     func(*config.InitConfig)
		pod        func(*config.InitConfig) *corev1.Pod
		wantVols   []string
		wantMounts []string
	}{
		{
			name:   "apiserver with existing CA-trust dirs",
			mutate: func(*config.InitConfig) {},
			pod:    r.APIServerPod,
			wantVols: []string{
				"ca-certs /etc/ssl/certs DirectoryOrCreate",
				"etc-pki-ca-trust /etc/pki/ca-trust DirectoryOrCreate",
				"k8s-certs /etc/kubernetes/pki DirectoryOrCreate",
				"usr-share-ca-certificates /usr/share/ca-certificates DirectoryOrCreate",
			},
			wantMounts: []string{
				"ca-certs /etc/ssl/certs ro",
				"etc-pki-ca-trust /etc/pki/ca-trust ro",
				"k8s-certs /etc/kubernetes/pki ro",
				"usr-share-ca-certificates /usr/share/ca-certificates ro",
			},
		},
		{
			name: "apiserver with external etcd certs and extra volumes",
			mutate: func(c *config.InitConfig) {
				c.Cluster.Etcd.Local = nil
				c.Cluster.Etcd.External = &config.ExternalEtcd{
					Endpoints: []string{"https://e:2379"},
					CAFile:    "/etc/etcd/pki/ca.crt", CertFile: "/etc/etcd/client.crt", KeyFile: "/etc/kubernetes/pki/x.key",
				}
				c.Cluster.APIServer.ExtraVolumes = []config.HostPathMount{
					{Name: "audit", HostPath: "/var/log/audit", MountPath: "/audit", PathType: corev1.HostPathDirectoryOrCreate},
					{Name: "ca-certs", HostPath: "/opt/certs", MountPath: "/etc/ssl/certs", ReadOnly: true},
				}
			},
			pod: r.APIServerPod,
			wantVols: []string{
				"audit /var/log/audit DirectoryOrCreate",
				"ca-certs /opt/certs ",
				"etc-pki-ca-trust /etc/pki/ca-trust DirectoryOrCreate",
				"etcd-certs-0 /etc/etcd DirectoryOrCreate",
				"k8s-certs /etc/kubernetes/pki DirectoryOrCreate",
				"usr-share-ca-certificates /usr/share/ca-certificates DirectoryOrCreate",
			},
			wantMounts: []string{
				"audit /audit rw",
				"ca-certs /etc/ssl/certs ro",
				"etc-pki-ca-trust /etc/pki/ca-trust ro",
				"etcd-certs-0 /etc/etcd ro",
				"k8s-certs /etc/kubernetes/pki ro",
				"usr-share-ca-certificates /usr/share/ca-certificates ro",
			},
		},
		{
			name:   "controller-manager",
			mutate: func(*config.InitConfig) {},
			pod:    r.ControllerManagerPod,
			wantVols: []string{
				"ca-certs /etc/ssl/certs DirectoryOrCreate",
				"etc-pki-ca-trust /etc/pki/ca-trust DirectoryOrCreate",
				"k8s-certs /etc/kubernetes/pki DirectoryOrCreate",
				"kubeconfig /etc/kubernetes/controller-manager.conf FileOrCreate",
				"usr-share-ca-certificates /usr/share/ca-certificates DirectoryOrCreate",
			},
			wantMounts: []string{
				"ca-certs /etc/ssl/certs ro",
				"etc-pki-ca-trust /etc/pki/ca-trust ro",
				"k8s-certs /etc/kubernetes/pki ro",
				"kubeconfig /etc/kubernetes/controller-manager.conf ro",
				"usr-share-ca-certificates /usr/share/ca-certificates ro",
			},
		},
		{
			name: "scheduler with an extra volume",
			mutate: func(c *config.InitConfig) {
				c.Cluster.Scheduler.ExtraVolumes = []config.HostPathMount{{Name: "a-conf", HostPath: "/etc/s", MountPath: "/s", ReadOnly: true, PathType: corev1.HostPathDirectory}}
			},
			pod: r.SchedulerPod,
			wantVols: []string{
				"a-conf /etc/s Directory",
				"kubeconfig /etc/kubernetes/scheduler.conf FileOrCreate",
			},
			wantMounts: []string{"a-conf /s ro", "kubeconfig /etc/kubernetes/scheduler.conf ro"},
		},
		{
			name:       "etcd",
			mutate:     func(c *config.InitConfig) { c.Cluster.Etcd.Local.DataDir = "/data/etcd" },
			pod:        EtcdPod,
			wantVols:   []string{"etcd-certs /etc/kubernetes/pki/etcd DirectoryOrCreate", "etcd-data /data/etcd DirectoryOrCreate"},
			wantMounts: []string{"etcd-data /data/etcd rw", "etcd-certs /etc/kubernetes/pki/etcd rw"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			tc.mutate(cfg)
			vols, mounts := volumeSummary(tc.pod(cfg))
			if !slices.Equal(vols, tc.wantVols) {
				t.Errorf("volumes mismatch\n got: %q\nwant: %q", vols, tc.wantVols)
			}
			if !slices.Equal(mounts, tc.wantMounts) {
				t.Errorf("mounts mismatch\n got: %q\nwant: %q", mounts, tc.wantMounts)
			}
		})
	}
}

func TestExternalEtcdCertDirs(t *testing.T) {
	tests := []struct {
		name string
		ext  config.ExternalEtcd
		want []string
	}{
		{name: "no files", want: []string{}},
		{name: "files under mounted dirs are skipped", ext: config.ExternalEtcd{CAFile: "/etc/ssl/certs/ca.pem", CertFile: "/etc/kubernetes/pki/c.crt", KeyFile: "/etc/pki/tls/certs/k.key"}, want: []string{}},
		{name: "parent dir wins", ext: config.ExternalEtcd{CAFile: "/a/b/ca.crt", CertFile: "/a/c.crt", KeyFile: "/z/k.key"}, want: []string{"/a", "/z"}},
		{name: "child of an existing dir is dropped", ext: config.ExternalEtcd{CAFile: "/a/ca.crt", CertFile: "/a/b/c.crt", KeyFile: "/a/k.key"}, want: []string{"/a"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := externalEtcdCertDirs(&tc.ext, "/etc/kubernetes/pki"); !slices.Equal(got, tc.want) {
				t.Errorf("externalEtcdCertDirs() = %q, want %q", got, tc.want)
			}
		})
	}
}

// probeSummary is "scheme host path port initialDelay timeout failure period".
func probeSummary(p *corev1.Probe) string {
	if p == nil {
		return "none"
	}
	g := p.HTTPGet
	return string(g.Scheme) + " " + g.Host + " " + g.Path + " " + g.Port.String() + " " +
		itoa(p.InitialDelaySeconds) + " " + itoa(p.TimeoutSeconds) + " " + itoa(p.FailureThreshold) + " " + itoa(p.PeriodSeconds)
}

func itoa(i int32) string { return strconv.Itoa(int(i)) }

func TestProbes(t *testing.T) {
	r := testRenderer()
	tests := []struct {
		name                         string
		mutate                       func(*config.InitConfig)
		pod                          func(*config.InitConfig) *corev1.Pod
		liveness, readiness, startup string
		port                         int32
	}{
		{
			name: "apiserver", mutate: func(*config.InitConfig) {}, pod: r.APIServerPod, port: 6443,
			liveness:  "HTTPS 10.0.0.10 /livez probe-port 10 15 8 10",
			readiness: "HTTPS 10.0.0.10 /readyz probe-port 0 15 3 1",
			startup:   "HTTPS 10.0.0.10 /livez probe-port 10 15 24 10",
		},
		{
			name: "apiserver with unspecified advertise address and a 95s timeout",
			mutate: func(c *config.InitConfig) {
				c.Init.LocalAPIEndpoint.AdvertiseAddress = "0.0.0.0"
				c.Init.LocalAPIEndpoint.BindPort = 7443
				c.Init.Timeouts.ControlPlaneComponentHealthCheck = &metav1.Duration{Duration: 95 * time.Second}
			},
			pod: r.APIServerPod, port: 7443,
			liveness:  "HTTPS  /livez probe-port 10 15 8 10",
			readiness: "HTTPS  /readyz probe-port 0 15 3 1",
			startup:   "HTTPS  /livez probe-port 10 15 10 10",
		},
		{
			name: "apiserver with no advertise address", mutate: func(c *config.InitConfig) { c.Init.LocalAPIEndpoint.AdvertiseAddress = "" },
			pod: r.APIServerPod, port: 6443,
			liveness:  "HTTPS 127.0.0.1 /livez probe-port 10 15 8 10",
			readiness: "HTTPS 127.0.0.1 /readyz probe-port 0 15 3 1",
			startup:   "HTTPS 127.0.0.1 /livez probe-port 10 15 24 10",
		},
		{
			name: "controller-manager has no readiness probe", mutate: func(*config.InitConfig) {}, pod: r.ControllerManagerPod, port: 10257,
			liveness:  "HTTPS 127.0.0.1 /healthz probe-port 10 15 8 10",
			readiness: "none",
			startup:   "HTTPS 127.0.0.1 /healthz probe-port 10 15 24 10",
		},
		{
			name: "controller-manager user bind-address",
			mutate: func(c *config.InitConfig) {
				c.Cluster.ControllerManager.ExtraArgs = []config.Arg{{Name: "bind-address", Value: "10.0.0.10"}}
			},
			pod: r.ControllerManagerPod, port: 10257,
			liveness:  "HTTPS 10.0.0.10 /healthz probe-port 10 15 8 10",
			readiness: "none",
			startup:   "HTTPS 10.0.0.10 /healthz probe-port 10 15 24 10",
		},
		{
			name: "scheduler with bind-address 0.0.0.0",
			mutate: func(c *config.InitConfig) {
				c.Cluster.Scheduler.ExtraArgs = []config.Arg{{Name: "bind-address", Value: "0.0.0.0"}}
			},
			pod: r.SchedulerPod, port: 10259,
			liveness:  "HTTPS  /livez probe-port 10 15 8 10",
			readiness: "HTTPS  /readyz probe-port 0 15 3 1",
			startup:   "HTTPS  /livez probe-port 10 15 24 10",
		},
		{
			name: "etcd", mutate: func(*config.InitConfig) {}, pod: EtcdPod, port: 2381,
			liveness:  "HTTP 127.0.0.1 /livez probe-port 10 15 8 10",
			readiness: "HTTP 127.0.0.1 /readyz probe-port 0 15 3 1",
			startup:   "HTTP 127.0.0.1 /readyz probe-port 10 15 24 10",
		},
		{
			name: "etcd IPv6", mutate: func(c *config.InitConfig) { c.Init.LocalAPIEndpoint.AdvertiseAddress = "fd00::10" }, pod: EtcdPod, port: 2381,
			liveness:  "HTTP ::1 /livez probe-port 10 15 8 10",
			readiness: "HTTP ::1 /readyz probe-port 0 15 3 1",
			startup:   "HTTP ::1 /readyz probe-port 10 15 24 10",
		},
		{
			name: "etcd listen-metrics-urls",
			mutate: func(c *config.InitConfig) {
				c.Cluster.Etcd.Local.ExtraArgs = []config.Arg{{Name: "listen-metrics-urls", Value: "https://10.0.0.10:2382,http://127.0.0.1:2381"}}
			},
			pod: EtcdPod, port: 2382,
			liveness:  "HTTPS 10.0.0.10 /livez probe-port 10 15 8 10",
			readiness: "HTTPS 10.0.0.10 /readyz probe-port 0 15 3 1",
			startup:   "HTTPS 10.0.0.10 /readyz probe-port 10 15 24 10",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			tc.mutate(cfg)
			c := tc.pod(cfg).Spec.Containers[0]
			if got := probeSummary(c.LivenessProbe); got != tc.liveness {
				t.Errorf("liveness = %q, want %q", got, tc.liveness)
			}
			if got := probeSummary(c.ReadinessProbe); got != tc.readiness {
				t.Errorf("readiness = %q, want %q", got, tc.readiness)
			}
			if got := probeSummary(c.StartupProbe); got != tc.startup {
				t.Errorf("startup = %q, want %q", got, tc.startup)
			}
			want := []corev1.ContainerPort{{Name: constants.ProbePortName, ContainerPort: tc.port, Protocol: corev1.ProtocolTCP}}
			if !slices.Equal(c.Ports, want) {
				t.Errorf("ports = %+v, want %+v", c.Ports, want)
			}
		})
	}
}

func TestEnvMerging(t *testing.T) {
	// etcd must not pick proxies up from kubeadmin's own environment.
	t.Setenv("HTTP_PROXY", "http://host-proxy:1")
	r := Renderer{Environ: []string{
		"PATH=/bin", "HTTPS_PROXY=http://p:3128", "no_proxy=localhost", "EMPTY_PROXY=", "malformed", "ftp_proxy=ftp://f",
	}}
	cfg := testConfig()
	cfg.Cluster.APIServer.ExtraEnvs = []config.EnvVar{
		{EnvVar: corev1.EnvVar{Name: "no_proxy", Value: "10.0.0.0/8"}},
		{EnvVar: corev1.EnvVar{Name: "A", Value: "1"}},
	}
	cfg.Cluster.Etcd.Local.ExtraEnvs = []config.EnvVar{{EnvVar: corev1.EnvVar{Name: "ETCD_X", Value: "y"}}}
	summary := func(envs []corev1.EnvVar) []string {
		out := []string{}
		for _, e := range envs {
			out = append(out, e.Name+"="+e.Value)
		}
		return out
	}
	tests := []struct {
		name string
		pod  *corev1.Pod
		want []string
	}{
		{name: "apiserver: proxies merged with extraEnvs, sorted", pod: r.APIServerPod(cfg), want: []string{"A=1", "HTTPS_PROXY=http://p:3128", "ftp_proxy=ftp://f", "no_proxy=10.0.0.0/8"}},
		{name: "scheduler: proxies only", pod: r.SchedulerPod(cfg), want: []string{"HTTPS_PROXY=http://p:3128", "ftp_proxy=ftp://f", "no_proxy=localhost"}},
		{name: "etcd: extraEnvs only", pod: EtcdPod(cfg), want: []string{"ETCD_X=y"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := summary(tc.pod.Spec.Containers[0].Env); !slices.Equal(got, tc.want) {
				t.Errorf("env = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCommonPodShape(t *testing.T) {
	cfg := testConfig()
	r := testRenderer()
	pods := r.ControlPlanePods(cfg)
	pods[constants.Etcd] = EtcdPod(cfg)
	wantImages := map[string]string{
		constants.Etcd:                  "registry.k8s.io/etcd:3.7.0-0",
		constants.KubeAPIServer:         "registry.k8s.io/kube-apiserver:v1.37.2",
		constants.KubeControllerManager: "registry.k8s.io/kube-controller-manager:v1.37.2",
		constants.KubeScheduler:         "registry.k8s.io/kube-scheduler:v1.37.2",
	}
	for name, pod := range pods {
		t.Run(name, func(t *testing.T) {
			if pod.Name != name || pod.Namespace != "kube-system" {
				t.Errorf("name/namespace = %s/%s", pod.Namespace, pod.Name)
			}
			if pod.Labels["component"] != name || pod.Labels["tier"] != "control-plane" || len(pod.Labels) != 2 {
				t.Errorf("labels = %v", pod.Labels)
			}
			s := pod.Spec
			if !s.HostNetwork || s.Priority == nil || *s.Priority != 2000001000 || s.PriorityClassName != "system-node-critical" {
				t.Errorf("hostNetwork/priority wrong: %v %v %q", s.HostNetwork, s.Priority, s.PriorityClassName)
			}
			if s.SecurityContext == nil || s.SecurityContext.SeccompProfile == nil || s.SecurityContext.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
				t.Errorf("seccomp profile not RuntimeDefault: %+v", s.SecurityContext)
			}
			if len(s.Containers) != 1 || s.Containers[0].Name != name || s.Containers[0].ImagePullPolicy != corev1.PullIfNotPresent {
				t.Errorf("containers = %+v", s.Containers)
			}
			if got := s.Containers[0].Image; got != wantImages[name] {
				t.Errorf("image = %q, want %q", got, wantImages[name])
			}
		})
	}
}
