package server

import (
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kubeadmin/kubeadmin/kubelet"
)

// The agent and a CRI client plug in directly.
var (
	_ Provider = (*kubelet.Agent)(nil)
	_ Streamer = (runtimeapi.RuntimeServiceClient)(nil)
)
