package initphases

import (
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubeadmin/kubeadmin/internal/constants"
	"github.com/kubeadmin/kubeadmin/phases"
	"github.com/kubeadmin/kubeadmin/phases/kubeconfig"
	"github.com/kubeadmin/kubeadmin/phases/workflow"
)

func newKubeletFinalizePhase() workflow.Phase {
	flags := []string{phases.FlagConfig, phases.FlagCertDir, phases.FlagDryRun}
	return workflow.Phase{
		Name:    "kubelet-finalize",
		Short:   "Updates settings relevant to the kubelet after TLS bootstrap",
		Example: "  # Updates settings relevant to the kubelet after TLS bootstrap\"\n  kubeadmin init phase kubelet-finalize all --config",
		Phases: []workflow.Phase{
			workflow.AllPhase("Run all kubelet-finalize phases", flags),
			{Name: "enable-client-cert-rotation", Short: "Enable kubelet client certificate rotation", InheritFlags: flags,
				Run: workflow.RunAs(runEnableClientCertRotation)},
		},
	}
}

// kubeletClientCertPath is the agent's rotated client certificate and key.
var kubeletClientCertPath = filepath.Join(constants.KubeletPKIDir, constants.KubeletClientCurrent)

// runEnableClientCertRotation points kubelet.conf at the rotated client
// certificate once the agent has one, as kubeadm does; without it there is
// nothing to do.
func runEnableClientCertRotation(d kubeletFinalizeData) error {
	pem := kubeletClientCertPath
	if _, err := os.Stat(pem); err != nil {
		return nil
	}
	path := filepath.Join(d.KubeConfigDir(), constants.KubeletKubeConfigFile)
	kc, err := clientcmd.LoadFromFile(path)
	if err != nil {
		return fmt.Errorf("failed to load kubeconfig %q: %w", path, err)
	}
	ctx := kc.Contexts[kc.CurrentContext]
	if ctx == nil || kc.AuthInfos[ctx.AuthInfo] == nil {
		return fmt.Errorf("the kubeconfig %q has no user for its current context %q", path, kc.CurrentContext)
	}
	user := kc.AuthInfos[ctx.AuthInfo]
	user.ClientCertificate, user.ClientKey = pem, pem
	user.ClientCertificateData, user.ClientKeyData = nil, nil
	if d.DryRun() {
		fmt.Fprintf(d.Out(), "[dryrun] Would change the kubelet client certificate in %q to %q\n", path, pem)
		return nil
	}
	// The running agent reads this file: replace it, never rewrite it.
	if err := kubeconfig.WriteKubeconfig(path, kc); err != nil {
		return fmt.Errorf("failed to write kubeconfig %q: %w", path, err)
	}
	fmt.Fprintf(d.Out(), "[kubelet-finalize] Updating %q to point to a rotatable kubelet client certificate and key\n", path)
	return nil
}
