package kubelet

import (
	v1 "k8s.io/api/core/v1"
)

// StaticPods returns deep copies of the static pods the agent currently
// wants to run, with their kubernetes.io/config.* annotations. The node
// API side (package kubelet/podstatus) mirrors them into the API server.
func (a *Agent) StaticPods() []*v1.Pod {
	a.mu.Lock()
	defer a.mu.Unlock()
	return copyPods(a.static)
}

// Pods returns deep copies of every pod the agent wants to run: the
// static pods and the pods from the API server (the kubelet API's /pods).
func (a *Agent) Pods() []*v1.Pod {
	a.mu.Lock()
	defer a.mu.Unlock()
	return copyPods(a.desired)
}

func copyPods(pods []*v1.Pod) []*v1.Pod {
	out := make([]*v1.Pod, 0, len(pods))
	for _, p := range pods {
		out = append(out, p.DeepCopy())
	}
	return out
}
