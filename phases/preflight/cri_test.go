package preflight

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// fakeRuntime is a minimal CRI RuntimeService.
type fakeRuntime struct {
	runtimeapi.UnimplementedRuntimeServiceServer
	conditions    []*runtimeapi.RuntimeCondition
	statusErr     error
	runtimeConfig bool
	// info is returned by a verbose Status.
	info map[string]string
}

func (f *fakeRuntime) Status(_ context.Context, req *runtimeapi.StatusRequest) (*runtimeapi.StatusResponse, error) {
	if f.statusErr != nil {
		return nil, f.statusErr
	}
	resp := &runtimeapi.StatusResponse{Status: &runtimeapi.RuntimeStatus{Conditions: f.conditions}}
	if req.Verbose {
		resp.Info = f.info
	}
	return resp, nil
}

func (f *fakeRuntime) RuntimeConfig(context.Context, *runtimeapi.RuntimeConfigRequest) (*runtimeapi.RuntimeConfigResponse, error) {
	if !f.runtimeConfig {
		return nil, status.Error(codes.Unimplemented, "unknown method RuntimeConfig for service runtime.v1.RuntimeService")
	}
	return &runtimeapi.RuntimeConfigResponse{}, nil
}

// fakeImages is a minimal CRI ImageService holding a set of images.
type fakeImages struct {
	runtimeapi.UnimplementedImageServiceServer
	present map[string]bool
	pulled  []string
}

func (f *fakeImages) ImageStatus(_ context.Context, req *runtimeapi.ImageStatusRequest) (*runtimeapi.ImageStatusResponse, error) {
	name := req.GetImage().GetImage()
	if !f.present[name] {
		return &runtimeapi.ImageStatusResponse{}, nil
	}
	return &runtimeapi.ImageStatusResponse{Image: &runtimeapi.Image{Id: "sha256:" + name, RepoTags: []string{name}}}, nil
}

func (f *fakeImages) PullImage(_ context.Context, req *runtimeapi.PullImageRequest) (*runtimeapi.PullImageResponse, error) {
	f.pulled = append(f.pulled, req.GetImage().GetImage())
	return nil, status.Error(codes.Unavailable, "no registry")
}

var (
	readyConditions = []*runtimeapi.RuntimeCondition{
		{Type: runtimeapi.RuntimeReady, Status: true},
		{Type: runtimeapi.NetworkReady, Status: false, Reason: "NetworkPluginNotReady", Message: "cni config uninitialized"},
	}
	notReadyConditions = []*runtimeapi.RuntimeCondition{
		{Type: runtimeapi.RuntimeReady, Status: false, Reason: "RuntimeBroken", Message: "runc missing"},
	}
)

// socketDir returns a short temporary directory: unix socket paths are
// limited to 108 bytes, too few for t.TempDir() with long test names.
func socketDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "cri")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// serveCRI starts a gRPC server with the given services (nil: not
// registered) and returns its endpoint.
func serveCRI(t *testing.T, rt runtimeapi.RuntimeServiceServer, img runtimeapi.ImageServiceServer) string {
	t.Helper()
	sock := filepath.Join(socketDir(t), "cri.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	if rt != nil {
		runtimeapi.RegisterRuntimeServiceServer(srv, rt)
	}
	if img != nil {
		runtimeapi.RegisterImageServiceServer(srv, img)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	return "unix://" + sock
}

// silentSocket accepts connections and never answers, like a wedged
// runtime.
func silentSocket(t *testing.T) string {
	t.Helper()
	sock := filepath.Join(socketDir(t), "cri.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { close(done); ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { <-done; c.Close() }()
		}
	}()
	return "unix://" + sock
}

// staleSocket leaves a socket file that nothing listens on.
func staleSocket(t *testing.T) string {
	t.Helper()
	sock := filepath.Join(socketDir(t), "cri.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	return "unix://" + sock
}

func TestCRIStatus(t *testing.T) {
	missing := "unix://" + filepath.Join(socketDir(t), "containerd.sock")
	tests := []struct {
		name     string
		endpoint func(t *testing.T) string
		class    error
		want     []string
	}{
		{
			name: "ready",
			endpoint: func(t *testing.T) string {
				return serveCRI(t, &fakeRuntime{conditions: readyConditions}, &fakeImages{})
			},
		},
		{
			name: "bare socket path",
			endpoint: func(t *testing.T) string {
				return strings.TrimPrefix(serveCRI(t, &fakeRuntime{conditions: readyConditions}, nil), "unix://")
			},
		},
		{
			name:     "socket missing",
			endpoint: func(*testing.T) string { return missing },
			class:    ErrCRINotRunning,
			want:     []string{`container runtime is not running: the CRI socket "` + missing + `" does not exist; start containerd (e.g. "hack/containerd.sh start")`},
		},
		{
			name:     "nothing listens",
			endpoint: staleSocket,
			class:    ErrCRINotRunning,
			want:     []string{"container runtime is not running: cannot connect to the CRI socket", "start containerd"},
		},
		{
			name:     "CRI plugin disabled",
			endpoint: func(t *testing.T) string { return serveCRI(t, nil, &fakeImages{}) },
			class:    ErrCRIDisabled,
			want: []string{"unknown service runtime.v1.RuntimeService", "containerd's CRI plugin is disabled",
				`remove "cri" from disabled_plugins in /etc/containerd/config.toml and restart containerd`},
		},
		{
			name: "not initialized yet",
			endpoint: func(t *testing.T) string {
				return serveCRI(t, &fakeRuntime{statusErr: errors.New("server is not initialized yet")}, nil)
			},
			class: ErrCRINotReady,
			want:  []string{"is still starting", "server is not initialized yet"},
		},
		{
			name:     "runtime not ready",
			endpoint: func(t *testing.T) string { return serveCRI(t, &fakeRuntime{conditions: notReadyConditions}, nil) },
			class:    ErrCRINotReady,
			want:     []string{`container runtime is not ready: condition "RuntimeReady" is false (reason: "RuntimeBroken", message: "runc missing")`},
		},
		{
			name:     "no conditions",
			endpoint: func(t *testing.T) string { return serveCRI(t, &fakeRuntime{}, nil) },
			class:    ErrCRINotReady,
			want:     []string{`condition "RuntimeReady" is missing`},
		},
		{
			name: "other error",
			endpoint: func(t *testing.T) string {
				return serveCRI(t, &fakeRuntime{statusErr: status.Error(codes.Internal, "boom")}, nil)
			},
			class: ErrCRINotRunning,
			want:  []string{"CRI call to", "boom"},
		},
		{
			name:     "unsupported scheme",
			endpoint: func(*testing.T) string { return "tcp://127.0.0.1:1234" },
			want:     []string{`invalid container runtime endpoint "tcp://127.0.0.1:1234": only unix sockets are supported`, "set nodeRegistration.criSocket or --cri-socket"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CRIStatus(context.Background(), tt.endpoint(t))
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("CRIStatus() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatal("CRIStatus() = nil, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if tt.class != nil && !errors.Is(err, tt.class) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.class)
			}
		})
	}
}

func TestCRIStatusIsBounded(t *testing.T) {
	endpoint := silentSocket(t)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := CRIStatus(ctx, endpoint)
	if err == nil || !errors.Is(err, ErrCRINotRunning) || !strings.Contains(err.Error(), "did not answer in time") {
		t.Fatalf("CRIStatus() = %v, want a time-out", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("CRIStatus took %s with a 300ms deadline", d)
	}

	// The checks use Host.CRITimeout.
	h := Host{CRITimeout: 300 * time.Millisecond}.withDefaults()
	start = time.Now()
	expect(t, run(criCheck(h, endpoint)), nil, []string{"did not answer in time"})
	expect(t, run(runtimeVersionCheck(h, endpoint)), nil, []string{"did not answer in time"})
	expect(t, run(imagePresenceCheck(h, endpoint, []string{"x"}, "p", corev1.PullIfNotPresent)), nil, []string{"did not answer in time"})
	if d := time.Since(start); d > 6*time.Second {
		t.Errorf("three checks took %s with a 300ms time-out", d)
	}
}

func TestCRICheck(t *testing.T) {
	h := Host{}.withDefaults()
	ok := serveCRI(t, &fakeRuntime{conditions: readyConditions}, nil)
	bad := serveCRI(t, &fakeRuntime{conditions: notReadyConditions}, nil)
	c := criCheck(h, ok)
	if c.Name() != "CRI" {
		t.Errorf("name = %q", c.Name())
	}
	expect(t, run(c), nil, nil)
	expect(t, run(criCheck(h, bad)), nil, []string{"runc missing"})
}

// withRuntimeConfig is a CRI client with the RuntimeConfig call: the node
// agent's client for the rest, and its own gRPC connection for that call.
type withRuntimeConfig struct {
	CRIClient
	rt runtimeapi.RuntimeServiceClient
}

func (c withRuntimeConfig) RuntimeConfig(ctx context.Context) (*runtimeapi.RuntimeConfigResponse, error) {
	return c.rt.RuntimeConfig(ctx, &runtimeapi.RuntimeConfigRequest{})
}

func dialWithRuntimeConfig(t *testing.T) func(string) (CRIClient, error) {
	return func(endpoint string) (CRIClient, error) {
		c, err := dialCRI(endpoint)
		if err != nil {
			return nil, err
		}
		conn, err := grpc.NewClient(endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return withRuntimeConfig{c, runtimeapi.NewRuntimeServiceClient(conn)}, nil
	}
}

func TestRuntimeVersionCheck(t *testing.T) {
	h := Host{CRI: dialWithRuntimeConfig(t)}.withDefaults()
	disabledEndpoint := serveCRI(t, nil, &fakeImages{})
	tests := []struct {
		name           string
		endpoint       string
		warnings, errs []string
	}{
		{"RuntimeConfig implemented", serveCRI(t, &fakeRuntime{runtimeConfig: true}, nil), nil, nil},
		{"RuntimeConfig missing (containerd 1.6)", serveCRI(t, &fakeRuntime{}, nil),
			[]string{"You must update your container runtime to a version that supports the CRI method RuntimeConfig"}, nil},
		{"CRI plugin disabled", disabledEndpoint, nil,
			[]string{"could not check if the runtime config is available: the container runtime at \"" + disabledEndpoint + "\" does not serve the CRI API (unknown service runtime.v1.RuntimeService): containerd's CRI plugin is disabled"}},
		{"socket missing", "unix://" + filepath.Join(socketDir(t), "none.sock"), nil, []string{"does not exist"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := runtimeVersionCheck(h, tt.endpoint)
			if c.Name() != "ContainerRuntimeVersion" {
				t.Errorf("name = %q", c.Name())
			}
			expect(t, run(c), tt.warnings, tt.errs)
		})
	}
}

// A client without RuntimeConfig still finds a runtime that does not
// answer or does not serve the CRI API.
func TestRuntimeVersionCheckWithoutRuntimeConfigCall(t *testing.T) {
	h := Host{CRI: func(endpoint string) (CRIClient, error) {
		c, err := dialCRI(endpoint)
		// Hide any RuntimeConfig method the agent's client may have.
		return struct{ CRIClient }{c}, err
	}}.withDefaults()
	expect(t, run(runtimeVersionCheck(h, serveCRI(t, &fakeRuntime{conditions: readyConditions}, nil))), nil, nil)
	expect(t, run(runtimeVersionCheck(h, serveCRI(t, nil, &fakeImages{}))), nil, []string{"containerd's CRI plugin is disabled"})
}

func TestImagePresenceCheck(t *testing.T) {
	h := Host{}.withDefaults()
	const pause = "registry.k8s.io/pause:3.10.2"
	images := []string{"registry.k8s.io/kube-apiserver:v1.37.2", "registry.k8s.io/etcd:3.7.0-0", pause}
	all := map[string]bool{images[0]: true, images[1]: true, pause: true}
	sandboxInfo := func(image string) map[string]string {
		return map[string]string{"config": `{"sandboxImage":"` + image + `","other":1}`}
	}
	tests := []struct {
		name           string
		info           map[string]string
		present        map[string]bool
		policy         corev1.PullPolicy
		warnings, errs []string
	}{
		{name: "all present", info: sandboxInfo(pause), present: all, policy: corev1.PullIfNotPresent},
		{name: "no policy", present: all},
		{name: "one missing", info: sandboxInfo(pause), present: map[string]bool{images[0]: true, pause: true}, policy: corev1.PullIfNotPresent,
			errs: []string{`image "registry.k8s.io/etcd:3.7.0-0" is not present in the container runtime; kubeadmin never pulls images; import it with "ctr -n k8s.io images import <image.tar>"`}},
		{name: "Never still requires presence", present: map[string]bool{pause: true}, policy: corev1.PullNever,
			errs: []string{"kube-apiserver:v1.37.2\" is not present", "etcd:3.7.0-0\" is not present"}},
		{name: "Always warns and does not pull", present: all, policy: corev1.PullAlways,
			warnings: []string{`imagePullPolicy is "Always" but kubeadmin never pulls images`}},
		{name: "unsupported policy", present: all, policy: "Sometimes",
			errs: []string{`unsupported pull policy "Sometimes" in nodeRegistration.imagePullPolicy`}},
		{name: "different sandbox image, present", info: sandboxInfo("registry.k8s.io/pause:3.6"),
			present: map[string]bool{images[0]: true, images[1]: true, pause: true, "registry.k8s.io/pause:3.6": true}, policy: corev1.PullIfNotPresent,
			warnings: []string{`detected that the sandbox image "registry.k8s.io/pause:3.6" of the container runtime is inconsistent with that used by kubeadm. It is recommended to use "registry.k8s.io/pause:3.10.2"`}},
		{name: "different sandbox image, missing", info: sandboxInfo("registry.k8s.io/pause:3.6"), present: all, policy: corev1.PullIfNotPresent,
			warnings: []string{`sandbox image "registry.k8s.io/pause:3.6"`},
			errs:     []string{`the container runtime's sandbox image is missing, so no pod can start: image "registry.k8s.io/pause:3.6" is not present`}},
		{name: "containerd 2 pinned sandbox image", info: map[string]string{"config": `{"pinnedImages":{"sandbox":"example.com/pause:1"}}`},
			present:  map[string]bool{images[0]: true, images[1]: true, pause: true, "example.com/pause:1": true},
			warnings: []string{`sandbox image "example.com/pause:1"`}},
		{name: "unreadable info is ignored", info: map[string]string{"config": "{"}, present: all},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img := &fakeImages{present: tt.present}
			endpoint := serveCRI(t, &fakeRuntime{conditions: readyConditions, info: tt.info}, img)
			c := imagePresenceCheck(h, endpoint, images, pause, tt.policy)
			if c.Name() != "ImagePull" {
				t.Errorf("name = %q", c.Name())
			}
			expect(t, run(c), tt.warnings, tt.errs)
			if len(img.pulled) != 0 {
				t.Errorf("the check pulled %q", img.pulled)
			}
		})
	}
}

func TestImagePresenceCheckRuntimeDown(t *testing.T) {
	h := Host{}.withDefaults()
	missing := "unix://" + filepath.Join(socketDir(t), "none.sock")
	expect(t, run(imagePresenceCheck(h, missing, []string{"a", "b"}, "p", corev1.PullIfNotPresent)), nil, []string{"does not exist"})
	disabled := serveCRI(t, nil, &fakeImages{})
	expect(t, run(imagePresenceCheck(h, disabled, []string{"a"}, "p", corev1.PullIfNotPresent)), nil, []string{"CRI plugin is disabled"})
}
