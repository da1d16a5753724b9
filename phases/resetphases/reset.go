// Package resetphases is the `kubeadmin reset` workflow: Phases is its
// literal, ordered list of phases, one file each, and data.go holds the
// state they share (ResetData) with the narrow view each phase asserts.
package resetphases

import "github.com/kubeadmin/kubeadmin/phases/workflow"

// Phases returns the phases of `kubeadmin reset`, in kubeadm's order.
func Phases() []workflow.Phase {
	return []workflow.Phase{
		newPreflightPhase(),
		newRemoveEtcdMemberPhase(),
		newCleanupNodePhase(),
	}
}
