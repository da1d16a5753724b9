package config

import (
	kubeproxyv1alpha1 "k8s.io/kube-proxy/config/v1alpha1"
	kubeletv1beta1 "k8s.io/kubelet/config/v1beta1"
)

// ComponentConfigs are the component configuration documents that may share
// a kubeadm configuration file. A nil pointer means the user gave none and
// kubeadmin's defaults apply; UserSupplied records which ones came from the
// user (kubeadm then leaves out the component-config hash annotation).
type ComponentConfigs struct {
	Kubelet   *kubeletv1beta1.KubeletConfiguration
	KubeProxy *kubeproxyv1alpha1.KubeProxyConfiguration

	KubeletUserSupplied   bool
	KubeProxyUserSupplied bool
}
