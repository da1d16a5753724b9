package objects

import (
	"context"
	"errors"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// errServicesNotSynced is what Services returns before the first list.
var errServicesNotSynced = errors.New("services have not been read from the API server yet, cannot build the service environment variables")

// serviceCache is one informer over the Services of all namespaces.
type serviceCache struct {
	store cache.Store
	ctl   cache.Controller
}

func newServiceCache(c kubernetes.Interface) *serviceCache {
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return c.CoreV1().Services(metav1.NamespaceAll).List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return c.CoreV1().Services(metav1.NamespaceAll).Watch(ctx, o)
		},
	}
	store, ctl := cache.NewInformerWithOptions(cache.InformerOptions{
		ListerWatcher: cache.ToListWatcherWithWatchListSemantics(lw, c),
		ObjectType:    &v1.Service{},
		Handler:       cache.ResourceEventHandlerFuncs{},
	})
	return &serviceCache{store: store, ctl: ctl}
}

func (s *serviceCache) run(ctx context.Context) { s.ctl.RunWithContext(ctx) }

// list returns the cached Services; they are shared and must not be
// modified.
func (s *serviceCache) list() ([]*v1.Service, error) {
	if !s.ctl.HasSynced() {
		return nil, errServicesNotSynced
	}
	objs := s.store.List()
	svcs := make([]*v1.Service, 0, len(objs))
	for _, o := range objs {
		svcs = append(svcs, o.(*v1.Service))
	}
	return svcs, nil
}
