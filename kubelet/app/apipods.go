package app

import (
	"context"

	v1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"github.com/kubeadmin/kubeadmin/kubelet"
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
