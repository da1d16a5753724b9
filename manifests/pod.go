// Package manifests renders the static-pod manifests of the control plane
// (etcd, kube-apiserver, kube-controller-manager, kube-scheduler) exactly as
// kubeadm v1.37.2 does, applies kubeadm-style --patches to them, and renders
// the files kubeadm's kubelet-start phase writes.
//
// Rendering is pure: everything a renderer would read from the host (the
// environment for *_proxy variables, which CA-trust directories exist, whether
// the CA is external) is carried by a Renderer. Writing is separate
// (WriteStaticPod, WriteKubeletFiles) and goes through fsutil.WriteFileAtomic.
package manifests

import (
	"math"
	"os"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/kubeadmin/kubeadmin/internal/config"
	"github.com/kubeadmin/kubeadmin/internal/constants"
)

// controlPlaneTier is the value of the "tier" label of every static pod.
const controlPlaneTier = "control-plane"

// Renderer carries the host facts that kubeadm reads while rendering, so
// that rendering itself stays pure and testable.
type Renderer struct {
	// ExternalCA is true when ca.crt exists without ca.key; the
	// controller-manager then gets empty cluster-signing flags.
	ExternalCA bool
	// Environ is the environment ("NAME=value") whose *_proxy variables are
	// passed to the API server, controller-manager and scheduler.
	Environ []string
	// Exists reports whether a host path exists; it decides which
	// CA-trust directories are mounted. nil means nothing exists.
	Exists func(path string) bool
}

// Host returns a Renderer that reads the real environment and file system
// and assumes the CA is not external.
func Host() Renderer {
	return Renderer{Environ: os.Environ(), Exists: statExists}
}

func statExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func (r Renderer) exists(path string) bool {
	return r.Exists != nil && r.Exists(path)
}

// componentPod wraps one container into kubeadm's common static-pod shape.
func componentPod(c corev1.Container, volumes []corev1.Volume, annotations map[string]string) *corev1.Pod {
	priority := int32(constants.SystemNodeCriticalPriority)
	return &corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        c.Name,
			Namespace:   constants.KubeSystemNamespace,
			Labels:      map[string]string{"component": c.Name, "tier": controlPlaneTier},
			Annotations: annotations,
		},
		Spec: corev1.PodSpec{
			Containers:        []corev1.Container{c},
			Priority:          &priority,
			PriorityClassName: constants.SystemNodeCriticalPriorityClass,
			HostNetwork:       true,
			Volumes:           volumes,
			SecurityContext: &corev1.PodSecurityContext{
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
			},
		},
	}
}

// cpuRequest returns resource requests of the given CPU amount.
func cpuRequest(cpu string) corev1.ResourceRequirements {
	return corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu)},
	}
}

func probePort(port int32) []corev1.ContainerPort {
	return []corev1.ContainerPort{{Name: constants.ProbePortName, ContainerPort: port, Protocol: corev1.ProtocolTCP}}
}

func livenessProbe(host, path string, scheme corev1.URIScheme) *corev1.Probe {
	return httpProbe(host, path, scheme, 10, 15, 8, 10)
}

func readinessProbe(host, path string, scheme corev1.URIScheme) *corev1.Probe {
	return httpProbe(host, path, scheme, 0, 15, 3, 1)
}

// startupProbe gives the component the whole control-plane health-check
// timeout to come up: failureThreshold = ceil(timeout / period).
func startupProbe(host, path string, scheme corev1.URIScheme, timeout time.Duration) *corev1.Probe {
	period := constants.StartupProbePeriod
	threshold := int32(math.Ceil(timeout.Seconds() / period.Seconds()))
	p := int32(period.Seconds())
	return httpProbe(host, path, scheme, p, 15, threshold, p)
}

func httpProbe(host, path string, scheme corev1.URIScheme, initialDelay, timeout, failureThreshold, period int32) *corev1.Probe {
	return &corev1.Probe{
		ProbeHandler: corev1.ProbeHandler{
			HTTPGet: &corev1.HTTPGetAction{
				Host:   host,
				Path:   path,
				Port:   intstr.FromString(constants.ProbePortName),
				Scheme: scheme,
			},
		},
		InitialDelaySeconds: initialDelay,
		TimeoutSeconds:      timeout,
		FailureThreshold:    failureThreshold,
		PeriodSeconds:       period,
	}
}

// probeAddress turns a bind address into a probe host: an unspecified
// address cannot be probed, so it becomes "" (the kubelet then uses the pod
// IP).
func probeAddress(addr string) string {
	if addr == "0.0.0.0" || addr == "::" {
		return ""
	}
	return addr
}

// healthCheckTimeout is the controlPlaneComponentHealthCheck timeout of cfg,
// or kubeadm's default.
func healthCheckTimeout(cfg *config.InitConfig) time.Duration {
	if t := cfg.Init.Timeouts; t != nil && t.ControlPlaneComponentHealthCheck != nil {
		return t.ControlPlaneComponentHealthCheck.Duration
	}
	return constants.ControlPlaneComponentHealthCheckTimeout
}

// ProxyEnvVars returns every variable of environ whose name ends in
// "_proxy" (any case) and whose value is not empty, in environ order.
func ProxyEnvVars(environ []string) []config.EnvVar {
	var envs []config.EnvVar
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || value == "" || !strings.HasSuffix(strings.ToLower(name), "_proxy") {
			continue
		}
		envs = append(envs, config.EnvVar{EnvVar: corev1.EnvVar{Name: name, Value: value}})
	}
	return envs
}

// mergeEnvVars merges lists of variables, later lists winning by name, and
// returns them sorted by name. It returns a non-nil empty slice when there
// are none (serialized as no env key at all).
func mergeEnvVars(lists ...[]config.EnvVar) []corev1.EnvVar {
	byName := map[string]corev1.EnvVar{}
	for _, list := range lists {
		for _, e := range list {
			byName[e.Name] = e.EnvVar
		}
	}
	merged := make([]corev1.EnvVar, 0, len(byName))
	for _, e := range byName {
		merged = append(merged, e)
	}
	sort.Slice(merged, func(i, j int) bool { return merged[i].Name < merged[j].Name })
	return merged
}
