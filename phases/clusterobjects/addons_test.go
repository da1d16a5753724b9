package clusterobjects

import (
	"bytes"
	"context"
	"os"
	"reflect"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"
)

func TestCorefileGolden(t *testing.T) {
	want, err := os.ReadFile("testdata/upstream/Corefile-cluster.local")
	if err != nil {
		t.Fatal(err)
	}
	if got := Corefile("cluster.local"); got != string(want) {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	// The golden objects hold the Corefile for example.org.
	cm := loadUpstream(t, "custom-objects.json")["ConfigMap/kube-system/coredns"]
	wantCustom := cm["data"].(map[string]any)["Corefile"].(string)
	if got := Corefile("example.org"); got != wantCustom {
		t.Errorf("example.org:\ngot:\n%s\nwant:\n%s", got, wantCustom)
	}
}

func TestIsDefaultCorefile(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"default", Corefile("cluster.local"), true},
		{"other domain", Corefile("example.org"), true},
		{"customized", strings.Replace(Corefile("cluster.local"), "cache 30", "cache 60", 1), false},
		{"garbage", ".:53 {}", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := isDefaultCorefile(tt.in); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestEnsureCoreDNSExistingState(t *testing.T) {
	clearProxyEnv(t)
	custom := "# mine\n.:53 {\n    forward . 1.1.1.1\n}\n"
	dep := func(name string, replicas int32) *appsv1.Deployment {
		return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "kube-system", Labels: map[string]string{"k8s-app": "kube-dns"}},
			Spec: appsv1.DeploymentSpec{Replicas: ptr.To(replicas)}}
	}
	cm := func(corefile string) *corev1.ConfigMap {
		return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "coredns", Namespace: "kube-system"}, Data: map[string]string{"Corefile": corefile}}
	}
	tests := []struct {
		name         string
		existing     []runtime.Object
		wantReplicas int32
		wantCorefile string
		wantErr      string
	}{
		{name: "fresh", wantReplicas: 2, wantCorefile: Corefile("cluster.local")},
		{name: "keeps scaled replicas", existing: []runtime.Object{dep("coredns", 5)}, wantReplicas: 5, wantCorefile: Corefile("cluster.local")},
		{name: "retains customized Corefile", existing: []runtime.Object{cm(custom)}, wantReplicas: 2, wantCorefile: custom},
		{name: "updates default Corefile of another domain", existing: []runtime.Object{cm(Corefile("old.local"))}, wantReplicas: 2,
			wantCorefile: Corefile("cluster.local")},
		{name: "two DNS deployments", existing: []runtime.Object{dep("coredns", 2), dep("kube-dns", 1)},
			wantErr: "multiple DNS addon deployments found: [coredns kube-dns]; delete all but one"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := fake.NewSimpleClientset(tt.existing...)
			var out bytes.Buffer
			err := EnsureCoreDNS(client, testConfig(t, "default"), &out)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("got %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if out.String() != "[addons] Applied essential addon: CoreDNS\n" {
				t.Errorf("output %q", out.String())
			}
			ctx := context.Background()
			d, err := client.AppsV1().Deployments("kube-system").Get(ctx, "coredns", metav1.GetOptions{})
			if err != nil || *d.Spec.Replicas != tt.wantReplicas {
				t.Fatalf("deployment replicas %v (err %v), want %d", d.Spec.Replicas, err, tt.wantReplicas)
			}
			c, err := client.CoreV1().ConfigMaps("kube-system").Get(ctx, "coredns", metav1.GetOptions{})
			if err != nil || c.Data["Corefile"] != tt.wantCorefile {
				t.Fatalf("Corefile %q (err %v), want %q", c.Data["Corefile"], err, tt.wantCorefile)
			}
		})
	}
}

func TestKubeDNSServiceIP(t *testing.T) {
	tests := []struct {
		subnet, want, wantErr string
	}{
		{subnet: "10.96.0.0/12", want: "10.96.0.10"},
		{subnet: "10.100.0.0/16", want: "10.100.0.10"},
		{subnet: "fd00:10:96::/112,10.96.0.0/12", want: "fd00:10:96::a"},
		{subnet: "not-a-cidr", wantErr: `failed to parse networking.serviceSubnet "not-a-cidr"`},
	}
	for _, tt := range tests {
		t.Run(tt.subnet, func(t *testing.T) {
			cfg := testConfig(t, "default")
			cfg.Cluster.Networking.ServiceSubnet = tt.subnet
			objs, err := CoreDNSObjects(cfg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := objs[2].(*corev1.Service).Spec.ClusterIP; got != tt.want {
				t.Errorf("clusterIP %s, want %s", got, tt.want)
			}
		})
	}
}

func TestProxyEnvVars(t *testing.T) {
	got := ProxyEnvVars([]string{"HTTP_PROXY=http://p:3128", "no_proxy=localhost", "HTTPS_PROXY=", "PATH=/bin", "broken", "http_proxy=http://q"})
	want := []corev1.EnvVar{{Name: "HTTP_PROXY", Value: "http://p:3128"}, {Name: "http_proxy", Value: "http://q"}, {Name: "no_proxy", Value: "localhost"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestEnsureKubeProxyPassesProxyEnv(t *testing.T) {
	clearProxyEnv(t)
	t.Setenv("HTTPS_PROXY", "http://proxy:3128")
	client := fake.NewSimpleClientset()
	if err := EnsureKubeProxy(client, testConfig(t, "default"), &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	ds, err := client.AppsV1().DaemonSets("kube-system").Get(context.Background(), "kube-proxy", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	env := ds.Spec.Template.Spec.Containers[0].Env
	if len(env) != 2 || env[0].Name != "NODE_NAME" || env[1] != (corev1.EnvVar{Name: "HTTPS_PROXY", Value: "http://proxy:3128"}) {
		t.Errorf("env %+v", env)
	}
}

func TestKubeProxyConfigMapServer(t *testing.T) {
	tests := []struct {
		name, cpe, adv string
		port           int32
		want           string
	}{
		{name: "advertise address", adv: "10.0.0.10", port: 6443, want: "https://10.0.0.10:6443"},
		{name: "IPv6 advertise address", adv: "fd00::10", port: 6443, want: "https://[fd00::10]:6443"},
		{name: "endpoint without port", cpe: "cp.example.com", adv: "10.0.0.10", port: 7443, want: "https://cp.example.com:7443"},
		{name: "endpoint with port", cpe: "cp.example.com:443", adv: "10.0.0.10", port: 6443, want: "https://cp.example.com:443"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(t, "default")
			cfg.Cluster.ControlPlaneEndpoint = tt.cpe
			cfg.Init.LocalAPIEndpoint.AdvertiseAddress, cfg.Init.LocalAPIEndpoint.BindPort = tt.adv, tt.port
			cm, err := KubeProxyConfigMap(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(cm.Data["kubeconfig.conf"], "    server: "+tt.want+"\n") {
				t.Errorf("kubeconfig.conf:\n%s\nwant server %s", cm.Data["kubeconfig.conf"], tt.want)
			}
			wantBind := "bindAddress: 0.0.0.0\n"
			if strings.Contains(tt.adv, ":") {
				wantBind = "bindAddress: '::'\n"
			}
			if !strings.Contains(cm.Data["config.conf"], wantBind) {
				t.Errorf("config.conf has no %q:\n%s", wantBind, cm.Data["config.conf"])
			}
		})
	}
}

func TestPrintManifestsRoundTrip(t *testing.T) {
	cfg := testConfig(t, "custom")
	dns, err := CoreDNSObjects(cfg)
	if err != nil {
		t.Fatal(err)
	}
	proxy, err := KubeProxyObjects(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for name, objs := range map[string][]runtime.Object{"coredns": dns, "kube-proxy": proxy} {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			if err := PrintManifests(&out, objs); err != nil {
				t.Fatal(err)
			}
			docs := strings.Split(strings.TrimPrefix(out.String(), "---\n"), "\n---\n")
			if len(docs) != len(objs) {
				t.Fatalf("got %d documents, want %d:\n%s", len(docs), len(objs), out.String())
			}
			for i, doc := range docs {
				if strings.Contains(doc, "creationTimestamp") || strings.Contains(doc, "status: {}") {
					t.Errorf("document %d has empty metadata noise:\n%s", i, doc)
				}
				j, err := yaml.YAMLToJSON([]byte(doc))
				if err != nil {
					t.Fatal(err)
				}
				decoded, _, err := scheme.Codecs.UniversalDeserializer().Decode(j, nil, nil)
				if err != nil {
					t.Fatalf("document %d does not decode: %v\n%s", i, err, doc)
				}
				want := objs[i].DeepCopyObject()
				want.GetObjectKind().SetGroupVersionKind(decoded.GetObjectKind().GroupVersionKind())
				if !reflect.DeepEqual(decoded, want) {
					t.Errorf("document %d decodes to\n%#v\nwant\n%#v", i, decoded, want)
				}
			}
		})
	}
}
