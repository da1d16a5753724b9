// Package cri is kubeadmin's one CRI client: endpoint parsing (Target,
// SocketPath), dialing (NewRemote), readiness (WaitReady, RuntimeReady),
// used by the agent, its kubelet API streaming, and init/reset. The
// RuntimeService, ImageService and StreamingService interfaces list only
// the calls made (with the same signatures as k8s.io/cri-api's interfaces,
// so the cri-api fakes satisfy them in tests), and Remote implements them
// over a plain gRPC connection to the runtime's socket. Talking gRPC directly keeps
// the agent free of cri-client's tracing and component-base dependencies.
package cri

import (
	"context"
	"errors"
	"fmt"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// RuntimeService is the subset of the CRI RuntimeService the agent uses.
type RuntimeService interface {
	Version(ctx context.Context, apiVersion string) (*runtimeapi.VersionResponse, error)
	Status(ctx context.Context, verbose bool) (*runtimeapi.StatusResponse, error)

	RunPodSandbox(ctx context.Context, config *runtimeapi.PodSandboxConfig, runtimeHandler string) (string, error)
	StopPodSandbox(ctx context.Context, podSandboxID string) error
	RemovePodSandbox(ctx context.Context, podSandboxID string) error
	PodSandboxStatus(ctx context.Context, podSandboxID string, verbose bool) (*runtimeapi.PodSandboxStatusResponse, error)
	ListPodSandbox(ctx context.Context, filter *runtimeapi.PodSandboxFilter) ([]*runtimeapi.PodSandbox, error)

	CreateContainer(ctx context.Context, podSandboxID string, config *runtimeapi.ContainerConfig, sandboxConfig *runtimeapi.PodSandboxConfig) (string, error)
	StartContainer(ctx context.Context, containerID string) error
	StopContainer(ctx context.Context, containerID string, timeout int64) error
	RemoveContainer(ctx context.Context, containerID string) error
	ListContainers(ctx context.Context, filter *runtimeapi.ContainerFilter) ([]*runtimeapi.Container, error)
	ContainerStatus(ctx context.Context, containerID string, verbose bool) (*runtimeapi.ContainerStatusResponse, error)
	ReopenContainerLog(ctx context.Context, containerID string) error
	ExecSync(ctx context.Context, containerID string, cmd []string, timeout time.Duration) (stdout []byte, stderr []byte, err error)
}

// ImageService is the subset of the CRI ImageService the agent uses.
type ImageService interface {
	ImageStatus(ctx context.Context, image *runtimeapi.ImageSpec, verbose bool) (*runtimeapi.ImageStatusResponse, error)
	PullImage(ctx context.Context, image *runtimeapi.ImageSpec, auth *runtimeapi.AuthConfig, podSandboxConfig *runtimeapi.PodSandboxConfig) (string, error)
}

// StreamingService is the part of the CRI RuntimeService that hands out
// the runtime's streaming URLs (exec, attach, port-forward) to the kubelet
// API; Remote and the cri-api fake satisfy it.
type StreamingService interface {
	Exec(ctx context.Context, req *runtimeapi.ExecRequest) (*runtimeapi.ExecResponse, error)
	Attach(ctx context.Context, req *runtimeapi.AttachRequest) (*runtimeapi.AttachResponse, error)
	PortForward(ctx context.Context, req *runtimeapi.PortForwardRequest) (*runtimeapi.PortForwardResponse, error)
}

// ExitError is returned by ExecSync when the command ran and exited with a
// non-zero code.
type ExitError struct {
	Code   int32
	Stderr []byte
}

// Error implements error.
func (e *ExitError) Error() string {
	return fmt.Sprintf("command exited with code %d", e.Code)
}

// RuntimeReady reports whether the runtime's RuntimeReady condition is true,
// and if not, why.
func RuntimeReady(resp *runtimeapi.StatusResponse) (bool, string) {
	for _, c := range resp.GetStatus().GetConditions() {
		if c.GetType() != runtimeapi.RuntimeReady {
			continue
		}
		if c.GetStatus() {
			return true, ""
		}
		return false, fmt.Sprintf("%s: %s", c.GetReason(), c.GetMessage())
	}
	return false, "the runtime reports no RuntimeReady condition"
}

// WaitReady polls the runtime's Status every interval until its
// RuntimeReady condition is true (containerd answers "server is not
// initialized yet" until its CRI plugin has loaded) or ctx ends. report is
// called with each failure; it may be nil.
func WaitReady(ctx context.Context, rt RuntimeService, interval time.Duration, report func(error)) error {
	for {
		err := statusReady(ctx, rt)
		if err == nil {
			return nil
		}
		if report != nil {
			report(err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("failed to wait for the container runtime: %w (last error: %v)", ctx.Err(), err)
		case <-time.After(interval):
		}
	}
}

func statusReady(ctx context.Context, rt RuntimeService) error {
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	resp, err := rt.Status(cctx, false)
	if err != nil {
		return err
	}
	if ok, why := RuntimeReady(resp); !ok {
		return errors.New("the container runtime is not ready: " + why)
	}
	return nil
}
