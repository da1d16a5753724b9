// Package podstatus shows the agent's static pods in the API server: it
// keeps one mirror pod per static pod (owned by the Node) and writes the
// pod status the agent reports into it.
//
// It watches this node's pods (an informer on spec.nodeName) instead of
// listing them. Like the node side, it tolerates an API server that is
// not there yet or goes away: calls are retried every PodSyncPeriod and
// one line is logged per state change, not per retry.
package podstatus

import (
	"context"
	"log"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/kubeadmin/kubeadmin/internal/statelog"
	"github.com/kubeadmin/kubeadmin/kubelet/status"
)

// Default periods.
const (
	// DefaultPodSyncPeriod is how often the static pods and their status
	// are compared with what was last written.
	DefaultPodSyncPeriod = time.Second
	// DefaultMirrorResyncPeriod is how often the mirror pods are checked
	// against the informer's store even when nothing changed (no API
	// call: the store is kept by a watch).
	DefaultMirrorResyncPeriod = 5 * time.Second
	// apiCallTimeout bounds each round of API calls, so that a hung
	// connection does not stall the loop.
	apiCallTimeout = 15 * time.Second
)

// Options configure Run.
type Options struct {
	// NodeName is the Node's name; NodeIP its InternalIP (the host IP of
	// every pod, and the pod IP of hostNetwork pods).
	NodeName string
	NodeIP   string
	// Client talks to the API server as system:node:<NodeName>.
	Client kubernetes.Interface
	// Pods is the store of this node's pods (podsource.API).
	Pods PodStore
	// Logger receives one line per state change; nil: log.Default().
	Logger *log.Logger
	// Periods; zero means the default.
	PodSyncPeriod      time.Duration
	MirrorResyncPeriod time.Duration
	// Now is the clock (tests); nil: time.Now.
	Now func() time.Time
}

// Provider is the pod sync engine: the static pods it runs and the
// status of every pod. *kubelet.Agent satisfies it.
type Provider interface {
	StaticPods() []*v1.Pod
	Report() *status.Report
	// PodGone reports whether nothing of the pod is left on the node
	// (containers, sandboxes, volumes), so that a deleted pod may go.
	PodGone(uid types.UID) bool
	// StatusChanged receives a value after a pod's status changed.
	StatusChanged() <-chan struct{}
}

// PodStore is this node's pods as the API server has them.
// *podsource.API satisfies it.
type PodStore interface {
	HasSynced() bool
	Generation() int64
	NodePods() map[string]*v1.Pod
}

// Node is the registered Node as the node side knows it. *node.Node
// satisfies it.
type Node interface {
	// UID is the Node object's UID, "" until it is registered.
	UID() types.UID
	// RuntimeName is the container ID scheme, e.g. "containerd".
	RuntimeName() string
}

// syncer is the running mirror and status loop.
type syncer struct {
	opts     Options
	provider Provider
	node     Node

	states *statelog.Log
}

// Run waits until the Node is registered, then keeps mirror pods and
// their status in step with the provider until ctx ends.
func Run(ctx context.Context, opts Options, provider Provider, node Node) error {
	if opts.PodSyncPeriod <= 0 {
		opts.PodSyncPeriod = DefaultPodSyncPeriod
	}
	if opts.MirrorResyncPeriod <= 0 {
		opts.MirrorResyncPeriod = DefaultMirrorResyncPeriod
	}
	if opts.Logger == nil {
		opts.Logger = log.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &syncer{opts: opts, provider: provider, node: node, states: statelog.New(opts.Logger.Print)}
	err := wait.PollUntilContextCancel(ctx, opts.PodSyncPeriod, true, func(context.Context) (bool, error) {
		return node.UID() != "", nil
	})
	if err != nil {
		return nil // ctx ended
	}
	s.podLoop(ctx)
	return nil
}

// logState logs msg under topic unless it is what was last logged there.
func (s *syncer) logState(topic, msg string) { s.states.State(topic, msg) }
