package clusterobjects

import (
	"fmt"
	"io"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	bootstrapapi "k8s.io/cluster-bootstrap/token/api"

	"github.com/kubeadmin/kubeadmin/internal/config"
	"github.com/kubeadmin/kubeadmin/internal/constants"
)

// nodeBootstrapStep is one RBAC step of the bootstrap-token phase: the line
// kubeadm prints and the objects it creates.
type nodeBootstrapStep struct {
	message string
	objects []runtime.Object
}

// nodeBootstrapSteps are the node-bootstrap RBAC rules of kubeadm's
// bootstrap-token phase, in kubeadm's order.
func nodeBootstrapSteps() []nodeBootstrapStep {
	tokens := groupSubject(constants.NodeBootstrapTokenAuthGroup)
	return []nodeBootstrapStep{
		{
			message: "[bootstrap-token] Configured RBAC rules to allow Node Bootstrap tokens to get nodes",
			objects: []runtime.Object{
				&rbacv1.ClusterRole{
					ObjectMeta: metav1.ObjectMeta{Name: constants.GetNodesClusterRoleName},
					Rules:      []rbacv1.PolicyRule{{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"nodes"}}},
				},
				clusterRoleBinding(constants.GetNodesClusterRoleName, constants.GetNodesClusterRoleName, tokens),
			},
		},
		{
			message: "[bootstrap-token] Configured RBAC rules to allow Node Bootstrap tokens to post CSRs in order for nodes to get long term certificate credentials",
			objects: []runtime.Object{clusterRoleBinding(constants.NodeKubeletBootstrapCRB, constants.NodeBootstrapperClusterRole, tokens)},
		},
		{
			message: "[bootstrap-token] Configured RBAC rules to allow the csrapprover controller automatically approve CSRs from a Node Bootstrap Token",
			objects: []runtime.Object{clusterRoleBinding(constants.NodeAutoApproveBootstrapCRB, constants.CSRAutoApprovalClusterRole, tokens)},
		},
		{
			message: "[bootstrap-token] Configured RBAC rules to allow certificate rotation for all node client certificates in the cluster",
			objects: []runtime.Object{clusterRoleBinding(constants.NodeAutoApproveCertRotationCRB, constants.NodeSelfCSRAutoApprovalClusterRole,
				groupSubject(constants.NodesGroup))},
		},
		{
			message: "[bootstrap-token] Configured RBAC rules to allow the API server kubelet client certificate to access the kubelet API",
			objects: []runtime.Object{clusterRoleBinding(constants.KubeletAPIAdminCRB, constants.KubeletAPIAdminClusterRole,
				userSubject(constants.APIServerKubeletClientCommonName))},
		},
	}
}

// NodeBootstrapRBAC returns the ClusterRole and ClusterRoleBindings that let
// joining nodes bootstrap: kubeadm:get-nodes, kubeadm:kubelet-bootstrap,
// kubeadm:node-autoapprove-bootstrap,
// kubeadm:node-autoapprove-certificate-rotation and
// kubeadm:apiserver-kubelet-client.
func NodeBootstrapRBAC() []runtime.Object {
	var objs []runtime.Object
	for _, s := range nodeBootstrapSteps() {
		objs = append(objs, s.objects...)
	}
	return objs
}

// CreateNodeBootstrapRBAC creates NodeBootstrapRBAC, printing kubeadm's
// "[bootstrap-token] Configured RBAC rules ..." lines.
func CreateNodeBootstrapRBAC(client kubernetes.Interface, timeout time.Duration, out io.Writer) error {
	for _, s := range nodeBootstrapSteps() {
		fmt.Fprintln(out, s.message)
		if err := createOrUpdateAll(client, timeout, s.objects...); err != nil {
			return err
		}
	}
	return nil
}

// ClusterInfoConfigMap builds ConfigMap kube-public/cluster-info from the
// admin kubeconfig as written on disk: a kubeconfig whose only cluster,
// named "", is the current context's cluster of admin (server and CA,
// flattened), with no users or contexts.
func ClusterInfoConfigMap(admin *clientcmdapi.Config) (*corev1.ConfigMap, error) {
	flat := admin.DeepCopy()
	if err := clientcmdapi.FlattenConfig(flat); err != nil {
		return nil, fmt.Errorf("failed to flatten the admin kubeconfig: %w", err)
	}
	ctx := flat.Contexts[flat.CurrentContext]
	if ctx == nil {
		return nil, fmt.Errorf("invalid admin kubeconfig: current context %q not found", flat.CurrentContext)
	}
	cluster := flat.Clusters[ctx.Cluster]
	if cluster == nil {
		return nil, fmt.Errorf("invalid admin kubeconfig: cluster %q of context %q not found", ctx.Cluster, flat.CurrentContext)
	}
	b, err := clientcmd.Write(clientcmdapi.Config{Clusters: map[string]*clientcmdapi.Cluster{"": cluster}})
	if err != nil {
		return nil, fmt.Errorf("failed to serialize the cluster-info kubeconfig: %w", err)
	}
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: bootstrapapi.ConfigMapClusterInfo, Namespace: metav1.NamespacePublic},
		Data:       map[string]string{bootstrapapi.KubeConfigKey: string(b)},
	}, nil
}

// ClusterInfoRBAC returns the Role and RoleBinding
// kube-public/kubeadm:bootstrap-signer-clusterinfo that let anonymous
// users read cluster-info (token discovery).
func ClusterInfoRBAC() []runtime.Object {
	name := constants.BootstrapSignerClusterInfoRoleName
	return []runtime.Object{
		getResourceRole(metav1.NamespacePublic, name, "configmaps", bootstrapapi.ConfigMapClusterInfo),
		roleBinding(metav1.NamespacePublic, name, userSubject(constants.AnonymousUser)),
	}
}

// CreateClusterInfo loads the admin kubeconfig at adminKubeconfigPath and
// creates or updates the cluster-info ConfigMap and its RBAC rules.
func CreateClusterInfo(client kubernetes.Interface, adminKubeconfigPath string, timeout time.Duration, out io.Writer) error {
	admin, err := clientcmd.LoadFromFile(adminKubeconfigPath)
	if err != nil {
		return fmt.Errorf("failed to load admin kubeconfig %q: %w", adminKubeconfigPath, err)
	}
	return createClusterInfo(client, admin, timeout, out)
}

func createClusterInfo(client kubernetes.Interface, admin *clientcmdapi.Config, timeout time.Duration, out io.Writer) error {
	fmt.Fprintf(out, "[bootstrap-token] Creating the %q ConfigMap in the %q namespace\n", bootstrapapi.ConfigMapClusterInfo, metav1.NamespacePublic)
	cm, err := ClusterInfoConfigMap(admin)
	if err != nil {
		return err
	}
	if err := CreateOrUpdateConfigMap(client, cm, timeout); err != nil {
		return err
	}
	return createOrUpdateAll(client, timeout, ClusterInfoRBAC()...)
}

// BootstrapTokenPhase does what kubeadm's bootstrap-token phase does:
// prints the token(s) unless skipTokenPrint, creates or updates the token
// Secrets of cfg, the node-bootstrap RBAC rules, and cluster-info from the
// admin kubeconfig at adminKubeconfigPath (the file as written, not
// re-pointed to the local endpoint).
func BootstrapTokenPhase(client kubernetes.Interface, cfg *config.InitConfig, adminKubeconfigPath string, skipTokenPrint bool, out io.Writer) error {
	admin, err := clientcmd.LoadFromFile(adminKubeconfigPath)
	if err != nil {
		return fmt.Errorf("failed to load admin kubeconfig %q: %w", adminKubeconfigPath, err)
	}
	timeout := initTimeout(cfg)
	if !skipTokenPrint {
		printUsingTokens(out, cfg.Init.BootstrapTokens)
	}
	fmt.Fprintln(out, "[bootstrap-token] Configuring bootstrap tokens, cluster-info ConfigMap, RBAC Roles")
	if err := CreateOrUpdateTokens(client, cfg.Init.BootstrapTokens, false, timeout); err != nil {
		return fmt.Errorf("error updating or creating token: %w", err)
	}
	if err := CreateNodeBootstrapRBAC(client, timeout, out); err != nil {
		return err
	}
	if err := createClusterInfo(client, admin, timeout, out); err != nil {
		return fmt.Errorf("error creating bootstrap ConfigMap: %w", err)
	}
	return nil
}

// printUsingTokens prints "[bootstrap-token] Using token: <t>" (or the
// list form for several tokens).
func printUsingTokens(out io.Writer, tokens []config.BootstrapToken) {
	var strs []string
	for _, t := range tokens {
		if t.Token != nil {
			strs = append(strs, t.Token.String())
		}
	}
	switch {
	case len(strs) == 1:
		fmt.Fprintf(out, "[bootstrap-token] Using token: %s\n", strs[0])
	case len(strs) > 1:
		fmt.Fprintf(out, "[bootstrap-token] Using tokens: %v\n", strs)
	}
}
