package node

import (
	"context"
	"sync"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeadmin/kubeadmin/internal/testutil"
)

func TestLeaseCreatedAndRenewed(t *testing.T) {
	c := newClient()
	opts := testOptions(c, &fakeRuntime{})
	var mu sync.Mutex
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	opts.Now = func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		clock = clock.Add(time.Second)
		return clock
	}
	start(t, opts)
	var first time.Time
	testutil.Eventually(t, "the lease", func() bool {
		l, err := c.CoordinationV1().Leases(LeaseNamespace).Get(context.Background(), "node1", metav1.GetOptions{})
		if err != nil || l.Spec.RenewTime == nil {
			return false
		}
		first = l.Spec.RenewTime.Time
		return true
	})
	l, _ := c.CoordinationV1().Leases(LeaseNamespace).Get(context.Background(), "node1", metav1.GetOptions{})
	if l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity != "node1" || l.Spec.LeaseDurationSeconds == nil || *l.Spec.LeaseDurationSeconds != 40 {
		t.Errorf("lease spec = %+v", l.Spec)
	}
	n, err := c.CoreV1().Nodes().Get(context.Background(), "node1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.OwnerReferences) != 1 || l.OwnerReferences[0].Kind != "Node" || l.OwnerReferences[0].UID != n.UID || n.UID == "" {
		t.Errorf("lease owner = %+v, node uid %q", l.OwnerReferences, n.UID)
	}
	testutil.Eventually(t, "the lease to be renewed", func() bool {
		l, err := c.CoordinationV1().Leases(LeaseNamespace).Get(context.Background(), "node1", metav1.GetOptions{})
		return err == nil && l.Spec.RenewTime.Time.After(first)
	})
	if testutil.CountActions(c, "update", "leases", "") == 0 {
		t.Errorf("the lease was never updated")
	}
}

func TestOwnLease(t *testing.T) {
	n, err := New(testOptions(newClient(), &fakeRuntime{}))
	if err != nil {
		t.Fatal(err)
	}
	l := &coordinationv1.Lease{}
	if err := n.ownLease(l); err != nil || len(l.OwnerReferences) != 0 {
		t.Fatalf("before registration: owners %+v, %v; want none", l.OwnerReferences, err)
	}
	n.setUID("uid-1")
	_ = n.ownLease(l)
	n.setUID("uid-2") // the Node was deleted and registered again
	_ = n.ownLease(l)
	if len(l.OwnerReferences) != 1 || l.OwnerReferences[0].UID != "uid-2" || l.OwnerReferences[0].Kind != "Node" || l.OwnerReferences[0].Name != "node1" {
		t.Errorf("owners = %+v, want the Node node1 with uid-2", l.OwnerReferences)
	}
}
