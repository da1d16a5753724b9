package clusterobjects

import (
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"

	"github.com/kubeadmin/kubeadmin/internal/constants"
)

// PodNetworkRBAC lets every node read the Node objects, which the node
// agent's built-in pod network needs for its routes to the other nodes'
// pod CIDRs (host-gateway style). The Node authorizer lets a node read
// only its own Node, and kubeadm binds no role for more; this is the one
// RBAC rule kubeadmin adds beyond kubeadm's (read-only, Nodes only).
func PodNetworkRBAC() []runtime.Object {
	return []runtime.Object{
		&rbacv1.ClusterRole{
			ObjectMeta: metav1.ObjectMeta{Name: constants.PodNetworkClusterRoleName},
			Rules:      []rbacv1.PolicyRule{{Verbs: []string{"get", "list", "watch"}, APIGroups: []string{""}, Resources: []string{"nodes"}}},
		},
		clusterRoleBinding(constants.PodNetworkClusterRoleName, constants.PodNetworkClusterRoleName, groupSubject(constants.NodesGroup)),
	}
}

// EnsurePodNetworkRBAC creates or updates PodNetworkRBAC.
func EnsurePodNetworkRBAC(client kubernetes.Interface, timeout time.Duration) error {
	return createOrUpdateAll(client, timeout, PodNetworkRBAC()...)
}
