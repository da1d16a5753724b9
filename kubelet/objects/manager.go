// Package objects gives the node agent the API objects its pods refer to:
// ConfigMaps, Secrets, PersistentVolumeClaims, PersistentVolumes, Services
// and service-account tokens.
//
// The agent talks to the API server as system:node:<name>, which the Node
// authorizer lets read a Secret or ConfigMap only when a pod bound to the
// node refers to it; listing them across a namespace or the cluster is
// refused. So the Manager keeps one watch per referenced object (a list and
// watch with the field selector metadata.name=<name>), counted by the pods
// that refer to it and stopped when the last one goes. A change to a watched
// object is passed on through Options.Notify, so that the engine syncs the
// pods that use it (their volume files and environment) within a second.
//
// Services may be listed by every node, so one informer keeps all of them
// for the service environment variables. Tokens come from the TokenRequest
// API, bound to the pod, and are cached until 80 % of their life.
package objects

import (
	"context"
	"io"
	"log"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// apiTimeout bounds each direct read from the API server.
const apiTimeout = 10 * time.Second

// Options configure a Manager.
type Options struct {
	// Client talks to the API server with the node's credentials.
	Client kubernetes.Interface
	// Logger receives watch and token problems; nil discards them.
	Logger *log.Logger
	// Notify is called with the UIDs of the tracked pods that refer to a
	// ConfigMap or Secret that was added, changed or deleted. It is called
	// from a watch goroutine and must not block for long.
	Notify func(uids []types.UID)
	// Now is the clock for token lifetimes; nil means time.Now.
	Now func() time.Time
}

// Manager reads the objects the node's pods refer to. Its methods are safe
// for concurrent use.
type Manager struct {
	client kubernetes.Interface
	logger *log.Logger
	notify func([]types.UID)
	now    func() time.Time

	// base is the parent of every watch; Run cancels it on return.
	base   context.Context
	stop   context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	pods   map[types.UID]map[objectKey]struct{} // each tracked pod's references
	watch  map[objectKey]*objectWatch
	closed bool

	services *serviceCache
	tokens   *tokenCache
}

// New returns a Manager; call Run to start its service informer.
func New(opts Options) *Manager {
	m := &Manager{
		client: opts.Client,
		logger: opts.Logger,
		notify: opts.Notify,
		now:    opts.Now,
		pods:   map[types.UID]map[objectKey]struct{}{},
		watch:  map[objectKey]*objectWatch{},
	}
	if m.logger == nil {
		m.logger = log.New(io.Discard, "", 0)
	}
	if m.now == nil {
		m.now = time.Now
	}
	m.base, m.stop = context.WithCancel(context.Background())
	m.services = newServiceCache(m.client)
	m.tokens = newTokenCache(m.client, m.logger, m.now)
	return m
}

// Run, called once, keeps the service informer going until ctx ends, then stops every
// watch and returns once they have all ended. Tracking after that no
// longer starts watches: the getters then read the API server directly.
func (m *Manager) Run(ctx context.Context) {
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		m.services.run(m.base)
	}()
	<-ctx.Done()
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
	m.stop()
	m.wg.Wait()
}

// Track registers the ConfigMaps and Secrets pod refers to and starts a
// watch for each one not yet watched. Tracking a pod again replaces its
// references: watches only it used are stopped.
func (m *Manager) Track(pod *v1.Pod) {
	refs := references(pod)
	m.mu.Lock()
	defer m.mu.Unlock()
	old := m.pods[pod.UID]
	for k := range refs {
		if _, ok := old[k]; ok {
			continue
		}
		w := m.watch[k]
		if w == nil {
			w = m.startWatch(k)
			m.watch[k] = w
		}
		w.pods[pod.UID] = struct{}{}
	}
	for k := range old {
		if _, ok := refs[k]; !ok {
			m.release(k, pod.UID)
		}
	}
	m.pods[pod.UID] = refs
}

// Untrack forgets the pod: it stops the watches no other pod needs and
// drops the pod's tokens.
func (m *Manager) Untrack(uid types.UID) {
	m.mu.Lock()
	for k := range m.pods[uid] {
		m.release(k, uid)
	}
	delete(m.pods, uid)
	m.mu.Unlock()
	m.tokens.forget(uid)
}

// release drops uid's use of the watch of k and stops it when unused.
// m.mu is held.
func (m *Manager) release(k objectKey, uid types.UID) {
	w := m.watch[k]
	if w == nil {
		return
	}
	delete(w.pods, uid)
	if len(w.pods) == 0 {
		w.cancel()
		delete(m.watch, k)
	}
}

// users returns the UIDs of the tracked pods that refer to k.
func (m *Manager) users(k objectKey) []types.UID {
	m.mu.Lock()
	defer m.mu.Unlock()
	w := m.watch[k]
	if w == nil {
		return nil
	}
	uids := make([]types.UID, 0, len(w.pods))
	for uid := range w.pods {
		uids = append(uids, uid)
	}
	return uids
}

// ConfigMap returns the named ConfigMap, from its watch when the pods of
// this node refer to it and the watch has synced, else from the API
// server. A missing one gives an error that apierrors.IsNotFound accepts.
// The object may be shared with the watch: callers must not modify it.
func (m *Manager) ConfigMap(ctx context.Context, namespace, name string) (*v1.ConfigMap, error) {
	obj, err := m.get(ctx, objectKey{configMaps, namespace, name})
	if err != nil {
		return nil, err
	}
	return obj.(*v1.ConfigMap), nil
}

// Secret returns the named Secret as ConfigMap returns a ConfigMap.
func (m *Manager) Secret(ctx context.Context, namespace, name string) (*v1.Secret, error) {
	obj, err := m.get(ctx, objectKey{secrets, namespace, name})
	if err != nil {
		return nil, err
	}
	return obj.(*v1.Secret), nil
}

// PersistentVolumeClaim reads the named claim from the API server.
func (m *Manager) PersistentVolumeClaim(ctx context.Context, namespace, name string) (*v1.PersistentVolumeClaim, error) {
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	return m.client.CoreV1().PersistentVolumeClaims(namespace).Get(ctx, name, metav1.GetOptions{})
}

// PersistentVolume reads the named volume from the API server.
func (m *Manager) PersistentVolume(ctx context.Context, name string) (*v1.PersistentVolume, error) {
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	return m.client.CoreV1().PersistentVolumes().Get(ctx, name, metav1.GetOptions{})
}

// Services returns every Service of the cluster, or an error until the
// service informer has synced. The Services are shared: do not modify them.
func (m *Manager) Services(ctx context.Context) ([]*v1.Service, error) {
	return m.services.list()
}

// ServiceAccountToken returns a token of the pod's service account for the
// projection's audience and lifetime, bound to the pod.
func (m *Manager) ServiceAccountToken(ctx context.Context, pod *v1.Pod, p *v1.ServiceAccountTokenProjection) (string, error) {
	return m.tokens.get(ctx, pod, p)
}
