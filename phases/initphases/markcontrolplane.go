package initphases

import (
	"k8s.io/client-go/kubernetes"

	"github.com/kubeadmin/kubeadmin/phases"
	"github.com/kubeadmin/kubeadmin/phases/clusterobjects"
	"github.com/kubeadmin/kubeadmin/phases/workflow"
)

func newMarkControlPlanePhase() workflow.Phase {
	return workflow.Phase{
		Name:         "mark-control-plane",
		Short:        "Mark a node as a control-plane",
		Example:      "  # Applies control-plane label and taint to the current node, functionally equivalent to what executed by kubeadmin init.\n  kubeadmin init phase mark-control-plane --config config.yaml\n\n  # Applies control-plane label and taint to a specific node\n  kubeadmin init phase mark-control-plane --node-name myNode",
		InheritFlags: []string{phases.FlagNodeName, phases.FlagConfig, phases.FlagDryRun},
		Run: withClient(func(d clusterData, c kubernetes.Interface) error {
			nr := d.Cfg().Init.NodeRegistration
			return clusterobjects.MarkControlPlane(c, nr.Name, nr.Taints, clusterobjects.APICallTimeout(d.Cfg().Init.Timeouts), d.Out())
		}),
	}
}
