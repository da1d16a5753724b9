package objects

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubeadmin/kubeadmin/internal/testutil"
)

const ns = "team"

// notes records the Notify calls, each as sorted UIDs.
type notes struct {
	mu    sync.Mutex
	calls [][]types.UID
}

func (n *notes) notify(uids []types.UID) {
	s := slices.Clone(uids)
	slices.Sort(s)
	n.mu.Lock()
	n.calls = append(n.calls, s)
	n.mu.Unlock()
}

func (n *notes) get() [][]types.UID {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.calls)
}

func (n *notes) reset() {
	n.mu.Lock()
	n.calls = nil
	n.mu.Unlock()
}

// newManager runs a Manager on a fake clientset holding objs until the
// test ends.
func newManager(t *testing.T, objs ...runtime.Object) (*Manager, *fake.Clientset, *notes) {
	t.Helper()
	c := fake.NewClientset(objs...)
	n := &notes{}
	m := New(Options{Client: c, Notify: n.notify})
	testutil.RunUntilCleanup(t, func(ctx context.Context) error { m.Run(ctx); return nil })
	return m, c, n
}

func configMap(name, rv string, data map[string]string) *v1.ConfigMap {
	return &v1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, ResourceVersion: rv}, Data: data}
}

func secretObj(name string) *v1.Secret {
	return &v1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
}

// podUsing is a pod whose container reads the named ConfigMaps through
// envFrom.
func podUsing(uid string, configMaps ...string) *v1.Pod {
	c := v1.Container{Name: "app"}
	for _, name := range configMaps {
		c.EnvFrom = append(c.EnvFrom, v1.EnvFromSource{ConfigMapRef: &v1.ConfigMapEnvSource{LocalObjectReference: v1.LocalObjectReference{Name: name}}})
	}
	return &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "pod-" + uid, UID: types.UID(uid)},
		Spec:       v1.PodSpec{Containers: []v1.Container{c}, ServiceAccountName: "default"},
	}
}

// watches lists "resource namespace fieldSelector" of every watch of
// ConfigMaps and Secrets the fake client was asked for.
func watches(c *fake.Clientset) []string {
	var out []string
	for _, a := range c.Actions() {
		if r := a.GetResource().Resource; r != "configmaps" && r != "secrets" {
			continue
		}
		if w, ok := a.(k8stesting.WatchAction); ok {
			out = append(out, a.GetResource().Resource+" "+a.GetNamespace()+" "+w.GetWatchRestrictions().Fields.String())
		}
	}
	slices.Sort(out)
	return out
}

// waitSynced waits until the watch of k has listed its object.
func waitSynced(t *testing.T, m *Manager, k objectKey) {
	t.Helper()
	testutil.Eventually(t, "the watch of "+k.name+" to sync", func() bool {
		m.mu.Lock()
		w := m.watch[k]
		m.mu.Unlock()
		return w != nil && w.synced()
	})
}

// fakeNow is a settable clock.
type fakeNow struct {
	mu sync.Mutex
	t  time.Time
}

func (f *fakeNow) now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t
}

func (f *fakeNow) add(d time.Duration) {
	f.mu.Lock()
	f.t = f.t.Add(d)
	f.mu.Unlock()
}
