package kubelet

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kubeadmin/kubeadmin/kubelet/kuberuntime"
)

// containerInfo is one container instance as the runtime reports it.
type containerInfo struct {
	id           string
	name         string
	sandboxID    string
	state        runtimeapi.ContainerState
	createdAt    int64
	restartCount int
	hash         string
	init         bool
	annotations  map[string]string
	// status is the runtime's ContainerStatus (exit code, times, reason).
	status *runtimeapi.ContainerStatus
}

func (c *containerInfo) exitCode() int32 { return c.status.GetExitCode() }

// finishedAt is when the container exited (zero if unknown).
func (c *containerInfo) finishedAt() time.Time {
	if ns := c.status.GetFinishedAt(); ns > 0 {
		return time.Unix(0, ns)
	}
	return time.Time{}
}

// runtimePod is the runtime's view of one pod, newest objects first.
type runtimePod struct {
	sandboxes  []*runtimeapi.PodSandbox
	containers []*containerInfo
}

// readySandbox is the newest READY sandbox, or nil.
func (rp *runtimePod) readySandbox() *runtimeapi.PodSandbox {
	for _, s := range rp.sandboxes {
		if s.GetState() == runtimeapi.PodSandboxState_SANDBOX_READY {
			return s
		}
	}
	return nil
}

// inSandbox groups the containers of sandbox id by name, newest first.
func (rp *runtimePod) inSandbox(id string) map[string][]*containerInfo {
	out := map[string][]*containerInfo{}
	for _, c := range rp.containers {
		if c.sandboxID == id {
			out[c.name] = append(out[c.name], c)
		}
	}
	return out
}

// latest is the newest instance of container name in any sandbox.
func (rp *runtimePod) latest(name string) *containerInfo {
	for _, c := range rp.containers {
		if c.name == name {
			return c
		}
	}
	return nil
}

// nextRestartCount is the restart count of a new instance of name.
func (rp *runtimePod) nextRestartCount(name string) int {
	if c := rp.latest(name); c != nil {
		return c.restartCount + 1
	}
	return 0
}

func (rp *runtimePod) empty() bool { return len(rp.sandboxes) == 0 && len(rp.containers) == 0 }

// statusCache keeps ContainerStatus answers per container ID and state, so
// that a container's status is fetched once per state change.
type statusCache struct {
	mu sync.Mutex
	m  map[string]*runtimeapi.ContainerStatus
}

func (s *statusCache) get(id string, state runtimeapi.ContainerState) *runtimeapi.ContainerStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.m[id]; st != nil && st.GetState() == state {
		return st
	}
	return nil
}

func (s *statusCache) put(id string, st *runtimeapi.ContainerStatus) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[id] = st
}

// retain drops every entry not in live.
func (s *statusCache) retain(live map[string]bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id := range s.m {
		if !live[id] {
			delete(s.m, id)
		}
	}
}

// listPod lists the sandboxes and containers of pod uid that belong to
// this node, with their statuses.
func (a *Agent) listPod(ctx context.Context, uid string) (*runtimePod, error) {
	sel := map[string]string{kuberuntime.LabelPodUID: uid, kuberuntime.LabelNode: a.opts.NodeName}
	sbs, err := a.rt.ListPodSandbox(ctx, &runtimeapi.PodSandboxFilter{LabelSelector: sel})
	if err != nil {
		return nil, fmt.Errorf("failed to list the sandboxes of pod %q: %w", uid, err)
	}
	cs, err := a.rt.ListContainers(ctx, &runtimeapi.ContainerFilter{LabelSelector: sel})
	if err != nil {
		return nil, fmt.Errorf("failed to list the containers of pod %q: %w", uid, err)
	}
	rp := &runtimePod{sandboxes: sbs}
	sort.Slice(rp.sandboxes, func(i, j int) bool {
		return newer(rp.sandboxes[i].GetCreatedAt(), rp.sandboxes[j].GetCreatedAt(), rp.sandboxes[i].GetMetadata().GetAttempt(), rp.sandboxes[j].GetMetadata().GetAttempt())
	})
	for _, c := range cs {
		ci := &containerInfo{
			id: c.GetId(), name: c.GetMetadata().GetName(), sandboxID: c.GetPodSandboxId(),
			state: c.GetState(), createdAt: c.GetCreatedAt(), annotations: c.GetAnnotations(),
			hash: c.GetAnnotations()[kuberuntime.AnnotationHash], init: c.GetAnnotations()[kuberuntime.AnnotationContainerType] == kuberuntime.ContainerTypeInit,
		}
		ci.restartCount, _ = strconv.Atoi(c.GetAnnotations()[kuberuntime.AnnotationRestartCount])
		st, err := a.containerStatus(ctx, ci.id, ci.state)
		if err != nil {
			return nil, err
		}
		ci.status = st
		if st != nil {
			ci.state = st.GetState()
		}
		rp.containers = append(rp.containers, ci)
	}
	sort.Slice(rp.containers, func(i, j int) bool {
		ci, cj := rp.containers[i], rp.containers[j]
		return newer(ci.createdAt, cj.createdAt, uint32(ci.restartCount), uint32(cj.restartCount))
	})
	return rp, nil
}

// newer orders by creation time, then attempt.
func newer(ti, tj int64, ai, aj uint32) bool {
	if ti != tj {
		return ti > tj
	}
	return ai > aj
}

func (a *Agent) containerStatus(ctx context.Context, id string, state runtimeapi.ContainerState) (*runtimeapi.ContainerStatus, error) {
	if st := a.statuses.get(id, state); st != nil {
		return st, nil
	}
	resp, err := a.rt.ContainerStatus(ctx, id, false)
	if err != nil {
		return nil, fmt.Errorf("failed to read the status of container %q: %w", id, err)
	}
	a.statuses.put(id, resp.GetStatus())
	return resp.GetStatus(), nil
}
