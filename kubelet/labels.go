package kubelet

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
	labelPodName      = "io.kubernetes.pod.name"
	labelPodNamespace = "io.kubernetes.pod.namespace"
	labelPodUID       = "io.kubernetes.pod.uid"
	labelContainer    = "io.kubernetes.container.name"
	labelNode         = constants.KubeletNodeLabel

	annoHash                = "io.kubernetes.container.hash"
	annoRestartCount        = "io.kubernetes.container.restartCount"
	annoTermMessagePath     = "io.kubernetes.container.terminationMessagePath"
	annoTermMessagePolicy   = "io.kubernetes.container.terminationMessagePolicy"
	annoPodTerminationGrace = "io.kubernetes.pod.terminationGracePeriod"
	annoPodDeletionGrace    = "io.kubernetes.pod.deletionGracePeriod"
	annoPreStop             = "io.kubernetes.container.preStopHandler"
	annoPorts               = "io.kubernetes.container.ports"
	annoContainerType       = "io.kubernetes.container.type"
)

// Values of annoContainerType.
const (
	containerTypeInit    = "init"
	containerTypeRegular = "container"
)

func sandboxLabels(pod *v1.Pod, node string) map[string]string {
	l := map[string]string{}
	for k, v := range pod.Labels {
		l[k] = v
	}
	l[labelPodName] = pod.Name
	l[labelPodNamespace] = pod.Namespace
	l[labelPodUID] = string(pod.UID)
	l[labelNode] = node
	return l
}

func containerLabels(pod *v1.Pod, c *v1.Container, node string) map[string]string {
	return map[string]string{
		labelPodName:      pod.Name,
		labelPodNamespace: pod.Namespace,
		labelPodUID:       string(pod.UID),
		labelContainer:    c.Name,
		labelNode:         node,
	}
}

func containerAnnotations(pod *v1.Pod, c *v1.Container, restartCount int, init bool) map[string]string {
	a := map[string]string{
		annoHash:              containerHash(c),
		annoRestartCount:      strconv.Itoa(restartCount),
		annoTermMessagePath:   c.TerminationMessagePath,
		annoTermMessagePolicy: string(c.TerminationMessagePolicy),
		annoContainerType:     containerTypeRegular,
	}
	if init {
		a[annoContainerType] = containerTypeInit
	}
	if g := pod.Spec.TerminationGracePeriodSeconds; g != nil {
		a[annoPodTerminationGrace] = strconv.FormatInt(*g, 10)
	}
	if g := pod.DeletionGracePeriodSeconds; g != nil {
		a[annoPodDeletionGrace] = strconv.FormatInt(*g, 10)
	}
	if c.Lifecycle != nil && c.Lifecycle.PreStop != nil {
		if raw, err := json.Marshal(c.Lifecycle.PreStop); err == nil {
			a[annoPreStop] = string(raw)
		}
	}
	if len(c.Ports) > 0 {
		if raw, err := json.Marshal(c.Ports); err == nil {
			a[annoPorts] = string(raw)
		}
	}
	return a
}

// containerHash is an FNV-32a hash of the whole container spec, in hex: a
// running container whose hash differs from its spec is replaced.
func containerHash(c *v1.Container) string {
	data, _ := json.Marshal(c)
	h := fnv.New32a()
	h.Write(data)
	return strconv.FormatUint(uint64(h.Sum32()), 16)
}
