// Package initphases is the `kubeadmin init` workflow: Phases is its literal,
// ordered list of top-level phases, one file each, and data.go holds the
// state they share (InitData) with the narrow view each phase asserts.
// A phase prints kubeadm's progress lines and calls into the packages that
// do the work; it never parses flags.
package initphases

import (
	"fmt"

	"github.com/kubeadmin/kubeadmin/phases/workflow"
)

// Phases returns the phases of `kubeadmin init`, in kubeadm's order.
func Phases() []workflow.Phase {
	return []workflow.Phase{
		newPreflightPhase(),
		newCertsPhase(),
		newKubeConfigPhase(),
		newEtcdPhase(),
		newControlPlanePhase(),
		newKubeletStartPhase(),
		newWaitControlPlanePhase(),
		newUploadConfigPhase(),
		newUploadCertsPhase(),
		newMarkControlPlanePhase(),
		newBootstrapTokenPhase(),
		newKubeletFinalizePhase(),
		newAddonPhase(),
		newShowJoinCommandPhase(),
	}
}

// view asserts the runner's data to the view D a phase needs.
func view[D any](rd workflow.RunData) (D, error) {
	d, ok := rd.(D)
	if !ok {
		return d, fmt.Errorf("phase invoked with an invalid data struct %T", rd)
	}
	return d, nil
}

// runAs adapts a function of the view D to a phase's Run.
func runAs[D any](f func(D) error) func(workflow.RunData) error {
	return func(rd workflow.RunData) error {
		d, err := view[D](rd)
		if err != nil {
			return err
		}
		return f(d)
	}
}

// runIfAs adapts a predicate of the view D to a phase's RunIf.
func runIfAs[D any](f func(D) bool) func(workflow.RunData) (bool, error) {
	return func(rd workflow.RunData) (bool, error) {
		d, err := view[D](rd)
		if err != nil {
			return false, err
		}
		return f(d), nil
	}
}

// allPhase is the "all" child of a group phase: its subcommand runs every
// sibling.
func allPhase(short string, flags []string) workflow.Phase {
	return workflow.Phase{Name: "all", Short: short, InheritFlags: flags, RunAllSiblings: true}
}
