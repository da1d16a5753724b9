package kubelet

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kubeadmin/kubeadmin/kubelet/kuberuntime"
)

func (a *Agent) gcLoop(ctx context.Context) {
	defer a.wg.Done()
	t := time.NewTicker(gcPeriod)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			a.gc(ctx)
		}
	}
}

// gc removes, for the pods this agent runs: dead containers beyond the
// newest dead one per container name, and dead sandboxes without
// containers except the newest; and log directories of this node's pods
// that no longer exist. Pods no source defines are removed whole by their
// terminators, not here.
func (a *Agent) gc(ctx context.Context) {
	known := a.knownUIDs()
	sel := map[string]string{kuberuntime.LabelNode: a.opts.NodeName}
	cs, err := a.rt.ListContainers(ctx, &runtimeapi.ContainerFilter{LabelSelector: sel})
	if err != nil {
		return
	}
	sbs, err := a.rt.ListPodSandbox(ctx, &runtimeapi.PodSandboxFilter{LabelSelector: sel})
	if err != nil {
		return
	}
	a.gcContainers(ctx, cs, known)
	a.gcSandboxes(ctx, sbs, cs, known)
	a.gcLogDirs(sbs, known)
	a.imageBO.GC()
}

func (a *Agent) gcContainers(ctx context.Context, cs []*runtimeapi.Container, known map[string]bool) {
	type key struct{ uid, name string }
	dead := map[key][]*runtimeapi.Container{}
	for _, c := range cs {
		uid := c.GetLabels()[kuberuntime.LabelPodUID]
		if !known[uid] || c.GetState() != runtimeapi.ContainerState_CONTAINER_EXITED {
			continue
		}
		k := key{uid, c.GetMetadata().GetName()}
		dead[k] = append(dead[k], c)
	}
	for _, list := range dead {
		newest := list[0]
		for _, c := range list[1:] {
			if c.GetCreatedAt() > newest.GetCreatedAt() {
				newest = c
			}
		}
		for _, c := range list {
			if c == newest {
				continue
			}
			if err := a.rt.RemoveContainer(ctx, c.GetId()); err == nil {
				a.logf("removed dead container %s (%s of pod %q)", short(c.GetId()), c.GetMetadata().GetName(), c.GetLabels()[kuberuntime.LabelPodName])
			}
		}
	}
}

func (a *Agent) gcSandboxes(ctx context.Context, sbs []*runtimeapi.PodSandbox, cs []*runtimeapi.Container, known map[string]bool) {
	used := map[string]bool{}
	for _, c := range cs {
		used[c.GetPodSandboxId()] = true
	}
	newest := map[string]*runtimeapi.PodSandbox{}
	for _, s := range sbs {
		uid := s.GetLabels()[kuberuntime.LabelPodUID]
		if n := newest[uid]; n == nil || s.GetCreatedAt() > n.GetCreatedAt() {
			newest[uid] = s
		}
	}
	for _, s := range sbs {
		uid := s.GetLabels()[kuberuntime.LabelPodUID]
		if !known[uid] || s.GetState() == runtimeapi.PodSandboxState_SANDBOX_READY || used[s.GetId()] || newest[uid] == s {
			continue
		}
		if err := a.rt.RemovePodSandbox(ctx, s.GetId()); err == nil {
			a.logf("removed dead sandbox %s of pod %q", short(s.GetId()), s.GetLabels()[kuberuntime.LabelPodName])
		}
	}
}

// gcLogDirs removes <podLogsDir>/<ns>_<name>_<uid> directories of pods of
// this node (name ending in "-<node>") that are neither known nor in the
// runtime.
func (a *Agent) gcLogDirs(sbs []*runtimeapi.PodSandbox, known map[string]bool) {
	inRuntime := map[string]bool{}
	for _, s := range sbs {
		inRuntime[s.GetLabels()[kuberuntime.LabelPodUID]] = true
	}
	entries, err := os.ReadDir(a.opts.PodLogsDir)
	if err != nil {
		return
	}
	for _, e := range entries {
		parts := strings.Split(e.Name(), "_")
		if !e.IsDir() || len(parts) != 3 || !strings.HasSuffix(parts[1], "-"+a.opts.NodeName) {
			continue
		}
		if uid := parts[2]; known[uid] || inRuntime[uid] {
			continue
		}
		if err := os.RemoveAll(filepath.Join(a.opts.PodLogsDir, e.Name())); err == nil {
			a.logf("removed the logs of pod %q (uid %s)", parts[1], parts[2])
		}
	}
}
