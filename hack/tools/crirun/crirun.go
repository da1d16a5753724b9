// Package crirun holds what the CRI tools (crismoke, criburst) share: the
// connection to a runtime, waiting for an HTTP endpoint, and removing a
// sandbox.
package crirun

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Dial connects to the CRI endpoint address (a unix:// URL or a socket path).
func Dial(address string) (runtimeapi.RuntimeServiceClient, func() error, error) {
	if !strings.Contains(address, "://") {
		address = "unix://" + address
	}
	conn, err := grpc.NewClient(address, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, nil, fmt.Errorf("failed to create CRI client for %q: %w", address, err)
	}
	return runtimeapi.NewRuntimeServiceClient(conn), conn.Close, nil
}

// WaitHTTP polls url every interval until it answers 200 or ctx ends.
func WaitHTTP(ctx context.Context, url string, interval time.Duration) error {
	client := &http.Client{Timeout: time.Second}
	for {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("failed to reach %s before the deadline: last error %v", url, err)
		case <-time.After(interval):
		}
	}
}

// RemoveSandbox stops and removes the sandbox id and so its containers.
func RemoveSandbox(rt runtimeapi.RuntimeServiceClient, id string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := rt.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: id}); err != nil {
		return fmt.Errorf("failed to stop sandbox %s: %w", Short(id), err)
	}
	if _, err := rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: id}); err != nil {
		return fmt.Errorf("failed to remove sandbox %s: %w", Short(id), err)
	}
	return nil
}

// Short is the first 12 characters of a runtime ID.
func Short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// StartApp creates and starts the container "app" of image (with args) in
// the sandbox sbID, logging to app.log in the sandbox's log directory; it
// returns the container's ID, also when only the start failed.
func StartApp(ctx context.Context, rt runtimeapi.RuntimeServiceClient, sbID string, sbCfg *runtimeapi.PodSandboxConfig, image string, args ...string) (string, error) {
	c, err := rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{
		PodSandboxId:  sbID,
		SandboxConfig: sbCfg,
		Config: &runtimeapi.ContainerConfig{
			Metadata: &runtimeapi.ContainerMetadata{Name: "app"},
			Image:    &runtimeapi.ImageSpec{Image: image},
			Args:     args,
			LogPath:  "app.log",
		},
	})
	if err != nil {
		return "", fmt.Errorf("failed to create the container from %q: %w", image, err)
	}
	id := c.GetContainerId()
	if _, err := rt.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: id}); err != nil {
		return id, fmt.Errorf("failed to start container %s: %w", Short(id), err)
	}
	return id, nil
}
