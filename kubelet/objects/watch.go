package objects

import (
	"context"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// kind holds what differs between watching ConfigMaps and Secrets.
type kind struct {
	// resource names the kind in NotFound errors, in the singular as the
	// upstream kubelet's messages (`configmap "foo" not found`).
	resource schema.GroupResource
	object   func() runtime.Object
	list     func(context.Context, kubernetes.Interface, string, metav1.ListOptions) (runtime.Object, error)
	watch    func(context.Context, kubernetes.Interface, string, metav1.ListOptions) (watch.Interface, error)
	get      func(context.Context, kubernetes.Interface, string, string) (runtime.Object, error)
}

var configMaps = &kind{
	resource: schema.GroupResource{Resource: "configmap"},
	object:   func() runtime.Object { return &v1.ConfigMap{} },
	list: func(ctx context.Context, c kubernetes.Interface, ns string, o metav1.ListOptions) (runtime.Object, error) {
		return c.CoreV1().ConfigMaps(ns).List(ctx, o)
	},
	watch: func(ctx context.Context, c kubernetes.Interface, ns string, o metav1.ListOptions) (watch.Interface, error) {
		return c.CoreV1().ConfigMaps(ns).Watch(ctx, o)
	},
	get: func(ctx context.Context, c kubernetes.Interface, ns, name string) (runtime.Object, error) {
		return c.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
	},
}

var secrets = &kind{
	resource: schema.GroupResource{Resource: "secret"},
	object:   func() runtime.Object { return &v1.Secret{} },
	list: func(ctx context.Context, c kubernetes.Interface, ns string, o metav1.ListOptions) (runtime.Object, error) {
		return c.CoreV1().Secrets(ns).List(ctx, o)
	},
	watch: func(ctx context.Context, c kubernetes.Interface, ns string, o metav1.ListOptions) (watch.Interface, error) {
		return c.CoreV1().Secrets(ns).Watch(ctx, o)
	},
	get: func(ctx context.Context, c kubernetes.Interface, ns, name string) (runtime.Object, error) {
		return c.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
	},
}

// objectKey names one watched object.
type objectKey struct {
	kind      *kind
	namespace string
	name      string
}

// objectWatch is the list and watch of one object and the pods using it.
type objectWatch struct {
	pods   map[types.UID]struct{}
	cancel context.CancelFunc
	store  cache.Store
	synced func() bool
}

// startWatch starts the watch of k. m.mu is held. Once Run has ended the
// watch never syncs, so reads of k go to the API server.
func (m *Manager) startWatch(k objectKey) *objectWatch {
	ctx, cancel := context.WithCancel(m.base)
	w := &objectWatch{pods: map[types.UID]struct{}{}, cancel: cancel, synced: func() bool { return false }}
	if m.closed {
		return w
	}
	sel := fields.OneTermEqualSelector("metadata.name", k.name).String()
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.FieldSelector = sel
			return k.kind.list(ctx, m.client, k.namespace, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = sel
			return k.kind.watch(ctx, m.client, k.namespace, o)
		},
	}
	changed := func(obj any) {
		if objectName(obj) == k.name {
			m.changed(k)
		}
	}
	store, ctl := cache.NewInformerWithOptions(cache.InformerOptions{
		ListerWatcher: cache.ToListWatcherWithWatchListSemantics(lw, m.client),
		ObjectType:    k.kind.object(),
		Handler: cache.ResourceEventHandlerDetailedFuncs{
			AddFunc: func(obj any, _ bool) { changed(obj) },
			UpdateFunc: func(old, obj any) {
				// A relist repeats unchanged objects; only a new version counts.
				if resourceVersion(old) != resourceVersion(obj) {
					changed(obj)
				}
			},
			DeleteFunc: changed,
		},
	})
	w.store, w.synced = store, ctl.HasSynced
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		ctl.RunWithContext(ctx)
	}()
	return w
}

// changed tells the pods that use k that it changed.
func (m *Manager) changed(k objectKey) {
	if uids := m.users(k); len(uids) > 0 && m.notify != nil {
		m.notify(uids)
	}
}

// get returns the object k from its synced watch, else from the API
// server. The object is shared: callers must not modify it.
func (m *Manager) get(ctx context.Context, k objectKey) (runtime.Object, error) {
	m.mu.Lock()
	w := m.watch[k]
	m.mu.Unlock()
	if w != nil && w.synced() {
		obj, ok, err := w.store.GetByKey(k.namespace + "/" + k.name)
		if err == nil {
			if !ok {
				return nil, apierrors.NewNotFound(k.kind.resource, k.name)
			}
			return obj.(runtime.Object), nil
		}
	}
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	obj, err := k.kind.get(ctx, m.client, k.namespace, k.name)
	if apierrors.IsNotFound(err) {
		return nil, apierrors.NewNotFound(k.kind.resource, k.name)
	}
	return obj, err
}

// objectName is the name of a watched object or of a deleted one's
// tombstone.
func objectName(obj any) string {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	if o, ok := obj.(metav1.Object); ok {
		return o.GetName()
	}
	return ""
}

func resourceVersion(obj any) string {
	if o, ok := obj.(metav1.Object); ok {
		return o.GetResourceVersion()
	}
	return ""
}
