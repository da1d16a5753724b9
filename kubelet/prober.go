package kubelet

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/kubeadmin/kubeadmin/kubelet/probe"
)

// Probe kinds.
const (
	probeStartup   = "Startup"
	probeLiveness  = "Liveness"
	probeReadiness = "Readiness"
)

// hookTimeout bounds an httpGet hook whose context has no deadline.
const hookTimeout = 30 * time.Second

// probeState is what the probes say about one running container.
type probeState struct {
	started bool
	ready   bool
	kill    bool
	killMsg string
	// killGrace is the probe-level terminationGracePeriodSeconds.
	killGrace *int64
}

// containerProbes are the probe goroutines of one container instance.
type containerProbes struct {
	uid    types.UID
	cancel context.CancelFunc
	state  probeState
}

// prober runs startup, liveness and readiness probes, one goroutine per
// probe of each running container. A startup probe gates the others;
// reaching a failure threshold of startup or liveness marks the container
// to be killed and pokes its pod worker.
type prober struct {
	a  *Agent
	mu sync.Mutex
	m  map[string]*containerProbes
}

func newProber(a *Agent) *prober { return &prober{a: a, m: map[string]*containerProbes{}} }

// sync starts probes for the running containers of a pod and stops those
// of the pod's containers that no longer run.
func (p *prober) sync(w *podWorker, pod *v1.Pod, running []runningContainer, host string) {
	keep := map[string]bool{}
	for _, rc := range running {
		keep[rc.id] = true
		p.ensure(w, pod, rc, host)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for id, cp := range p.m {
		if cp.uid == pod.UID && !keep[id] {
			cp.cancel()
			delete(p.m, id)
		}
	}
}

func (p *prober) ensure(w *podWorker, pod *v1.Pod, rc runningContainer, host string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.m[rc.id]; ok {
		return
	}
	c := rc.c
	ctx, cancel := context.WithCancel(p.a.ctx)
	cp := &containerProbes{uid: pod.UID, cancel: cancel, state: probeState{started: c.StartupProbe == nil, ready: c.ReadinessProbe == nil}}
	p.m[rc.id] = cp
	for kind, pr := range map[string]*v1.Probe{probeStartup: c.StartupProbe, probeLiveness: c.LivenessProbe, probeReadiness: c.ReadinessProbe} {
		if pr != nil {
			// Counted with the workers, so that Run returns only once
			// every probe has ended.
			p.a.wg.Add(1)
			go func() {
				defer p.a.wg.Done()
				p.loop(ctx, w, rc, kind, pr, host)
			}()
		}
	}
}

// state is the probe state of a container (defaults when it has no
// probes running yet).
func (p *prober) state(id string, c *v1.Container) probeState {
	p.mu.Lock()
	defer p.mu.Unlock()
	if cp, ok := p.m[id]; ok {
		return cp.state
	}
	return probeState{started: c.StartupProbe == nil, ready: c.ReadinessProbe == nil}
}

// mustKill reports whether a probe wants the container killed, why, and
// the probe's grace period if it sets one.
func (p *prober) mustKill(id string) (bool, string, *int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if cp, ok := p.m[id]; ok && cp.state.kill {
		return true, cp.state.killMsg, cp.state.killGrace
	}
	return false, "", nil
}

func (p *prober) remove(id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if cp, ok := p.m[id]; ok {
		cp.cancel()
		delete(p.m, id)
	}
}

func (p *prober) removePod(uid types.UID) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for id, cp := range p.m {
		if cp.uid == uid {
			cp.cancel()
			delete(p.m, id)
		}
	}
}

// earlyRetryFirst is the first quick retry of a readiness probe that
// failed before the container was ever Ready; it doubles.
const earlyRetryFirst = 50 * time.Millisecond

// update changes a container's state under the lock and reports whether
// the worker should be poked.
func (p *prober) update(id string, f func(s *probeState) bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	cp, ok := p.m[id]
	if !ok {
		return false
	}
	return f(&cp.state)
}

func (p *prober) loop(ctx context.Context, w *podWorker, rc runningContainer, kind string, pr *v1.Probe, host string) {
	unit := p.a.secondUnit
	delay := time.Duration(pr.InitialDelaySeconds) * unit
	if !rc.startedAt.IsZero() {
		delay -= time.Since(rc.startedAt)
	}
	timer := time.NewTimer(max(delay, 0))
	defer timer.Stop()
	successes, failures := int32(0), int32(0)
	period := time.Duration(pr.PeriodSeconds) * unit
	// Until a readiness probe first succeeds, within the container's first
	// period, it is tried again sooner: a server that listens a few
	// milliseconds after its start is Ready then, not a whole period
	// later. Failures before the first success change nothing (the
	// container is not Ready yet), so the outcome is the same, earlier.
	early, everReady := earlyRetryFirst, false
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		timer.Reset(period)
		st := p.state(rc.id, rc.c)
		if kind == probeStartup && st.started {
			return
		}
		if kind != probeStartup && !st.started {
			continue
		}
		res := p.run(ctx, rc, pr, host)
		if ctx.Err() != nil {
			return
		}
		if res.Success {
			successes, failures = successes+1, 0
			everReady = everReady || kind == probeReadiness
		} else if kind == probeReadiness && !everReady && !rc.startedAt.IsZero() && time.Since(rc.startedAt)+early < period {
			timer.Reset(early)
			early *= 2
			continue
		} else {
			successes, failures = 0, failures+1
			pod, _ := w.state()
			w.containerEvent(pod, rc.c, rc.id, v1.EventTypeWarning, eventUnhealthy, "%s probe failed: %s", kind, res.Message)
		}
		if p.apply(rc, kind, pr, res, successes, failures) {
			w.poke()
		}
	}
}

// apply records one probe result; it returns true when the worker must
// act.
func (p *prober) apply(rc runningContainer, kind string, pr *v1.Probe, res probe.Result, successes, failures int32) bool {
	return p.update(rc.id, func(s *probeState) bool {
		switch kind {
		case probeStartup:
			if successes >= pr.SuccessThreshold {
				s.started = true
				return true
			}
		case probeReadiness:
			if successes >= pr.SuccessThreshold && !s.ready {
				s.ready = true
				return true
			}
			if failures >= pr.FailureThreshold && s.ready {
				s.ready = false
				return true
			}
			return false
		}
		if failures >= pr.FailureThreshold && !s.kill && (kind == probeStartup || kind == probeLiveness) {
			s.kill = true
			s.killMsg = "failed " + kind + " probe: " + res.Message
			s.killGrace = pr.TerminationGracePeriodSeconds
			return true
		}
		return false
	})
}

// run performs one probe attempt against the container.
func (p *prober) run(ctx context.Context, rc runningContainer, pr *v1.Probe, host string) probe.Result {
	timeout := time.Duration(pr.TimeoutSeconds) * p.a.secondUnit
	switch {
	case pr.Exec != nil:
		run := func(ctx context.Context, cmd []string, t time.Duration) ([]byte, []byte, error) {
			return p.a.rt.ExecSync(ctx, rc.id, cmd, t)
		}
		return probe.DoExec(ctx, run, pr.Exec.Command, timeout)
	case pr.HTTPGet != nil:
		g := pr.HTTPGet
		h := host
		if g.Host != "" {
			h = g.Host
		}
		hdr := http.Header{}
		for _, kv := range g.HTTPHeaders {
			hdr.Add(kv.Name, kv.Value)
		}
		return probe.DoHTTP(ctx, probe.HTTPGet{Scheme: string(g.Scheme), Host: h, Port: resolvePort(g.Port, rc.c), Path: g.Path, Headers: hdr}, timeout)
	case pr.TCPSocket != nil:
		h := host
		if pr.TCPSocket.Host != "" {
			h = pr.TCPSocket.Host
		}
		return probe.DoTCP(ctx, h, resolvePort(pr.TCPSocket.Port, rc.c), timeout)
	case pr.GRPC != nil:
		svc := ""
		if pr.GRPC.Service != nil {
			svc = *pr.GRPC.Service
		}
		return probe.DoGRPC(ctx, host, int(pr.GRPC.Port), svc, timeout)
	}
	return probe.Result{Message: "probe has no handler"}
}

// hookHTTP runs an httpGet lifecycle hook against host (the pod IP, unless
// the hook names a host), resolving a named port from ports.
func (p *prober) hookHTTP(ctx context.Context, g *v1.HTTPGetAction, host string, ports []v1.ContainerPort) error {
	h := g.Host
	if h == "" {
		h = host
	}
	if h == "" {
		return errors.New("httpGet hook: the pod has no IP")
	}
	port := resolvePort(g.Port, &v1.Container{Ports: ports})
	if port <= 0 {
		return fmt.Errorf("httpGet hook: port %q is not a port of the container", g.Port.String())
	}
	dl, ok := ctx.Deadline()
	timeout := hookTimeout
	if ok {
		timeout = time.Until(dl)
	}
	hdr := http.Header{}
	for _, kv := range g.HTTPHeaders {
		hdr.Add(kv.Name, kv.Value)
	}
	res := probe.DoHTTP(ctx, probe.HTTPGet{Scheme: string(g.Scheme), Host: h, Port: port, Path: g.Path, Headers: hdr}, timeout)
	if !res.Success {
		return errors.New(res.Message)
	}
	return nil
}

// resolvePort turns a number or a named container port into a number.
func resolvePort(port intstr.IntOrString, c *v1.Container) int {
	if port.Type == intstr.Int {
		return port.IntValue()
	}
	for _, cp := range c.Ports {
		if cp.Name == port.StrVal {
			return int(cp.ContainerPort)
		}
	}
	return 0
}
