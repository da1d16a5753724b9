package podsource

import (
	"context"
	"sort"
	"sync/atomic"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// APISource is the value of ConfigSourceAnnotation on pods from the API
// server, as the upstream kubelet marks them.
const APISource = "api"

// API is the node's pods in the API server: one informer on
// spec.nodeName=<node> (list once, then watch), shared by the engine (the
// pods to run) and the status writer (mirror pods and pod status). The
// store keeps its last content while the API server is away, so a lost
// connection never looks like deleted pods.
type API struct {
	store    cache.Store
	ctrl     cache.Controller
	gen      atomic.Int64
	changed  chan struct{}
	nodeName string
}

// NewAPI returns the source of nodeName's pods read through client.
func NewAPI(client kubernetes.Interface, nodeName string) *API {
	s := &API{changed: make(chan struct{}, 1), nodeName: nodeName}
	selector := fields.OneTermEqualSelector("spec.nodeName", nodeName).String()
	pods := client.CoreV1().Pods(metav1.NamespaceAll)
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.FieldSelector = selector
			return pods.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = selector
			return pods.Watch(ctx, o)
		},
	}
	bump := func(any) {
		s.gen.Add(1)
		select {
		case s.changed <- struct{}{}:
		default:
		}
	}
	s.store, s.ctrl = cache.NewInformerWithOptions(cache.InformerOptions{
		ListerWatcher: cache.ToListWatcherWithWatchListSemantics(lw, client),
		ObjectType:    &v1.Pod{},
		Handler: cache.ResourceEventHandlerFuncs{
			AddFunc:    bump,
			UpdateFunc: func(_, obj any) { bump(obj) },
			DeleteFunc: bump,
		},
		Transform: dropManagedFields,
	})
	return s
}

// Run keeps the store until ctx ends.
func (s *API) Run(ctx context.Context) { s.ctrl.RunWithContext(ctx) }

// HasSynced reports whether the first list has arrived.
func (s *API) HasSynced() bool { return s.ctrl.HasSynced() }

// Generation counts the changes seen so far.
func (s *API) Generation() int64 { return s.gen.Load() }

// Changed receives a value after one or more changes.
func (s *API) Changed() <-chan struct{} { return s.changed }

// NodePods is every stored pod bound to the node (mirror pods too), by
// namespace/name. The pods are the store's: callers must not modify them.
func (s *API) NodePods() map[string]*v1.Pod {
	out := map[string]*v1.Pod{}
	for _, obj := range s.store.List() {
		if p, ok := obj.(*v1.Pod); ok && p.Spec.NodeName == s.nodeName {
			out[p.Namespace+"/"+p.Name] = p
		}
	}
	return out
}

// Pods are the pods the agent runs from the API server: every pod bound to
// the node except mirror pods, as copies marked with ConfigSourceAnnotation
// "api", oldest first (the order of admission).
func (s *API) Pods() []*v1.Pod {
	var out []*v1.Pod
	for _, p := range s.NodePods() {
		if _, mirror := p.Annotations[MirrorAnnotation]; mirror {
			continue
		}
		c := p.DeepCopy()
		if c.Annotations == nil {
			c.Annotations = map[string]string{}
		}
		c.Annotations[ConfigSourceAnnotation] = APISource
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool {
		ti, tj := out[i].CreationTimestamp, out[j].CreationTimestamp
		if !ti.Equal(&tj) {
			return ti.Before(&tj)
		}
		return out[i].Namespace+"/"+out[i].Name < out[j].Namespace+"/"+out[j].Name
	})
	return out
}

// IsAPIPod reports whether p came from the API server.
func IsAPIPod(p *v1.Pod) bool { return p.Annotations[ConfigSourceAnnotation] == APISource }

// dropManagedFields trims what the agent never reads from stored pods.
func dropManagedFields(obj any) (any, error) {
	if p, ok := obj.(*v1.Pod); ok {
		p.ManagedFields = nil
	}
	return obj, nil
}
