package app

import (
	"context"
	"log"

	"github.com/kubeadmin/kubeadmin/kubelet/cri"
	"github.com/kubeadmin/kubeadmin/kubelet/crilog"
	"github.com/kubeadmin/kubeadmin/kubelet/options"
)

// startLogRotation starts rotating the node's container logs by the
// KubeletConfiguration's containerLogMaxSize, containerLogMaxFiles and
// containerLogMonitorInterval. A bad value is an error; the returned func
// stops the rotator and waits for it.
func startLogRotation(ctx context.Context, cfg *options.Config, rt cri.RuntimeService, logger *log.Logger) (func(), error) {
	kc := cfg.Kubelet
	policy, err := crilog.NewRotatePolicy(kc.ContainerLogMaxSize, kc.ContainerLogMaxFiles, kc.ContainerLogMonitorInterval)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		crilog.NewRotator(rt, policy, cfg.NodeName, logger.Printf).Run(ctx)
	}()
	return func() {
		cancel()
		<-done
	}, nil
}
