package clusterobjects

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/kubeadmin/kubeadmin/internal/config"
	"github.com/kubeadmin/kubeadmin/internal/constants"
)

const kubeProxyLabelKey = "k8s-app"

// kubeProxyKubeconfig is kube-proxy's in-cluster kubeconfig, as kubeadm
// writes it (no trailing newline).
func kubeProxyKubeconfig(server string) string {
	return strings.Join([]string{
		"apiVersion: v1",
		"kind: Config",
		"clusters:",
		"- cluster:",
		"    certificate-authority: /var/run/secrets/kubernetes.io/serviceaccount/ca.crt",
		"    server: " + server,
		"  name: default",
		"contexts:",
		"- context:",
		"    cluster: default",
		"    namespace: default",
		"    user: default",
		"  name: default",
		"current-context: default",
		"users:",
		"- name: default",
		"  user:",
		"    tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token",
	}, "\n")
}

// KubeProxyConfigMap builds ConfigMap kube-system/kube-proxy with the
// kubeconfig and the KubeProxyConfiguration, signed with the hash
// annotation unless the user supplied the configuration.
func KubeProxyConfigMap(cfg *config.InitConfig) (*corev1.ConfigMap, error) {
	server, err := controlPlaneURL(&cfg.Cluster, cfg.Init.LocalAPIEndpoint)
	if err != nil {
		return nil, err
	}
	b, err := config.MarshalKubeProxyConfiguration(kubeProxyConfigFor(cfg))
	if err != nil {
		return nil, fmt.Errorf("failed to marshal the KubeProxyConfiguration: %w", err)
	}
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Name: constants.KubeProxyConfigMap, Namespace: metav1.NamespaceSystem,
			Labels: map[string]string{"app": constants.KubeProxy},
		},
		Data: map[string]string{
			constants.KubeProxyKubeConfigMapKey: kubeProxyKubeconfig(server),
			// kubeadm embeds the document as a YAML "|-" block: no trailing newline.
			constants.KubeProxyConfigMapKey: strings.TrimRight(string(b), "\n"),
		},
	}
	if !cfg.Components.KubeProxyUserSupplied {
		SignConfigMap(cm)
	}
	return cm, nil
}

// kubeProxyRBAC is the ServiceAccount, ClusterRoleBinding
// kubeadm:node-proxier, and Role/RoleBinding kube-proxy.
func kubeProxyRBAC() []runtime.Object {
	return []runtime.Object{
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: constants.KubeProxyServiceAccountName, Namespace: metav1.NamespaceSystem}},
		clusterRoleBinding(constants.KubeProxyClusterRoleBindingName, constants.KubeProxyClusterRoleName, rbacv1.Subject{
			Kind: rbacv1.ServiceAccountKind, Name: constants.KubeProxyServiceAccountName, Namespace: metav1.NamespaceSystem,
		}),
		getResourceRole(metav1.NamespaceSystem, constants.KubeProxyConfigMapRoleName, "configmaps", constants.KubeProxyConfigMap),
		roleBinding(metav1.NamespaceSystem, constants.KubeProxyConfigMapRoleName, groupSubject(constants.NodeBootstrapTokenAuthGroup)),
	}
}

// KubeProxyObjects returns the kube-proxy addon objects for cfg, in the
// order of kubeadm's --print-manifest output: ServiceAccount,
// ClusterRoleBinding, Role, RoleBinding, ConfigMap, DaemonSet.
func KubeProxyObjects(cfg *config.InitConfig) ([]runtime.Object, error) {
	return kubeProxyObjects(cfg, nil)
}

func kubeProxyObjects(cfg *config.InitConfig, extraEnv []corev1.EnvVar) ([]runtime.Object, error) {
	cm, err := KubeProxyConfigMap(cfg)
	if err != nil {
		return nil, err
	}
	return append(kubeProxyRBAC(), cm, kubeProxyDaemonSet(&cfg.Cluster, extraEnv)), nil
}

func kubeProxyDaemonSet(cluster *config.ClusterConfiguration, extraEnv []corev1.EnvVar) *appsv1.DaemonSet {
	labels := func() map[string]string { return map[string]string{kubeProxyLabelKey: constants.KubeProxy} }
	env := append([]corev1.EnvVar{{
		Name:      "NODE_NAME",
		ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"}},
	}}, extraEnv...)
	return &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: constants.KubeProxy, Namespace: metav1.NamespaceSystem, Labels: labels()},
		Spec: appsv1.DaemonSetSpec{
			Selector:       &metav1.LabelSelector{MatchLabels: labels()},
			UpdateStrategy: appsv1.DaemonSetUpdateStrategy{Type: appsv1.RollingUpdateDaemonSetStrategyType},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels()},
				Spec: corev1.PodSpec{
					PriorityClassName: constants.SystemNodeCriticalPriorityClass,
					Containers: []corev1.Container{{
						Name:            constants.KubeProxy,
						Image:           config.ImageFor(cluster, constants.KubeProxy),
						ImagePullPolicy: corev1.PullIfNotPresent,
						Command: []string{
							"/usr/local/bin/kube-proxy",
							"--config=" + constants.KubeProxyConfigDir + "/" + constants.KubeProxyConfigMapKey,
							"--hostname-override=$(NODE_NAME)",
						},
						SecurityContext: &corev1.SecurityContext{Privileged: ptr.To(true)},
						VolumeMounts: []corev1.VolumeMount{
							{Name: constants.KubeProxy, MountPath: constants.KubeProxyConfigDir},
							{Name: "xtables-lock", MountPath: "/run/xtables.lock", ReadOnly: false},
							{Name: "lib-modules", MountPath: "/lib/modules", ReadOnly: true},
						},
						Env: env,
					}},
					HostNetwork:        true,
					ServiceAccountName: constants.KubeProxyServiceAccountName,
					Volumes: []corev1.Volume{
						{Name: constants.KubeProxy, VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
							LocalObjectReference: corev1.LocalObjectReference{Name: constants.KubeProxyConfigMap},
						}}},
						{Name: "xtables-lock", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{
							Path: "/run/xtables.lock", Type: ptr.To(corev1.HostPathFileOrCreate),
						}}},
						{Name: "lib-modules", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/lib/modules"}}},
					},
					Tolerations:  []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
					NodeSelector: map[string]string{corev1.LabelOSStable: "linux"},
				},
			},
		},
	}
}

// ProxyEnvVars returns the *_proxy variables (any case) of environ with a
// non-empty value, sorted by name, later duplicates winning: kubeadm
// passes them on to kube-proxy.
func ProxyEnvVars(environ []string) []corev1.EnvVar {
	byName := map[string]string{}
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || value == "" || !strings.HasSuffix(strings.ToLower(name), "_proxy") {
			continue
		}
		byName[name] = value
	}
	out := make([]corev1.EnvVar, 0, len(byName))
	for name, value := range byName {
		out = append(out, corev1.EnvVar{Name: name, Value: value})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// EnsureKubeProxy creates or updates the kube-proxy addon; the DaemonSet
// gets kubeadmin's own *_proxy environment variables, as in kubeadm.
// Prints "[addons] Applied essential addon: kube-proxy".
func EnsureKubeProxy(client kubernetes.Interface, cfg *config.InitConfig, out io.Writer) error {
	objs, err := kubeProxyObjects(cfg, ProxyEnvVars(os.Environ()))
	if err != nil {
		return err
	}
	// kubeadm's order: ConfigMap, DaemonSet, then the RBAC objects.
	ordered := append([]runtime.Object{objs[4], objs[5]}, objs[:4]...)
	if err := createOrUpdateAll(client, initTimeout(cfg), ordered...); err != nil {
		return err
	}
	// Networking beside kube-proxy: the built-in pod network's read of
	// the Node objects (no line of its own, so the output stays kubeadm's).
	if err := EnsurePodNetworkRBAC(client, initTimeout(cfg)); err != nil {
		return err
	}
	fmt.Fprintln(out, "[addons] Applied essential addon: kube-proxy")
	return nil
}
