package clusterobjects

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/kubeadmin/kubeadmin/internal/config"
	"github.com/kubeadmin/kubeadmin/internal/constants"
)

const (
	// kubeDNSLabelKey/Value select the CoreDNS pods (kube-dns for history).
	kubeDNSLabelKey   = "k8s-app"
	kubeDNSLabelValue = "kube-dns"
	corefileMountDir  = "/etc/coredns"
	corefileVolume    = "config-volume"
)

// Corefile is the CoreDNS configuration kubeadm v1.37.2 writes for the
// cluster DNS domain, byte for byte.
func Corefile(dnsDomain string) string {
	var b strings.Builder
	b.WriteString(".:53 {\n")
	b.WriteString("    errors\n")
	b.WriteString("    health {\n       lameduck 5s\n    }\n")
	b.WriteString("    ready\n")
	fmt.Fprintf(&b, "    kubernetes %s in-addr.arpa ip6.arpa {\n", dnsDomain)
	b.WriteString("       pods insecure\n       fallthrough in-addr.arpa ip6.arpa\n       ttl 30\n    }\n")
	b.WriteString("    prometheus :9153\n")
	b.WriteString("    forward . /etc/resolv.conf {\n       max_concurrent 1000\n    }\n")
	b.WriteString("    cache 30")
	if dnsDomain != "" {
		fmt.Fprintf(&b, " {\n       disable success %s\n       disable denial %s\n    }", dnsDomain, dnsDomain)
	}
	b.WriteString("\n    loop\n    reload\n    loadbalance\n}\n")
	return b.String()
}

// isDefaultCorefile reports whether c is kubeadm's Corefile for some DNS
// domain, i.e. not customized by the user.
func isDefaultCorefile(c string) bool {
	for _, line := range strings.Split(c, "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "kubernetes" {
			return c == Corefile(f[1])
		}
	}
	return false
}

func kubeDNSLabels() map[string]string {
	return map[string]string{kubeDNSLabelKey: kubeDNSLabelValue}
}

// CoreDNSObjects returns the CoreDNS addon objects for cfg, in the order of
// kubeadm's --print-manifest output: Deployment (2 replicas), ConfigMap,
// Service, ClusterRole, ClusterRoleBinding, ServiceAccount.
func CoreDNSObjects(cfg *config.InitConfig) ([]runtime.Object, error) {
	return coreDNSObjects(cfg, constants.CoreDNSReplicas)
}

func coreDNSObjects(cfg *config.InitConfig, replicas int32) ([]runtime.Object, error) {
	ip, err := dnsIP(cfg.Cluster.Networking.ServiceSubnet)
	if err != nil {
		return nil, err
	}
	return []runtime.Object{
		coreDNSDeployment(&cfg.Cluster, replicas),
		coreDNSConfigMap(cfg.Cluster.Networking.DNSDomain),
		kubeDNSService(ip.String()),
		coreDNSClusterRole(),
		clusterRoleBinding(constants.CoreDNSClusterRoleName, constants.CoreDNSClusterRoleName, rbacv1.Subject{
			Kind: rbacv1.ServiceAccountKind, Name: constants.CoreDNSServiceAccountName, Namespace: metav1.NamespaceSystem,
		}),
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: constants.CoreDNSServiceAccountName, Namespace: metav1.NamespaceSystem}},
	}, nil
}

func coreDNSConfigMap(dnsDomain string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: constants.CoreDNSConfigMap, Namespace: metav1.NamespaceSystem},
		Data:       map[string]string{constants.CorefileKey: Corefile(dnsDomain)},
	}
}

func kubeDNSService(clusterIP string) *corev1.Service {
	port := func(name string, p int32, proto corev1.Protocol) corev1.ServicePort {
		return corev1.ServicePort{Name: name, Port: p, Protocol: proto, TargetPort: intstr.FromInt32(p)}
	}
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{
			Name:      constants.KubeDNSServiceName,
			Namespace: metav1.NamespaceSystem,
			Labels: map[string]string{
				kubeDNSLabelKey:                 kubeDNSLabelValue,
				"kubernetes.io/cluster-service": "true",
				"kubernetes.io/name":            "CoreDNS",
			},
			Annotations: map[string]string{"prometheus.io/port": "9153", "prometheus.io/scrape": "true"},
		},
		Spec: corev1.ServiceSpec{
			ClusterIP: clusterIP,
			Ports: []corev1.ServicePort{
				port("dns", 53, corev1.ProtocolUDP),
				port("dns-tcp", 53, corev1.ProtocolTCP),
				port("metrics", 9153, corev1.ProtocolTCP),
			},
			Selector: kubeDNSLabels(),
		},
	}
}

func coreDNSClusterRole() *rbacv1.ClusterRole {
	return &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: constants.CoreDNSClusterRoleName},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"endpoints", "services", "pods", "namespaces"}, Verbs: []string{"list", "watch"}},
			{APIGroups: []string{"discovery.k8s.io"}, Resources: []string{"endpointslices"}, Verbs: []string{"list", "watch"}},
		},
	}
}

func coreDNSDeployment(cluster *config.ClusterConfiguration, replicas int32) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: constants.CoreDNSDeploymentName, Namespace: metav1.NamespaceSystem, Labels: kubeDNSLabels()},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Strategy: appsv1.DeploymentStrategy{
				Type:          appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{MaxUnavailable: ptr.To(intstr.FromInt32(1))},
			},
			Selector: &metav1.LabelSelector{MatchLabels: kubeDNSLabels()},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: kubeDNSLabels()},
				Spec:       coreDNSPodSpec(cluster),
			},
		},
	}
}

func coreDNSPodSpec(cluster *config.ClusterConfiguration) corev1.PodSpec {
	return corev1.PodSpec{
		PriorityClassName:  constants.SystemClusterCriticalPriorityClass,
		ServiceAccountName: constants.CoreDNSServiceAccountName,
		Affinity: &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
			PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{
				Weight: 100,
				PodAffinityTerm: corev1.PodAffinityTerm{
					LabelSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
						Key: kubeDNSLabelKey, Operator: metav1.LabelSelectorOpIn, Values: []string{kubeDNSLabelValue},
					}}},
					TopologyKey: corev1.LabelHostname,
				},
			}},
		}},
		Tolerations: []corev1.Toleration{
			{Key: "CriticalAddonsOnly", Operator: corev1.TolerationOpExists},
			{Key: constants.LabelNodeRoleControlPlane, Effect: corev1.TaintEffectNoSchedule},
		},
		NodeSelector: map[string]string{corev1.LabelOSStable: "linux"},
		Containers:   []corev1.Container{coreDNSContainer(cluster)},
		DNSPolicy:    corev1.DNSDefault,
		Volumes: []corev1.Volume{{
			Name: corefileVolume,
			VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: constants.CoreDNSConfigMap},
				Items:                []corev1.KeyToPath{{Key: constants.CorefileKey, Path: constants.CorefileKey}},
			}},
		}},
	}
}

func coreDNSContainer(cluster *config.ClusterConfiguration) corev1.Container {
	port := func(name string, p int32, proto corev1.Protocol) corev1.ContainerPort {
		return corev1.ContainerPort{Name: name, ContainerPort: p, Protocol: proto}
	}
	httpProbe := func(path, port string) corev1.ProbeHandler {
		return corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: intstr.FromString(port), Scheme: corev1.URISchemeHTTP}}
	}
	return corev1.Container{
		Name:            constants.CoreDNS,
		Image:           config.ImageFor(cluster, constants.CoreDNS),
		ImagePullPolicy: corev1.PullIfNotPresent,
		Resources: corev1.ResourceRequirements{
			Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("170Mi")},
			Requests: corev1.ResourceList{
				corev1.ResourceCPU:    resource.MustParse("100m"),
				corev1.ResourceMemory: resource.MustParse("70Mi"),
			},
		},
		Args:         []string{"-conf", corefileMountDir + "/" + constants.CorefileKey},
		VolumeMounts: []corev1.VolumeMount{{Name: corefileVolume, MountPath: corefileMountDir, ReadOnly: true}},
		Ports: []corev1.ContainerPort{
			port("dns", 53, corev1.ProtocolUDP),
			port("dns-tcp", 53, corev1.ProtocolTCP),
			port("metrics", 9153, corev1.ProtocolTCP),
			port("liveness-probe", 8080, corev1.ProtocolTCP),
			port("readiness-probe", 8181, corev1.ProtocolTCP),
		},
		LivenessProbe: &corev1.Probe{
			ProbeHandler:        httpProbe("/health", "liveness-probe"),
			InitialDelaySeconds: 60, TimeoutSeconds: 5, SuccessThreshold: 1, FailureThreshold: 5,
		},
		ReadinessProbe: &corev1.Probe{ProbeHandler: httpProbe("/ready", "readiness-probe")},
		SecurityContext: &corev1.SecurityContext{
			AllowPrivilegeEscalation: ptr.To(false),
			Capabilities: &corev1.Capabilities{
				Add:  []corev1.Capability{"NET_BIND_SERVICE"},
				Drop: []corev1.Capability{"ALL"},
			},
			ReadOnlyRootFilesystem: ptr.To(true),
		},
	}
}

// deployedCoreDNSReplicas is the replica count of the existing CoreDNS
// Deployment, or def if there is none; two DNS Deployments are an error.
func deployedCoreDNSReplicas(client kubernetes.Interface, def int32) (int32, error) {
	list, err := client.AppsV1().Deployments(metav1.NamespaceSystem).List(context.Background(),
		metav1.ListOptions{LabelSelector: kubeDNSLabelKey + "=" + kubeDNSLabelValue})
	if err != nil {
		return 0, fmt.Errorf("couldn't retrieve DNS addon deployments: %w", err)
	}
	switch len(list.Items) {
	case 0:
		return def, nil
	case 1:
		if r := list.Items[0].Spec.Replicas; r != nil {
			return *r, nil
		}
		return def, nil
	default:
		names := make([]string, 0, len(list.Items))
		for _, d := range list.Items {
			names = append(names, d.Name)
		}
		return 0, fmt.Errorf("multiple DNS addon deployments found: %v; delete all but one", names)
	}
}

// EnsureCoreDNS creates or updates the CoreDNS addon. An existing
// Deployment keeps its replica count, and a Corefile the user customized
// is retained. Prints "[addons] Applied essential addon: CoreDNS".
func EnsureCoreDNS(client kubernetes.Interface, cfg *config.InitConfig, out io.Writer) error {
	replicas, err := deployedCoreDNSReplicas(client, constants.CoreDNSReplicas)
	if err != nil {
		return err
	}
	objs, err := coreDNSObjects(cfg, replicas)
	if err != nil {
		return err
	}
	timeout := initTimeout(cfg)
	// kubeadm's order: ConfigMap, ClusterRole, ClusterRoleBinding,
	// ServiceAccount, Deployment, Service.
	cm := objs[1].(*corev1.ConfigMap)
	if err := ensureCorefile(client, cm, timeout); err != nil {
		return err
	}
	if err := createOrUpdateAll(client, timeout, objs[3], objs[4], objs[5], objs[0], objs[2]); err != nil {
		return err
	}
	fmt.Fprintln(out, "[addons] Applied essential addon: CoreDNS")
	return nil
}

// ensureCorefile writes the coredns ConfigMap, unless one with a
// customized Corefile exists.
func ensureCorefile(client kubernetes.Interface, cm *corev1.ConfigMap, timeout time.Duration) error {
	return createOr(client.CoreV1().ConfigMaps(cm.Namespace), cm, applyOptions[*corev1.ConfigMap]{
		kind: "ConfigMap", timeout: timeout,
		onExisting: func(desired, existing *corev1.ConfigMap) (*corev1.ConfigMap, bool) {
			if c := existing.Data[constants.CorefileKey]; c != "" && !isDefaultCorefile(c) {
				return retain(desired, existing)
			}
			return replace(desired, existing)
		},
	})
}
