package cri

import (
	"context"
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// maxMsgSize is the largest gRPC message accepted, as the upstream kubelet.
const maxMsgSize = 16 * 1024 * 1024

// Call time-outs. Calls that may take long on a busy node get more time.
const (
	defaultCallTimeout = 30 * time.Second
	longCallTimeout    = 4 * time.Minute
	pullTimeout        = 15 * time.Minute
)

// Remote is a RuntimeService and ImageService over a gRPC connection. The
// connection reconnects by itself (with a back-off capped at one second)
// when the runtime restarts; calls made meanwhile fail and are retried by
// the caller.
type Remote struct {
	conn    *grpc.ClientConn
	runtime runtimeapi.RuntimeServiceClient
	images  runtimeapi.ImageServiceClient
}

// Target turns a CRI endpoint ("unix:///run/containerd/containerd.sock" or
// a bare absolute path) into a gRPC target.
func Target(endpoint string) (string, error) {
	switch {
	case strings.HasPrefix(endpoint, "unix://"):
		if !strings.HasPrefix(strings.TrimPrefix(endpoint, "unix://"), "/") {
			return "", fmt.Errorf("invalid container runtime endpoint %q: the socket path must be absolute, e.g. unix:///run/containerd/containerd.sock", endpoint)
		}
		return endpoint, nil
	case strings.HasPrefix(endpoint, "/"):
		return "unix://" + endpoint, nil
	}
	return "", fmt.Errorf("invalid container runtime endpoint %q: only unix sockets are supported, e.g. unix:///run/containerd/containerd.sock", endpoint)
}

// SocketPath is the file system path of the unix socket of a CRI endpoint
// (see Target), e.g. to check that the socket exists.
func SocketPath(endpoint string) (string, error) {
	target, err := Target(endpoint)
	if err != nil {
		return "", err
	}
	return strings.TrimPrefix(target, "unix://"), nil
}

// NewRemote creates a client for the runtime at endpoint. It does not wait
// for the runtime: use WaitReady.
func NewRemote(endpoint string) (*Remote, error) {
	target, err := Target(endpoint)
	if err != nil {
		return nil, err
	}
	bo := backoff.DefaultConfig
	bo.BaseDelay = 100 * time.Millisecond
	bo.MaxDelay = time.Second
	conn, err := grpc.NewClient(target,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithConnectParams(grpc.ConnectParams{Backoff: bo, MinConnectTimeout: 2 * time.Second}),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMsgSize), grpc.MaxCallSendMsgSize(maxMsgSize)),
	)
	if err != nil {
		return nil, fmt.Errorf("failed to create a client for the container runtime %q: %w", endpoint, err)
	}
	return &Remote{conn: conn, runtime: runtimeapi.NewRuntimeServiceClient(conn), images: runtimeapi.NewImageServiceClient(conn)}, nil
}

// Close closes the connection.
func (r *Remote) Close() error { return r.conn.Close() }

func withTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}

// Version implements RuntimeService.
func (r *Remote) Version(ctx context.Context, apiVersion string) (*runtimeapi.VersionResponse, error) {
	ctx, cancel := withTimeout(ctx, defaultCallTimeout)
	defer cancel()
	return r.runtime.Version(ctx, &runtimeapi.VersionRequest{Version: apiVersion})
}

// Status implements RuntimeService.
func (r *Remote) Status(ctx context.Context, verbose bool) (*runtimeapi.StatusResponse, error) {
	ctx, cancel := withTimeout(ctx, defaultCallTimeout)
	defer cancel()
	return r.runtime.Status(ctx, &runtimeapi.StatusRequest{Verbose: verbose})
}

// RunPodSandbox implements RuntimeService.
func (r *Remote) RunPodSandbox(ctx context.Context, config *runtimeapi.PodSandboxConfig, runtimeHandler string) (string, error) {
	ctx, cancel := withTimeout(ctx, longCallTimeout)
	defer cancel()
	resp, err := r.runtime.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: config, RuntimeHandler: runtimeHandler})
	if err != nil {
		return "", err
	}
	return resp.GetPodSandboxId(), nil
}

// StopPodSandbox implements RuntimeService.
func (r *Remote) StopPodSandbox(ctx context.Context, id string) error {
	ctx, cancel := withTimeout(ctx, longCallTimeout)
	defer cancel()
	_, err := r.runtime.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: id})
	return err
}

// RemovePodSandbox implements RuntimeService.
func (r *Remote) RemovePodSandbox(ctx context.Context, id string) error {
	ctx, cancel := withTimeout(ctx, longCallTimeout)
	defer cancel()
	_, err := r.runtime.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: id})
	return err
}

// PodSandboxStatus implements RuntimeService.
func (r *Remote) PodSandboxStatus(ctx context.Context, id string, verbose bool) (*runtimeapi.PodSandboxStatusResponse, error) {
	ctx, cancel := withTimeout(ctx, defaultCallTimeout)
	defer cancel()
	return r.runtime.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: id, Verbose: verbose})
}

// ListPodSandbox implements RuntimeService.
func (r *Remote) ListPodSandbox(ctx context.Context, filter *runtimeapi.PodSandboxFilter) ([]*runtimeapi.PodSandbox, error) {
	ctx, cancel := withTimeout(ctx, defaultCallTimeout)
	defer cancel()
	resp, err := r.runtime.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{Filter: filter})
	if err != nil {
		return nil, err
	}
	return resp.GetItems(), nil
}

// CreateContainer implements RuntimeService.
func (r *Remote) CreateContainer(ctx context.Context, sandboxID string, config *runtimeapi.ContainerConfig, sandboxConfig *runtimeapi.PodSandboxConfig) (string, error) {
	ctx, cancel := withTimeout(ctx, longCallTimeout)
	defer cancel()
	resp, err := r.runtime.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: sandboxID, Config: config, SandboxConfig: sandboxConfig})
	if err != nil {
		return "", err
	}
	return resp.GetContainerId(), nil
}

// StartContainer implements RuntimeService.
func (r *Remote) StartContainer(ctx context.Context, id string) error {
	ctx, cancel := withTimeout(ctx, longCallTimeout)
	defer cancel()
	_, err := r.runtime.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: id})
	return err
}

// StopContainer implements RuntimeService. The call may take the grace
// period (timeout seconds) plus the runtime's own time.
func (r *Remote) StopContainer(ctx context.Context, id string, timeout int64) error {
	ctx, cancel := withTimeout(ctx, time.Duration(timeout)*time.Second+defaultCallTimeout)
	defer cancel()
	_, err := r.runtime.StopContainer(ctx, &runtimeapi.StopContainerRequest{ContainerId: id, Timeout: timeout})
	return err
}

// RemoveContainer implements RuntimeService.
func (r *Remote) RemoveContainer(ctx context.Context, id string) error {
	ctx, cancel := withTimeout(ctx, longCallTimeout)
	defer cancel()
	_, err := r.runtime.RemoveContainer(ctx, &runtimeapi.RemoveContainerRequest{ContainerId: id})
	return err
}

// ListContainers implements RuntimeService.
func (r *Remote) ListContainers(ctx context.Context, filter *runtimeapi.ContainerFilter) ([]*runtimeapi.Container, error) {
	ctx, cancel := withTimeout(ctx, defaultCallTimeout)
	defer cancel()
	resp, err := r.runtime.ListContainers(ctx, &runtimeapi.ListContainersRequest{Filter: filter})
	if err != nil {
		return nil, err
	}
	return resp.GetContainers(), nil
}

// ListContainerStats implements RuntimeService.
func (r *Remote) ListContainerStats(ctx context.Context, filter *runtimeapi.ContainerStatsFilter) ([]*runtimeapi.ContainerStats, error) {
	ctx, cancel := withTimeout(ctx, defaultCallTimeout)
	defer cancel()
	resp, err := r.runtime.ListContainerStats(ctx, &runtimeapi.ListContainerStatsRequest{Filter: filter})
	if err != nil {
		return nil, err
	}
	return resp.GetStats(), nil
}

// ListPodSandboxStats implements RuntimeService.
func (r *Remote) ListPodSandboxStats(ctx context.Context, filter *runtimeapi.PodSandboxStatsFilter) ([]*runtimeapi.PodSandboxStats, error) {
	ctx, cancel := withTimeout(ctx, defaultCallTimeout)
	defer cancel()
	resp, err := r.runtime.ListPodSandboxStats(ctx, &runtimeapi.ListPodSandboxStatsRequest{Filter: filter})
	if err != nil {
		return nil, err
	}
	return resp.GetStats(), nil
}

// ContainerStatus implements RuntimeService.
func (r *Remote) ContainerStatus(ctx context.Context, id string, verbose bool) (*runtimeapi.ContainerStatusResponse, error) {
	ctx, cancel := withTimeout(ctx, defaultCallTimeout)
	defer cancel()
	return r.runtime.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: id, Verbose: verbose})
}

// ReopenContainerLog implements RuntimeService: the runtime closes the
// container's log file and opens a new one at the same path (log rotation).
func (r *Remote) ReopenContainerLog(ctx context.Context, id string) error {
	ctx, cancel := withTimeout(ctx, defaultCallTimeout)
	defer cancel()
	_, err := r.runtime.ReopenContainerLog(ctx, &runtimeapi.ReopenContainerLogRequest{ContainerId: id})
	return err
}

// RuntimeConfig asks the runtime for its configuration (the cgroup driver).
// containerd 1.6 does not implement it and answers Unimplemented.
func (r *Remote) RuntimeConfig(ctx context.Context) (*runtimeapi.RuntimeConfigResponse, error) {
	ctx, cancel := withTimeout(ctx, defaultCallTimeout)
	defer cancel()
	return r.runtime.RuntimeConfig(ctx, &runtimeapi.RuntimeConfigRequest{})
}

// ExecSync implements RuntimeService. A command that exits non-zero gives
// an *ExitError.
func (r *Remote) ExecSync(ctx context.Context, id string, cmd []string, timeout time.Duration) ([]byte, []byte, error) {
	ctx, cancel := withTimeout(ctx, timeout+defaultCallTimeout)
	defer cancel()
	secs := int64(timeout.Seconds())
	if timeout > 0 && secs == 0 {
		secs = 1
	}
	resp, err := r.runtime.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: id, Cmd: cmd, Timeout: secs})
	if err != nil {
		return nil, nil, err
	}
	if resp.GetExitCode() != 0 {
		return resp.GetStdout(), resp.GetStderr(), &ExitError{Code: resp.GetExitCode(), Stderr: resp.GetStderr()}
	}
	return resp.GetStdout(), resp.GetStderr(), nil
}

// Exec implements StreamingService.
func (r *Remote) Exec(ctx context.Context, req *runtimeapi.ExecRequest) (*runtimeapi.ExecResponse, error) {
	ctx, cancel := withTimeout(ctx, defaultCallTimeout)
	defer cancel()
	return r.runtime.Exec(ctx, req)
}

// Attach implements StreamingService.
func (r *Remote) Attach(ctx context.Context, req *runtimeapi.AttachRequest) (*runtimeapi.AttachResponse, error) {
	ctx, cancel := withTimeout(ctx, defaultCallTimeout)
	defer cancel()
	return r.runtime.Attach(ctx, req)
}

// PortForward implements StreamingService.
func (r *Remote) PortForward(ctx context.Context, req *runtimeapi.PortForwardRequest) (*runtimeapi.PortForwardResponse, error) {
	ctx, cancel := withTimeout(ctx, defaultCallTimeout)
	defer cancel()
	return r.runtime.PortForward(ctx, req)
}

// ImageStatus implements ImageService.
func (r *Remote) ImageStatus(ctx context.Context, image *runtimeapi.ImageSpec, verbose bool) (*runtimeapi.ImageStatusResponse, error) {
	ctx, cancel := withTimeout(ctx, defaultCallTimeout)
	defer cancel()
	return r.images.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: image, Verbose: verbose})
}

// PullImage implements ImageService.
func (r *Remote) PullImage(ctx context.Context, image *runtimeapi.ImageSpec, auth *runtimeapi.AuthConfig, sandbox *runtimeapi.PodSandboxConfig) (string, error) {
	ctx, cancel := withTimeout(ctx, pullTimeout)
	defer cancel()
	resp, err := r.images.PullImage(ctx, &runtimeapi.PullImageRequest{Image: image, Auth: auth, SandboxConfig: sandbox})
	if err != nil {
		return "", err
	}
	return resp.GetImageRef(), nil
}

var (
	_ RuntimeService   = (*Remote)(nil)
	_ ImageService     = (*Remote)(nil)
	_ StreamingService = (*Remote)(nil)
)
