// Package resetphases is the `kubeadmin reset` workflow: Phases is its
// literal, ordered list of phases, one file each, and data.go holds the
// state they share (ResetData) with the narrow view each phase asserts.
package resetphases

import (
	"fmt"

	"github.com/kubeadmin/kubeadmin/phases/workflow"
)

// Phases returns the phases of `kubeadmin reset`, in kubeadm's order.
func Phases() []workflow.Phase {
	return []workflow.Phase{
		newPreflightPhase(),
		newRemoveEtcdMemberPhase(),
		newCleanupNodePhase(),
	}
}

// runAs adapts a function of the view D to a phase's Run.
func runAs[D any](f func(D) error) func(workflow.RunData) error {
	return func(rd workflow.RunData) error {
		d, ok := rd.(D)
		if !ok {
			return fmt.Errorf("phase invoked with an invalid data struct %T", rd)
		}
		return f(d)
	}
}
