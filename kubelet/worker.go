package kubelet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	grpcstatus "google.golang.org/grpc/status"
	v1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kubeadmin/kubeadmin/kubelet/cri"
	"github.com/kubeadmin/kubeadmin/kubelet/kuberuntime"
	"github.com/kubeadmin/kubeadmin/kubelet/metrics"
	"github.com/kubeadmin/kubeadmin/kubelet/status"
	"github.com/kubeadmin/kubeadmin/kubelet/volume"
)

// mountRetryFirst is the first wait after a failed volume set-up; it
// doubles up to errorRetry.
const mountRetryFirst = 100 * time.Millisecond

// bindingLag is how long after the agent first sees a pod the API server
// may still refuse the pod's objects (its service account token, its
// ConfigMaps and Secrets) to the node: the node authorizer learns of the
// binding from its own watch, a moment after the agent's watch sees it.
// Within it a refusal is retried without an event.
const bindingLag = 2 * time.Second

// minGracePeriod is the least time a container gets to stop, as upstream.
const minGracePeriod = 2

// unknownExitCode is the exit code recorded for an instance that was in an
// unknown state and then vanished from the runtime (upstream's choice).
const unknownExitCode = 137

// Waiting reasons, as upstream.
const (
	reasonCreating          = "ContainerCreating"
	reasonPodInitializing   = "PodInitializing"
	reasonCrashLoop         = "CrashLoopBackOff"
	reasonErrImagePull      = "ErrImagePull"
	reasonImagePullBackOff  = "ImagePullBackOff"
	reasonErrImageNeverPull = "ErrImageNeverPull"
	reasonConfigError       = "CreateContainerConfigError"
	reasonCreateError       = "CreateContainerError"
	reasonRunError          = "RunContainerError"
	// reasonStatusUnknown: the previous instance is in an unknown state
	// and must be confirmed stopped before a new one starts.
	reasonStatusUnknown = "ContainerStatusUnknown"
)

// waitReason is why a container is not running.
type waitReason struct {
	reason, message string
}

// podWorker owns one pod UID: it syncs the pod to its spec until told to
// stop, then stops and removes everything of the pod.
type podWorker struct {
	a        *Agent
	uid      types.UID
	fullName string
	trigger  chan struct{}

	mu       sync.Mutex
	pod      *v1.Pod
	stopping bool

	// Used only by the worker's goroutine.
	// seen is when the agent first saw the pod; syncs counts its syncs;
	// startObserved is set once the pod's start latency is recorded.
	seen          time.Time
	syncs         int
	startObserved bool
	restartBO     backOff
	waiting       map[string]waitReason
	podIPs        map[string]string
	// unknown are the IDs of UNKNOWN instances being stopped (logged once).
	unknown map[string]bool
	// startFailures are the last failed starts, by back-off key.
	startFailures map[string]startFailure
	// pullErrors are the last failed pulls, by image.
	pullErrors map[string]string
	// refusal says why the pod is not run at all (kuberuntime.Unsupported).
	refusal string
	// volumes are the host paths of the pod's volumes, set up by the
	// last sync; mountErr is the last volume set-up failure.
	volumes  map[string]string
	mountErr string
	// ended says why the agent ended the pod (deadline, eviction);
	// usageChecked is when its emptyDirs were last measured.
	ended        *ending
	usageChecked time.Time
	// mountRetry is the wait before the next volume set-up attempt.
	mountRetry time.Duration
	// started are the regular containers the current sync started.
	started []runningContainer
	lastErr string
}

func (a *Agent) newWorker(pod *v1.Pod) *podWorker {
	return &podWorker{
		a: a, uid: pod.UID, fullName: fullName(pod), pod: pod, seen: time.Now(),
		trigger:       make(chan struct{}, 1),
		restartBO:     newBackOff(a.clock),
		waiting:       map[string]waitReason{},
		podIPs:        map[string]string{},
		unknown:       map[string]bool{},
		startFailures: map[string]startFailure{},
		pullErrors:    map[string]string{},
	}
}

// poke asks for a sync soon.
func (w *podWorker) poke() {
	select {
	case w.trigger <- struct{}{}:
	default:
	}
}

// update gives the worker a newer spec of the same UID. A change of the
// status alone (most often the agent's own write coming back through the
// watch) is kept but starts no sync: nothing a sync does depends on it at
// once, and the next sync sees it.
func (w *podWorker) update(p *v1.Pod) {
	w.mu.Lock()
	changed := !w.stopping && w.pod != p
	old := w.pod
	if changed {
		w.pod = p
	}
	w.mu.Unlock()
	if changed && !statusOnly(old, p) {
		w.poke()
	}
}

// statusOnly reports whether b differs from a in its status (and the
// bookkeeping that comes with every write) only.
func statusOnly(a, b *v1.Pod) bool {
	if a == nil || b == nil {
		return false
	}
	am, bm := a.ObjectMeta, b.ObjectMeta
	am.ResourceVersion, bm.ResourceVersion = "", ""
	am.ManagedFields, bm.ManagedFields = nil, nil
	return apiequality.Semantic.DeepEqual(am, bm) && apiequality.Semantic.DeepEqual(a.Spec, b.Spec)
}

// stop tells the worker to stop and remove the pod.
func (w *podWorker) stop() {
	w.mu.Lock()
	w.stopping = true
	w.mu.Unlock()
	w.poke()
}

func (w *podWorker) state() (*v1.Pod, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pod, w.stopping
}

// run syncs until the pod is gone or ctx ends.
func (w *podWorker) run(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.trigger:
		case <-timer.C:
		}
		pod, stopping := w.state()
		var next time.Duration
		var err error
		if stopping {
			if err = w.terminate(ctx, pod); err == nil {
				w.a.workerDone(w)
				return
			}
			next = w.a.errorRetry
		} else {
			begin := time.Now()
			next, err = w.sync(ctx, pod)
			metrics.ObservePodWorker(w.syncOperation(), time.Since(begin))
			if err != nil {
				next = min(next, w.a.errorRetry)
			}
		}
		w.reportError(pod, err)
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(next)
	}
}

// syncOperation names a sync for the pod worker metric: the first is
// the pod's creation.
func (w *podWorker) syncOperation() string {
	w.syncs++
	if w.syncs == 1 {
		return metrics.OperationCreate
	}
	return metrics.OperationSync
}

// observeStart records the pod's start latency once all its regular
// containers run.
func (w *podWorker) observeStart(pod *v1.Pod, running int) {
	if !w.startObserved && running == len(pod.Spec.Containers) {
		w.startObserved = true
		metrics.ObservePodStart(time.Since(w.seen))
	}
}

// reportError logs a sync error once until it changes.
func (w *podWorker) reportError(pod *v1.Pod, err error) {
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	if msg != w.lastErr && msg != "" && w.a.ctx.Err() == nil {
		w.a.logf("pod %q: %v", pod.Name, err)
	}
	w.lastErr = msg
}

// sync moves the pod one step towards its spec and returns when it wants
// to run again at the latest.
func (w *podWorker) sync(ctx context.Context, pod *v1.Pod) (time.Duration, error) {
	next := w.a.resyncPeriod
	rp, err := w.a.listPod(ctx, string(pod.UID))
	if err != nil {
		return next, err
	}
	defer func() { w.publish(pod, rp, false) }()
	if errs := kuberuntime.Unsupported(pod); len(errs) > 0 {
		w.refuse(pod, errs)
		return next, nil
	}
	if w.ended == nil {
		next = min(next, w.checkEnd(pod))
	}
	if w.ended != nil {
		return next, w.stopEnded(ctx, pod, rp)
	}
	if w.completed(pod, rp) {
		w.a.probes.removePod(pod.UID)
		return next, nil
	}
	// A pod's first sandbox is started beside the volume set-up: neither
	// needs the other, and both take round trips. Its status waits for
	// the volumes (see publish).
	var first chan sandboxResult
	if rp.empty() {
		first = make(chan sandboxResult, 1)
		go func() {
			sb, err := w.runSandbox(ctx, pod, 0)
			first <- sandboxResult{sb, err}
		}()
	}
	mounted := w.setUpVolumes(ctx, pod)
	var sb *runtimeapi.PodSandbox
	if first != nil {
		r := <-first
		if r.err != nil && mounted {
			// Reported as it would be after the volumes; while they fail,
			// the mount error is the pod's story.
			w.podEvent(pod, v1.EventTypeWarning, eventFailedSandbox, "Failed to create pod sandbox: %v", r.err)
		}
		sb = r.sb
		if rp, err = w.a.listPod(ctx, string(pod.UID)); err != nil {
			return next, err
		}
		if mounted && r.err != nil {
			return next, r.err
		}
	}
	if !mounted {
		// Soon at first: a pod just bound to the node may be refused its
		// token until the API server's node authorizer has seen the
		// binding (a fraction of a second).
		w.mountRetry = min(max(2*w.mountRetry, mountRetryFirst), w.a.errorRetry)
		return w.mountRetry, nil
	}
	w.mountRetry = 0
	if sb == nil {
		sb = rp.readySandbox()
	}
	if sb == nil {
		if sb, err = w.newSandbox(ctx, pod, rp); err != nil {
			return next, err
		}
		if rp, err = w.a.listPod(ctx, string(pod.UID)); err != nil {
			return next, err
		}
	}
	rc := w.a.renderContext(w.podIP(ctx, pod, sb.GetId()))
	cur := rp.inSandbox(sb.GetId())
	if d, done := w.syncInit(ctx, pod, rp, sb, cur, rc); !done {
		return min(next, d), nil
	}
	var running []runningContainer
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		d, rc2 := w.syncContainer(ctx, pod, c, rp, sb, cur[c.Name], rc)
		next = min(next, d)
		if rc2 != nil {
			running = append(running, *rc2)
		}
	}
	// Containers started by this sync are probed from now, not from the
	// next sync's listing: a readiness probe that passes at once is in
	// the first status that shows the container running.
	running = append(running, w.started...)
	w.started = nil
	w.a.probes.sync(w, pod, running, w.probeHost(pod, rc))
	w.observeStart(pod, len(running))
	return next, nil
}

// setUpVolumes prepares (or refreshes: changed ConfigMaps, Secrets,
// tokens) the pod's volumes on every sync. A failure, such as a missing
// ConfigMap, is a FailedMount event; the pod's containers wait and
// running ones keep their last files.
func (w *podWorker) setUpVolumes(ctx context.Context, pod *v1.Pod) bool {
	env := volume.Env{NodeCPUMilli: w.a.cpuMilli, NodeMemory: w.a.memCapacity}
	if src := w.a.opts.Sources; src != nil {
		src.Track(pod)
		env.Sources = src
	}
	vols, err := volume.Prepare(ctx, pod, w.a.opts.RootDir, env)
	if err != nil {
		if w.volumes == nil && apierrors.IsForbidden(err) && time.Since(w.seen) < bindingLag {
			// The node authorizer has not seen the binding yet: tried again
			// soon, without a FailedMount for a pod that is fine.
			return false
		}
		if msg := err.Error(); msg != w.mountErr {
			w.mountErr = msg
			w.a.logf("pod %q: %s", pod.Name, msg)
			w.podEvent(pod, v1.EventTypeWarning, eventFailedMount, "%s", msg)
		}
		return w.volumes != nil && w.anyRunning(pod)
	}
	w.mountErr = ""
	w.volumes = vols
	return true
}

// anyRunning: containers of the pod already run (so a failed volume
// refresh must not keep the rest of the sync from running).
func (w *podWorker) anyRunning(pod *v1.Pod) bool {
	w.a.mu.Lock()
	defer w.a.mu.Unlock()
	for _, c := range w.a.podStatus[pod.UID].Containers {
		if c.State == status.StateRunning {
			return true
		}
	}
	return false
}

// refuse records why the pod is not run: it names every field the agent
// cannot honour. The pod gets no sandbox and no container; containers an
// earlier agent started are left as they are.
func (w *podWorker) refuse(pod *v1.Pod, errs []error) {
	msgs := make([]string, len(errs))
	for i, err := range errs {
		msgs[i] = err.Error()
	}
	msg := "this agent cannot run the pod as specified: " + strings.Join(msgs, "; ")
	if msg != w.refusal {
		w.a.logf("pod %q: %s", pod.Name, msg)
	}
	w.refusal = msg
	for _, cs := range [][]v1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for _, c := range cs {
			w.waiting[c.Name] = waitReason{reasonConfigError, msg}
		}
	}
}

// runningContainer is a running container that may need probes.
type runningContainer struct {
	id        string
	c         *v1.Container
	startedAt time.Time
}

// completed reports whether a pod that must not restart has finished.
func (w *podWorker) completed(pod *v1.Pod, rp *runtimePod) bool {
	policy := pod.Spec.RestartPolicy
	if policy == v1.RestartPolicyAlways {
		return false
	}
	for _, c := range pod.Spec.InitContainers {
		l := rp.latest(c.Name)
		if policy == v1.RestartPolicyNever && l != nil && l.state == runtimeapi.ContainerState_CONTAINER_EXITED && l.exitCode() != 0 {
			return true
		}
	}
	for _, c := range pod.Spec.Containers {
		l := rp.latest(c.Name)
		if l == nil || l.state != runtimeapi.ContainerState_CONTAINER_EXITED {
			return false
		}
		if policy == v1.RestartPolicyOnFailure && l.exitCode() != 0 {
			return false
		}
	}
	return true
}

// newSandbox stops what is left of an old sandbox and runs a new one.
func (w *podWorker) newSandbox(ctx context.Context, pod *v1.Pod, rp *runtimePod) (*runtimeapi.PodSandbox, error) {
	if err := w.stopContainers(ctx, pod, rp.containers); err != nil {
		return nil, err
	}
	attempt := uint32(0)
	if len(rp.sandboxes) > 0 {
		attempt = rp.sandboxes[0].GetMetadata().GetAttempt() + 1
		w.a.logf("pod %q: sandbox %s is not ready; creating a new one", pod.Name, short(rp.sandboxes[0].GetId()))
		w.podEvent(pod, v1.EventTypeNormal, eventSandboxChanged, "Pod sandbox changed, it will be killed and re-created.")
	}
	sb, err := w.runSandbox(ctx, pod, attempt)
	if err != nil {
		w.podEvent(pod, v1.EventTypeWarning, eventFailedSandbox, "Failed to create pod sandbox: %v", err)
	}
	return sb, err
}

// sandboxResult is the outcome of a sandbox started in the background.
type sandboxResult struct {
	sb  *runtimeapi.PodSandbox
	err error
}

// runSandbox creates and starts the pod's sandbox number attempt.
func (w *podWorker) runSandbox(ctx context.Context, pod *v1.Pod, attempt uint32) (*runtimeapi.PodSandbox, error) {
	rc := w.a.renderContext("")
	cfg := kuberuntime.SandboxConfig(pod, attempt, rc)
	if err := os.MkdirAll(cfg.LogDirectory, 0o755); err != nil {
		return nil, fmt.Errorf("failed to create the log directory %q: %w", cfg.LogDirectory, err)
	}
	start := w.a.now()
	id, err := w.a.rt.RunPodSandbox(ctx, cfg, "")
	metrics.IncStartedPods(err != nil)
	if err != nil {
		return nil, fmt.Errorf("failed to run the pod sandbox: %w", err)
	}
	w.a.logf("pod %q: sandbox %s ready in %.1fs", pod.Name, short(id), w.a.now().Sub(start).Seconds())
	return &runtimeapi.PodSandbox{Id: id, Metadata: cfg.Metadata, State: runtimeapi.PodSandboxState_SANDBOX_READY}, nil
}

func short(id string) string {
	if len(id) > 13 {
		return id[:13]
	}
	return id
}

// podIP is the sandbox's IP (the node's for hostNetwork pods).
func (w *podWorker) podIP(ctx context.Context, pod *v1.Pod, sandboxID string) string {
	if pod.Spec.HostNetwork {
		return w.a.opts.NodeIP
	}
	if ip, ok := w.podIPs[sandboxID]; ok {
		return ip
	}
	resp, err := w.a.rt.PodSandboxStatus(ctx, sandboxID, false)
	if err != nil {
		return ""
	}
	ip := resp.GetStatus().GetNetwork().GetIp()
	w.podIPs[sandboxID] = ip
	return ip
}

func (w *podWorker) probeHost(pod *v1.Pod, rc *kuberuntime.RenderContext) string {
	if pod.Spec.HostNetwork || rc.PodIP == "" {
		if w.a.opts.NodeIP != "" && pod.Spec.HostNetwork {
			return w.a.opts.NodeIP
		}
		return "127.0.0.1"
	}
	return rc.PodIP
}

func (a *Agent) renderContext(podIP string) *kuberuntime.RenderContext {
	return &kuberuntime.RenderContext{
		Node: a.opts.NodeName, NodeIP: a.opts.NodeIP, PodIP: podIP,
		PodLogsDir: a.opts.PodLogsDir, CgroupRoot: a.opts.CgroupRoot,
		ClusterDNS: a.opts.ClusterDNS, ClusterDomain: a.opts.ClusterDomain,
		HostDNS: a.hostDNS, MemCapacity: a.memCapacity, CPUCapacityMilli: a.cpuMilli,
	}
}

// syncInit runs the init containers in order. done is true once all have
// completed (sidecars: started); otherwise d is when to look again.
func (w *podWorker) syncInit(ctx context.Context, pod *v1.Pod, rp *runtimePod, sb *runtimeapi.PodSandbox, cur map[string][]*containerInfo, rc *kuberuntime.RenderContext) (time.Duration, bool) {
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		sidecar := c.RestartPolicy != nil && *c.RestartPolicy == v1.ContainerRestartPolicyAlways
		var latest *containerInfo
		if l := cur[c.Name]; len(l) > 0 {
			latest = l[0]
		}
		switch {
		case latest == nil:
			d := w.startAfterBackOff(ctx, pod, c, true, rp, sb, rc, nil)
			if !sidecar {
				return d, false
			}
		case latest.state == runtimeapi.ContainerState_CONTAINER_RUNNING:
			if !sidecar {
				return w.a.resyncPeriod, false
			}
		case latest.state == runtimeapi.ContainerState_CONTAINER_CREATED:
			w.startCreated(ctx, pod, c, latest)
			return w.a.resyncPeriod, false
		default:
			if latest.state == runtimeapi.ContainerState_CONTAINER_UNKNOWN {
				if err := w.stopUnknown(ctx, pod, c, latest); err != nil {
					return w.a.errorRetry, false
				}
			}
			if !sidecar && latest.exitCode() == 0 {
				continue
			}
			d := w.startAfterBackOff(ctx, pod, c, true, rp, sb, rc, latest)
			if !sidecar {
				return d, false
			}
		}
	}
	return 0, true
}

// syncContainer keeps one regular container as its spec and restart
// policy want; it returns when to look again and, if the container runs,
// what the prober needs.
func (w *podWorker) syncContainer(ctx context.Context, pod *v1.Pod, c *v1.Container, rp *runtimePod, sb *runtimeapi.PodSandbox, instances []*containerInfo, rc *kuberuntime.RenderContext) (time.Duration, *runningContainer) {
	next := w.a.resyncPeriod
	var latest *containerInfo
	if len(instances) > 0 {
		latest = instances[0]
	}
	switch {
	case latest == nil:
		return w.startAfterBackOff(ctx, pod, c, false, rp, sb, rc, nil), nil
	case latest.state == runtimeapi.ContainerState_CONTAINER_RUNNING:
		if latest.hash != kuberuntime.ContainerHash(c) {
			w.a.logf("pod %q: container %q changed; restarting it", pod.Name, c.Name)
			w.killContainer(ctx, latest, podGrace(pod), fmt.Sprintf("Container %s definition changed, will be restarted", c.Name))
			return 0, nil
		}
		if kill, msg, grace := w.a.probes.mustKill(latest.id); kill {
			w.a.logf("pod %q: container %q %s; killing it", pod.Name, c.Name, msg)
			if grace == nil {
				grace = pod.Spec.TerminationGracePeriodSeconds
			}
			w.killContainer(ctx, latest, derefGrace(grace), fmt.Sprintf("Container %s %s, will be restarted", c.Name, msg))
			return 0, nil
		}
		delete(w.waiting, c.Name)
		return next, &runningContainer{id: latest.id, c: c, startedAt: time.Unix(0, latest.status.GetStartedAt())}
	case latest.state == runtimeapi.ContainerState_CONTAINER_CREATED:
		w.startCreated(ctx, pod, c, latest)
		return next, nil
	case latest.state == runtimeapi.ContainerState_CONTAINER_UNKNOWN:
		if err := w.stopUnknown(ctx, pod, c, latest); err != nil {
			return w.a.errorRetry, nil
		}
	}
	if !shouldRestart(pod.Spec.RestartPolicy, latest.exitCode()) {
		delete(w.waiting, c.Name)
		return next, nil
	}
	return w.startAfterBackOff(ctx, pod, c, false, rp, sb, rc, latest), nil
}

func shouldRestart(policy v1.RestartPolicy, exitCode int32) bool {
	switch policy {
	case v1.RestartPolicyNever:
		return false
	case v1.RestartPolicyOnFailure:
		return exitCode != 0
	}
	return true
}

func backOffKey(c *v1.Container) string { return c.Name + "/" + kuberuntime.ContainerHash(c) }

// startFailure is a start of a container that failed before it ran.
type startFailure struct {
	at  time.Time
	why waitReason
}

// startAfterBackOff starts a new instance of c once the back-off of its
// last failure has passed: the exit of dead (nil if there is none) or a
// later failed create or start, which counts as a crash. A container's
// first start does not wait.
func (w *podWorker) startAfterBackOff(ctx context.Context, pod *v1.Pod, c *v1.Container, init bool, rp *runtimePod, sb *runtimeapi.PodSandbox, rc *kuberuntime.RenderContext, dead *containerInfo) time.Duration {
	key := backOffKey(c)
	var failedAt time.Time
	failed := dead != nil
	if failed {
		if failedAt = dead.finishedAt(); failedAt.IsZero() {
			failedAt = w.a.now()
		}
	}
	sf, startFailed := w.startFailures[key]
	if startFailed && sf.at.After(failedAt) {
		failed, failedAt = true, sf.at
	} else {
		startFailed = false
	}
	if failed {
		if d := w.restartBO.wait(key, failedAt); d > 0 {
			w.containerEvent(pod, c, "", v1.EventTypeWarning, eventBackOff, "Back-off restarting failed container %s in pod %s", c.Name, podDesc(pod))
			// The message names the whole back-off period, as upstream,
			// not the time left: it stays the same until the restart.
			period := w.restartBO.Get(key)
			wr := waitReason{reasonCrashLoop, fmt.Sprintf("back-off %s restarting failed container=%s pod=%s", period, c.Name, podDesc(pod))}
			if startFailed {
				wr = waitReason{sf.why.reason, fmt.Sprintf("%s (back-off %s before the next attempt)", sf.why.message, period)}
			}
			w.waiting[c.Name] = wr
			return d
		}
		w.restartBO.next(key)
	}
	return w.start(ctx, pod, c, init, rp, sb, rc)
}

// startFailed records a failed create or start of c: the reason shows in
// the status and the next attempt backs off.
func (w *podWorker) startFailed(pod *v1.Pod, c *v1.Container, reason, what string, err error) {
	wr := waitReason{reason, err.Error()}
	w.waiting[c.Name] = wr
	w.startFailures[backOffKey(c)] = startFailure{at: w.a.now(), why: wr}
	w.a.logf("pod %q: failed to %s container %q: %v", pod.Name, what, c.Name, err)
}

// podGrace is the pod's grace period: the one its deletion asked for, else
// its terminationGracePeriodSeconds.
func podGrace(pod *v1.Pod) int64 {
	if pod.DeletionGracePeriodSeconds != nil {
		return *pod.DeletionGracePeriodSeconds
	}
	return derefGrace(pod.Spec.TerminationGracePeriodSeconds)
}

// podDesc names a pod in messages as upstream does: name_namespace(uid).
func podDesc(pod *v1.Pod) string {
	return fmt.Sprintf("%s_%s(%s)", pod.Name, pod.Namespace, pod.UID)
}

// postStart is c's postStart handler, or nil.
func postStart(c *v1.Container) *v1.LifecycleHandler {
	if c.Lifecycle == nil {
		return nil
	}
	return c.Lifecycle.PostStart
}

// grpcMessage is the runtime's message without the gRPC code prefix.
func grpcMessage(err error) string {
	if st, ok := grpcstatus.FromError(err); ok {
		return st.Message()
	}
	return err.Error()
}

func derefGrace(g *int64) int64 {
	if g == nil {
		return 30
	}
	return *g
}

// stopUnknown stops an instance the runtime reports in UNKNOWN state and
// confirms that it exited (or is gone). Until then no new instance may
// start: the old one may still run, and two instances of, say, etcd on one
// data directory lose data. The container waits with reasonStatusUnknown
// meanwhile.
func (w *podWorker) stopUnknown(ctx context.Context, pod *v1.Pod, c *v1.Container, ci *containerInfo) error {
	if !w.unknown[ci.id] {
		w.unknown[ci.id] = true
		w.a.logf("pod %q: container %q (%s) is in an unknown state; stopping it before a new instance starts", pod.Name, c.Name, short(ci.id))
	}
	w.killContainer(ctx, ci, podGrace(pod), "")
	if err := w.confirmExited(ctx, ci); err != nil {
		w.waiting[c.Name] = waitReason{reasonStatusUnknown, err.Error() + "; no new instance starts until it has exited"}
		return err
	}
	delete(w.unknown, ci.id)
	w.a.logf("pod %q: container %q (%s) has exited", pod.Name, c.Name, short(ci.id))
	return nil
}

// confirmExited asks the runtime, past the status cache, whether ci has
// exited or is gone, and updates ci.
func (w *podWorker) confirmExited(ctx context.Context, ci *containerInfo) error {
	resp, err := w.a.rt.ContainerStatus(ctx, ci.id, false)
	if grpcstatus.Code(err) == codes.NotFound {
		ci.state = runtimeapi.ContainerState_CONTAINER_EXITED
		ci.status = &runtimeapi.ContainerStatus{Id: ci.id, State: ci.state, ExitCode: unknownExitCode, Reason: reasonStatusUnknown}
		return nil
	}
	if err != nil {
		return fmt.Errorf("failed to read the status of container %q (%s): %w", ci.name, short(ci.id), err)
	}
	st := resp.GetStatus()
	w.a.statuses.put(ci.id, st)
	ci.status, ci.state = st, st.GetState()
	if ci.state != runtimeapi.ContainerState_CONTAINER_EXITED {
		return fmt.Errorf("container %q (%s) is still in state %s after a stop", ci.name, short(ci.id), strings.TrimPrefix(ci.state.String(), "CONTAINER_"))
	}
	return nil
}

// startCreated starts a container found created but not started (an
// agent that stopped between the two calls).
func (w *podWorker) startCreated(ctx context.Context, pod *v1.Pod, c *v1.Container, ci *containerInfo) {
	if err := w.a.rt.StartContainer(ctx, ci.id); err != nil {
		w.startFailed(pod, c, reasonRunError, "start", err)
		_ = w.a.rt.RemoveContainer(ctx, ci.id)
	}
}

// start creates and starts a new instance of c; errors are recorded as
// the container's waiting reason. It returns when to look again.
func (w *podWorker) start(ctx context.Context, pod *v1.Pod, c *v1.Container, init bool, rp *runtimePod, sb *runtimeapi.PodSandbox, rc *kuberuntime.RenderContext) time.Duration {
	begin := w.a.now()
	restartCount := rp.nextRestartCount(c.Name)
	sbCfg := kuberuntime.SandboxConfig(pod, sb.GetMetadata().GetAttempt(), rc)
	imageRef, d, err := w.ensureImage(ctx, pod, c, sbCfg)
	if err != nil {
		return d
	}
	if err := w.checkNonRoot(ctx, pod, c, imageRef); err != nil {
		if wr := (waitReason{reasonConfigError, err.Error()}); w.waiting[c.Name] != wr {
			w.waiting[c.Name] = wr
			w.a.logf("pod %q: container %q: %v", pod.Name, c.Name, err)
		}
		w.containerEvent(pod, c, "", v1.EventTypeWarning, eventFailed, "Error: %v", err)
		return w.a.resyncPeriod
	}
	cfg, err := w.buildContainerConfig(ctx, pod, c, init, restartCount, imageRef, rc)
	if err != nil {
		w.waiting[c.Name] = waitReason{reasonConfigError, err.Error()}
		w.a.logf("pod %q: container %q: %v", pod.Name, c.Name, err)
		w.containerEvent(pod, c, "", v1.EventTypeWarning, eventFailed, "Error: %v", err)
		return w.a.errorRetry
	}
	id, err := w.a.rt.CreateContainer(ctx, sb.GetId(), cfg, sbCfg)
	if err != nil {
		w.startFailed(pod, c, reasonCreateError, "create", err)
		w.containerEvent(pod, c, "", v1.EventTypeWarning, eventFailed, "Error: %v", grpcMessage(err))
		return w.a.errorRetry
	}
	w.containerEvent(pod, c, id, v1.EventTypeNormal, eventCreated, "Container created")
	err = w.a.rt.StartContainer(ctx, id)
	ctype := metrics.ContainerTypeRegular
	if init {
		ctype = metrics.ContainerTypeInit
	}
	code := ""
	if err != nil {
		code = grpcstatus.Code(err).String()
	}
	metrics.IncStartedContainers(ctype, code)
	if err != nil {
		w.startFailed(pod, c, reasonRunError, "start", err)
		w.containerEvent(pod, c, id, v1.EventTypeWarning, eventFailed, "Error: %v", grpcMessage(err))
		_ = w.a.rt.RemoveContainer(ctx, id)
		return w.a.errorRetry
	}
	w.containerEvent(pod, c, id, v1.EventTypeNormal, eventStarted, "Container started")
	if h := postStart(c); h != nil {
		ci := &containerInfo{id: id, name: c.Name, sandboxID: sb.GetId(), state: runtimeapi.ContainerState_CONTAINER_RUNNING, annotations: cfg.GetAnnotations()}
		if err := w.runHook(ctx, ci, h); err != nil {
			w.a.logf("pod %q: postStart hook of container %q failed: %v", pod.Name, c.Name, err)
			w.containerEvent(pod, c, id, v1.EventTypeWarning, eventFailedPostStart, "PostStartHook failed")
			w.killContainer(ctx, ci, podGrace(pod), "FailedPostStartHook")
			return 0
		}
	}
	delete(w.waiting, c.Name)
	delete(w.startFailures, backOffKey(c))
	kind := "container"
	if init {
		kind = "init container"
	} else {
		w.started = append(w.started, runningContainer{id: id, c: c, startedAt: time.Now()})
	}
	w.a.logf("pod %q started %s %q (restart %d) in %.1fs", pod.Name, kind, c.Name, restartCount, w.a.now().Sub(begin).Seconds())
	// Sync again at once: the status shows the container running and its
	// probes start now, not at the next relist.
	return 0
}

// buildContainerConfig prepares volumes and files and renders the config.
func (w *podWorker) buildContainerConfig(ctx context.Context, pod *v1.Pod, c *v1.Container, init bool, restartCount int, imageRef string, rc *kuberuntime.RenderContext) (*runtimeapi.ContainerConfig, error) {
	vols := w.volumes
	var envSrc kuberuntime.EnvSources
	if w.a.opts.Sources != nil {
		envSrc = w.a.opts.Sources
	}
	env, err := kuberuntime.ContainerEnv(ctx, pod, c, rc, envSrc)
	if err != nil {
		return nil, err
	}
	subs, err := kuberuntime.SubPaths(c, env)
	if err != nil {
		return nil, err
	}
	hostSubs, err := volume.PrepareSubPaths(c, vols, subs)
	if err != nil {
		return nil, err
	}
	mounts := volume.ContainerMounts(pod, c, vols, hostSubs)
	if !volume.MountsPath(c, "/etc/hosts") {
		hosts, err := volume.EtcHostsFile(w.a.opts.RootDir, pod, rc.PodIP, kuberuntime.PodHostname(pod))
		if err != nil {
			return nil, err
		}
		mounts = append(mounts, &runtimeapi.Mount{ContainerPath: "/etc/hosts", HostPath: hosts})
	}
	if c.TerminationMessagePath != "" && !volume.MountsPath(c, c.TerminationMessagePath) {
		f, err := volume.TerminationMessageFile(w.a.opts.RootDir, pod, c, restartCount)
		if err != nil {
			return nil, err
		}
		mounts = append(mounts, &runtimeapi.Mount{ContainerPath: c.TerminationMessagePath, HostPath: f})
	}
	logDir := filepath.Join(kuberuntime.PodLogDir(w.a.opts.PodLogsDir, pod), c.Name)
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, fmt.Errorf("failed to create the log directory %q: %w", logDir, err)
	}
	return kuberuntime.ContainerConfig(kuberuntime.ContainerSpec{Pod: pod, Container: c, Init: init, RestartCount: restartCount, ImageRef: imageRef, Env: env, Mounts: mounts}, rc), nil
}

// checkNonRoot enforces runAsNonRoot: the container may not start if it
// would run as root, judged from its runAsUser or the image's user.
func (w *podWorker) checkNonRoot(ctx context.Context, pod *v1.Pod, c *v1.Container, imageRef string) error {
	if !kuberuntime.NeedsNonRoot(pod, c) {
		return nil
	}
	resp, err := w.a.images.ImageStatus(ctx, &runtimeapi.ImageSpec{Image: imageRef, UserSpecifiedImage: c.Image}, false)
	if err != nil {
		return fmt.Errorf("failed to read the user of image %q for runAsNonRoot: %w", c.Image, err)
	}
	img := resp.GetImage()
	if img == nil {
		return fmt.Errorf("image %q is not present; cannot check runAsNonRoot", c.Image)
	}
	var uid *int64
	if u := img.GetUid(); u != nil {
		v := u.GetValue()
		uid = &v
	}
	return kuberuntime.VerifyRunAsNonRoot(pod, c, uid, img.GetUsername())
}

// ensureImage returns the image reference to run. A present image is
// never pulled, whatever imagePullPolicy says; a missing one is pulled
// unless the policy is Never, with back-off between failed pulls.
func (w *podWorker) ensureImage(ctx context.Context, pod *v1.Pod, c *v1.Container, sbCfg *runtimeapi.PodSandboxConfig) (string, time.Duration, error) {
	spec := &runtimeapi.ImageSpec{Image: c.Image, UserSpecifiedImage: c.Image}
	resp, err := w.a.images.ImageStatus(ctx, spec, false)
	if err != nil {
		w.waiting[c.Name] = waitReason{reasonErrImagePull, err.Error()}
		return "", w.a.errorRetry, err
	}
	if img := resp.GetImage(); img != nil && c.ImagePullPolicy != v1.PullAlways {
		w.containerEvent(pod, c, "", v1.EventTypeNormal, eventPulled, "Container image %q already present on machine and can be accessed by the pod", c.Image)
		if img.GetId() != "" {
			return img.GetId(), 0, nil
		}
		return c.Image, 0, nil
	}
	if c.ImagePullPolicy == v1.PullNever {
		msg := fmt.Sprintf("Container image %q is not present with pull policy of Never", c.Image)
		w.waiting[c.Name] = waitReason{reasonErrImageNeverPull, msg}
		w.containerEvent(pod, c, "", v1.EventTypeWarning, eventErrImageNeverPull, "%s", msg)
		w.containerEvent(pod, c, "", v1.EventTypeWarning, eventFailed, "Error: %s", reasonErrImageNeverPull)
		return "", w.a.resyncPeriod, errors.New(msg)
	}
	key := string(pod.UID) + "_" + c.Image
	if d := w.a.imageBO.wait(key, w.a.now()); d > 0 {
		msg := fmt.Sprintf("Back-off pulling image %q", c.Image)
		if last := w.pullErrors[c.Image]; last != "" {
			msg += ": " + last
		}
		w.waiting[c.Name] = waitReason{reasonImagePullBackOff, msg}
		w.containerEvent(pod, c, "", v1.EventTypeNormal, eventBackOff, "Back-off pulling image %q", c.Image)
		w.containerEvent(pod, c, "", v1.EventTypeWarning, eventFailed, "Error: %s", reasonImagePullBackOff)
		return "", d, errors.New("image pull back-off")
	}
	w.a.imageBO.next(key)
	begin := w.a.now()
	w.a.logf("pod %q: pulling image %q", pod.Name, c.Image)
	w.containerEvent(pod, c, "", v1.EventTypeNormal, eventPulling, "Pulling image %q", c.Image)
	ref, err := w.a.images.PullImage(ctx, spec, nil, sbCfg)
	if err != nil {
		w.pullErrors[c.Image] = grpcMessage(err)
		w.waiting[c.Name] = waitReason{reasonErrImagePull, grpcMessage(err)}
		w.a.logf("pod %q: failed to pull image %q: %v", pod.Name, c.Image, err)
		w.containerEvent(pod, c, "", v1.EventTypeWarning, eventFailed, "Failed to pull image %q: %v", c.Image, grpcMessage(err))
		w.containerEvent(pod, c, "", v1.EventTypeWarning, eventFailed, "Error: %s", reasonErrImagePull)
		return "", w.a.imageBO.wait(key, w.a.now()), err
	}
	w.a.imageBO.Reset(key)
	delete(w.pullErrors, c.Image)
	took := w.a.now().Sub(begin).Round(time.Millisecond)
	w.a.logf("pod %q: pulled image %q in %.1fs", pod.Name, c.Image, took.Seconds())
	size := uint64(0)
	if st, err := w.a.images.ImageStatus(ctx, spec, false); err == nil {
		size = st.GetImage().GetSize()
	}
	w.containerEvent(pod, c, "", v1.EventTypeNormal, eventPulled, "Successfully pulled image %q in %v (%v including waiting). Image size: %d bytes.", c.Image, took, took, size)
	return ref, 0, nil
}

// killContainer runs the preStop hook (recorded in the container's
// annotation) and stops the container with the rest of the grace period
// (at least 2 s).
func (w *podWorker) killContainer(ctx context.Context, ci *containerInfo, grace int64, why string) {
	begin := w.a.now()
	pod, _ := w.state()
	if why == "" {
		why = "Stopping container " + ci.name
	}
	w.containerEvent(pod, &v1.Container{Name: ci.name}, ci.id, v1.EventTypeNormal, eventKilling, "%s", why)
	if raw := ci.annotations[kuberuntime.AnnotationPreStop]; raw != "" && grace > 0 && ci.state == runtimeapi.ContainerState_CONTAINER_RUNNING {
		h := &v1.LifecycleHandler{}
		if json.Unmarshal([]byte(raw), h) == nil {
			hctx, cancel := context.WithTimeout(ctx, time.Duration(grace)*time.Second)
			if err := w.runHook(hctx, ci, h); err != nil {
				w.a.logf("preStop hook of container %s failed: %v", short(ci.id), err)
				w.containerEvent(pod, &v1.Container{Name: ci.name}, ci.id, v1.EventTypeWarning, eventFailedPreStop, "PreStopHook failed")
			}
			cancel()
		}
	}
	remaining := grace - int64(w.a.now().Sub(begin)/time.Second)
	remaining = max(remaining, minGracePeriod)
	w.a.probes.remove(ci.id)
	if err := w.a.rt.StopContainer(ctx, ci.id, remaining); err != nil {
		w.a.logf("failed to stop container %s: %v", short(ci.id), err)
	}
}

// stopContainers stops the running and unknown containers in parallel
// and confirms with the runtime that each has exited.
func (w *podWorker) stopContainers(ctx context.Context, pod *v1.Pod, cs []*containerInfo) error {
	var wg sync.WaitGroup
	var stopped []*containerInfo
	for _, ci := range cs {
		if ci.state != runtimeapi.ContainerState_CONTAINER_RUNNING && ci.state != runtimeapi.ContainerState_CONTAINER_UNKNOWN {
			continue
		}
		stopped = append(stopped, ci)
		grace := podGrace(pod)
		wg.Add(1)
		go func(ci *containerInfo) {
			defer wg.Done()
			w.killContainer(ctx, ci, grace, "")
		}(ci)
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	var errs []error
	for _, ci := range stopped {
		errs = append(errs, w.confirmExited(ctx, ci))
	}
	return errors.Join(errs...)
}

// terminate stops the pod's containers gracefully, stops and removes its
// sandboxes and containers, and removes its directory and cgroup. It
// succeeds only when nothing of the pod is left.
func (w *podWorker) terminate(ctx context.Context, pod *v1.Pod) error {
	begin := w.a.now()
	w.a.probes.removePod(w.uid)
	w.publishTerminating(pod)
	rp, err := w.a.listPod(ctx, string(pod.UID))
	if err != nil {
		return err
	}
	if err := w.stopContainers(ctx, pod, rp.containers); err != nil {
		return err
	}
	var errs []error
	for _, s := range rp.sandboxes {
		if s.GetState() == runtimeapi.PodSandboxState_SANDBOX_READY {
			if err := w.a.rt.StopPodSandbox(ctx, s.GetId()); err != nil {
				errs = append(errs, fmt.Errorf("failed to stop sandbox %s: %w", short(s.GetId()), err))
			}
		}
	}
	for _, c := range rp.containers {
		if err := w.a.rt.RemoveContainer(ctx, c.id); err != nil {
			errs = append(errs, fmt.Errorf("failed to remove container %s: %w", short(c.id), err))
		}
	}
	for _, s := range rp.sandboxes {
		if err := w.a.rt.RemovePodSandbox(ctx, s.GetId()); err != nil {
			errs = append(errs, fmt.Errorf("failed to remove sandbox %s: %w", short(s.GetId()), err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if rp, err = w.a.listPod(ctx, string(pod.UID)); err != nil {
		return err
	}
	if !rp.empty() {
		return fmt.Errorf("%d containers and %d sandboxes are still present", len(rp.containers), len(rp.sandboxes))
	}
	if err := volume.TeardownPodDir(volume.PodDir(w.a.opts.RootDir, pod)); err != nil {
		return err
	}
	removeCgroup(kuberuntime.CgroupParent(w.a.opts.CgroupRoot, pod))
	// The pod is gone for good (no source wants it): so are its logs.
	if err := os.RemoveAll(kuberuntime.PodLogDir(w.a.opts.PodLogsDir, pod)); err != nil {
		w.a.logf("pod %q: failed to remove its log directory: %v", pod.Name, err)
	}
	w.a.logf("pod %q stopped and removed in %.1fs", pod.Name, w.a.now().Sub(begin).Seconds())
	return nil
}

// removeCgroup removes the pod's (empty) cgroupfs directories; best
// effort.
func removeCgroup(parent string) {
	controllers, err := os.ReadDir("/sys/fs/cgroup")
	if err != nil {
		return
	}
	for _, c := range controllers {
		_ = os.Remove(filepath.Join("/sys/fs/cgroup", c.Name(), parent))
	}
	_ = os.Remove(filepath.Join("/sys/fs/cgroup", parent))
}

// publishTerminating records that the pod is being stopped.
func (w *podWorker) publishTerminating(pod *v1.Pod) {
	w.a.mu.Lock()
	s, ok := w.a.podStatus[w.uid]
	w.a.mu.Unlock()
	if !ok {
		s = status.Pod{Name: pod.Name, Namespace: pod.Namespace, UID: string(pod.UID), Containers: []status.Container{}}
	}
	s.Phase = "Terminating"
	w.a.setPodStatus(w.uid, s)
}

// runHook runs a lifecycle handler (exec, httpGet, sleep); an exec hook
// that exits non-zero fails, with its output.
func (w *podWorker) runHook(ctx context.Context, ci *containerInfo, h *v1.LifecycleHandler) error {
	a := w.a
	switch {
	case h.Exec != nil:
		timeout := time.Minute
		if dl, ok := ctx.Deadline(); ok {
			timeout = time.Until(dl)
		}
		stdout, stderr, err := a.rt.ExecSync(ctx, ci.id, h.Exec.Command, timeout)
		var ee *cri.ExitError
		if errors.As(err, &ee) {
			return fmt.Errorf("command %q exited with %d: %s", strings.Join(h.Exec.Command, " "), ee.Code, strings.TrimSpace(string(stdout)+string(stderr)))
		}
		return err
	case h.HTTPGet != nil:
		return a.probes.hookHTTP(ctx, h.HTTPGet, w.hookHost(ctx, ci), hookPorts(ci))
	case h.Sleep != nil:
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(h.Sleep.Seconds) * time.Second):
		}
	}
	return nil
}

// hookHost is the address of an httpGet hook without a host: the pod's
// IP, the node's for hostNetwork pods.
func (w *podWorker) hookHost(ctx context.Context, ci *containerInfo) string {
	if ip, ok := w.podIPs[ci.sandboxID]; ok && ip != "" {
		return ip
	}
	resp, err := w.a.rt.PodSandboxStatus(ctx, ci.sandboxID, false)
	if err != nil {
		return ""
	}
	st := resp.GetStatus()
	if st.GetLinux().GetNamespaces().GetOptions().GetNetwork() == runtimeapi.NamespaceMode_NODE {
		return w.a.opts.NodeIP
	}
	return st.GetNetwork().GetIp()
}

// hookPorts are the container's ports, from the annotation that records
// them, so that a hook can name a port after the spec is gone.
func hookPorts(ci *containerInfo) []v1.ContainerPort {
	var ports []v1.ContainerPort
	if raw := ci.annotations[kuberuntime.AnnotationPorts]; raw != "" {
		_ = json.Unmarshal([]byte(raw), &ports)
	}
	return ports
}
