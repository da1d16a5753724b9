package initphases

import (
	"k8s.io/client-go/kubernetes"

	"github.com/kubeadmin/kubeadmin/phases"
	"github.com/kubeadmin/kubeadmin/phases/clusterobjects"
	"github.com/kubeadmin/kubeadmin/phases/workflow"
)

func newUploadConfigPhase() workflow.Phase {
	flags := []string{phases.FlagConfig, phases.FlagCRISocket, phases.FlagKubeconfig, phases.FlagDryRun}
	return workflow.Phase{
		Name:    "upload-config",
		Aliases: []string{"uploadconfig"},
		Short:   "Upload the kubeadm and kubelet configuration to a ConfigMap",
		Phases: []workflow.Phase{
			workflow.AllPhase("Upload all configuration to a config map", flags),
			{Name: "kubeadm", Short: "Upload the kubeadm ClusterConfiguration to a ConfigMap", InheritFlags: flags,
				Run: withClient(func(d clusterData, c kubernetes.Interface) error {
					return clusterobjects.UploadKubeadmConfig(c, d.Cfg(), d.Out())
				})},
			{Name: "kubelet", Short: "Upload the kubelet component config to a ConfigMap", InheritFlags: flags,
				Run: withClient(func(d clusterData, c kubernetes.Interface) error {
					return clusterobjects.UploadKubeletConfig(c, d.Cfg(), d.Out())
				})},
		},
	}
}

// withClient adapts a function that needs the cluster client of the view D.
func withClient[D clusterData](f func(d D, c kubernetes.Interface) error) func(workflow.RunData) error {
	return workflow.RunAs(func(d D) error {
		c, err := d.Client()
		if err != nil {
			return err
		}
		return f(d, c)
	})
}
