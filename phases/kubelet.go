package phases

import (
	kubeletv1beta1 "k8s.io/kubelet/config/v1beta1"

	"github.com/kubeadmin/kubeadmin/internal/config"
	"github.com/kubeadmin/kubeadmin/internal/constants"
	"github.com/kubeadmin/kubeadmin/kubelet/service"
)

// LocalKubeletConfig adapts the cluster's shared KubeletConfiguration kc to
// this host, for init and join alike. Where systemd is not the init system
// its cgroup driver cannot work, so the agent uses cgroupfs (a node-local
// change, as kubeadm's resolvConf one); the cluster's copy is not changed.
func LocalKubeletConfig(kc *kubeletv1beta1.KubeletConfiguration) *kubeletv1beta1.KubeletConfiguration {
	if kc.CgroupDriver == constants.CgroupDriverSystemd && !service.SystemdRunning() {
		return config.LocalKubeletConfiguration(kc, constants.CgroupDriverCgroupfs)
	}
	return kc
}
