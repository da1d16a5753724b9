package node

import (
	"context"
	"fmt"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/component-helpers/apimachinery/lease"
	"k8s.io/utils/clock"
)

// LeaseNamespace is the namespace of the node heartbeat leases.
const LeaseNamespace = "kube-node-lease"

// leaseLoop renews the node's Lease every LeaseRenewPeriod with
// component-helpers' lease controller (create when missing, update from
// the last written copy, back off on errors) until ctx ends.
func (n *Node) leaseLoop(ctx context.Context) {
	c := lease.NewController(optsClock{now: n.opts.Now}, n.opts.Client, n.opts.NodeName, n.opts.LeaseDurationSeconds,
		nil, n.opts.LeaseRenewPeriod, n.opts.NodeName, LeaseNamespace, n.ownLease)
	n.logState("lease", fmt.Sprintf("renewing the lease %s/%s every %s", LeaseNamespace, n.opts.NodeName, n.opts.LeaseRenewPeriod))
	c.Run(ctx)
}

// ownLease makes the Node the owner of its Lease, so that deleting the
// Node deletes the Lease; a Node created again takes over.
func (n *Node) ownLease(l *coordinationv1.Lease) error {
	uid := n.UID()
	if uid == "" {
		return nil
	}
	for _, ref := range l.OwnerReferences {
		if ref.Kind == "Node" && ref.UID == uid {
			return nil
		}
	}
	l.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: n.opts.NodeName, UID: uid}}
	return nil
}

// optsClock is the real clock with Options.Now as its time, for the
// lease controller's renew times.
type optsClock struct {
	clock.RealClock
	now func() time.Time
}

func (c optsClock) Now() time.Time { return c.now() }
