package manifests

import (
	"bytes"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/kubeadmin/kubeadmin/internal/config"
	"github.com/kubeadmin/kubeadmin/internal/constants"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// goldenVariants are the configurations whose manifests are kept under
// testdata/<variant>/<component>.yaml. They are the compatibility contract
// with kubeadm v1.37.2 (kubeadm-reference §9); regenerate with
// `go test ./manifests -update` and review the diff line by line.
var goldenVariants = []struct {
	name   string
	env    []string
	exists map[string]bool
	mutate func(*config.InitConfig)
}{
	{name: "default", mutate: func(*config.InitConfig) {}},
	{
		name:   "custom",
		env:    []string{"HTTPS_PROXY=http://proxy:3128", "no_proxy=10.0.0.0/8,localhost", "HOME=/root"},
		exists: map[string]bool{"/etc/ca-certificates": true, "/usr/local/share/ca-certificates": true},
		mutate: func(c *config.InitConfig) {
			cl := &c.Cluster
			cl.ControlPlaneEndpoint = "cp.example.com:6443"
			cl.Networking.PodSubnet = "192.168.0.0/16"
			cl.APIServer.ExtraArgs = []config.Arg{
				{Name: "audit-log-path", Value: "/var/log/kubernetes/audit.log"},
				{Name: "enable-admission-plugins", Value: "NodeRestriction,AlwaysPullImages"},
			}
			cl.APIServer.ExtraVolumes = []config.HostPathMount{{
				Name: "audit-log", HostPath: "/var/log/kubernetes", MountPath: "/var/log/kubernetes",
				PathType: corev1.HostPathDirectoryOrCreate,
			}}
			cl.APIServer.ExtraEnvs = []config.EnvVar{{EnvVar: corev1.EnvVar{Name: "GOMAXPROCS", Value: "2"}}}
			cl.ControllerManager.ExtraArgs = []config.Arg{{Name: "node-cidr-mask-size", Value: "24"}}
			cl.ControllerManager.ExtraEnvs = []config.EnvVar{{EnvVar: corev1.EnvVar{Name: "no_proxy", Value: "*"}}}
			cl.Scheduler.ExtraArgs = []config.Arg{{Name: "bind-address", Value: "0.0.0.0"}}
			cl.Scheduler.ExtraVolumes = []config.HostPathMount{{
				Name: "scheduler-config", HostPath: "/etc/kubernetes/scheduler-config.yaml",
				MountPath: "/etc/kubernetes/scheduler-config.yaml", ReadOnly: true, PathType: corev1.HostPathFile,
			}}
			cl.Etcd.Local.ExtraArgs = []config.Arg{{Name: "listen-metrics-urls", Value: "http://0.0.0.0:2381"}}
			cl.Etcd.Local.ExtraEnvs = []config.EnvVar{{EnvVar: corev1.EnvVar{Name: "ETCD_UNSUPPORTED_ARCH", Value: "arm64"}}}
			cl.ImageRepository = "registry.local:5000/k8s"
		},
	},
	{
		name: "ipv6",
		mutate: func(c *config.InitConfig) {
			c.Init.LocalAPIEndpoint.AdvertiseAddress = "fd00::10"
			c.Cluster.Networking.ServiceSubnet = "fd00:10:96::/112"
			c.Cluster.Networking.PodSubnet = "fd00:10:244::/56"
		},
	},
	{
		// What init renders when the user leaves podSubnet empty on a test
		// node (10.77.0.0/24): the default pod subnet is allocated.
		name: "default-pod-subnet",
		mutate: func(c *config.InitConfig) {
			c.Cluster.Networking.PodSubnet = config.ChoosePodSubnet(c.Cluster.Networking.ServiceSubnet, []netip.Prefix{netip.MustParsePrefix("10.77.0.0/24")})
		},
	},
	{
		name: "external-etcd",
		mutate: func(c *config.InitConfig) {
			c.Cluster.Etcd.Local = nil
			c.Cluster.Etcd.External = &config.ExternalEtcd{
				Endpoints: []string{"https://10.0.0.1:2379", "https://10.0.0.2:2379"},
				CAFile:    "/etc/etcd/pki/ca.crt",
				CertFile:  "/etc/etcd/pki/apiserver-etcd-client.crt",
				KeyFile:   "/etc/etcd/pki/apiserver-etcd-client.key",
			}
		},
	},
}

func renderVariant(t *testing.T, env []string, exists map[string]bool, mutate func(*config.InitConfig)) map[string]*corev1.Pod {
	t.Helper()
	cfg := testConfig()
	mutate(cfg)
	r := Renderer{Environ: env, Exists: func(p string) bool { return exists[p] }}
	pods := r.ControlPlanePods(cfg)
	if cfg.Cluster.Etcd.External == nil {
		pods[constants.Etcd] = EtcdPod(cfg)
	}
	return pods
}

func TestGoldenManifests(t *testing.T) {
	for _, v := range goldenVariants {
		pods := renderVariant(t, v.env, v.exists, v.mutate)
		for component, pod := range pods {
			t.Run(v.name+"/"+component, func(t *testing.T) {
				got, err := MarshalPod(pod)
				if err != nil {
					t.Fatal(err)
				}
				path := filepath.Join("testdata", v.name, component+".yaml")
				if *update {
					if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(path, got, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("missing golden file (run go test ./manifests -update): %v", err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s differs from the rendering:\n--- got\n%s\n--- want\n%s", path, got, want)
				}
			})
		}
	}
}

// TestMarshalPodMatchesKubeadmEncoder checks that MarshalPod writes the
// bytes kubeadm's MarshalToYaml (client-go scheme codec, YAML, v1) writes.
func TestMarshalPodMatchesKubeadmEncoder(t *testing.T) {
	info, ok := runtime.SerializerInfoForMediaType(scheme.Codecs.SupportedMediaTypes(), runtime.ContentTypeYAML)
	if !ok {
		t.Fatal("no YAML serializer")
	}
	enc := scheme.Codecs.EncoderForVersion(info.Serializer, corev1.SchemeGroupVersion)
	for _, v := range goldenVariants {
		for component, pod := range renderVariant(t, v.env, v.exists, v.mutate) {
			want, err := runtime.Encode(enc, pod.DeepCopy())
			if err != nil {
				t.Fatal(err)
			}
			got, err := MarshalPod(pod)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s/%s: MarshalPod differs from the codec:\n--- got\n%s\n--- want\n%s", v.name, component, got, want)
			}
			if !bytes.HasSuffix(got, []byte("\nstatus: {}\n")) {
				t.Errorf("%s/%s: manifest does not end with status: {}", v.name, component)
			}
		}
	}
}
