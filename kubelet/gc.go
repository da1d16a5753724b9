package kubelet

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kubeadmin/kubeadmin/kubelet/kuberuntime"
	"github.com/kubeadmin/kubeadmin/kubelet/volume"
)

// gcMinFileAge protects new files from collection: a container whose log
// or termination-message file exists may not be created yet when the
// runtime is listed.
const gcMinFileAge = time.Minute

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
// containers except the newest; and log and pod directories of this
// node's pods that no longer exist. Pods no source defines are removed whole by their
// terminators, not here.
func (a *Agent) gc(ctx context.Context) {
	begin := time.Now() // file times are wall-clock times
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
	removed := a.gcContainers(ctx, cs, known)
	a.gcSandboxes(ctx, sbs, cs, known)
	a.gcLogDirs(sbs, known)
	a.gcPodDirs(sbs)
	a.gcContainerFiles(instancesOf(cs, removed), begin.Add(-gcMinFileAge))
	a.imageBO.GC()
}

// gcContainers removes the dead containers beyond the newest per name and
// returns the IDs it removed.
func (a *Agent) gcContainers(ctx context.Context, cs []*runtimeapi.Container, known map[string]bool) map[string]bool {
	removed := map[string]bool{}
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
				removed[c.GetId()] = true
				a.logf("removed dead container %s (%s of pod %q)", short(c.GetId()), c.GetMetadata().GetName(), c.GetLabels()[kuberuntime.LabelPodName])
			}
		}
	}
	return removed
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

// gcPodDirs tears down <root-dir>/pods/<uid> directories of pods that
// are neither known nor in the runtime: leftovers of a teardown that
// failed (a mount that would not go) before the agent restarted. Without
// a pod source nothing says which pods are gone, so nothing is removed.
// The known pods are read after the directory, so that a pod that starts
// meanwhile keeps its directory.
func (a *Agent) gcPodDirs(sbs []*runtimeapi.PodSandbox) {
	a.mu.Lock()
	sourceSeen := a.sourceSeen
	a.mu.Unlock()
	if !sourceSeen {
		return
	}
	inRuntime := map[string]bool{}
	for _, s := range sbs {
		inRuntime[s.GetLabels()[kuberuntime.LabelPodUID]] = true
	}
	podsDir := filepath.Join(a.opts.RootDir, "pods")
	entries, err := os.ReadDir(podsDir)
	if err != nil {
		return
	}
	known := a.knownUIDs()
	for _, e := range entries {
		uid := e.Name()
		if !e.IsDir() || known[uid] || inRuntime[uid] {
			continue
		}
		if err := volume.TeardownPodDir(filepath.Join(podsDir, uid)); err != nil {
			a.logf("pod directory of removed pod %s: %v (retrying at the next garbage collection)", uid, err)
			continue
		}
		a.logf("removed the directory of removed pod %s", uid)
	}
}

// instances are, per pod UID and container name, the restart counts of the
// containers the runtime still has.
type instances map[string]map[string]map[int]bool

func instancesOf(cs []*runtimeapi.Container, removed map[string]bool) instances {
	out := instances{}
	for _, c := range cs {
		if removed[c.GetId()] {
			continue
		}
		uid, name := c.GetLabels()[kuberuntime.LabelPodUID], c.GetMetadata().GetName()
		n, err := strconv.Atoi(c.GetAnnotations()[kuberuntime.AnnotationRestartCount])
		if err != nil {
			n = int(c.GetMetadata().GetAttempt())
		}
		if out[uid] == nil {
			out[uid] = map[string]map[int]bool{}
		}
		if out[uid][name] == nil {
			out[uid][name] = map[int]bool{}
		}
		out[uid][name][n] = true
	}
	return out
}

// gcContainerFiles removes, for this node's pods, the log files
// (<podLogsDir>/<pod>/<name>/<n>.log and its rotations) and the
// termination-message files (<root-dir>/pods/<uid>/containers/<name>/<n>)
// of container instances the runtime no longer has. Pods without any
// container keep their files (a removed pod's go with its directories);
// files changed after notBefore are kept.
func (a *Agent) gcContainerFiles(have instances, notBefore time.Time) {
	entries, err := os.ReadDir(a.opts.PodLogsDir)
	if err == nil {
		for _, e := range entries {
			parts := strings.Split(e.Name(), "_")
			if !e.IsDir() || len(parts) != 3 || !strings.HasSuffix(parts[1], "-"+a.opts.NodeName) || have[parts[2]] == nil {
				continue
			}
			n := removeStale(filepath.Join(a.opts.PodLogsDir, e.Name()), have[parts[2]], logInstance, notBefore)
			if n > 0 {
				a.logf("removed %d log files of removed containers of pod %q", n, parts[1])
			}
		}
	}
	pods, err := os.ReadDir(filepath.Join(a.opts.RootDir, "pods"))
	if err != nil {
		return
	}
	for _, p := range pods {
		if have[p.Name()] == nil {
			continue
		}
		removeStale(volume.ContainerFiles(a.opts.RootDir, p.Name()), have[p.Name()], termInstance, notBefore)
	}
}

// removeStale removes the files <dir>/<name>/<file> for which instance
// names an instance not in have[name]; it returns how many it removed.
func removeStale(dir string, have map[string]map[int]bool, instance func(string) (int, bool), notBefore time.Time) int {
	names, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	removed := 0
	for _, name := range names {
		if !name.IsDir() {
			continue
		}
		files, err := os.ReadDir(filepath.Join(dir, name.Name()))
		if err != nil {
			continue
		}
		for _, f := range files {
			n, ok := instance(f.Name())
			if !ok || have[name.Name()][n] {
				continue
			}
			if info, err := f.Info(); err != nil || !info.Mode().IsRegular() || info.ModTime().After(notBefore) {
				continue
			}
			if os.Remove(filepath.Join(dir, name.Name(), f.Name())) == nil {
				removed++
			}
		}
	}
	return removed
}

// logInstance is the restart count of a container log file: <n>.log, or a
// rotation of it (<n>.log.<suffix>).
func logInstance(file string) (int, bool) {
	num, rest, ok := strings.Cut(file, ".")
	if !ok || (rest != "log" && !strings.HasPrefix(rest, "log.")) {
		return 0, false
	}
	n, err := strconv.Atoi(num)
	return n, err == nil && n >= 0
}

// termInstance is the restart count a termination-message file is named
// after; files of older agents (random names) belong to no instance.
func termInstance(file string) (int, bool) {
	n, err := strconv.Atoi(file)
	if err != nil || n < 0 {
		return -1, true
	}
	return n, true
}
