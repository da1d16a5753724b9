// Package joinphases is the `kubeadmin join` workflow for worker nodes:
// Phases is its literal, ordered list of phases, one file each, and
// data.go holds the state they share (JoinData). A phase prints kubeadm's
// progress lines and calls into the packages that do the work (discovery,
// clusterobjects, manifests, kubelet/service); it never parses flags.
//
// Joining an additional control plane is refused in NewJoinData, so no
// control-plane phase is listed.
package joinphases

import (
	"io"

	"k8s.io/client-go/kubernetes"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubeadmin/kubeadmin/internal/config"
	"github.com/kubeadmin/kubeadmin/phases/workflow"
)

// Phases returns the phases of `kubeadmin join`, in kubeadm's order.
func Phases() []workflow.Phase {
	return []workflow.Phase{
		newPreflightPhase(),
		newKubeletStartPhase(),
		newKubeletWaitBootstrapPhase(),
	}
}

// WorkerJoinedMessage is printed after a worker joined, as kubeadm does.
const WorkerJoinedMessage = `
This node has joined the cluster:
* Certificate signing request was sent to apiserver and a response was received.
* The Kubelet was informed of the new secure connection details.

Run 'kubectl get nodes' on the control-plane to see this node join the cluster.

`

// The views of JoinData the phases assert.
type (
	baseData interface {
		Cfg() *config.JoinConfiguration
		Out() io.Writer
		DryRun() bool
	}
	// clusterData reaches the cluster with the bootstrap credentials.
	clusterData interface {
		baseData
		TLSBootstrapCfg() (*clientcmdapi.Config, error)
		InitCfg() (*config.InitConfig, error)
		BootstrapClient() (kubernetes.Interface, error)
	}
	preflightData interface {
		clusterData
		KubernetesDir() string
		IgnorePreflightErrors() map[string]bool
		KubeletArgsValidator() func(args []string) error
	}
	kubeletStartData interface {
		clusterData
		KubeConfigDir() string
		KubeletDir() string
		PatchesDir() string
		CACertWritePath() string
		recordWrite(path string)
	}
	kubeletWaitData interface {
		baseData
		KubeConfigDir() string
	}
)

// JoinData offers every view.
var (
	_ preflightData    = (*JoinData)(nil)
	_ kubeletStartData = (*JoinData)(nil)
	_ kubeletWaitData  = (*JoinData)(nil)
)
