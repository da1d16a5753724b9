package clusterobjects

import (
	"crypto/sha256"
	"fmt"
	"io"
	"sort"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"

	"github.com/kubeadmin/kubeadmin/internal/config"
	"github.com/kubeadmin/kubeadmin/internal/constants"
)

// ConfigMapHash is kubeadm's component-config checksum of cm:
// "sha256:<hex>" over the Data values in sorted key order, then the
// BinaryData values in sorted key order.
func ConfigMapHash(cm *corev1.ConfigMap) string {
	h := sha256.New()
	for _, k := range sortedKeys(cm.Data) {
		h.Write([]byte(cm.Data[k]))
	}
	for _, k := range sortedKeys(cm.BinaryData) {
		h.Write(cm.BinaryData[k])
	}
	return fmt.Sprintf("sha256:%x", h.Sum(nil))
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// SignConfigMap sets the kubeadm.kubernetes.io/component-config.hash
// annotation of cm to ConfigMapHash(cm).
func SignConfigMap(cm *corev1.ConfigMap) {
	if cm.Annotations == nil {
		cm.Annotations = map[string]string{}
	}
	cm.Annotations[constants.ComponentConfigHashAnnotationKey] = ConfigMapHash(cm)
}

// KubeadmConfigMap builds ConfigMap kube-system/kubeadm-config holding the
// ClusterConfiguration under key ClusterConfiguration.
func KubeadmConfigMap(cluster *config.ClusterConfiguration) (*corev1.ConfigMap, error) {
	b, err := config.MarshalClusterConfigForUpload(cluster)
	if err != nil {
		return nil, err
	}
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: constants.KubeadmConfigConfigMap, Namespace: metav1.NamespaceSystem},
		Data:       map[string]string{constants.ClusterConfigurationConfigMapKey: string(b)},
	}, nil
}

// KubeadmConfigRBAC returns Role and RoleBinding
// kube-system/kubeadm:nodes-kubeadm-config (get on the kubeadm-config
// ConfigMap for bootstrap tokens and nodes).
func KubeadmConfigRBAC() []runtime.Object {
	name := constants.NodesKubeadmConfigRoleName
	return []runtime.Object{
		getResourceRole(metav1.NamespaceSystem, name, "configmaps", constants.KubeadmConfigConfigMap),
		roleBinding(metav1.NamespaceSystem, name,
			groupSubject(constants.NodeBootstrapTokenAuthGroup), groupSubject(constants.NodesGroup)),
	}
}

// UploadKubeadmConfig stores the ClusterConfiguration in the kubeadm-config
// ConfigMap and creates its RBAC rules. An existing ConfigMap keeps its
// other keys and metadata; only the ClusterConfiguration key is replaced.
func UploadKubeadmConfig(client kubernetes.Interface, cfg *config.InitConfig, out io.Writer) error {
	fmt.Fprintf(out, "[upload-config] Storing the configuration used in ConfigMap %q in the %q Namespace\n",
		constants.KubeadmConfigConfigMap, metav1.NamespaceSystem)
	cm, err := KubeadmConfigMap(&cfg.Cluster)
	if err != nil {
		return err
	}
	timeout := initTimeout(cfg)
	err = createOr(client.CoreV1().ConfigMaps(cm.Namespace), cm, applyOptions[*corev1.ConfigMap]{
		kind: "ConfigMap", timeout: timeout,
		onExisting: func(desired, existing *corev1.ConfigMap) (*corev1.ConfigMap, bool) {
			upd := existing.DeepCopy()
			if upd.Data == nil {
				upd.Data = map[string]string{}
			}
			key := constants.ClusterConfigurationConfigMapKey
			upd.Data[key] = desired.Data[key]
			return upd, true
		},
	})
	if err != nil {
		return err
	}
	return createOrUpdateAll(client, timeout, KubeadmConfigRBAC()...)
}

// KubeletConfigMap builds ConfigMap kube-system/kubelet-config holding the
// cluster's KubeletConfiguration under key kubelet, signed with the hash
// annotation unless the user supplied the configuration.
func KubeletConfigMap(cfg *config.InitConfig) (*corev1.ConfigMap, error) {
	b, err := config.MarshalKubeletConfiguration(kubeletConfigFor(cfg))
	if err != nil {
		return nil, fmt.Errorf("failed to marshal the KubeletConfiguration: %w", err)
	}
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: constants.KubeletBaseConfigurationConfigMap, Namespace: metav1.NamespaceSystem},
		Data:       map[string]string{constants.KubeletBaseConfigurationConfigMapKey: string(b)},
	}
	if !cfg.Components.KubeletUserSupplied {
		SignConfigMap(cm)
	}
	return cm, nil
}

// KubeletConfigRBAC returns Role and RoleBinding
// kube-system/kubeadm:kubelet-config (get on the kubelet-config ConfigMap
// for nodes and bootstrap tokens).
func KubeletConfigRBAC() []runtime.Object {
	name := constants.KubeletConfigRoleName
	return []runtime.Object{
		getResourceRole(metav1.NamespaceSystem, name, "configmaps", constants.KubeletBaseConfigurationConfigMap),
		roleBinding(metav1.NamespaceSystem, name,
			groupSubject(constants.NodesGroup), groupSubject(constants.NodeBootstrapTokenAuthGroup)),
	}
}

// UploadKubeletConfig creates or updates the kubelet-config ConfigMap and
// its RBAC rules.
func UploadKubeletConfig(client kubernetes.Interface, cfg *config.InitConfig, out io.Writer) error {
	fmt.Fprintf(out, "[kubelet] Creating a ConfigMap %q in namespace %s with the configuration for the kubelets in the cluster\n",
		constants.KubeletBaseConfigurationConfigMap, metav1.NamespaceSystem)
	cm, err := KubeletConfigMap(cfg)
	if err != nil {
		return err
	}
	timeout := initTimeout(cfg)
	if err := CreateOrUpdateConfigMap(client, cm, timeout); err != nil {
		return err
	}
	if err := createOrUpdateAll(client, timeout, KubeletConfigRBAC()...); err != nil {
		return fmt.Errorf("error creating kubelet configuration configmap RBAC rules: %w", err)
	}
	return nil
}
