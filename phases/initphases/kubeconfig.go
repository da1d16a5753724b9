package initphases

import (
	"fmt"

	"github.com/kubeadmin/kubeadmin/internal/constants"
	"github.com/kubeadmin/kubeadmin/phases"
	"github.com/kubeadmin/kubeadmin/phases/kubeconfig"
	"github.com/kubeadmin/kubeadmin/phases/workflow"
)

// kubeconfigPhases are kubeadm's kubeconfig sub-phases, in order.
var kubeconfigPhases = []struct{ name, file, short string }{
	{"admin", constants.AdminKubeConfigFile, "Generate a kubeconfig file for the admin to use and for kubeadmin itself"},
	{"super-admin", constants.SuperAdminKubeConfigFile, "Generate a kubeconfig file for the super-admin"},
	{"kubelet", constants.KubeletKubeConfigFile, "Generate a kubeconfig file for the kubelet to use *only* for cluster bootstrapping purposes"},
	{"controller-manager", constants.ControllerManagerKubeConfigFile, "Generate a kubeconfig file for the controller manager to use"},
	{"scheduler", constants.SchedulerKubeConfigFile, "Generate a kubeconfig file for the scheduler to use"},
}

func kubeconfigPhaseFlags(name string) []string {
	flags := []string{phases.FlagAdvertiseAddress, phases.FlagControlPlaneEndpoint, phases.FlagBindPort, phases.FlagCertDir, phases.FlagConfig, phases.FlagKubeconfigDir, phases.FlagKubernetesVersion, phases.FlagDryRun}
	if name == "all" || name == "kubelet" {
		flags = append(flags, phases.FlagNodeName)
	}
	return flags
}

func newKubeConfigPhase() workflow.Phase {
	children := []workflow.Phase{workflow.AllPhase("Generate all kubeconfig files", kubeconfigPhaseFlags("all"))}
	for _, k := range kubeconfigPhases {
		children = append(children, workflow.Phase{
			Name:         k.name,
			Short:        k.short,
			Long:         fmt.Sprintf("%s, and save it to the %s file.", k.short, k.file),
			InheritFlags: kubeconfigPhaseFlags(k.name),
			Run: workflow.RunAs(func(d kubeConfigData) error {
				return kubeconfig.CreateKubeConfigFile(k.file, d.Cfg(), d.KubeConfigDir(), d.CertificateWriteDir(), d.Out())
			}),
		})
	}
	return workflow.Phase{
		Name:   "kubeconfig",
		Short:  "Generate all kubeconfig files necessary to establish the control plane and the admin kubeconfig file",
		Phases: children,
		Run: workflow.RunAs(func(d kubeConfigData) error {
			fmt.Fprintf(d.Out(), "[kubeconfig] Using kubeconfig folder %q\n", d.KubeConfigDir())
			return nil
		}),
	}
}
