package network

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubeadmin/kubeadmin/internal/config"
	"github.com/kubeadmin/kubeadmin/internal/constants"
)

// FromClusterConfig returns networking.podSubnet of the ClusterConfiguration
// in the kube-system/kubeadm-config ConfigMap (nodes may read it through
// kubeadm's kubeadm:nodes-kubeadm-config role). It is "" when the cluster
// has none.
func FromClusterConfig(ctx context.Context, client kubernetes.Interface) (string, error) {
	cm, err := client.CoreV1().ConfigMaps(constants.KubeSystemNamespace).Get(ctx, constants.KubeadmConfigConfigMap, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("failed to read ConfigMap %s/%s: %w", constants.KubeSystemNamespace, constants.KubeadmConfigConfigMap, err)
	}
	source := fmt.Sprintf("ConfigMap %s/%s key %s", constants.KubeSystemNamespace, constants.KubeadmConfigConfigMap, constants.ClusterConfigurationConfigMapKey)
	data, ok := cm.Data[constants.ClusterConfigurationConfigMapKey]
	if !ok {
		return "", fmt.Errorf("%s is missing", source)
	}
	c, err := config.ParseClusterConfig([]byte(data), source)
	if err != nil {
		return "", err
	}
	return c.Networking.PodSubnet, nil
}
