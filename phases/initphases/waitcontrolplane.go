package initphases

import (
	"context"
	"fmt"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubeadmin/kubeadmin/internal/constants"
	"github.com/kubeadmin/kubeadmin/manifests"
	"github.com/kubeadmin/kubeadmin/phases"
	"github.com/kubeadmin/kubeadmin/phases/clusterobjects"
	"github.com/kubeadmin/kubeadmin/phases/workflow"
)

func newWaitControlPlanePhase() workflow.Phase {
	return workflow.Phase{
		Name:  "wait-control-plane",
		Short: "Wait for the control plane to start",
		Run:   workflow.RunAs(runWaitControlPlane),
	}
}

func runWaitControlPlane(d waitControlPlaneData) error {
	cfg := d.Cfg()
	out := d.Out()
	timeouts := cfg.Init.Timeouts
	targets := phases.ControlPlaneTargets(manifestsForWait(d))
	if d.DryRun() {
		fmt.Fprintf(out, "[dryrun] Would wait for a healthy kubelet at %s\n", constants.KubeletHealthzURL)
		for _, t := range targets {
			fmt.Fprintf(out, "[dryrun] Would check %s at %s\n", t.Component, t.URL)
		}
		return nil
	}
	ctx := context.Background()
	if err := phases.WaitKubelet(ctx, out, timeouts.KubeletHealthCheck.Duration); err != nil {
		return err
	}
	if failed := phases.WaitComponents(ctx, out, targets, timeouts.ControlPlaneComponentHealthCheck.Duration); len(failed) > 0 {
		return phases.UnhealthyError(ctx, cfg.Init.NodeRegistration.CRISocket, failed)
	}
	return ensureAdminBinding(d)
}

// manifestsForWait renders the control-plane pods to learn the health
// endpoints; the files on disk are what the agent runs, and the rendering
// is the same function that wrote them.
func manifestsForWait(d baseData) map[string]*corev1.Pod {
	return manifests.ControlPlanePods(d.Cfg())
}

// ensureAdminBinding makes sure the ClusterRoleBinding that gives
// admin.conf its rights exists, falling back to super-admin.conf (kubeadm's
// first API use in init).
func ensureAdminBinding(d waitControlPlaneData) error {
	admin, err := d.Client()
	if err != nil {
		return err
	}
	superAdmin := func() (kubernetes.Interface, error) {
		return phases.ClientFromKubeconfig(filepath.Join(d.KubeConfigDir(), constants.SuperAdminKubeConfigFile), d.LocalAPIEndpoint())
	}
	_, err = clusterobjects.EnsureAdminClusterRoleBinding(admin, superAdmin, clusterobjects.APICallTimeout(d.Cfg().Init.Timeouts))
	return err
}
