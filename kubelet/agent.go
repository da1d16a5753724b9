package kubelet

import (
	"context"
	"log"
	"os"
	"reflect"
	"strconv"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/utils/clock"

	"github.com/kubeadmin/kubeadmin/kubelet/cri"
	"github.com/kubeadmin/kubeadmin/kubelet/kuberuntime"
	"github.com/kubeadmin/kubeadmin/kubelet/metrics"
	"github.com/kubeadmin/kubeadmin/kubelet/podsource"
	"github.com/kubeadmin/kubeadmin/kubelet/status"
	"github.com/kubeadmin/kubeadmin/kubelet/volume"
)

// Loop periods.
const (
	// relistPeriod is how often the runtime is listed for state changes
	// of this node's containers (the PLEG of the upstream kubelet).
	relistPeriod = time.Second
	// gcPeriod is how often dead containers, sandboxes and log
	// directories are collected.
	gcPeriod = time.Minute
	// errorRetry is how soon a failed pod sync is retried.
	errorRetry = 2 * time.Second
	// runtimeWaitInterval is how often a not-ready runtime is polled.
	runtimeWaitInterval = 500 * time.Millisecond
)

// Options are what the engine needs to know about its node. The process
// wiring (package app) fills them from the flags and the
// KubeletConfiguration.
type Options struct {
	// NodeName labels every runtime object; NodeIP is the host IP of the
	// pods and the pod IP of hostNetwork pods.
	NodeName string
	NodeIP   string
	// RootDir holds the pods' volumes and files (<RootDir>/pods/<uid>).
	RootDir string
	// PodLogsDir is podLogsDir; CgroupRoot the parent of the pods'
	// cgroups.
	PodLogsDir string
	CgroupRoot string
	// ClusterDNS and ClusterDomain are the pods' DNS; ResolvConf the
	// host's resolver file, read once.
	ClusterDNS    []string
	ClusterDomain string
	ResolvConf    string
	// SyncFrequency is syncFrequency, the longest time between two syncs
	// of a pod (0: one minute).
	SyncFrequency time.Duration
	// MemoryCapacity (bytes) and CPUCapacityMilli are the node's capacity,
	// for resourceFieldRef values and OOM scores.
	MemoryCapacity   int64
	CPUCapacityMilli int64
	// RuntimeEndpoint names the runtime in log lines.
	RuntimeEndpoint string
	// StaticPodPath and SourceErr describe the pod source: until its first
	// snapshot arrives, the report lists SourceErr's error (if any) as a
	// file error of StaticPodPath. SourceErr may be nil.
	StaticPodPath string
	SourceErr     func() error
	// APIPods says that pods also come from the API server (SetAPIPods):
	// until the first list of them arrives, nothing found in the runtime
	// is stopped.
	APIPods bool
	// Admit decides whether an API pod may run on the node, given the
	// pods already admitted (package kubelet/admission); nil admits all.
	Admit func(pod *v1.Pod, admitted []*v1.Pod) (ok bool, reason, message string)
	// Recorder records the pods' events; nil records none.
	Recorder Recorder
	// Sources are the API objects the pods read (ConfigMaps, Secrets,
	// Services, tokens); nil without an API server.
	Sources Sources
}

// Sources are the API objects that pods' volumes and environments read,
// kept for the pods the engine tracks (package kubelet/objects).
type Sources interface {
	kuberuntime.EnvSources
	volume.Sources
	Track(pod *v1.Pod)
	Untrack(uid types.UID)
}

// Agent runs the static pods of one node through the CRI.
type Agent struct {
	opts   Options
	rt     cri.RuntimeService
	images cri.ImageService
	log    *log.Logger
	// clock is the time of back-offs and log durations; tests fake it.
	clock clock.Clock

	// secondUnit is the length of a "second" in probe timing; tests
	// shorten it.
	secondUnit   time.Duration
	relistPeriod time.Duration
	resyncPeriod time.Duration
	errorRetry   time.Duration
	runtimeWait  time.Duration
	usagePeriod  time.Duration
	hostDNS      kuberuntime.HostDNS
	memCapacity  int64
	cpuMilli     int64

	statuses statusCache
	probes   *prober
	imageBO  backOff

	ctx context.Context
	wg  sync.WaitGroup

	mu       sync.Mutex
	workers  map[types.UID]*podWorker
	desired  []*v1.Pod
	static   []*v1.Pod
	apiPods  []*v1.Pod
	apiSeen  bool
	relisted bool
	rejected map[types.UID]rejection
	// statusChanged is signalled (never blocking) when a pod's status changes.
	statusChanged chan struct{}
	files         map[string]string
	fileErrors    []podsource.FileError
	sourceSeen    bool
	podStatus     map[types.UID]status.Pod
	runtimeOK     bool
	runtimeErr    string
	pleg          map[string]relistEntry
	runtimePods   map[types.UID]podMeta
}

// podMeta is what the labels tell about a pod found in the runtime.
type podMeta struct {
	name, namespace string
	grace           int64
}

// New returns an agent for opts that talks to rt and images. logger
// receives one line per lifecycle event.
func New(opts Options, rt cri.RuntimeService, images cri.ImageService, logger *log.Logger) *Agent {
	a := &Agent{
		opts: opts, rt: rt, images: images, log: logger, clock: clock.RealClock{},
		secondUnit:    time.Second,
		relistPeriod:  relistPeriod,
		errorRetry:    errorRetry,
		runtimeWait:   runtimeWaitInterval,
		usagePeriod:   usageCheckPeriod,
		resyncPeriod:  opts.SyncFrequency,
		statuses:      statusCache{m: map[string]*runtimeapi.ContainerStatus{}},
		workers:       map[types.UID]*podWorker{},
		files:         map[string]string{},
		podStatus:     map[types.UID]status.Pod{},
		pleg:          map[string]relistEntry{},
		runtimePods:   map[types.UID]podMeta{},
		rejected:      map[types.UID]rejection{},
		statusChanged: make(chan struct{}, 1),
		cpuMilli:      opts.CPUCapacityMilli,
		memCapacity:   opts.MemoryCapacity,
	}
	if a.resyncPeriod <= 0 {
		a.resyncPeriod = time.Minute
	}
	if a.opts.Recorder == nil {
		a.opts.Recorder = nopRecorder{}
	}
	if data, err := os.ReadFile(opts.ResolvConf); err == nil {
		a.hostDNS = kuberuntime.ParseResolvConf(data)
	}
	a.probes = newProber(a)
	a.imageBO = newBackOff(a.clock)
	return a
}

func (a *Agent) now() time.Time { return a.clock.Now() }

func (a *Agent) logf(format string, args ...any) { a.log.Printf(format, args...) }

// Run waits for the runtime, adopts what this node already runs, then
// follows the snapshots of the desired pods on updates until ctx ends. A
// nil updates means no pod source: nothing is desired, and nothing found in
// the runtime is stopped, since only a snapshot says which pods are
// unwanted. Ending does not stop the pods: a restarted agent adopts them.
func (a *Agent) Run(ctx context.Context, updates <-chan podsource.Snapshot) error {
	// However Run returns, its loops, workers and probes end first.
	ctx, cancel := context.WithCancel(ctx)
	defer func() {
		cancel()
		a.wg.Wait()
	}()
	if err := a.start(ctx); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			a.wg.Wait()
			a.logf("node agent stopped; the pods keep running")
			return nil
		case snap := <-updates:
			a.apply(snap)
		}
	}
}

// start waits for the runtime, lists it once (so that pods found there
// are adopted, and orphans are known before new pods start), and starts
// the relist and GC loops.
func (a *Agent) start(ctx context.Context) error {
	a.ctx = ctx
	lastMsg := ""
	err := cri.WaitReady(ctx, a.rt, a.runtimeWait, func(err error) {
		a.setRuntime(false, err.Error())
		if msg := err.Error(); msg != lastMsg {
			a.logf("waiting for the container runtime at %q: %v", a.opts.RuntimeEndpoint, err)
			lastMsg = msg
		}
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	err = wait.PollUntilContextCancel(ctx, a.runtimeWait, true, func(ctx context.Context) (bool, error) {
		return a.relist(ctx) == nil, nil
	})
	if err != nil {
		return nil // ctx ended
	}
	a.logf("container runtime ready")
	a.wg.Add(2)
	go a.relistLoop(ctx)
	go a.gcLoop(ctx)
	return nil
}

func (a *Agent) setRuntime(ok bool, msg string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if ok && !a.runtimeOK && a.runtimeErr != "" {
		a.logf("container runtime reachable again")
	}
	if !ok && a.runtimeOK {
		a.logf("container runtime unreachable: %s", msg)
	}
	a.runtimeOK, a.runtimeErr = ok, msg
}

// apply takes a new snapshot of the static pods.
func (a *Agent) apply(snap podsource.Snapshot) {
	a.mu.Lock()
	a.static = snap.Pods
	a.files = snap.Files
	a.fileErrors = snap.Errors
	a.sourceSeen = true
	a.setDesiredLocked()
	a.mu.Unlock()
	a.reconcile()
}

// SetAPIPods takes the current list of the node's pods from the API
// server (not mirror pods), oldest first.
func (a *Agent) SetAPIPods(pods []*v1.Pod) {
	a.mu.Lock()
	a.apiPods = pods
	a.apiSeen = true
	a.setDesiredLocked()
	a.mu.Unlock()
	a.reconcile()
}

// setDesiredLocked merges the static and the API pods into one desired
// set; a UID defined twice keeps its static pod.
func (a *Agent) setDesiredLocked() {
	seen := map[types.UID]bool{}
	desired := make([]*v1.Pod, 0, len(a.static)+len(a.apiPods))
	for _, list := range [][]*v1.Pod{a.static, a.apiPods} {
		for _, p := range list {
			if !seen[p.UID] {
				seen[p.UID] = true
				desired = append(desired, p)
			}
		}
	}
	a.desired = desired
	for uid := range a.rejected {
		if !seen[uid] {
			delete(a.rejected, uid)
		}
	}
}

// sourcesSeen reports whether every pod source has sent its pods once:
// only then is a pod found in the runtime known to be unwanted.
func (a *Agent) sourcesSeen() bool {
	return a.sourceSeen && (!a.opts.APIPods || a.apiSeen)
}

// reconcile starts a worker for every desired pod that may start, tells
// workers of pods that are no longer desired or are being deleted to
// terminate, and starts terminators for this node's pods found in the
// runtime that no source defines. A pod waits while another pod with the
// same full name has a worker. An API pod is admitted before its first
// start; a pod in a terminal phase is never started again.
func (a *Agent) reconcile() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ctx == nil || a.ctx.Err() != nil {
		return
	}
	want := map[types.UID]*v1.Pod{}
	for _, p := range a.desired {
		want[p.UID] = p
	}
	for uid, w := range a.workers {
		p, ok := want[uid]
		switch {
		case !ok:
			w.stop()
		case p.DeletionTimestamp != nil:
			w.update(p)
			w.stop()
		default:
			w.update(p)
		}
	}
	if a.sourcesSeen() {
		for uid, m := range a.runtimePods {
			if p, ok := want[uid]; (ok && p.DeletionTimestamp == nil) || a.workers[uid] != nil {
				continue
			}
			pod := want[uid]
			if pod == nil {
				pod = &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: m.name, Namespace: m.namespace, UID: uid}}
				pod.Spec.TerminationGracePeriodSeconds = &m.grace
				a.logf("pod %q (uid %s) is not defined by any source: stopping it", m.name, uid)
			}
			w := a.newWorker(pod)
			w.stop()
			a.startWorker(w)
		}
	}
	names := map[string]bool{}
	for _, w := range a.workers {
		names[w.fullName] = true
	}
	for _, p := range a.desired {
		if a.workers[p.UID] != nil || p.DeletionTimestamp != nil || terminalPhase(p) {
			continue
		}
		if _, ok := a.rejected[p.UID]; ok {
			continue
		}
		fn := fullName(p)
		if names[fn] {
			continue
		}
		if _, running := a.runtimePods[p.UID]; !running && !a.admitLocked(p) {
			continue
		}
		names[fn] = true
		a.startWorker(a.newWorker(p))
	}
}

// terminalPhase reports whether the API already shows p as finished.
func terminalPhase(p *v1.Pod) bool {
	return p.Status.Phase == v1.PodSucceeded || p.Status.Phase == v1.PodFailed
}

// rejection is why admission refused a pod.
type rejection struct{ reason, message string }

// admitLocked runs admission for an API pod about to get its first
// worker; a refused pod is recorded (and reported Failed) and never runs.
// Pods already in the runtime were admitted by an earlier agent.
func (a *Agent) admitLocked(p *v1.Pod) bool {
	if a.opts.Admit == nil || !podsource.IsAPIPod(p) {
		return true
	}
	var admitted []*v1.Pod
	for _, w := range a.workers {
		if pod, stopping := w.state(); !stopping && !terminalPhase(pod) {
			admitted = append(admitted, pod)
		}
	}
	ok, reason, msg := a.opts.Admit(p, admitted)
	if !ok {
		a.rejected[p.UID] = rejection{reason, msg}
		a.logf("pod %q rejected: %s: %s", p.Namespace+"/"+p.Name, reason, msg)
		a.opts.Recorder.Eventf(podRef(p), v1.EventTypeWarning, reason, "%s", msg)
	}
	return ok
}

func fullName(p *v1.Pod) string { return p.Name + "_" + p.Namespace }

func (a *Agent) startWorker(w *podWorker) {
	a.workers[w.uid] = w
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		w.run(a.ctx)
	}()
}

// workerDone is called by a worker whose pod is completely gone.
func (a *Agent) workerDone(w *podWorker) {
	a.mu.Lock()
	if a.workers[w.uid] == w {
		delete(a.workers, w.uid)
	}
	delete(a.podStatus, w.uid)
	delete(a.runtimePods, w.uid)
	a.signalStatusLocked() // a deleted pod may now go from the API
	a.mu.Unlock()
	if a.opts.Sources != nil {
		a.opts.Sources.Untrack(w.uid)
	}
	a.reconcile()
}

func (a *Agent) setPodStatus(uid types.UID, s status.Pod) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.workers[uid] == nil {
		return
	}
	if old, ok := a.podStatus[uid]; !ok || !reflect.DeepEqual(old, s) {
		a.signalStatusLocked()
	}
	a.podStatus[uid] = s
}

func (a *Agent) signalStatusLocked() {
	select {
	case a.statusChanged <- struct{}{}:
	default:
	}
}

// StatusChanged receives a value after a pod's status changed (the
// status writer then writes at once).
func (a *Agent) StatusChanged() <-chan struct{} { return a.statusChanged }

func (a *Agent) relistLoop(ctx context.Context) {
	defer a.wg.Done()
	t := time.NewTicker(a.relistPeriod)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_ = a.relist(ctx)
		}
	}
}

// relist lists this node's sandboxes and containers and pokes the worker
// of every pod whose objects changed state.
func (a *Agent) relist(ctx context.Context) error {
	sel := map[string]string{kuberuntime.LabelNode: a.opts.NodeName}
	sbs, err := a.rt.ListPodSandbox(ctx, &runtimeapi.PodSandboxFilter{LabelSelector: sel})
	if err == nil {
		var cs []*runtimeapi.Container
		cs, err = a.rt.ListContainers(ctx, &runtimeapi.ContainerFilter{LabelSelector: sel})
		if err == nil {
			a.setRuntime(true, "")
			a.observe(sbs, cs)
			return nil
		}
	}
	a.setRuntime(false, err.Error())
	return err
}

// relistEntry is what one relist saw of a sandbox or container: its pod
// and its state (a PodSandboxState or a ContainerState).
type relistEntry struct {
	pod     types.UID
	sandbox bool
	state   int32
}

func (a *Agent) observe(sbs []*runtimeapi.PodSandbox, cs []*runtimeapi.Container) {
	state := map[string]relistEntry{}
	pods := map[types.UID]podMeta{}
	live := map[string]bool{}
	for _, s := range sbs {
		uid := types.UID(s.GetLabels()[kuberuntime.LabelPodUID])
		state[s.GetId()] = relistEntry{pod: uid, sandbox: true, state: int32(s.GetState())}
		if _, ok := pods[uid]; !ok {
			pods[uid] = podMeta{name: s.GetLabels()[kuberuntime.LabelPodName], namespace: s.GetLabels()[kuberuntime.LabelPodNamespace], grace: 30}
		}
	}
	for _, c := range cs {
		uid := types.UID(c.GetLabels()[kuberuntime.LabelPodUID])
		state[c.GetId()] = relistEntry{pod: uid, state: int32(c.GetState())}
		live[c.GetId()] = true
		m := pods[uid]
		m.name, m.namespace = c.GetLabels()[kuberuntime.LabelPodName], c.GetLabels()[kuberuntime.LabelPodNamespace]
		m.grace = 30
		if g, err := strconv.ParseInt(c.GetAnnotations()[kuberuntime.AnnotationPodTerminationGrace], 10, 64); err == nil {
			m.grace = g
		}
		pods[uid] = m
	}
	a.statuses.retain(live)
	recordRuntimeCounts(sbs, cs)

	changed := map[types.UID]bool{}
	a.mu.Lock()
	for id, e := range state {
		if old, ok := a.pleg[id]; !ok || old != e {
			changed[e.pod] = true
		}
	}
	for id, e := range a.pleg {
		if _, ok := state[id]; !ok {
			changed[e.pod] = true
		}
	}
	a.pleg = state
	a.runtimePods = pods
	a.relisted = true
	orphans := false
	for uid := range pods {
		w := a.workers[uid]
		if w == nil {
			orphans = true
		} else if changed[uid] {
			w.poke()
		}
	}
	a.mu.Unlock()
	if orphans {
		a.reconcile()
	}
}

// recordRuntimeCounts publishes the running pods and the containers by
// state as the agent's metrics.
func recordRuntimeCounts(sbs []*runtimeapi.PodSandbox, cs []*runtimeapi.Container) {
	ready := 0
	for _, s := range sbs {
		if s.GetState() == runtimeapi.PodSandboxState_SANDBOX_READY {
			ready++
		}
	}
	metrics.SetRunningPods(ready)
	byState := map[string]int{}
	for _, c := range cs {
		switch c.GetState() {
		case runtimeapi.ContainerState_CONTAINER_CREATED:
			byState[metrics.ContainerStateCreated]++
		case runtimeapi.ContainerState_CONTAINER_RUNNING:
			byState[metrics.ContainerStateRunning]++
		case runtimeapi.ContainerState_CONTAINER_EXITED:
			byState[metrics.ContainerStateExited]++
		default:
			byState[metrics.ContainerStateUnknown]++
		}
	}
	metrics.SetRunningContainers(byState)
}

// Report is the agent's current status.
func (a *Agent) Report() *status.Report {
	a.mu.Lock()
	defer a.mu.Unlock()
	r := &status.Report{Node: a.opts.NodeName, RuntimeReady: a.runtimeOK, RuntimeError: a.runtimeErr, Pods: []status.Pod{}, FileErrors: []status.FileError{}}
	seen := map[types.UID]bool{}
	for uid, s := range a.podStatus {
		if a.workers[uid] != nil {
			r.Pods = append(r.Pods, s)
			seen[uid] = true
		}
	}
	for _, p := range a.desired {
		if seen[p.UID] || terminalPhase(p) || p.DeletionTimestamp != nil {
			continue
		}
		s := status.Pod{Name: p.Name, Namespace: p.Namespace, UID: string(p.UID), File: a.files[string(p.UID)], Phase: string(v1.PodPending), Containers: []status.Container{}}
		if rj, ok := a.rejected[p.UID]; ok {
			s.Phase, s.Reason, s.Message = string(v1.PodFailed), rj.reason, rj.message
		} else if a.workers[p.UID] == nil {
			s.Waiting = "waiting for the previous pod " + p.Name + " to stop and be removed"
		}
		r.Pods = append(r.Pods, s)
	}
	for _, e := range a.fileErrors {
		r.FileErrors = append(r.FileErrors, status.FileError{File: e.File, Error: e.Error})
	}
	if !a.sourceSeen && a.opts.SourceErr != nil {
		if err := a.opts.SourceErr(); err != nil {
			r.FileErrors = append(r.FileErrors, status.FileError{File: a.opts.StaticPodPath, Error: err.Error()})
		}
	}
	r.Sort()
	return r
}

// Poke asks the workers of the given pods to sync soon (an object they
// read has changed).
func (a *Agent) Poke(uids []types.UID) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, uid := range uids {
		if w := a.workers[uid]; w != nil {
			w.poke()
		}
	}
}

// PodGone reports whether nothing of the pod is left on the node: the
// engine has listed the runtime, no worker owns the pod, and the runtime
// has no sandbox or container of it (a worker removes the pod's volumes
// and directory before it ends).
func (a *Agent) PodGone(uid types.UID) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	_, inRuntime := a.runtimePods[uid]
	return a.relisted && a.workers[uid] == nil && !inRuntime
}

// knownUIDs are the UIDs of desired pods and of pods with a worker.
func (a *Agent) knownUIDs() map[string]bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := map[string]bool{}
	for _, p := range a.desired {
		out[string(p.UID)] = true
	}
	for uid := range a.workers {
		out[string(uid)] = true
	}
	return out
}
