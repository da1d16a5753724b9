package admission

import (
	"runtime"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

const nodeName = "node1"

func testNode(mut ...func(*v1.Node)) *v1.Node {
	n := &v1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: nodeName, Labels: map[string]string{"disk": "ssd", v1.LabelHostname: nodeName}},
		Status: v1.NodeStatus{Allocatable: v1.ResourceList{
			v1.ResourceCPU:              resource.MustParse("2"),
			v1.ResourceMemory:           resource.MustParse("4Gi"),
			v1.ResourcePods:             resource.MustParse("110"),
			v1.ResourceEphemeralStorage: resource.MustParse("10Gi"),
			"example.com/gpu":           resource.MustParse("2"),
		}},
	}
	for _, m := range mut {
		m(n)
	}
	return n
}

// testPod is an API pod with one container requesting req (name=quantity pairs).
func testPod(name string, req ...string) *v1.Pod {
	p := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("uid-" + name),
			Annotations: map[string]string{configSourceAnnotation: apiSource}},
		Spec: v1.PodSpec{NodeName: nodeName, Containers: []v1.Container{{Name: "c"}}},
	}
	p.Spec.Containers[0].Resources.Requests = list(req...)
	return p
}

func list(kv ...string) v1.ResourceList {
	if len(kv) == 0 {
		return nil
	}
	l := v1.ResourceList{}
	for i := 0; i+1 < len(kv); i += 2 {
		l[v1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return l
}

func withPort(p *v1.Pod, ip string, proto v1.Protocol, port int32) *v1.Pod {
	p.Spec.Containers[0].Ports = append(p.Spec.Containers[0].Ports, v1.ContainerPort{ContainerPort: 80, HostPort: port, HostIP: ip, Protocol: proto})
	return p
}

func TestAdmit(t *testing.T) {
	always := v1.ContainerRestartPolicyAlways
	otherOS := "windows"
	if runtime.GOOS == "windows" {
		otherOS = "linux"
	}
	tests := []struct {
		name     string
		pod      *v1.Pod
		node     *v1.Node
		admitted []*v1.Pod
		reason   string
		message  string
	}{
		{name: "fits", pod: testPod("p", "cpu", "1", "memory", "1Gi"), admitted: []*v1.Pod{testPod("a", "cpu", "500m")}},
		{
			name:     "out of cpu",
			pod:      testPod("p", "cpu", "3"),
			admitted: []*v1.Pod{testPod("a", "cpu", "450m")},
			reason:   "OutOfcpu",
			message:  "Pod was rejected: Node didn't have enough resource: cpu, requested: 3000, used: 450, capacity: 2000",
		},
		{
			name:     "out of memory with used",
			pod:      testPod("p", "memory", "3Gi"),
			admitted: []*v1.Pod{testPod("a", "memory", "2Gi")},
			reason:   "OutOfmemory",
			message:  "Pod was rejected: Node didn't have enough resource: memory, requested: 3221225472, used: 2147483648, capacity: 4294967296",
		},
		{
			name:    "out of ephemeral storage",
			pod:     testPod("p", "ephemeral-storage", "11Gi"),
			reason:  "OutOfephemeral-storage",
			message: "Pod was rejected: Node didn't have enough resource: ephemeral-storage, requested: 11811160064, used: 0, capacity: 10737418240",
		},
		{
			name:     "out of pods",
			pod:      testPod("p"),
			node:     testNode(func(n *v1.Node) { n.Status.Allocatable[v1.ResourcePods] = resource.MustParse("1") }),
			admitted: []*v1.Pod{testPod("a")},
			reason:   "OutOfpods",
			message:  "Pod was rejected: Node didn't have enough resource: pods, requested: 1, used: 1, capacity: 1",
		},
		{
			name:     "terminal pods and the pod itself do not count",
			pod:      testPod("p", "cpu", "2"),
			node:     testNode(func(n *v1.Node) { n.Status.Allocatable[v1.ResourcePods] = resource.MustParse("1") }),
			admitted: []*v1.Pod{func() *v1.Pod { p := testPod("a", "cpu", "1"); p.Status.Phase = v1.PodSucceeded; return p }(), testPod("p", "cpu", "2")},
		},
		{
			name:     "extended resource",
			pod:      testPod("p", "example.com/gpu", "2"),
			admitted: []*v1.Pod{testPod("a", "example.com/gpu", "1")},
			reason:   "OutOfexample.com/gpu",
			message:  "Pod was rejected: Node didn't have enough resource: example.com/gpu, requested: 2, used: 1, capacity: 2",
		},
		{name: "extended resource the node does not advertise is ignored", pod: testPod("p", "example.com/fpga", "1")},
		{
			name:    "hugepages the node lacks",
			pod:     testPod("p", "hugepages-2Mi", "2Mi"),
			reason:  "OutOfhugepages-2Mi",
			message: "Pod was rejected: Node didn't have enough resource: hugepages-2Mi, requested: 2097152, used: 0, capacity: 0",
		},
		{
			name: "init container max and sidecar sum",
			// effective cpu: max(init 1500m, sidecar 500m + app 1000m + overhead 100m) = 1600m
			pod: func() *v1.Pod {
				p := testPod("p", "cpu", "1")
				p.Spec.InitContainers = []v1.Container{
					{Name: "sidecar", RestartPolicy: &always, Resources: v1.ResourceRequirements{Requests: list("cpu", "500m")}},
				}
				p.Spec.Overhead = list("cpu", "100m")
				return p
			}(),
			admitted: []*v1.Pod{testPod("a", "cpu", "500m")},
			reason:   "OutOfcpu",
			message:  "Pod was rejected: Node didn't have enough resource: cpu, requested: 1600, used: 500, capacity: 2000",
		},
		{
			name: "init container larger than app",
			pod: func() *v1.Pod {
				p := testPod("p", "cpu", "100m")
				p.Spec.InitContainers = []v1.Container{{Name: "init", Resources: v1.ResourceRequirements{Requests: list("cpu", "2500m")}}}
				return p
			}(),
			reason:  "OutOfcpu",
			message: "Pod was rejected: Node didn't have enough resource: cpu, requested: 2500, used: 0, capacity: 2000",
		},
		{
			name: "node selector",
			pod: func() *v1.Pod {
				p := testPod("p")
				p.Spec.NodeSelector = map[string]string{"disk": "hdd"}
				return p
			}(),
			reason:  "NodeAffinity",
			message: "Pod was rejected: Predicate NodeAffinity failed: node(s) didn't match Pod's node affinity/selector",
		},
		{
			name: "required node affinity",
			pod: func() *v1.Pod {
				p := testPod("p")
				p.Spec.Affinity = &v1.Affinity{NodeAffinity: &v1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &v1.NodeSelector{
					NodeSelectorTerms: []v1.NodeSelectorTerm{{MatchExpressions: []v1.NodeSelectorRequirement{{Key: "disk", Operator: v1.NodeSelectorOpNotIn, Values: []string{"ssd"}}}}},
				}}}
				return p
			}(),
			reason:  "NodeAffinity",
			message: "Pod was rejected: Predicate NodeAffinity failed: node(s) didn't match Pod's node affinity/selector",
		},
		{
			name: "matching affinity by field and selector",
			pod: func() *v1.Pod {
				p := testPod("p")
				p.Spec.NodeSelector = map[string]string{"disk": "ssd"}
				p.Spec.Affinity = &v1.Affinity{NodeAffinity: &v1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &v1.NodeSelector{
					NodeSelectorTerms: []v1.NodeSelectorTerm{{MatchFields: []v1.NodeSelectorRequirement{{Key: "metadata.name", Operator: v1.NodeSelectorOpIn, Values: []string{nodeName}}}}},
				}}}
				return p
			}(),
		},
		{
			name:    "node name",
			pod:     func() *v1.Pod { p := testPod("p"); p.Spec.NodeName = "other"; return p }(),
			reason:  "NodeName",
			message: "Pod was rejected: Predicate NodeName failed: node(s) didn't match the requested node name",
		},
		{
			name:     "host port same ip",
			pod:      withPort(testPod("p"), "10.0.0.1", v1.ProtocolTCP, 8080),
			admitted: []*v1.Pod{withPort(testPod("a"), "10.0.0.1", "", 8080)},
			reason:   "NodePorts",
			message:  "Pod was rejected: Predicate NodePorts failed: node(s) didn't have free ports for the requested pod ports",
		},
		{
			name:     "host port wildcard taken",
			pod:      withPort(testPod("p"), "10.0.0.1", v1.ProtocolTCP, 8080),
			admitted: []*v1.Pod{withPort(testPod("a"), "", v1.ProtocolTCP, 8080)},
			reason:   "NodePorts",
			message:  "Pod was rejected: Predicate NodePorts failed: node(s) didn't have free ports for the requested pod ports",
		},
		{
			name:     "host port wildcard wanted",
			pod:      withPort(testPod("p"), "0.0.0.0", v1.ProtocolTCP, 8080),
			admitted: []*v1.Pod{withPort(testPod("a"), "10.0.0.2", v1.ProtocolTCP, 8080)},
			reason:   "NodePorts",
			message:  "Pod was rejected: Predicate NodePorts failed: node(s) didn't have free ports for the requested pod ports",
		},
		{
			name: "host port of a sidecar",
			pod:  withPort(testPod("p"), "", v1.ProtocolTCP, 9090),
			admitted: []*v1.Pod{func() *v1.Pod {
				p := testPod("a")
				p.Spec.InitContainers = []v1.Container{{Name: "s", RestartPolicy: &always, Ports: []v1.ContainerPort{{ContainerPort: 1, HostPort: 9090}}}}
				return p
			}()},
			reason:  "NodePorts",
			message: "Pod was rejected: Predicate NodePorts failed: node(s) didn't have free ports for the requested pod ports",
		},
		{
			name: "host ports that do not conflict",
			pod:  withPort(withPort(testPod("p"), "10.0.0.1", v1.ProtocolTCP, 8080), "", v1.ProtocolUDP, 53),
			admitted: []*v1.Pod{
				withPort(testPod("a"), "10.0.0.2", v1.ProtocolTCP, 8080),
				withPort(testPod("b"), "", v1.ProtocolTCP, 53),
				func() *v1.Pod { // a plain init container's port is released when it ends
					p := testPod("c")
					p.Spec.InitContainers = []v1.Container{{Name: "i", Ports: []v1.ContainerPort{{ContainerPort: 1, HostPort: 8080}}}}
					return p
				}(),
			},
		},
		{
			name:    "untolerated NoExecute taint",
			pod:     testPod("p"),
			node:    testNode(func(n *v1.Node) { n.Spec.Taints = []v1.Taint{{Key: "k", Value: "v", Effect: v1.TaintEffectNoExecute}} }),
			reason:  "TaintToleration",
			message: "Pod was rejected: Predicate TaintToleration failed: node(s) had taints that the pod didn't tolerate",
		},
		{
			name: "tolerated NoExecute and ignored NoSchedule taints",
			pod: func() *v1.Pod {
				p := testPod("p")
				p.Spec.Tolerations = []v1.Toleration{{Key: "k", Operator: v1.TolerationOpExists, Effect: v1.TaintEffectNoExecute}}
				return p
			}(),
			node: testNode(func(n *v1.Node) {
				n.Spec.Taints = []v1.Taint{{Key: "k", Value: "v", Effect: v1.TaintEffectNoExecute}, {Key: "node-role.kubernetes.io/control-plane", Effect: v1.TaintEffectNoSchedule}}
			}),
		},
		{
			name: "static pod ignores taints",
			pod:  func() *v1.Pod { p := testPod("p"); p.Annotations[configSourceAnnotation] = "file"; return p }(),
			node: testNode(func(n *v1.Node) { n.Spec.Taints = []v1.Taint{{Key: "k", Effect: v1.TaintEffectNoExecute}} }),
		},
		{
			name:    "os label",
			pod:     func() *v1.Pod { p := testPod("p"); p.Labels = map[string]string{v1.LabelOSStable: otherOS}; return p }(),
			reason:  "PodOSSelectorNodeLabelDoesNotMatch",
			message: "Pod was rejected: Failed to admit pod as the `kubernetes.io/os` label doesn't match node label",
		},
		{
			name:    "os field",
			pod:     func() *v1.Pod { p := testPod("p"); p.Spec.OS = &v1.PodOS{Name: v1.OSName(otherOS)}; return p }(),
			reason:  "PodOSNotSupported",
			message: "Pod was rejected: Failed to admit pod as the OS field doesn't match node OS",
		},
		{
			name: "os field and label matching",
			pod: func() *v1.Pod {
				p := testPod("p")
				p.Labels = map[string]string{v1.LabelOSStable: runtime.GOOS}
				p.Spec.OS = &v1.PodOS{Name: v1.OSName(runtime.GOOS)}
				return p
			}(),
		},
		{
			name: "strict supplemental groups unsupported",
			pod: func() *v1.Pod {
				p := testPod("p")
				strict := v1.SupplementalGroupsPolicyStrict
				p.Spec.SecurityContext = &v1.PodSecurityContext{SupplementalGroupsPolicy: &strict}
				return p
			}(),
			reason:  "SupplementalGroupsPolicyNotSupported",
			message: "Pod was rejected: SupplementalGroupsPolicy=Strict is not supported in this node",
		},
		{
			name:    "no node",
			pod:     testPod("p"),
			node:    (*v1.Node)(nil),
			reason:  "InvalidNodeInfo",
			message: "Pod was rejected: Kubelet cannot get node info.",
		},
		{
			name: "resources are reported before affinity",
			pod: func() *v1.Pod {
				p := testPod("p", "cpu", "3")
				p.Spec.NodeSelector = map[string]string{"disk": "hdd"}
				return p
			}(),
			reason:  "OutOfcpu",
			message: "Pod was rejected: Node didn't have enough resource: cpu, requested: 3000, used: 0, capacity: 2000",
		},
		{
			name:    "cpu is reported before memory",
			pod:     testPod("p", "memory", "5Gi", "cpu", "3"),
			reason:  "OutOfcpu",
			message: "Pod was rejected: Node didn't have enough resource: cpu, requested: 3000, used: 0, capacity: 2000",
		},
		{
			name: "critical pod still fails on affinity",
			pod: func() *v1.Pod {
				p := testPod("p", "cpu", "3")
				p.Annotations[configSourceAnnotation] = "file"
				p.Spec.NodeName = "other"
				return p
			}(),
			reason:  "NodeName",
			message: "Pod was rejected: Predicate NodeName failed: node(s) didn't match the requested node name",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			node := tt.node
			if node == nil && tt.reason != ReasonInvalidNodeInfo {
				node = testNode()
			}
			got := Admit(tt.pod, node, tt.admitted)
			want := Result{Admit: tt.reason == "", Reason: tt.reason, Message: tt.message}
			if got != want {
				t.Errorf("Admit:\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestAdmitCriticalOvercommits(t *testing.T) {
	for name, mut := range map[string]func(*v1.Pod){
		"static":   func(p *v1.Pod) { p.Annotations[configSourceAnnotation] = "file" },
		"priority": func(p *v1.Pod) { prio := int32(systemCriticalPriority); p.Spec.Priority = &prio },
	} {
		t.Run(name, func(t *testing.T) {
			p := testPod("p", "cpu", "3")
			mut(p)
			got := Admit(p, testNode(), nil)
			if !got.Admit || !got.Overcommitted || got.Reason != ReasonOutOfCPU {
				t.Errorf("critical pod short of cpu: got %+v, want admitted and overcommitted with reason OutOfcpu", got)
			}
		})
	}
	if got := Admit(testPod("p", "cpu", "1"), testNode(), nil); got.Overcommitted {
		t.Errorf("pod that fits: Overcommitted set: %+v", got)
	}
}

func TestEventMessage(t *testing.T) {
	r := Admit(testPod("p", "cpu", "3"), testNode(), nil)
	if want := "Node didn't have enough resource: cpu, requested: 3000, used: 0, capacity: 2000"; r.EventMessage() != want {
		t.Errorf("EventMessage = %q, want %q", r.EventMessage(), want)
	}
}
