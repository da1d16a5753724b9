package app

import (
	"context"
	"io"
	"log"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes/fake"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kubeadmin/kubeadmin/kubelet/node"
	"github.com/kubeadmin/kubeadmin/kubelet/options"
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
// an empty KubeletConfiguration.
func loadArgs(t *testing.T, args ...string) *options.Config {
	t.Helper()
	file := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(file, []byte("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := options.Parse(append(args, "--config="+file, "--root-dir="+t.TempDir()))
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
