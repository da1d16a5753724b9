package node

import (
	"context"
	"fmt"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// LeaseNamespace is the namespace of the node heartbeat leases.
const LeaseNamespace = "kube-node-lease"

// leaseLoop renews the node's Lease every LeaseRenewPeriod; after a
// failure it retries sooner (every RegisterRetry) until the renewal works.
func (n *Node) leaseLoop(ctx context.Context) {
	var cached *coordinationv1.Lease
	for {
		lease, err := n.renewLease(ctx, cached)
		wait := n.opts.LeaseRenewPeriod
		if err != nil {
			cached = nil
			n.logState("lease", fmt.Sprintf("failed to renew the lease %s/%s (will retry): %v", LeaseNamespace, n.opts.NodeName, err))
			if w := n.opts.RegisterRetry * 2; w < wait {
				wait = w
			}
		} else {
			cached = lease
			n.logState("lease", fmt.Sprintf("renewing the lease %s/%s every %s", LeaseNamespace, n.opts.NodeName, n.opts.LeaseRenewPeriod))
		}
		if !sleep(ctx, wait) {
			return
		}
	}
}

// renewLease updates cached (or the lease read from the API server) with
// a new renew time, creating the lease when there is none.
func (n *Node) renewLease(ctx context.Context, cached *coordinationv1.Lease) (*coordinationv1.Lease, error) {
	ctx, cancel := context.WithTimeout(ctx, apiCallTimeout)
	defer cancel()
	leases := n.opts.Client.CoordinationV1().Leases(LeaseNamespace)
	if cached == nil {
		cur, err := leases.Get(ctx, n.opts.NodeName, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return leases.Create(ctx, n.newLease(nil), metav1.CreateOptions{})
		}
		if err != nil {
			return nil, err
		}
		cached = cur
	}
	return leases.Update(ctx, n.newLease(cached), metav1.UpdateOptions{})
}

// newLease is base (or a new Lease) held by this node, renewed now, owned
// by the Node.
func (n *Node) newLease(base *coordinationv1.Lease) *coordinationv1.Lease {
	l := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: n.opts.NodeName, Namespace: LeaseNamespace}}
	if base != nil {
		l = base.DeepCopy()
	}
	holder := n.opts.NodeName
	dur := n.opts.LeaseDurationSeconds
	renew := metav1.NewMicroTime(n.opts.Now())
	l.Spec.HolderIdentity = &holder
	l.Spec.LeaseDurationSeconds = &dur
	l.Spec.RenewTime = &renew
	if uid := n.UID(); uid != "" && len(l.OwnerReferences) == 0 {
		l.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: n.opts.NodeName, UID: uid}}
	}
	return l
}
