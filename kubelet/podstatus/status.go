package podstatus

import (
	"context"
	"fmt"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeadmin/kubeadmin/kubelet/status"
)

// syncPodStatuses writes the status of every static pod into its mirror
// pod when it differs from what the mirror shows.
func (s *syncer) syncPodStatuses(ctx context.Context, rep *status.Report, pods []*v1.Pod, existing map[string]*v1.Pod, m *mirrors) error {
	ctx, cancel := context.WithTimeout(ctx, apiCallTimeout)
	defer cancel()
	byUID := reportByUID(rep)
	runtimeName := s.node.RuntimeName()
	var errs []string
	for _, sp := range pods {
		key := podKey(sp)
		mirror := currentMirror(sp, existing, m)
		rp, ok := byUID[string(sp.UID)]
		if mirror == nil || !ok {
			continue
		}
		st := PodStatus(sp, rp, mirror.Status, s.opts.NodeIP, runtimeName, s.opts.Now())
		if apiequality.Semantic.DeepEqual(st, mirror.Status) {
			continue
		}
		upd := mirror.DeepCopy()
		upd.Status = st
		res, err := s.opts.Client.CoreV1().Pods(sp.Namespace).UpdateStatus(ctx, upd, metav1.UpdateOptions{})
		if err != nil {
			if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
				delete(m.byKey, key)
			}
			errs = append(errs, fmt.Sprintf("failed to update the status of the mirror pod %q: %v", key, err))
			continue
		}
		m.byKey[key] = res
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// seconds truncates t to the API's time precision so that a status read
// back compares equal.
func seconds(t time.Time) metav1.Time { return metav1.NewTime(t.Truncate(time.Second)) }

// PodStatus is the API status of the static pod spec as the agent reports
// it in rp, starting from old (the mirror's current status) so that fields
// the agent does not own (qosClass, ...) and unchanged condition times
// are kept. nodeIP is the host IP (and the pod IP of hostNetwork pods);
// runtimeName prefixes container IDs.
func PodStatus(spec *v1.Pod, rp status.Pod, old v1.PodStatus, nodeIP, runtimeName string, now time.Time) v1.PodStatus {
	st := *old.DeepCopy()
	switch rp.Phase {
	case string(v1.PodPending), string(v1.PodRunning), string(v1.PodSucceeded), string(v1.PodFailed):
		st.Phase = v1.PodPhase(rp.Phase)
	default: // Terminating: keep the last phase.
		if st.Phase == "" {
			st.Phase = v1.PodRunning
		}
	}
	if st.Phase == v1.PodFailed && rp.Reason != "" {
		// Rejected at admission (OutOfcpu, NodeAffinity, ...) or evicted.
		st.Reason, st.Message = rp.Reason, rp.Message
	}
	if st.Phase == v1.PodFailed && rp.Reason != "" && rp.SandboxID == "" && len(rp.Containers) == 0 {
		// Rejected before it ran: as upstream, only the phase, reason,
		// message and start time; no container statuses (kubectl then
		// shows the reason, not "ContainerCreating").
		st.InitContainerStatuses, st.ContainerStatuses = nil, nil
		if st.StartTime == nil {
			t := seconds(now)
			st.StartTime = &t
		}
		return st
	}
	st.HostIP = nodeIP
	st.HostIPs = []v1.HostIP{{IP: nodeIP}}
	podIP := rp.PodIP
	if spec.Spec.HostNetwork && rp.SandboxID != "" {
		podIP = nodeIP
	}
	st.PodIP, st.PodIPs = podIP, nil
	if podIP != "" {
		st.PodIPs = []v1.PodIP{{IP: podIP}}
	}
	if st.StartTime == nil {
		t := seconds(now)
		st.StartTime = &t
	}
	byName := map[string]status.Container{}
	for _, c := range rp.Containers {
		key := c.Name
		if c.Init {
			key = "init:" + c.Name
		}
		byName[key] = c
	}
	st.InitContainerStatuses = nil
	var notInit []string
	for _, c := range spec.Spec.InitContainers {
		rc, ok := byName["init:"+c.Name]
		if !ok {
			rc = status.Container{Name: c.Name, Image: c.Image, State: status.StateWaiting, Reason: "PodInitializing"}
		}
		cs := containerStatus(rc, c.Image, runtimeName)
		specFields(&cs, &c)
		st.InitContainerStatuses = append(st.InitContainerStatuses, cs)
		done := cs.State.Terminated != nil && cs.State.Terminated.ExitCode == 0
		sidecar := c.RestartPolicy != nil && *c.RestartPolicy == v1.ContainerRestartPolicyAlways && cs.State.Running != nil
		if !done && !sidecar {
			notInit = append(notInit, c.Name)
		}
	}
	st.ContainerStatuses = nil
	var notReady []string
	for _, c := range spec.Spec.Containers {
		rc, ok := byName[c.Name]
		if !ok {
			rc = status.Container{Name: c.Name, Image: c.Image, State: status.StateWaiting, Reason: "ContainerCreating"}
		}
		cs := containerStatus(rc, c.Image, runtimeName)
		specFields(&cs, &c)
		st.ContainerStatuses = append(st.ContainerStatuses, cs)
		if !cs.Ready {
			notReady = append(notReady, c.Name)
		}
	}
	st.Conditions = podConditions(st, rp, notInit, notReady, readinessGates(spec, old.Conditions), old.Conditions, now)
	return st
}

// readinessGates says why the pod's readiness gates keep it from being
// Ready ("" when they do not), in upstream's words.
func readinessGates(spec *v1.Pod, conds []v1.PodCondition) string {
	var msgs []string
	for _, g := range spec.Spec.ReadinessGates {
		var c *v1.PodCondition
		for i := range conds {
			if conds[i].Type == g.ConditionType {
				c = &conds[i]
			}
		}
		switch {
		case c == nil:
			msgs = append(msgs, fmt.Sprintf("corresponding condition of pod readiness gate %q does not exist.", g.ConditionType))
		case c.Status != v1.ConditionTrue:
			msgs = append(msgs, fmt.Sprintf("the status of pod readiness gate %q is not \"True\", but %v", g.ConditionType, c.Status))
		}
	}
	return strings.Join(msgs, ", ")
}

// podConditions are the five kubelet-owned conditions, in upstream order,
// followed by conditions owned by others.
func podConditions(st v1.PodStatus, rp status.Pod, notInit, notReady []string, gates string, old []v1.PodCondition, now time.Time) []v1.PodCondition {
	cond := func(t v1.PodConditionType, ok bool, reason, msg string) v1.PodCondition {
		c := v1.PodCondition{Type: t, Status: v1.ConditionTrue}
		if !ok {
			c.Status, c.Reason, c.Message = v1.ConditionFalse, reason, msg
		}
		return c
	}
	list := func(names []string) string { return "[" + strings.Join(names, " ") + "]" }
	succeeded := st.Phase == v1.PodSucceeded
	initialized := len(notInit) == 0 || st.Phase == v1.PodRunning || succeeded || st.Phase == v1.PodFailed
	containersReady := len(notReady) == 0 && !succeeded
	readyReason, readyMsg := "ContainersNotReady", "containers with unready status: "+list(notReady)
	if succeeded {
		readyReason, readyMsg = "PodCompleted", ""
	}
	podReady, podReason, podMsg := containersReady, readyReason, readyMsg
	if containersReady && gates != "" {
		podReady, podReason, podMsg = false, "ReadinessGatesNotReady", gates
	}
	want := []v1.PodCondition{
		cond(v1.PodReadyToStartContainers, rp.SandboxID != "", "", ""),
		cond(v1.PodInitialized, initialized, "ContainersNotInitialized", "containers with incomplete status: "+list(notInit)),
		cond(v1.PodReady, podReady, podReason, podMsg),
		cond(v1.ContainersReady, containersReady, readyReason, readyMsg),
		cond(v1.PodScheduled, true, "", ""),
	}
	var out []v1.PodCondition
	for _, c := range want {
		c.LastTransitionTime = seconds(now)
		for _, o := range old {
			if o.Type == c.Type && o.Status == c.Status {
				c.LastTransitionTime = o.LastTransitionTime
				c.ObservedGeneration = o.ObservedGeneration
			}
		}
		out = append(out, c)
	}
	for _, o := range old {
		owned := false
		for _, c := range want {
			owned = owned || c.Type == o.Type
		}
		if !owned {
			out = append(out, o)
		}
	}
	return out
}

// specFields adds what upstream's status copies from the spec: the volume
// mounts (recursive read-only is never in effect: a read-only mount says
// Disabled) and, once the container exists, its resources as allocated.
func specFields(cs *v1.ContainerStatus, c *v1.Container) {
	cs.VolumeMounts = nil
	for _, m := range c.VolumeMounts {
		vm := v1.VolumeMountStatus{Name: m.Name, MountPath: m.MountPath, ReadOnly: m.ReadOnly}
		if m.ReadOnly {
			mode := v1.RecursiveReadOnlyDisabled
			vm.RecursiveReadOnly = &mode
		}
		cs.VolumeMounts = append(cs.VolumeMounts, vm)
	}
	cs.Resources, cs.AllocatedResources = nil, nil
	if cs.ContainerID != "" {
		cs.Resources = c.Resources.DeepCopy()
		if len(c.Resources.Requests) > 0 {
			cs.AllocatedResources = c.Resources.Requests.DeepCopy()
		}
	}
}

// containerStatus maps the agent's view of a container to the API's.
func containerStatus(c status.Container, image, runtimeName string) v1.ContainerStatus {
	cs := v1.ContainerStatus{
		Name:         c.Name,
		Image:        image,
		Ready:        c.Ready,
		RestartCount: c.RestartCount,
	}
	started := c.Started
	cs.Started = &started
	if c.ID != "" {
		cs.ContainerID = runtimeName + "://" + c.ID
	}
	cs.ImageID = c.ImageID
	switch c.State {
	case status.StateRunning:
		r := &v1.ContainerStateRunning{}
		if c.StartedAt != nil {
			r.StartedAt = seconds(*c.StartedAt)
		}
		cs.State.Running = r
	case status.StateTerminated:
		t := &v1.ContainerStateTerminated{Reason: c.Reason, Message: c.Message, ContainerID: cs.ContainerID}
		if c.ExitCode != nil {
			t.ExitCode = *c.ExitCode
		}
		if c.StartedAt != nil {
			t.StartedAt = seconds(*c.StartedAt)
		}
		if c.FinishedAt != nil {
			t.FinishedAt = seconds(*c.FinishedAt)
		}
		cs.State.Terminated = t
	default:
		cs.State.Waiting = &v1.ContainerStateWaiting{Reason: c.Reason, Message: c.Message}
	}
	if c.LastExitCode != nil {
		last := &v1.ContainerStateTerminated{ExitCode: *c.LastExitCode, Reason: c.LastReason}
		if c.LastID != "" {
			last.ContainerID = runtimeName + "://" + c.LastID
		}
		if c.LastStartedAt != nil {
			last.StartedAt = seconds(*c.LastStartedAt)
		}
		if c.LastFinishedAt != nil {
			last.FinishedAt = seconds(*c.LastFinishedAt)
		}
		cs.LastTerminationState.Terminated = last
	}
	return cs
}
