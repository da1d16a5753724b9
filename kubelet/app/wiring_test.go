package app

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes/fake"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kubeadmin/kubeadmin/kubelet/node"
	"github.com/kubeadmin/kubeadmin/kubelet/options"
	"github.com/kubeadmin/kubeadmin/kubelet/server"
)

// fakeRuntime answers the CRI calls of the node side and the sandbox
// image check.
type fakeRuntime struct {
	info   map[string]string
	images map[string]bool
}

func (f *fakeRuntime) Version(context.Context, string) (*runtimeapi.VersionResponse, error) {
	return &runtimeapi.VersionResponse{RuntimeName: "containerd", RuntimeVersion: "1.6.20"}, nil
}

func (f *fakeRuntime) Status(context.Context, bool) (*runtimeapi.StatusResponse, error) {
	return &runtimeapi.StatusResponse{Info: f.info, Status: &runtimeapi.RuntimeStatus{Conditions: []*runtimeapi.RuntimeCondition{
		{Type: runtimeapi.RuntimeReady, Status: true}, {Type: runtimeapi.NetworkReady, Status: true},
	}}}, nil
}

func (f *fakeRuntime) ImageStatus(_ context.Context, img *runtimeapi.ImageSpec, _ bool) (*runtimeapi.ImageStatusResponse, error) {
	if f.images[img.GetImage()] {
		return &runtimeapi.ImageStatusResponse{Image: &runtimeapi.Image{Id: "sha256:1", RepoTags: []string{img.GetImage()}}}, nil
	}
	return &runtimeapi.ImageStatusResponse{}, nil
}

var quiet = log.New(io.Discard, "", 0)

// loadArgs parses args as the agent's command line and loads them with
// an empty KubeletConfiguration; --root-dir defaults to a new directory.
func loadArgs(t *testing.T, args ...string) *options.Config {
	t.Helper()
	file := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(file, []byte("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	args = append([]string{"--root-dir=" + t.TempDir()}, args...)
	f, err := options.Parse(append(args, "--config="+file))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := options.Load(*f)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestNodeRegisteredWithTheFlags runs the node side as the agent wires it
// and checks the registered Node carries what the flags say.
func TestNodeRegisteredWithTheFlags(t *testing.T) {
	cfg := loadArgs(t, "--hostname-override=Worker-1", "--node-labels=node.kubernetes.io/pool=db",
		"--register-with-taints=dedicated=db:NoSchedule,node.kubernetes.io/maintenance:NoExecute", "--max-pods=7")
	client := fake.NewClientset()
	n, err := node.New(nodeOptions(cfg, "10.0.0.5", "", client, &fakeRuntime{}, quiet))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	var got *v1.Node
	err = wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, 5*time.Second, true, func(ctx context.Context) (bool, error) {
		got, err = client.CoreV1().Nodes().Get(ctx, "worker-1", metav1.GetOptions{})
		return err == nil, nil
	})
	if err != nil {
		t.Fatalf("the node was not registered: %v", err)
	}
	wantTaints := []v1.Taint{{Key: "dedicated", Value: "db", Effect: v1.TaintEffectNoSchedule}, {Key: "node.kubernetes.io/maintenance", Effect: v1.TaintEffectNoExecute}}
	if !reflect.DeepEqual(got.Spec.Taints, wantTaints) {
		t.Errorf("taints = %+v, want %+v", got.Spec.Taints, wantTaints)
	}
	if got.Labels["node.kubernetes.io/pool"] != "db" || got.Labels[v1.LabelHostname] != "worker-1" {
		t.Errorf("labels = %v", got.Labels)
	}
	for _, rl := range []v1.ResourceList{got.Status.Capacity, got.Status.Allocatable} {
		if pods := rl[v1.ResourcePods]; pods.Value() != 7 {
			t.Errorf("pods = %s, want 7 (--max-pods)", pods.String())
		}
	}
}

func TestCheckSandboxImage(t *testing.T) {
	const pause, other = "registry.k8s.io/pause:3.10", "registry.k8s.io/pause:3.6"
	v1Info := map[string]string{"config": `{"sandboxImage":"` + pause + `","other":1}`}
	v2Info := map[string]string{"config": `{"pinnedImages":{"sandbox":"` + pause + `"}}`}
	tests := []struct {
		name  string
		rt    fakeRuntime
		want  string
		lines []string // substrings, one per line
	}{
		{"containerd 1.x, no flag", fakeRuntime{info: v1Info, images: map[string]bool{pause: true}}, "", []string{"use the image " + pause}},
		{"containerd 2.x, same image", fakeRuntime{info: v2Info, images: map[string]bool{pause: true}}, pause, []string{"use the image " + pause}},
		{"mismatch", fakeRuntime{info: v1Info, images: map[string]bool{pause: true}}, other, []string{"--pod-infra-container-image=" + other + ", but the container runtime creates sandboxes from " + pause}},
		{"missing image", fakeRuntime{info: v1Info}, pause, []string{"use the image " + pause, pause + " is not present"}},
		{"runtime does not say", fakeRuntime{}, pause, []string{"does not report its sandbox image"}},
		{"runtime does not say, no flag", fakeRuntime{}, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lines, err := checkSandboxImage(context.Background(), &tt.rt, tt.want)
			if err != nil {
				t.Fatal(err)
			}
			if len(lines) != len(tt.lines) {
				t.Fatalf("lines = %q, want %d", lines, len(tt.lines))
			}
			for i, want := range tt.lines {
				if !strings.Contains(lines[i], want) {
					t.Errorf("line %d = %q, want it to contain %q", i, lines[i], want)
				}
			}
		})
	}
}

// writeKubeconfig writes a kubeconfig for server and returns its path.
func writeKubeconfig(t *testing.T, server string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "kubelet.conf")
	data := "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: " + server + "\n    insecure-skip-tls-verify: true\n" +
		"users:\n- name: u\n  user:\n    token: t\ncontexts:\n- name: x\n  context:\n    cluster: c\n    user: u\ncurrent-context: x\n"
	if err := os.WriteFile(file, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// servingCert is the serving certificate the kubelet API presents with
// opts.
func servingCert(t *testing.T, opts server.Options) *x509.Certificate {
	t.Helper()
	certFile, _, err := server.EnsureServingCert(opts.CertDir, opts.NodeName, opts.NodeIP, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatalf("%s: no certificate", certFile)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestOneNodeIPEverywhere wires the agent against an API server on a
// second loopback address and checks that the engine (pod host IP and
// env), the Node, the pod statuses and the serving certificate all get
// the one chosen IP: the address that reaches the API server, or
// --node-ip.
func TestOneNodeIPEverywhere(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("no second loopback address: %v", err)
	}
	api := httptest.NewUnstartedServer(http.NotFoundHandler())
	api.Listener.Close()
	api.Listener = l
	api.StartTLS()
	defer api.Close()
	kubeconfig := writeKubeconfig(t, api.URL)
	rootDir := t.TempDir()

	for _, tt := range []struct {
		name  string
		flags []string
		check func(ip net.IP) bool
		want  string
	}{
		// 127.0.0.2 is reached over lo: the chosen IP is a loopback
		// address, never an address of another interface.
		{"address reaching the API server", nil, net.IP.IsLoopback, "a loopback address"},
		{"--node-ip", []string{"--node-ip=192.0.2.77"}, func(ip net.IP) bool { return ip.Equal(net.ParseIP("192.0.2.77")) }, "192.0.2.77"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := loadArgs(t, append([]string{"--kubeconfig=" + kubeconfig, "--hostname-override=node1", "--root-dir=" + rootDir}, tt.flags...)...)
			restCfg, client, err := loadClient(t.Context(), cfg, quiet)
			if err != nil || restCfg == nil {
				t.Fatalf("loadClient: %v, %v", restCfg, err)
			}
			apiServer, ip, err := nodeAddress(cfg, restCfg)
			if err != nil {
				t.Fatal(err)
			}
			if apiServer != api.URL {
				t.Errorf("API server = %q, want %q", apiServer, api.URL)
			}
			if parsed := net.ParseIP(ip); parsed == nil || !tt.check(parsed) {
				t.Fatalf("node IP = %q, want %s", ip, tt.want)
			}
			srv := serverOptions(cfg, ip, client, &Health{}, quiet)
			got := map[string]string{
				"engine (pod host IP, env)": engineOptions(cfg, ip).NodeIP,
				"node (InternalIP)":         nodeOptions(cfg, ip, apiServer, client, &fakeRuntime{}, quiet).NodeIP,
				"pod status (hostIP)":       podStatusOptions(cfg, ip, client, nil, quiet).NodeIP,
				"kubelet API":               srv.NodeIP,
			}
			for part, v := range got {
				if v != ip {
					t.Errorf("%s uses %q, want the node IP %q", part, v, ip)
				}
			}
			if c := servingCert(t, srv); c.VerifyHostname(ip) != nil || c.VerifyHostname("node1") != nil {
				t.Errorf("serving certificate names %v %v, want %s and node1", c.IPAddresses, c.DNSNames, ip)
			}
		})
	}
}

func TestLoadClientStandaloneWithoutKubeconfigs(t *testing.T) {
	dir := t.TempDir()
	cfg := loadArgs(t, "--kubeconfig="+filepath.Join(dir, "kubelet.conf"), "--bootstrap-kubeconfig="+filepath.Join(dir, "bootstrap-kubelet.conf"),
		"--hostname-override=node1", "--root-dir="+dir)
	restCfg, client, err := loadClient(t.Context(), cfg, quiet)
	if err != nil || restCfg != nil || client != nil {
		t.Fatalf("loadClient = %v, %v, %v; want standalone", restCfg, client, err)
	}
}

func TestServingCertificateWithServerTLSBootstrap(t *testing.T) {
	dir := t.TempDir()
	cfg := loadArgs(t, "--hostname-override=node1", "--root-dir="+dir)
	cs := &clusterSide{cfg: cfg, nodeIP: "10.0.0.5", client: fake.NewClientset(), logger: quiet}
	var so server.Options
	if err := cs.servingCertificate(t.Context(), &so); err != nil || so.GetCertificate != nil {
		t.Fatalf("serverTLSBootstrap false: %v, GetCertificate set %v; want the self-signed default", err, so.GetCertificate != nil)
	}
	cfg.ServerTLSBootstrap = true
	if err := cs.servingCertificate(t.Context(), &so); err != nil || so.GetCertificate == nil {
		t.Fatalf("serverTLSBootstrap true: %v, GetCertificate set %v", err, so.GetCertificate != nil)
	}
}

func TestAdmissionRereadsTheNodeBeforeRejecting(t *testing.T) {
	pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}, Spec: v1.PodSpec{
		NodeName: "n1", NodeSelector: map[string]string{"example.com/zone": "a"},
		Containers: []v1.Container{{Name: "c", Image: "i"}},
	}}
	stale := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", Labels: map[string]string{}},
		Status: v1.NodeStatus{Allocatable: v1.ResourceList{v1.ResourcePods: resource.MustParse("110")}}}
	labelled := stale.DeepCopy()
	labelled.Labels["example.com/zone"] = "a"
	reads := 0
	if r := admitWithFreshNode(pod, nil, stale, func() *v1.Node { reads++; return labelled }); !r.Admit || reads != 1 {
		t.Fatalf("a pod the stale Node rejects was not admitted against the Node read now: %+v (reads %d)", r, reads)
	}
	reads = 0
	if r := admitWithFreshNode(pod, nil, labelled, func() *v1.Node { reads++; return nil }); !r.Admit || reads != 0 {
		t.Fatalf("an admitted pod read the Node again: %+v (reads %d)", r, reads)
	}
	if r := admitWithFreshNode(pod, nil, stale, func() *v1.Node { return nil }); r.Admit || r.Reason != "NodeAffinity" {
		t.Fatalf("without a fresher Node the pod is rejected as before, got %+v", r)
	}
}
