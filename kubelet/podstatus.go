package kubelet

import (
	"time"

	v1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kubeadmin/kubeadmin/kubelet/status"
)

// publish computes the pod's status from the runtime view and stores it.
func (w *podWorker) publish(pod *v1.Pod, rp *runtimePod, _ bool) {
	s := status.Pod{Name: pod.Name, Namespace: pod.Namespace, UID: string(pod.UID), Containers: []status.Container{}}
	if w.refusal != "" {
		s.Reason, s.Message = reasonConfigError, w.refusal
	}
	w.a.mu.Lock()
	s.File = w.a.files[string(pod.UID)]
	w.a.mu.Unlock()
	sb := rp.readySandbox()
	if sb != nil && w.volumes == nil && len(rp.containers) == 0 {
		// Started beside volumes that are not set up yet: until they are,
		// the pod is not ready to start containers and has no IP, as
		// when its sandbox waits for them.
		sb = nil
	}
	if sb != nil {
		s.SandboxID = sb.GetId()
		if pod.Spec.HostNetwork {
			s.PodIP = w.a.opts.NodeIP
		} else {
			s.PodIP = w.podIPs[sb.GetId()]
		}
	}
	initDone := true
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		cs := w.containerStatus(c, rp, sb, true)
		if cs.State != status.StateTerminated || cs.ExitCode == nil || *cs.ExitCode != 0 {
			if !(c.RestartPolicy != nil && cs.State == status.StateRunning) {
				initDone = false
			}
		}
		s.Containers = append(s.Containers, cs)
	}
	anyRunning, allDone, allOK := false, true, true
	for i := range pod.Spec.Containers {
		cs := w.containerStatus(&pod.Spec.Containers[i], rp, sb, false)
		if !initDone && cs.State == status.StateWaiting && cs.Reason == reasonCreating {
			cs.Reason = reasonPodInitializing
		}
		if cs.State == status.StateRunning {
			anyRunning = true
		}
		if cs.State != status.StateTerminated {
			allDone = false
		} else if cs.ExitCode == nil || *cs.ExitCode != 0 {
			allOK = false
		}
		s.Containers = append(s.Containers, cs)
	}
	switch {
	case w.completed(pod, rp) && allDone && allOK:
		s.Phase = string(v1.PodSucceeded)
	case w.completed(pod, rp):
		s.Phase = string(v1.PodFailed)
	case anyRunning || (initDone && sb != nil && rp.latest(pod.Spec.Containers[0].Name) != nil):
		s.Phase = string(v1.PodRunning)
	default:
		s.Phase = string(v1.PodPending)
	}
	if w.ended != nil {
		s.Phase, s.Reason, s.Message = string(v1.PodFailed), w.ended.reason, w.ended.message
	}
	w.a.setPodStatus(w.uid, s)
}

// containerStatus describes the newest instance of c (in the current
// sandbox if there is one) and the exit of the one before.
func (w *podWorker) containerStatus(c *v1.Container, rp *runtimePod, sb *runtimeapi.PodSandbox, init bool) status.Container {
	cs := status.Container{Name: c.Name, Init: init, Image: c.Image, State: status.StateWaiting, Reason: reasonCreating}
	var instances []*containerInfo
	for _, ci := range rp.containers {
		if ci.name == c.Name {
			instances = append(instances, ci)
		}
	}
	if len(instances) == 0 {
		if wr, ok := w.waiting[c.Name]; ok {
			cs.Reason, cs.Message = wr.reason, wr.message
		}
		return cs
	}
	latest := instances[0]
	if sb != nil && latest.sandboxID != sb.GetId() {
		// The current sandbox has no instance yet.
		cs.RestartCount = int32(latest.restartCount)
		setLast(&cs, latest)
		if wr, ok := w.waiting[c.Name]; ok {
			cs.Reason, cs.Message = wr.reason, wr.message
		}
		return cs
	}
	cs.ID = latest.id
	cs.ImageID = latest.status.GetImageRef()
	cs.RestartCount = int32(latest.restartCount)
	if len(instances) > 1 {
		setLast(&cs, instances[1])
	}
	switch latest.state {
	case runtimeapi.ContainerState_CONTAINER_RUNNING:
		cs.State, cs.Reason = status.StateRunning, ""
		if ns := latest.status.GetStartedAt(); ns > 0 {
			t := time.Unix(0, ns).UTC()
			cs.StartedAt = &t
		}
		ps := w.a.probes.state(latest.id, c)
		cs.Started, cs.Ready = ps.started, ps.ready && ps.started
	case runtimeapi.ContainerState_CONTAINER_CREATED:
	default:
		code, reason := exitOf(latest)
		cs.State, cs.Reason, cs.ExitCode = status.StateTerminated, reason, code
		cs.Message = latest.status.GetMessage()
		cs.StartedAt, cs.FinishedAt = nanoTime(latest.status.GetStartedAt()), nanoTime(latest.status.GetFinishedAt())
		if wr, ok := w.waiting[c.Name]; ok {
			// Waiting to be restarted: show the exit as the last state.
			cs.State, cs.Reason, cs.Message = status.StateWaiting, wr.reason, wr.message
			cs.ExitCode, cs.StartedAt, cs.FinishedAt = nil, nil, nil
			setLast(&cs, latest)
		}
	}
	return cs
}

// setLast describes ci as the previous instance of cs.
func setLast(cs *status.Container, ci *containerInfo) {
	cs.LastExitCode, cs.LastReason = exitOf(ci)
	if cs.LastExitCode != nil {
		cs.LastID = ci.id
		cs.LastStartedAt, cs.LastFinishedAt = nanoTime(ci.status.GetStartedAt()), nanoTime(ci.status.GetFinishedAt())
	}
}

// nanoTime is a runtime timestamp, nil when unset.
func nanoTime(ns int64) *time.Time {
	if ns <= 0 {
		return nil
	}
	t := time.Unix(0, ns).UTC()
	return &t
}

// exitOf is the exit code and reason of a dead instance.
func exitOf(ci *containerInfo) (*int32, string) {
	if ci.state != runtimeapi.ContainerState_CONTAINER_EXITED && ci.state != runtimeapi.ContainerState_CONTAINER_UNKNOWN {
		return nil, ""
	}
	code := ci.exitCode()
	reason := ci.status.GetReason()
	if reason == "" {
		reason = "Error"
		if code == 0 {
			reason = "Completed"
		}
	}
	return &code, reason
}
