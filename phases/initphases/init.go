// Package initphases is the `kubeadmin init` workflow: Phases is its literal,
// ordered list of top-level phases, one file each, and data.go holds the
// state they share (InitData) with the narrow view each phase asserts.
// A phase prints kubeadm's progress lines and calls into the packages that
// do the work; it never parses flags.
package initphases

import "github.com/kubeadmin/kubeadmin/phases/workflow"

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
