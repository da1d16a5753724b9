package app

import (
	"context"
	"log"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"github.com/kubeadmin/kubeadmin/kubelet"
	"github.com/kubeadmin/kubeadmin/kubelet/network"
	"github.com/kubeadmin/kubeadmin/kubelet/podsource"
)

// eventComponent is the source of the agent's events, as the upstream
// kubelet names itself in `kubectl get events`.
const eventComponent = "kubelet"

// feedAPIPods gives the engine the node's API pods once the first list has
// arrived, and again after every change, until ctx ends.
func feedAPIPods(ctx context.Context, api *podsource.API, agent *kubelet.Agent) {
	if !cache.WaitForCacheSync(ctx.Done(), api.HasSynced) {
		return
	}
	for {
		agent.SetAPIPods(api.Pods())
		select {
		case <-ctx.Done():
			return
		case <-api.Changed():
		}
	}
}

// newRecorder records events through the API server as the node's
// kubelet; the returned function stops it.
func newRecorder(ctx context.Context, client kubernetes.Interface, nodeName string) (record.EventRecorder, func()) {
	b := record.NewBroadcaster(record.WithContext(ctx))
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: client.CoreV1().Events("")})
	return b.NewRecorder(scheme.Scheme, v1.EventSource{Component: eventComponent, Host: nodeName}), b.Shutdown
}

// clusterCIDRWait bounds how long the pod network waits for the cluster's
// podSubnet in kubeadm-config before it derives the cluster from the
// nodes' pod CIDRs.
const clusterCIDRWait = 30 * time.Second

// runPodNetwork runs the built-in pod network: the CNI configuration from
// the Node's podCIDR, routes to the other nodes and masquerade.
func runPodNetwork(ctx context.Context, client kubernetes.Interface, nodeName string, logger *log.Logger) error {
	var cidr string
	wctx, cancel := context.WithTimeout(ctx, clusterCIDRWait)
	err := wait.PollUntilContextCancel(wctx, 2*time.Second, true, func(ctx context.Context) (bool, error) {
		c, err := network.FromClusterConfig(ctx, client)
		cidr = c
		return err == nil, nil
	})
	cancel()
	if ctx.Err() != nil {
		return nil
	}
	if err != nil {
		logger.Printf("pod network: the cluster's podSubnet is not readable from kubeadm-config; deriving it from the nodes' pod CIDRs")
	}
	return network.Run(ctx, network.Options{Client: client, NodeName: nodeName, ClusterCIDR: cidr, Logger: logger})
}
