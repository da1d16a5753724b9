package objects

import (
	"context"
	"slices"
	"sync"
	"testing"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubeadmin/kubeadmin/internal/testutil"
)

func TestTrackStartsOneWatchPerObject(t *testing.T) {
	m, c, _ := newManager(t)
	m.Track(podUsing("p1", "a", "b"))
	m.Track(podUsing("p2", "a"))
	want := []string{"configmaps team metadata.name=a", "configmaps team metadata.name=b"}
	testutil.Eventually(t, "one watch of a and one of b", func() bool { return slices.Equal(watches(c), want) })

	m.Track(podUsing("p3", "a", "c"))
	want = append(want, "configmaps team metadata.name=c")
	testutil.Eventually(t, "a watch of c and still one of a", func() bool { return slices.Equal(watches(c), want) })
	m.mu.Lock()
	n := len(m.watch)
	m.mu.Unlock()
	if n != 3 {
		t.Errorf("%d watches for three objects", n)
	}
	for _, a := range c.Actions() {
		if l, ok := a.(k8stesting.ListAction); ok && a.GetResource().Resource == "configmaps" {
			if f := l.GetListRestrictions().Fields.String(); f == "" {
				t.Errorf("a list of configmaps without a field selector; the Node authorizer refuses it")
			}
		}
	}
}

func TestUntrackStopsUnusedWatches(t *testing.T) {
	m, c, _ := newManager(t)
	var mu sync.Mutex
	watchers := map[string]*watch.RaceFreeFakeWatcher{}
	c.PrependWatchReactor("configmaps", func(a k8stesting.Action) (bool, watch.Interface, error) {
		w := watch.NewRaceFreeFake()
		mu.Lock()
		watchers[a.(k8stesting.WatchAction).GetWatchRestrictions().Fields.String()] = w
		mu.Unlock()
		return true, w, nil
	})
	watcher := func(name string) *watch.RaceFreeFakeWatcher {
		mu.Lock()
		defer mu.Unlock()
		return watchers["metadata.name="+name]
	}
	stopped := func(name string) func() bool {
		return func() bool { w := watcher(name); return w != nil && w.IsStopped() }
	}

	m.Track(podUsing("p1", "a", "b"))
	m.Track(podUsing("p2", "a"))
	testutil.Eventually(t, "watches of a and b", func() bool { return watcher("a") != nil && watcher("b") != nil })

	m.Untrack("p1")
	testutil.Eventually(t, "the watch of b to stop", stopped("b"))
	if stopped("a")() {
		t.Fatal("the watch of a stopped while p2 still uses a")
	}

	m.Track(podUsing("p2", "c")) // p2 now uses c instead of a
	testutil.Eventually(t, "the watch of a to stop", stopped("a"))
	testutil.Eventually(t, "a watch of c", func() bool { return watcher("c") != nil })

	m.Untrack("p2")
	testutil.Eventually(t, "the watch of c to stop", stopped("c"))
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.watch) != 0 || len(m.pods) != 0 {
		t.Errorf("%d watches and %d pods left after untracking every pod", len(m.watch), len(m.pods))
	}
}

func TestNotifyNamesThePodsUsingTheObject(t *testing.T) {
	m, c, n := newManager(t, configMap("a", "1", nil), configMap("other", "1", nil))
	m.Track(podUsing("p1", "a"))
	m.Track(podUsing("p2", "a", "b"))
	m.Track(podUsing("p3", "b"))
	waitSynced(t, m, objectKey{configMaps, ns, "a"})
	// The first list of a tells its users too; wait for it before looking.
	testutil.Eventually(t, "the first list of a to notify", func() bool { return len(n.get()) > 0 })
	n.reset()

	cms := c.CoreV1().ConfigMaps(ns)
	ctx := context.Background()
	// The fake ignores field selectors, so the watch of a sees other too.
	if _, err := cms.Update(ctx, configMap("other", "2", map[string]string{"k": "v"}), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cms.Update(ctx, configMap("a", "2", map[string]string{"k": "v2"}), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	want := [][]types.UID{{"p1", "p2"}}
	testutil.Eventually(t, "Notify(p1, p2) after a changed", func() bool { return len(n.get()) > 0 })
	if got := n.get(); !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("Notify calls %v; want %v", got, want)
	}
	got, err := m.ConfigMap(ctx, ns, "a")
	if err != nil || got.Data["k"] != "v2" {
		t.Errorf("ConfigMap(a) after the change = %v, %v; want data k=v2", got, err)
	}

	n.reset()
	if err := cms.Delete(ctx, "a", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, "Notify(p1, p2) after a was deleted", func() bool {
		return slices.EqualFunc(n.get(), want, slices.Equal)
	})
	if _, err := m.ConfigMap(ctx, ns, "a"); !apierrors.IsNotFound(err) {
		t.Errorf("ConfigMap(a) after its deletion: %v; want NotFound", err)
	}
}

func TestMissingObjectIsNotFoundUntilCreated(t *testing.T) {
	m, c, n := newManager(t)
	pod := podUsing("p1", "late")
	pod.Spec.Volumes = []v1.Volume{{Name: "s", VolumeSource: v1.VolumeSource{Secret: &v1.SecretVolumeSource{SecretName: "creds"}}}}
	m.Track(pod)
	ctx := context.Background()
	for _, sync := range []bool{false, true} { // direct GET, then the watch
		if sync {
			waitSynced(t, m, objectKey{configMaps, ns, "late"})
			waitSynced(t, m, objectKey{secrets, ns, "creds"})
		}
		_, err := m.ConfigMap(ctx, ns, "late")
		if !apierrors.IsNotFound(err) || err.Error() != `configmap "late" not found` {
			t.Errorf("synced=%v: ConfigMap(late) error %v; want NotFound `configmap \"late\" not found`", sync, err)
		}
		_, err = m.Secret(ctx, ns, "creds")
		if !apierrors.IsNotFound(err) || err.Error() != `secret "creds" not found` {
			t.Errorf("synced=%v: Secret(creds) error %v; want NotFound `secret \"creds\" not found`", sync, err)
		}
	}

	if _, err := c.CoreV1().Secrets(ns).Create(ctx, secretObj("creds"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, "Notify(p1) after creds appeared", func() bool {
		return slices.EqualFunc(n.get(), [][]types.UID{{"p1"}}, slices.Equal)
	})
	if s, err := m.Secret(ctx, ns, "creds"); err != nil || s.Name != "creds" {
		t.Errorf("Secret(creds) after its creation = %v, %v", s, err)
	}
}

func TestGettersReadWatchedObjectsFromTheWatch(t *testing.T) {
	m, c, _ := newManager(t, configMap("a", "1", map[string]string{"k": "v"}), configMap("static", "1", nil))
	m.Track(podUsing("p1", "a"))
	waitSynced(t, m, objectKey{configMaps, ns, "a"})
	ctx := context.Background()
	if got, err := m.ConfigMap(ctx, ns, "a"); err != nil || got.Data["k"] != "v" {
		t.Fatalf("ConfigMap(a) = %v, %v", got, err)
	}
	if n := testutil.CountActions(c, "get", "configmaps", ""); n != 0 {
		t.Errorf("%d GETs for a watched ConfigMap; want 0", n)
	}
	// No tracked pod uses static (a static pod does): read it directly.
	if got, err := m.ConfigMap(ctx, ns, "static"); err != nil || got.Name != "static" {
		t.Fatalf("ConfigMap(static) = %v, %v", got, err)
	}
	if n := testutil.CountActions(c, "get", "configmaps", ""); n != 1 {
		t.Errorf("%d GETs for an unwatched ConfigMap; want 1", n)
	}
}

func TestClaimsAndVolumesAreRead(t *testing.T) {
	pvc := &v1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "data"}, Spec: v1.PersistentVolumeClaimSpec{VolumeName: "pv1"}}
	pv := &v1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv1"}}
	m, _, _ := newManager(t, pvc, pv)
	ctx := context.Background()
	if got, err := m.PersistentVolumeClaim(ctx, ns, "data"); err != nil || got.Spec.VolumeName != "pv1" {
		t.Errorf("PersistentVolumeClaim = %v, %v", got, err)
	}
	if got, err := m.PersistentVolume(ctx, "pv1"); err != nil || got.Name != "pv1" {
		t.Errorf("PersistentVolume = %v, %v", got, err)
	}
	if _, err := m.PersistentVolume(ctx, "nope"); !apierrors.IsNotFound(err) {
		t.Errorf("PersistentVolume(nope): %v; want NotFound", err)
	}
}
