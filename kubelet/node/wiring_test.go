package node

import (
	"github.com/kubeadmin/kubeadmin/kubelet"
	"github.com/kubeadmin/kubeadmin/kubelet/cri"
)

// The agent and its runtime client plug in directly.
var (
	_ Provider = (*kubelet.Agent)(nil)
	_ Runtime  = (cri.RuntimeService)(nil)
)
