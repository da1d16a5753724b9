package kubelet

import (
	"context"
	"fmt"
	"io"
	"log"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	critest "k8s.io/cri-api/pkg/apis/testing"
	testingclock "k8s.io/utils/clock/testing"

	"github.com/kubeadmin/kubeadmin/kubelet/kuberuntime"
	"github.com/kubeadmin/kubeadmin/kubelet/podsource"
)

// testRuntime is the cri-api fake runtime plus a record of the configs the
// agent sent and hooks to block or inspect calls.
type testRuntime struct {
	*critest.FakeRuntimeService
	mu         sync.Mutex
	containers []*runtimeapi.ContainerConfig
	sandboxes  []*runtimeapi.PodSandboxConfig
	onStop     func(id string)
	onRun      func(cfg *runtimeapi.PodSandboxConfig)
	onCreate   func(cfg *runtimeapi.ContainerConfig)
	onExec     func(id string)
	// onList, if set, runs before each ListContainers (it may block).
	onList func()
	// sandboxIP, if set, is the IP of new sandboxes.
	sandboxIP string
	// stopTimeouts are the timeouts of the StopContainer calls.
	stopTimeouts []int64
	// stopIgnored makes StopContainer succeed without changing anything,
	// as a runtime that has lost track of a container may.
	stopIgnored atomic.Bool
}

func newTestRuntime() *testRuntime {
	f := critest.NewFakeRuntimeService()
	f.FakeStatus = &runtimeapi.RuntimeStatus{Conditions: []*runtimeapi.RuntimeCondition{{Type: runtimeapi.RuntimeReady, Status: true}}}
	return &testRuntime{FakeRuntimeService: f}
}

func (r *testRuntime) CreateContainer(ctx context.Context, sb string, cfg *runtimeapi.ContainerConfig, sbCfg *runtimeapi.PodSandboxConfig) (string, error) {
	r.mu.Lock()
	r.containers = append(r.containers, cfg)
	hook := r.onCreate
	r.mu.Unlock()
	if hook != nil {
		hook(cfg)
	}
	return r.FakeRuntimeService.CreateContainer(ctx, sb, cfg, sbCfg)
}

func (r *testRuntime) ListContainers(ctx context.Context, f *runtimeapi.ContainerFilter) ([]*runtimeapi.Container, error) {
	r.mu.Lock()
	hook := r.onList
	r.mu.Unlock()
	if hook != nil {
		hook()
	}
	return r.FakeRuntimeService.ListContainers(ctx, f)
}

func (r *testRuntime) RunPodSandbox(ctx context.Context, cfg *runtimeapi.PodSandboxConfig, h string) (string, error) {
	r.mu.Lock()
	r.sandboxes = append(r.sandboxes, cfg)
	hook := r.onRun
	r.mu.Unlock()
	if hook != nil {
		hook(cfg)
	}
	id, err := r.FakeRuntimeService.RunPodSandbox(ctx, cfg, h)
	if err == nil && r.sandboxIP != "" {
		r.Lock()
		r.Sandboxes[id].Network.Ip = r.sandboxIP
		r.Unlock()
	}
	return id, err
}

func (r *testRuntime) ExecSync(ctx context.Context, id string, cmd []string, timeout time.Duration) ([]byte, []byte, error) {
	r.mu.Lock()
	hook := r.onExec
	r.mu.Unlock()
	if hook != nil {
		hook(id)
	}
	return r.FakeRuntimeService.ExecSync(ctx, id, cmd, timeout)
}

func (r *testRuntime) StopContainer(ctx context.Context, id string, timeout int64) error {
	r.mu.Lock()
	hook := r.onStop
	r.stopTimeouts = append(r.stopTimeouts, timeout)
	r.mu.Unlock()
	if hook != nil {
		hook(id)
	}
	if r.stopIgnored.Load() {
		r.Lock()
		r.Called = append(r.Called, "StopContainer")
		r.Unlock()
		return nil
	}
	return r.FakeRuntimeService.StopContainer(ctx, id, timeout)
}

// lastStopTimeout is the timeout of the last StopContainer call (-1: none).
func (r *testRuntime) lastStopTimeout() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.stopTimeouts) == 0 {
		return -1
	}
	return r.stopTimeouts[len(r.stopTimeouts)-1]
}

// created lists "name/attempt" of every CreateContainer call, in order.
func (r *testRuntime) created() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, c := range r.containers {
		out = append(out, fmt.Sprintf("%s/%d", c.Metadata.Name, c.Metadata.Attempt))
	}
	return out
}

func (r *testRuntime) lastConfig(name string) *runtimeapi.ContainerConfig {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.containers) - 1; i >= 0; i-- {
		if r.containers[i].Metadata.Name == name {
			return r.containers[i]
		}
	}
	return nil
}

// find returns the ID of the newest container called name.
func (r *testRuntime) find(name string) (string, runtimeapi.ContainerState) {
	r.Lock()
	defer r.Unlock()
	var best *critest.FakeContainer
	for _, c := range r.Containers {
		if c.Metadata.Name == name && (best == nil || c.Metadata.Attempt > best.Metadata.Attempt) {
			best = c
		}
	}
	if best == nil {
		return "", runtimeapi.ContainerState_CONTAINER_UNKNOWN
	}
	return best.Id, best.State
}

// exit makes a container exit with code at time at.
func (r *testRuntime) exit(id string, code int32, at time.Time) {
	r.Lock()
	defer r.Unlock()
	c := r.Containers[id]
	c.State = runtimeapi.ContainerState_CONTAINER_EXITED
	c.ExitCode = code
	c.FinishedAt = at.UnixNano()
}

// setState sets a container's state.
func (r *testRuntime) setState(id string, st runtimeapi.ContainerState) {
	r.Lock()
	defer r.Unlock()
	r.Containers[id].State = st
}

func (r *testRuntime) count(call string) int {
	n := 0
	for _, c := range r.GetCalls() {
		if c == call {
			n++
		}
	}
	return n
}

func (r *testRuntime) objects() (containers, sandboxes int) {
	r.Lock()
	defer r.Unlock()
	return len(r.Containers), len(r.Sandboxes)
}

func testConfig(t *testing.T) Options {
	return Options{
		NodeName: "node1", NodeIP: "10.0.0.1",
		RootDir: t.TempDir(), PodLogsDir: t.TempDir(), CgroupRoot: "/test",
		RuntimeEndpoint: "unix:///fake.sock", ResolvConf: "/nonexistent",
		SyncFrequency: time.Minute, MemoryCapacity: 4 << 30, CPUCapacityMilli: 2000,
	}
}

type testAgent struct {
	*Agent
	rt     *testRuntime
	images *critest.FakeImageService
	clock  *testingclock.FakeClock
	cancel context.CancelFunc
}

// logWriter sends agent logs to the test log.
type logWriter struct{ t *testing.T }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// newTestAgent builds an agent with a fake clock and short periods; it
// is not started.
func newTestAgent(t *testing.T, rt *testRuntime, cfg Options) *testAgent {
	t.Helper()
	images := critest.NewFakeImageService()
	images.SetFakeImages([]string{"img:1", "img:2"})
	var out io.Writer = logWriter{t}
	a := New(cfg, rt, images, log.New(out, "", 0))
	clk := newFakeClock()
	a.clock = clk
	a.imageBO = newBackOff(clk)
	a.secondUnit = 10 * time.Millisecond
	a.relistPeriod = 10 * time.Millisecond
	a.errorRetry = 10 * time.Millisecond
	return &testAgent{Agent: a, rt: rt, images: images, clock: clk, cancel: func() {}}
}

// startAgent builds and starts an agent; the test's end stops it.
func startAgent(t *testing.T, rt *testRuntime, cfg Options) *testAgent {
	t.Helper()
	ta := newTestAgent(t, rt, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	ta.cancel = cancel
	if err := ta.start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ta.stop)
	return ta
}

func (ta *testAgent) stop() {
	ta.cancel()
	ta.wg.Wait()
}

func decodePod(t *testing.T, yaml, file string) *v1.Pod {
	t.Helper()
	p, err := podsource.DecodePod([]byte(yaml), file, "node1")
	if err != nil {
		t.Fatal(err)
	}
	p.Annotations[podsource.ConfigSeenAnnotation] = "2026-01-01T00:00:00Z"
	return p
}

func snapshot(pods ...*v1.Pod) podsource.Snapshot {
	s := podsource.Snapshot{Pods: pods, Files: map[string]string{}}
	for _, p := range pods {
		s.Files[string(p.UID)] = "/m/" + p.Name
	}
	return s
}

func sortedKeys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func podsourceError(file, msg string) podsource.FileError {
	return podsource.FileError{File: file, Error: msg}
}

// seedRunningPod puts a ready sandbox and a running container of a pod of
// node into the fake runtime, as a previous agent would have left them.
func seedRunningPod(rt *testRuntime, uid, name, node string) {
	labels := map[string]string{kuberuntime.LabelPodUID: uid, kuberuntime.LabelPodName: name, kuberuntime.LabelPodNamespace: "default", kuberuntime.LabelNode: node}
	rt.Lock()
	defer rt.Unlock()
	rt.Sandboxes["s-"+uid] = &critest.FakePodSandbox{PodSandboxStatus: runtimeapi.PodSandboxStatus{Id: "s-" + uid, Metadata: &runtimeapi.PodSandboxMetadata{Name: name, Uid: uid}, State: runtimeapi.PodSandboxState_SANDBOX_READY, Labels: labels}}
	rt.Containers["c-"+uid] = &critest.FakeContainer{SandboxID: "s-" + uid, ContainerStatus: runtimeapi.ContainerStatus{Id: "c-" + uid, Metadata: &runtimeapi.ContainerMetadata{Name: "c"}, State: runtimeapi.ContainerState_CONTAINER_RUNNING, Labels: labels}}
}

// runReturnTimeout is how long a test waits for Run to return.
const runReturnTimeout = 5 * time.Second

// runAgent runs ta.Run(ctx, updates) in the background until the test
// ends; the returned channel is closed when Run returns.
func runAgent(t *testing.T, ta *testAgent, updates <-chan podsource.Snapshot) <-chan struct{} {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ta.cancel = cancel
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := ta.Run(ctx, updates); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(runReturnTimeout):
			t.Errorf("Run did not return within %s of its context's end", runReturnTimeout)
		}
	})
	return done
}
