package manifests

import (
	"github.com/kubeadmin/kubeadmin/internal/config"
	"github.com/kubeadmin/kubeadmin/internal/constants"
)

// testConfig returns a defaulted config: advertise 10.0.0.10:6443, node
// "node1", Kubernetes v1.37.2.
func testConfig() *config.InitConfig {
	cfg := &config.InitConfig{}
	config.SetDefaultsInit(&cfg.Init)
	config.SetDefaultsCluster(&cfg.Cluster)
	cfg.Cluster.KubernetesVersion = constants.KubernetesVersion
	cfg.Init.LocalAPIEndpoint.AdvertiseAddress = "10.0.0.10"
	cfg.Init.NodeRegistration.Name = "node1"
	cfg.Init.NodeRegistration.CRISocket = constants.DefaultCRISocket
	return cfg
}

// testRenderer has no proxy variables, no CA-trust directories and a local CA.
func testRenderer() Renderer {
	return Renderer{Exists: func(string) bool { return false }}
}
