// Package admission decides whether the node agent may run a pod bound to
// its node, with the reasons and messages the upstream kubelet puts on a
// rejected pod. It is pure: the caller passes the node and the pods it has
// already admitted.
//
// Checks, in upstream order (the first failure is the one reported):
//  1. the pod's kubernetes.io/os label and spec.os against this OS;
//  2. supplementalGroupsPolicy Strict against the node's features;
//  3. resources: pod count, cpu, memory, ephemeral-storage, hugepages and
//     extended resources the node advertises, against allocatable minus the
//     requests of the admitted pods;
//  4. required node affinity and nodeSelector;
//  5. spec.nodeName;
//  6. host ports;
//  7. NoExecute taints the pod does not tolerate (not for static pods).
//
// Critical pods (static, mirror, or priority >= system-critical) are not
// rejected for resources alone: upstream evicts other pods to make room and
// then admits them. We admit them and set Result.Overcommitted; evicting
// others is left to the caller.
package admission

import (
	"fmt"
	"runtime"
	"slices"
	"strings"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
	resourcehelper "k8s.io/component-helpers/resource"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"
	"k8s.io/klog/v2"
)

// Reasons, as upstream sets them in status.reason of a rejected pod.
const (
	ReasonOSSelector            = "PodOSSelectorNodeLabelDoesNotMatch"
	ReasonOSNotSupported        = "PodOSNotSupported"
	ReasonSupplementalGroups    = "SupplementalGroupsPolicyNotSupported"
	ReasonInvalidNodeInfo       = "InvalidNodeInfo"
	ReasonNodeAffinity          = "NodeAffinity"
	ReasonNodeName              = "NodeName"
	ReasonNodePorts             = "NodePorts"
	ReasonTaintToleration       = "TaintToleration"
	ReasonOutOfCPU              = "OutOfcpu"
	ReasonOutOfMemory           = "OutOfmemory"
	ReasonOutOfEphemeralStorage = "OutOfephemeral-storage"
	ReasonOutOfPods             = "OutOfpods"
	// ReasonOutOfPrefix + resource name is the reason for any other resource.
	ReasonOutOfPrefix = "OutOf"
)

// RejectedPrefix starts status.message of a rejected pod; the event of the
// rejection carries the message without it.
const RejectedPrefix = "Pod was rejected: "

// Pod annotations and labels the checks read.
const (
	configSourceAnnotation = "kubernetes.io/config.source"
	configMirrorAnnotation = "kubernetes.io/config.mirror"
	apiSource              = "api"
	// systemCriticalPriority is scheduling.SystemCriticalPriority.
	systemCriticalPriority = 2_000_000_000
)

// Descriptions of the scheduler plugins' failures, as upstream words them.
const (
	descNodeAffinity = "node(s) didn't match Pod's node affinity/selector"
	descNodeName     = "node(s) didn't match the requested node name"
	descNodePorts    = "node(s) didn't have free ports for the requested pod ports"
	descTaints       = "node(s) had taints that the pod didn't tolerate"
)

// Result is the admission decision. Reason and Message are status.reason
// and status.message of the pod when Admit is false.
type Result struct {
	Admit           bool
	Reason, Message string
	// Overcommitted: a critical pod admitted although the node lacks the
	// resources in Reason/Message (upstream would evict other pods first).
	Overcommitted bool
}

// EventMessage is the message of the rejection event (without RejectedPrefix).
func (r Result) EventMessage() string {
	return strings.TrimPrefix(r.Message, RejectedPrefix)
}

func reject(reason, msg string) Result {
	return Result{Reason: reason, Message: RejectedPrefix + msg}
}

func predicateFailed(name, desc string) Result {
	return reject(name, fmt.Sprintf("Predicate %s failed: %s", name, desc))
}

// Admit decides whether pod may run on node next to admitted, the pods
// already admitted there (terminal ones and pod itself are ignored).
func Admit(pod *v1.Pod, node *v1.Node, admitted []*v1.Pod) Result {
	if node == nil {
		return reject(ReasonInvalidNodeInfo, "Kubelet cannot get node info.")
	}
	if os, ok := pod.Labels[v1.LabelOSStable]; ok && os != runtime.GOOS {
		return reject(ReasonOSSelector, "Failed to admit pod as the `kubernetes.io/os` label doesn't match node label")
	}
	if pod.Spec.OS != nil && string(pod.Spec.OS.Name) != runtime.GOOS {
		return reject(ReasonOSNotSupported, "Failed to admit pod as the OS field doesn't match node OS")
	}
	if strictGroupsUnsupported(pod, node) {
		return reject(ReasonSupplementalGroups, fmt.Sprintf("SupplementalGroupsPolicy=%s is not supported in this node", v1.SupplementalGroupsPolicyStrict))
	}

	others := make([]*v1.Pod, 0, len(admitted))
	for _, p := range admitted {
		if p == nil || p.UID == pod.UID || p.Status.Phase == v1.PodSucceeded || p.Status.Phase == v1.PodFailed {
			continue
		}
		others = append(others, p)
	}

	short := insufficient(pod, node, others)
	var failures []Result
	if !requiredAffinityMatches(pod, node) {
		failures = append(failures, predicateFailed(ReasonNodeAffinity, descNodeAffinity))
	}
	if pod.Spec.NodeName != "" && pod.Spec.NodeName != node.Name {
		failures = append(failures, predicateFailed(ReasonNodeName, descNodeName))
	}
	if portsConflict(pod, others) {
		failures = append(failures, predicateFailed(ReasonNodePorts, descNodePorts))
	}
	if !isStatic(pod) && untoleratedNoExecute(pod, node) {
		failures = append(failures, predicateFailed(ReasonTaintToleration, descTaints))
	}

	if isCritical(pod) {
		// Resource shortfalls do not count for a critical pod.
		if len(failures) > 0 {
			return failures[0]
		}
		if len(short) > 0 {
			r := short[0].result()
			return Result{Admit: true, Reason: r.Reason, Message: r.Message, Overcommitted: true}
		}
		return Result{Admit: true}
	}
	if len(short) > 0 {
		return short[0].result()
	}
	if len(failures) > 0 {
		return failures[0]
	}
	return Result{Admit: true}
}

// isStatic: the pod came from a file or URL, not the API server.
func isStatic(pod *v1.Pod) bool {
	src, ok := pod.Annotations[configSourceAnnotation]
	return ok && src != apiSource
}

func isCritical(pod *v1.Pod) bool {
	if isStatic(pod) {
		return true
	}
	if _, ok := pod.Annotations[configMirrorAnnotation]; ok {
		return true
	}
	return pod.Spec.Priority != nil && *pod.Spec.Priority >= systemCriticalPriority
}

func strictGroupsUnsupported(pod *v1.Pod, node *v1.Node) bool {
	sc := pod.Spec.SecurityContext
	if sc == nil || sc.SupplementalGroupsPolicy == nil || *sc.SupplementalGroupsPolicy != v1.SupplementalGroupsPolicyStrict {
		return false
	}
	f := node.Status.Features
	return f == nil || f.SupplementalGroupsPolicy == nil || !*f.SupplementalGroupsPolicy
}

func requiredAffinityMatches(pod *v1.Pod, node *v1.Node) bool {
	ok, _ := nodeaffinity.GetRequiredNodeAffinity(pod).Match(node)
	return ok
}

// untoleratedNoExecute: the kubelet only looks at NoExecute taints; the
// comparison-operator tolerations are an alpha feature, off upstream.
func untoleratedNoExecute(pod *v1.Pod, node *v1.Node) bool {
	_, bad := corev1helpers.FindMatchingUntoleratedTaint(klog.Background(), node.Spec.Taints, pod.Spec.Tolerations, func(t *v1.Taint) bool {
		return t.Effect == v1.TaintEffectNoExecute
	}, false)
	return bad
}

// shortfall is one resource the node lacks for the pod.
type shortfall struct {
	name                      v1.ResourceName
	requested, used, capacity int64
}

func (s shortfall) result() Result {
	reason := ReasonOutOfPrefix + string(s.name)
	return reject(reason, fmt.Sprintf("Node didn't have enough resource: %s, requested: %d, used: %d, capacity: %d",
		s.name, s.requested, s.used, s.capacity))
}

// amounts are resources in the units upstream compares: millicores for cpu,
// plain values for the rest.
type amounts map[v1.ResourceName]int64

func (a amounts) add(rl v1.ResourceList) {
	for name, q := range rl {
		if counted(name) {
			a[name] += value(name, q)
		}
	}
}

func value(name v1.ResourceName, q resource.Quantity) int64 {
	if name == v1.ResourceCPU {
		return q.MilliValue()
	}
	return q.Value()
}

// counted: the resources the fit check compares (the scheduler's native and
// scalar resources).
func counted(name v1.ResourceName) bool {
	switch name {
	case v1.ResourceCPU, v1.ResourceMemory, v1.ResourceEphemeralStorage:
		return true
	}
	s := string(name)
	return strings.HasPrefix(s, v1.ResourceHugePagesPrefix) ||
		strings.HasPrefix(s, v1.ResourceAttachableVolumesPrefix) ||
		strings.Contains(s, v1.ResourceDefaultNamespacePrefix) ||
		isExtended(name)
}

// isExtended: a qualified resource name outside the kubernetes.io namespace.
func isExtended(name v1.ResourceName) bool {
	s := string(name)
	if !strings.Contains(s, "/") || strings.Contains(s, v1.ResourceDefaultNamespacePrefix) || strings.HasPrefix(s, v1.DefaultResourceRequestsPrefix) {
		return false
	}
	return len(validation.IsQualifiedName(v1.DefaultResourceRequestsPrefix+s)) == 0
}

// insufficient lists what the node lacks for pod, in upstream's order: pods,
// cpu, memory, ephemeral-storage, then the others (sorted here, where
// upstream's order is a map's).
func insufficient(pod *v1.Pod, node *v1.Node, others []*v1.Pod) []shortfall {
	alloc := node.Status.Allocatable
	var out []shortfall
	maxPods := alloc.Pods().Value()
	if int64(len(others))+1 > maxPods {
		out = append(out, shortfall{v1.ResourcePods, 1, int64(len(others)), maxPods})
	}

	want := amounts{}
	want.add(resourcehelper.PodRequests(withoutUnknownExtended(pod, alloc), resourcehelper.PodResourcesOptions{}))
	for name, v := range want {
		if v == 0 {
			delete(want, name)
		}
	}
	if len(want) == 0 {
		return out
	}
	used := amounts{}
	for _, p := range others {
		used.add(resourcehelper.PodRequests(p, resourcehelper.PodResourcesOptions{
			UseStatusResources: true,
			InPlacePodLevelResourcesVerticalScalingEnabled: true,
		}))
	}
	capacity := amounts{}
	capacity.add(alloc)

	names := make([]v1.ResourceName, 0, len(want))
	for name := range want {
		names = append(names, name)
	}
	rank := func(n v1.ResourceName) int {
		switch n {
		case v1.ResourceCPU:
			return 0
		case v1.ResourceMemory:
			return 1
		case v1.ResourceEphemeralStorage:
			return 2
		}
		return 3
	}
	slices.SortFunc(names, func(a, b v1.ResourceName) int {
		if d := rank(a) - rank(b); d != 0 {
			return d
		}
		return strings.Compare(string(a), string(b))
	})
	for _, name := range names {
		if want[name] > capacity[name]-used[name] {
			out = append(out, shortfall{name, want[name], used[name], capacity[name]})
		}
	}
	return out
}

// withoutUnknownExtended drops container requests of extended resources the
// node does not advertise, as upstream does so that cluster-level resources
// do not block admission.
func withoutUnknownExtended(pod *v1.Pod, alloc v1.ResourceList) *v1.Pod {
	drop := func(cs []v1.Container) bool {
		for _, c := range cs {
			for name := range c.Resources.Requests {
				if _, ok := alloc[name]; !ok && isExtended(name) {
					return true
				}
			}
		}
		return false
	}
	if !drop(pod.Spec.Containers) && !drop(pod.Spec.InitContainers) {
		return pod
	}
	cp := pod.DeepCopy()
	for _, cs := range [][]v1.Container{cp.Spec.Containers, cp.Spec.InitContainers} {
		for i := range cs {
			for name := range cs[i].Resources.Requests {
				if _, ok := alloc[name]; !ok && isExtended(name) {
					delete(cs[i].Resources.Requests, name)
				}
			}
		}
	}
	return cp
}

// hostPort is a port bound on the node; an empty IP is 0.0.0.0.
type hostPort struct {
	ip, protocol string
	port         int32
}

const anyIP = "0.0.0.0"

// hostPorts are the host ports of the pod's containers and sidecars (init
// containers that run to completion do not hold theirs).
func hostPorts(pod *v1.Pod) []hostPort {
	var out []hostPort
	add := func(c *v1.Container) {
		for _, p := range c.Ports {
			if p.HostPort <= 0 {
				continue
			}
			hp := hostPort{p.HostIP, string(p.Protocol), p.HostPort}
			if hp.ip == "" {
				hp.ip = anyIP
			}
			if hp.protocol == "" {
				hp.protocol = string(v1.ProtocolTCP)
			}
			out = append(out, hp)
		}
	}
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		if c.RestartPolicy != nil && *c.RestartPolicy == v1.ContainerRestartPolicyAlways {
			add(c)
		}
	}
	for i := range pod.Spec.Containers {
		add(&pod.Spec.Containers[i])
	}
	return out
}

// portsConflict: a wanted port is taken on the same IP, or either side binds
// 0.0.0.0, for the same protocol and port. Our own code: the scheduler's
// HostPortInfo lives in k8s.io/kube-scheduler, a dependency for ten lines.
func portsConflict(pod *v1.Pod, others []*v1.Pod) bool {
	want := hostPorts(pod)
	if len(want) == 0 {
		return false
	}
	for _, o := range others {
		for _, u := range hostPorts(o) {
			for _, w := range want {
				if w.port == u.port && w.protocol == u.protocol &&
					(w.ip == u.ip || w.ip == anyIP || u.ip == anyIP) {
					return true
				}
			}
		}
	}
	return false
}
