package kuberuntime

import (
	"encoding/json"
	"hash/fnv"
	"strconv"

	v1 "k8s.io/api/core/v1"

	"github.com/kubeadmin/kubeadmin/internal/constants"
)

// Labels and annotations on sandboxes and containers, as the upstream
// kubelet sets them (pkg/kubelet/kuberuntime/labels.go), plus the agent's
// node label.
const (
	LabelPodName      = "io.kubernetes.pod.name"
	LabelPodNamespace = "io.kubernetes.pod.namespace"
	LabelPodUID       = "io.kubernetes.pod.uid"
	LabelContainer    = "io.kubernetes.container.name"
	LabelNode         = constants.KubeletNodeLabel

	AnnotationHash                = "io.kubernetes.container.hash"
	AnnotationRestartCount        = "io.kubernetes.container.restartCount"
	AnnotationTermMessagePath     = "io.kubernetes.container.terminationMessagePath"
	AnnotationTermMessagePolicy   = "io.kubernetes.container.terminationMessagePolicy"
	AnnotationPodTerminationGrace = "io.kubernetes.pod.terminationGracePeriod"
	AnnotationPodDeletionGrace    = "io.kubernetes.pod.deletionGracePeriod"
	AnnotationPreStop             = "io.kubernetes.container.preStopHandler"
	AnnotationPorts               = "io.kubernetes.container.ports"
	AnnotationContainerType       = "io.kubernetes.container.type"
)

// Values of AnnotationContainerType.
const (
	ContainerTypeInit    = "init"
	ContainerTypeRegular = "container"
)

func sandboxLabels(pod *v1.Pod, node string) map[string]string {
	l := map[string]string{}
	for k, v := range pod.Labels {
		l[k] = v
	}
	l[LabelPodName] = pod.Name
	l[LabelPodNamespace] = pod.Namespace
	l[LabelPodUID] = string(pod.UID)
	l[LabelNode] = node
	return l
}

func containerLabels(pod *v1.Pod, c *v1.Container, node string) map[string]string {
	return map[string]string{
		LabelPodName:      pod.Name,
		LabelPodNamespace: pod.Namespace,
		LabelPodUID:       string(pod.UID),
		LabelContainer:    c.Name,
		LabelNode:         node,
	}
}

func containerAnnotations(pod *v1.Pod, c *v1.Container, restartCount int, init bool) map[string]string {
	a := map[string]string{
		AnnotationHash:              ContainerHash(c),
		AnnotationRestartCount:      strconv.Itoa(restartCount),
		AnnotationTermMessagePath:   c.TerminationMessagePath,
		AnnotationTermMessagePolicy: string(c.TerminationMessagePolicy),
		AnnotationContainerType:     ContainerTypeRegular,
	}
	if init {
		a[AnnotationContainerType] = ContainerTypeInit
	}
	if g := pod.Spec.TerminationGracePeriodSeconds; g != nil {
		a[AnnotationPodTerminationGrace] = strconv.FormatInt(*g, 10)
	}
	if g := pod.DeletionGracePeriodSeconds; g != nil {
		a[AnnotationPodDeletionGrace] = strconv.FormatInt(*g, 10)
	}
	if c.Lifecycle != nil && c.Lifecycle.PreStop != nil {
		if raw, err := json.Marshal(c.Lifecycle.PreStop); err == nil {
			a[AnnotationPreStop] = string(raw)
		}
	}
	if len(c.Ports) > 0 {
		if raw, err := json.Marshal(c.Ports); err == nil {
			a[AnnotationPorts] = string(raw)
		}
	}
	return a
}

// containerHash is an FNV-32a hash of the whole container spec, in hex: a
// running container whose hash differs from its spec is replaced.
func ContainerHash(c *v1.Container) string {
	data, _ := json.Marshal(c)
	h := fnv.New32a()
	h.Write(data)
	return strconv.FormatUint(uint64(h.Sum32()), 16)
}
