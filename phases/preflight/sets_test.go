package preflight

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/kubeadmin/kubeadmin/internal/config"
)

// defaultedInit returns a defaulted init configuration for node-1 at
// 10.0.0.10, changed by mutate.
func defaultedInit(mutate func(*config.InitConfig)) *config.InitConfig {
	cfg := &config.InitConfig{}
	cfg.Init.NodeRegistration.Name = "node-1"
	cfg.Init.LocalAPIEndpoint.AdvertiseAddress = "10.0.0.10"
	cfg.Cluster.KubernetesVersion = "v1.37.2"
	if mutate != nil {
		mutate(cfg)
	}
	config.SetDefaultsInit(&cfg.Init)
	config.SetDefaultsCluster(&cfg.Cluster)
	return cfg
}

func names(checks []Checker) []string {
	var out []string
	for _, c := range checks {
		out = append(out, c.Name())
	}
	return out
}

func TestInitCheckNames(t *testing.T) {
	fa := func(c string) string { return "FileAvailable--etc-kubernetes-manifests-" + c + ".yaml" }
	base := []string{"IsPrivilegedUser", "NumCPU", "Mem", "KubernetesVersion", "Port-6443", "Port-10259", "Port-10257",
		fa("kube-apiserver"), fa("kube-controller-manager"), fa("kube-scheduler"), fa("etcd"), "HTTPProxy"}
	common := []string{"CRI", "ContainerRuntimeVersion", "Swap", "FileExisting-losetup", "FileExisting-mount", "FileExisting-cp", "Hostname", "Port-10250"}
	localEtcd := []string{"Port-2379", "Port-2380", "DirAvailable--var-lib-etcd"}
	cat := func(parts ...[]string) []string {
		var out []string
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	v4 := []string{"FileContent--proc-sys-net-ipv4-ip_forward"}
	v6 := []string{"FileContent--proc-sys-net-ipv6-conf-default-forwarding"}
	tests := []struct {
		name string
		opts InitOptions
		want []string
	}{
		{
			name: "defaults",
			opts: InitOptions{Cfg: defaultedInit(nil)},
			want: cat(base, []string{"HTTPProxyCIDR", "HTTPProxyCIDR"}, common, v4, localEtcd, []string{"ImagePull"}),
		},
		{
			name: "dry-run leaves out ImagePull",
			opts: InitOptions{Cfg: defaultedInit(nil), DryRun: true},
			want: cat(base, []string{"HTTPProxyCIDR", "HTTPProxyCIDR"}, common, v4, localEtcd),
		},
		{
			name: "dual-stack subnets",
			opts: InitOptions{Cfg: defaultedInit(func(c *config.InitConfig) {
				c.Cluster.Networking.ServiceSubnet = "10.96.0.0/12,fd00:10:96::/112"
				c.Cluster.Networking.PodSubnet = "10.244.0.0/16,fd00:10:244::/56"
			}), DryRun: true},
			want: cat(base, []string{"HTTPProxyCIDR", "HTTPProxyCIDR", "HTTPProxyCIDR", "HTTPProxyCIDR"}, common, v4, v6, localEtcd),
		},
		{
			name: "IPv6 advertise address with IPv6 subnet",
			opts: InitOptions{Cfg: defaultedInit(func(c *config.InitConfig) {
				c.Init.LocalAPIEndpoint.AdvertiseAddress = "fd00::10"
				c.Cluster.Networking.ServiceSubnet = "fd00:10:96::/112"
			}), DryRun: true},
			want: cat(base, []string{"HTTPProxyCIDR", "HTTPProxyCIDR"}, common, v6, localEtcd),
		},
		{
			name: "external etcd",
			opts: InitOptions{Cfg: defaultedInit(func(c *config.InitConfig) {
				c.Cluster.Etcd.External = &config.ExternalEtcd{Endpoints: []string{"https://e:2379"}, CAFile: "/ca", CertFile: "/crt", KeyFile: "/key"}
			}), DryRun: true},
			want: cat(base, []string{"HTTPProxyCIDR", "HTTPProxyCIDR"}, common, v4,
				[]string{"ExternalEtcdClientCertificates", "ExternalEtcdClientCertificates", "ExternalEtcdClientCertificates"}),
		},
		{
			name: "secondary control plane",
			opts: InitOptions{Cfg: defaultedInit(nil), SecondaryControlPlane: true},
			want: cat(base[1:], []string{"HTTPProxyCIDR", "HTTPProxyCIDR"}, localEtcd, []string{"ImagePull"}),
		},
		{
			name: "old target version adds conntrack",
			opts: InitOptions{Cfg: defaultedInit(func(c *config.InitConfig) { c.Cluster.KubernetesVersion = "v1.31.0" }), DryRun: true},
			want: cat(base, []string{"HTTPProxyCIDR", "HTTPProxyCIDR"},
				[]string{"CRI", "ContainerRuntimeVersion", "Swap", "FileExisting-conntrack", "FileExisting-losetup", "FileExisting-mount", "FileExisting-cp", "Hostname", "Port-10250"},
				v4, localEtcd),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := names(InitChecks(tt.opts))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("checks:\n%q\nwant:\n%q", got, tt.want)
			}
		})
	}
}

// fakeHost is a healthy machine: root, 2 CPUs, enough RAM, no swap,
// forwarding on, every executable, free ports, a resolvable name, no proxy.
func fakeHost(t *testing.T, listened *[]string) Host {
	proc := procWith(t, map[string]string{
		"meminfo":                 "MemTotal: 4194304 kB\n",
		"swaps":                   "Filename Type Size Used Priority\n",
		"sys/net/ipv4/ip_forward": "1\n",
	})
	return Host{
		ProcDir:  proc,
		Getuid:   func() int { return 0 },
		NumCPU:   func() int { return 2 },
		LookPath: func(f string) (string, error) { return "/usr/bin/" + f, nil },
		Listen: func(network, address string) (net.Listener, error) {
			if listened != nil {
				*listened = append(*listened, address)
			}
			return net.Listen("tcp", "127.0.0.1:0")
		},
		LookupHost: func(context.Context, string) ([]string, error) { return []string{"10.0.0.10"}, nil },
		Proxy:      func(*url.URL) (*url.URL, error) { return nil, nil },
	}
}

func TestInitChecksRun(t *testing.T) {
	images := []string{"registry.k8s.io/kube-apiserver:v1.37.2", "registry.k8s.io/pause:3.10.2"}
	present := map[string]bool{images[0]: true, images[1]: true}
	endpoint := serveCRI(t,
		&fakeRuntime{conditions: readyConditions, runtimeConfig: true, info: map[string]string{"config": `{"sandboxImage":"registry.k8s.io/pause:3.10.2"}`}},
		&fakeImages{present: present})

	newOpts := func(t *testing.T, listened *[]string) InitOptions {
		dir := t.TempDir()
		return InitOptions{
			Cfg: defaultedInit(func(c *config.InitConfig) {
				c.Cluster.APIServer.ExtraArgs = []config.Arg{{Name: "bind-address", Value: "10.0.0.5"}, {Name: "advertise-address", Value: "10.0.0.7"}}
				c.Cluster.Scheduler.ExtraArgs = []config.Arg{{Name: "bind-address", Value: "127.0.0.1"}}
			}),
			ManifestsDir: filepath.Join(dir, "manifests"),
			EtcdDataDir:  filepath.Join(dir, "etcd"),
			Images:       images,
			CRISocket:    endpoint,
			Host:         fakeHost(t, listened),
		}
	}

	t.Run("healthy machine passes", func(t *testing.T) {
		var listened []string
		opts := newOpts(t, &listened)
		var out bytes.Buffer
		if err := RunChecks(InitChecks(opts), &out, nil); err != nil {
			t.Fatalf("RunChecks() = %v", err)
		}
		if out.Len() != 0 {
			t.Errorf("unexpected output %q", out.String())
		}
		sort.Strings(listened)
		want := []string{":10250", "10.0.0.5:6443", "10.0.0.7:2379", "10.0.0.7:2380", "127.0.0.1:10259", ":10257"}
		sort.Strings(want)
		if !reflect.DeepEqual(listened, want) {
			t.Errorf("listened on %q, want %q", listened, want)
		}
	})

	t.Run("problems are reported by name", func(t *testing.T) {
		opts := newOpts(t, nil)
		if err := os.MkdirAll(opts.ManifestsDir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(opts.ManifestsDir, "etcd.yaml"), nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(opts.Host.ProcDir, "swaps"), []byte("header\n/swap file 1 0 -2\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		opts.Host.NumCPU = func() int { return 1 }
		opts.Images = append(opts.Images, "registry.k8s.io/etcd:3.7.0-0")
		var out bytes.Buffer
		err := RunChecks(InitChecks(opts), &out, map[string]bool{"numcpu": true})
		var pf *Error
		if !errors.As(err, &pf) {
			t.Fatalf("RunChecks() = %v, want *Error", err)
		}
		var failed []string
		for _, f := range pf.Failures {
			failed = append(failed, f.Check)
		}
		wantFailed := []string{pathCheckName("FileAvailable", filepath.Join(opts.ManifestsDir, "etcd.yaml")), "ImagePull"}
		if !reflect.DeepEqual(failed, wantFailed) {
			t.Errorf("failed checks %q, want %q", failed, wantFailed)
		}
		for _, w := range []string{"\t[WARNING NumCPU]: the number of available CPUs 1 is less than the required 2\n", "\t[WARNING Swap]: swap is supported"} {
			if !strings.Contains(out.String(), w) {
				t.Errorf("output %q does not contain %q", out.String(), w)
			}
		}
	})
}

func TestJoinNodeCheckNames(t *testing.T) {
	common := []string{"CRI", "ContainerRuntimeVersion", "Swap", "FileExisting-losetup", "FileExisting-mount", "FileExisting-cp", "Hostname", "Port-10250"}
	head := []string{"IsPrivilegedUser", "FileAvailable--etc-kubernetes-kubelet.conf", "FileAvailable--etc-kubernetes-bootstrap-kubelet.conf"}
	token := func(endpoint string) *config.JoinConfiguration {
		return &config.JoinConfiguration{
			CACertPath: "/etc/kubernetes/pki/ca.crt",
			Discovery:  config.Discovery{BootstrapToken: &config.BootstrapTokenDiscovery{APIServerEndpoint: endpoint}},
		}
	}
	cp := token("[fd00::10]:6443")
	cp.ControlPlane = &config.JoinControlPlane{}
	tests := []struct {
		name string
		cfg  *config.JoinConfiguration
		want []string
	}{
		{"worker, IPv4 endpoint", token("10.0.0.10:6443"),
			append(append(append([]string{}, head...), common...), "FileAvailable--etc-kubernetes-pki-ca.crt", "HTTPProxy", "FileContent--proc-sys-net-ipv4-ip_forward")},
		{"control plane, IPv6 endpoint", cp,
			append(append(append([]string{}, head...), common...), "HTTPProxy", "FileContent--proc-sys-net-ipv6-conf-default-forwarding")},
		{"worker, DNS endpoint", token("cp.example:6443"),
			append(append(append([]string{}, head...), common...), "FileAvailable--etc-kubernetes-pki-ca.crt", "HTTPProxy")},
		{"file discovery", &config.JoinConfiguration{CACertPath: "/etc/kubernetes/pki/ca.crt"},
			append(append(append([]string{}, head...), common...), "FileAvailable--etc-kubernetes-pki-ca.crt")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := names(JoinNodeChecks(JoinOptions{Cfg: tt.cfg}))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("checks:\n%q\nwant:\n%q", got, tt.want)
			}
		})
	}
}

func TestResetChecks(t *testing.T) {
	checks := ResetChecks(Host{Getuid: func() int { return 1000 }})
	if got := names(checks); !reflect.DeepEqual(got, []string{"IsPrivilegedUser"}) {
		t.Fatalf("checks = %q", got)
	}
	err := RunChecks(checks, &bytes.Buffer{}, nil)
	if !IsPreflightError(err) || !strings.Contains(err.Error(), "\t[ERROR IsPrivilegedUser]: user is not running as root\n") {
		t.Fatalf("RunChecks() = %v", err)
	}
}

func TestCRISocketAndSandboxDefaults(t *testing.T) {
	if got := criSocket("", ""); got != "unix:///var/run/containerd/containerd.sock" {
		t.Errorf("criSocket default = %q", got)
	}
	if got := criSocket("", "unix:///run/x.sock"); got != "unix:///run/x.sock" {
		t.Errorf("criSocket configured = %q", got)
	}
	if got := criSocket("unix:///o.sock", "unix:///run/x.sock"); got != "unix:///o.sock" {
		t.Errorf("criSocket override = %q", got)
	}
	if got := defaultSandboxImage(""); got != "registry.k8s.io/pause:3.10.2" {
		t.Errorf("defaultSandboxImage() = %q", got)
	}
	if got := defaultSandboxImage("example.com/k8s"); got != "example.com/k8s/pause:3.10.2" {
		t.Errorf("defaultSandboxImage(repo) = %q", got)
	}
}
