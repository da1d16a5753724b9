//go:build e2e

package e2e

// End-to-end tests of the node agent `kubeadmin kubelet`: each test runs the
// real bin/kubeadmin as a child process against the host's containerd
// (the shared fixture hostRuntime starts it), with its own manifest directory, root dir, pod
// logs dir, node name (so that its runtime objects carry their own
// kubeadmin.kubelet/node label), healthz port and cgroup parent. Pods are
// hostNetwork testapp pods on distinct ports of 127.0.0.1.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kubeadmin/kubeadmin/kubelet/cri"
	"github.com/kubeadmin/kubeadmin/kubelet/status"
	"github.com/kubeadmin/kubeadmin/test/e2e/nodes"
)

const (
	// agentCRISocket is the host containerd that hack/test.sh starts.
	agentCRISocket = "/run/containerd/containerd.sock"
	// agentTestImage is the image hack/testimage.sh imports.
	agentTestImage = "kubeadmin.test/testapp:v1"
	// agentNodeLabel is the label the agent puts on its runtime objects.
	agentNodeLabel = "kubeadmin.kubelet/node"
	// agentLogTail is how many lines of the agent's log a failed test shows.
	agentLogTail = 150
)

// agent is one node agent under test with its private directories.
type agent struct {
	t         *testing.T
	bin       string
	node      string
	dir       string
	manifests string
	config    string
	logPath   string
	healthz   int
	rt        *cri.Remote
	cmd       *exec.Cmd
	done      chan struct{}
}

// newAgent prepares (but does not start) an agent for node "e2e-<short>",
// removes what an earlier run of the same test may have left in containerd,
// and registers the cleanup: remove the manifests, wait until the pods are
// gone, stop the agent, remove leftover sandboxes through the CRI, and show
// the agent's log if the test failed.
func newAgent(t *testing.T, short string) *agent {
	t.Helper()
	if os.Geteuid() != 0 {
		nodes.SkipOrFail(t, "the node agent end-to-end tests need root")
	}
	requireHostRuntime(t)
	rt, err := cri.NewRemote("unix://" + agentCRISocket)
	if err != nil {
		t.Fatalf("failed to connect to containerd at %s: %v", agentCRISocket, err)
	}
	dir := t.TempDir()
	a := &agent{
		t:         t,
		bin:       kubeadminBin(t),
		node:      "e2e-" + short,
		dir:       dir,
		manifests: filepath.Join(dir, "manifests"),
		config:    filepath.Join(dir, "kubelet.yaml"),
		logPath:   filepath.Join(dir, "agent.log"),
		healthz:   freePort(t),
		rt:        rt,
	}
	if err := os.MkdirAll(a.manifests, 0o700); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
staticPodPath: %s
cgroupDriver: cgroupfs
cgroupRoot: /kubeadmin-%s
containerRuntimeEndpoint: unix://%s
healthzBindAddress: 127.0.0.1
healthzPort: %d
podLogsDir: %s
`, a.manifests, a.node, agentCRISocket, a.healthz, filepath.Join(dir, "pods-logs"))
	if err := os.WriteFile(a.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	a.sweep()
	t.Cleanup(a.dumpLog)
	t.Cleanup(func() { rt.Close() })
	t.Cleanup(a.removeCgroups)
	t.Cleanup(a.sweep)
	t.Cleanup(a.stop)
	t.Cleanup(a.removeAllPods)
	return a
}

// hostRuntime is the agent tests' shared fixture: the host's containerd
// running, with the test image imported. It is set up once per test binary
// (both scripts are idempotent and quick when there is nothing to do), so
// any of these tests also runs alone.
var hostRuntime struct {
	once sync.Once
	err  error
}

// requireHostRuntime sets up hostRuntime (once) and fails the test if that
// failed.
func requireHostRuntime(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("containerd"); err != nil {
		nodes.SkipOrFail(t, "containerd is not installed: run hack/containerd.sh install (make test does)")
	}
	hostRuntime.once.Do(func() {
		root := repoRoot(t)
		if hostRuntime.err = startHostContainerd(root); hostRuntime.err != nil {
			return
		}
		if out, err := exec.Command(filepath.Join(root, "hack", "testimage.sh"), "import").CombinedOutput(); err != nil {
			hostRuntime.err = fmt.Errorf("hack/testimage.sh import: %v\n%s", err, out)
		}
	})
	if hostRuntime.err != nil {
		t.Fatalf("the host's containerd with the test image is not available: %v", hostRuntime.err)
	}
	if _, err := os.Stat(agentCRISocket); err != nil {
		t.Fatalf("containerd's CRI socket %s is missing (%v) although hack/containerd.sh started it", agentCRISocket, err)
	}
}

// startHostContainerd starts the host's containerd unless it runs, and
// waits until its CRI is ready.
func startHostContainerd(root string) error {
	if out, err := exec.Command(filepath.Join(root, "hack", "containerd.sh"), "start").CombinedOutput(); err != nil {
		return fmt.Errorf("hack/containerd.sh start: %v\n%s", err, out)
	}
	return nil
}

// freePort is a TCP port on 127.0.0.1 that nothing listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// start runs the agent in the background, appending its output to the log.
func (a *agent) start() {
	a.t.Helper()
	logFile, err := os.OpenFile(a.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		a.t.Fatal(err)
	}
	cmd := exec.Command(a.bin, "kubelet", "--config", a.config,
		"--root-dir", filepath.Join(a.dir, "root"), "--hostname-override", a.node)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// The agent must not outlive a test binary that dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		a.t.Fatalf("failed to start %s kubelet: %v", a.bin, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		logFile.Close()
		close(done)
	}()
	a.cmd, a.done = cmd, done
	eventually(a.t, "the agent answers /healthz", 20*time.Second, func() error {
		select {
		case <-done:
			return errors.New("the agent exited: " + cmd.ProcessState.String())
		default:
		}
		code, _, err := httpGet(a.healthz, "/healthz")
		if err == nil && code != http.StatusOK {
			err = fmt.Errorf("HTTP %d", code)
		}
		return err
	})
}

// kill9 kills the agent with SIGKILL and waits until it is gone.
func (a *agent) kill9() {
	a.t.Helper()
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		a.t.Fatalf("failed to kill the agent: %v", err)
	}
	<-a.done
	a.cmd = nil
}

// stop stops a running agent with SIGTERM (SIGKILL after 15 s).
func (a *agent) stop() {
	if a.cmd == nil {
		return
	}
	_ = a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-a.done:
	case <-time.After(15 * time.Second):
		a.t.Errorf("the agent did not stop within 15 s of SIGTERM; killing it")
		_ = a.cmd.Process.Kill()
		<-a.done
	}
	a.cmd = nil
}

// removeAllPods removes every manifest and waits until the running agent
// has removed the node's sandboxes.
func (a *agent) removeAllPods() {
	entries, _ := os.ReadDir(a.manifests)
	for _, e := range entries {
		_ = os.Remove(filepath.Join(a.manifests, e.Name()))
	}
	if a.cmd == nil {
		return
	}
	// A cleanup reports with Errorf, so that the later cleanups still run.
	if timedOut, _ := poll(30*time.Second, func() (bool, error) {
		sbs, err := a.listSandboxes()
		return err == nil && len(sbs) == 0, nil
	}); timedOut {
		a.t.Errorf("node %s: sandboxes still present 30 s after its manifests were removed", a.node)
	}
}

// sweep removes, as a last resort, the containers and sandboxes that carry
// this node's label.
func (a *agent) sweep() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sel := map[string]string{agentNodeLabel: a.node}
	cs, _ := a.rt.ListContainers(ctx, &runtimeapi.ContainerFilter{LabelSelector: sel})
	for _, c := range cs {
		_ = a.rt.StopContainer(ctx, c.Id, 0)
		_ = a.rt.RemoveContainer(ctx, c.Id)
	}
	sbs, _ := a.rt.ListPodSandbox(ctx, &runtimeapi.PodSandboxFilter{LabelSelector: sel})
	for _, sb := range sbs {
		_ = a.rt.StopPodSandbox(ctx, sb.Id)
		_ = a.rt.RemovePodSandbox(ctx, sb.Id)
	}
}

// removeCgroups removes the node's (empty) cgroup parent, best effort.
func (a *agent) removeCgroups() {
	dirs, _ := filepath.Glob("/sys/fs/cgroup/*/kubeadmin-" + a.node)
	for _, d := range dirs {
		_ = os.Remove(d)
	}
}

// dumpLog attaches the tail of the agent's log to a failed test.
func (a *agent) dumpLog() {
	if !a.t.Failed() {
		return
	}
	data, err := os.ReadFile(a.logPath)
	if err != nil {
		a.t.Logf("no agent log: %v", err)
		return
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > agentLogTail {
		lines = lines[len(lines)-agentLogTail:]
	}
	a.t.Logf("agent log (%s, last %d lines):\n%s", a.logPath, len(lines), strings.Join(lines, "\n"))
}

// testPod is a hostNetwork testapp pod; each container listens on its port.
type testPod struct {
	name       string
	containers []testContainer
}

// testContainer is one testapp container.
type testContainer struct {
	name     string
	port     int
	args     []string
	liveness bool
}

// appPod is a one-container pod "app" listening on port.
func appPod(name string, port int, args ...string) testPod {
	return testPod{name: name, containers: []testContainer{{name: "app", port: port, args: args}}}
}

// manifest renders the pod as YAML.
func (p testPod) manifest() string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\n  namespace: default\nspec:\n", p.name)
	b.WriteString("  hostNetwork: true\n  terminationGracePeriodSeconds: 2\n  containers:\n")
	for _, c := range p.containers {
		args := append([]string{fmt.Sprintf("--port=%d", c.port)}, c.args...)
		fmt.Fprintf(&b, "  - name: %s\n    image: %s\n    imagePullPolicy: Never\n    args: [%q", c.name, agentTestImage, args[0])
		for _, arg := range args[1:] {
			fmt.Fprintf(&b, ", %q", arg)
		}
		fmt.Fprintf(&b, "]\n    ports:\n    - containerPort: %d\n", c.port)
		if c.liveness {
			fmt.Fprintf(&b, "    livenessProbe:\n      httpGet: {path: /healthz, port: %d}\n      periodSeconds: 1\n      failureThreshold: 2\n", c.port)
		}
	}
	return b.String()
}

// writeManifest writes file in the manifest directory the way editors and
// kubeadm do: a hidden temporary file renamed into place.
func (a *agent) writeManifest(file, content string) {
	a.t.Helper()
	tmp := filepath.Join(a.manifests, "."+file+".tmp")
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		a.t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(a.manifests, file)); err != nil {
		a.t.Fatal(err)
	}
}

// report reads the agent's /status.
func (a *agent) report() (*status.Report, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return status.Fetch(ctx, fmt.Sprintf("http://127.0.0.1:%d/status", a.healthz))
}

// pod finds the static pod made from manifest name (the agent appends
// "-<node>").
func (a *agent) pod(name string) (*status.Pod, error) {
	r, err := a.report()
	if err != nil {
		return nil, err
	}
	full := name + "-" + a.node
	for i := range r.Pods {
		if r.Pods[i].Name == full {
			return &r.Pods[i], nil
		}
	}
	return nil, fmt.Errorf("pod %q not in the agent's status", full)
}

// container finds a container of a pod in the agent's status.
func (a *agent) container(pod, name string) (*status.Container, error) {
	p, err := a.pod(pod)
	if err != nil {
		return nil, err
	}
	for i := range p.Containers {
		if p.Containers[i].Name == name {
			return &p.Containers[i], nil
		}
	}
	return nil, fmt.Errorf("pod %q has no container %q yet (phase %s)", p.Name, name, p.Phase)
}

// waitServing waits until testapp answers /healthz on port and returns the
// running container's status.
func (a *agent) waitServing(pod, ctr string, port int, timeout time.Duration) *status.Container {
	a.t.Helper()
	var c *status.Container
	eventually(a.t, fmt.Sprintf("pod %s container %s running and serving on port %d", pod, ctr, port), timeout, func() error {
		code, _, err := httpGet(port, "/healthz")
		if err != nil {
			return err
		}
		if code != http.StatusOK {
			return fmt.Errorf("/healthz: HTTP %d", code)
		}
		if c, err = a.container(pod, ctr); err != nil {
			return err
		}
		if c.State != status.StateRunning {
			return fmt.Errorf("state %s (%s)", c.State, c.Reason)
		}
		return nil
	})
	return c
}

// keeps returns a check that the container is still want: the same ID,
// running, never restarted.
func (a *agent) keeps(pod, ctr string, want *status.Container) func() error {
	return func() error {
		c, err := a.container(pod, ctr)
		if err != nil {
			return err
		}
		if c.ID != want.ID || c.RestartCount != 0 || c.State != status.StateRunning {
			return fmt.Errorf("pod %s container %s: id %s -> %s, restart count %d, state %s", pod, ctr, want.ID, c.ID, c.RestartCount, c.State)
		}
		return nil
	}
}

// listSandboxes lists the sandboxes of this node in containerd.
func (a *agent) listSandboxes() ([]*runtimeapi.PodSandbox, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return a.rt.ListPodSandbox(ctx, &runtimeapi.PodSandboxFilter{LabelSelector: map[string]string{agentNodeLabel: a.node}})
}

// runtimeIDs lists the IDs of this node's sandboxes and containers (all
// states) in containerd, sorted.
func (a *agent) runtimeIDs() []string {
	a.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sel := map[string]string{agentNodeLabel: a.node}
	sbs, err := a.rt.ListPodSandbox(ctx, &runtimeapi.PodSandboxFilter{LabelSelector: sel})
	if err != nil {
		a.t.Fatalf("failed to list sandboxes: %v", err)
	}
	cs, err := a.rt.ListContainers(ctx, &runtimeapi.ContainerFilter{LabelSelector: sel})
	if err != nil {
		a.t.Fatalf("failed to list containers: %v", err)
	}
	var ids []string
	for _, sb := range sbs {
		ids = append(ids, "sandbox "+sb.Id+" "+sb.State.String())
	}
	for _, c := range cs {
		ids = append(ids, "container "+c.Id+" "+c.State.String())
	}
	sort.Strings(ids)
	return ids
}

// httpGet GETs http://127.0.0.1:port/path with a short timeout.
func httpGet(port int, path string) (int, string, error) {
	client := http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d%s", port, path))
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// TestKubeletPodStarts: a manifest's pod starts, serves on its port and its
// sandbox carries the node label.
func TestKubeletPodStarts(t *testing.T) {
	a := newAgent(t, "start")
	a.start()
	port := freePort(t)
	a.writeManifest("app.yaml", appPod("app", port).manifest())
	c := a.waitServing("app", "app", port, 60*time.Second)
	if c.RestartCount != 0 || c.ID == "" {
		t.Errorf("container app: restartCount %d, id %q; want 0 and an ID", c.RestartCount, c.ID)
	}
	sbs, err := a.listSandboxes()
	if err != nil || len(sbs) != 1 || sbs[0].State != runtimeapi.PodSandboxState_SANDBOX_READY {
		t.Errorf("node %s: want one ready sandbox, got %v (err %v)", a.node, sbs, err)
	}
}

// TestKubeletCrashBackOff: a crashing container is restarted with growing
// back-off: the first restart is immediate, then 10 s, then 20 s.
func TestKubeletCrashBackOff(t *testing.T) {
	a := newAgent(t, "backoff")
	a.start()
	port := freePort(t)
	a.writeManifest("crash.yaml", appPod("crash", port, "--crash-after=1s", "--exit-code=3").manifest())
	// seen[n] is when restart count n was first observed.
	seen := map[int32]time.Time{}
	eventually(t, "restart count 3", 70*time.Second, func() error {
		c, err := a.container("crash", "app")
		if err != nil {
			return err
		}
		if _, ok := seen[c.RestartCount]; !ok {
			seen[c.RestartCount] = time.Now()
			t.Logf("restart count %d at %s (state %s %s, last exit %v)", c.RestartCount, time.Now().Format("15:04:05.000"), c.State, c.Reason, derefExit(c.LastExitCode))
		}
		if c.RestartCount < 3 {
			return fmt.Errorf("restart count %d", c.RestartCount)
		}
		if c.LastExitCode == nil || *c.LastExitCode != 3 {
			return fmt.Errorf("last exit code %v, want 3", derefExit(c.LastExitCode))
		}
		return nil
	})
	t1, ok1 := seen[1]
	t2, ok2 := seen[2]
	t3, ok3 := seen[3]
	if !ok1 || !ok2 || !ok3 {
		t.Fatalf("restart counts 1, 2 and 3 were not all observed (seen %v): the count skipped", seen)
	}
	first, second := t2.Sub(t1), t3.Sub(t2)
	t.Logf("back-off gaps between restarts: %.1fs, %.1fs", first.Seconds(), second.Seconds())
	if first < 9*time.Second {
		t.Errorf("gap between restarts 1 and 2 is %s, want at least ~10 s", first)
	}
	if float64(second) < 1.8*float64(first) {
		t.Errorf("gap between restarts 2 and 3 is %s, want about twice the previous gap %s", second, first)
	}
}

func derefExit(p *int32) string {
	if p == nil {
		return "none"
	}
	return fmt.Sprint(*p)
}

// TestKubeletLivenessRestart: a failing liveness probe restarts its
// container; a passing one in the same pod leaves its container alone.
func TestKubeletLivenessRestart(t *testing.T) {
	a := newAgent(t, "liveness")
	a.start()
	sickPort, wellPort := freePort(t), freePort(t)
	pod := testPod{name: "live", containers: []testContainer{
		{name: "sick", port: sickPort, args: []string{"--unhealthy-after=2s"}, liveness: true},
		{name: "well", port: wellPort, liveness: true},
	}}
	a.writeManifest("live.yaml", pod.manifest())
	well := a.waitServing("live", "well", wellPort, 60*time.Second)
	wellKept := a.keeps("live", "well", well)
	// The healthy container passes the same probe all along: watched from
	// the start, and for a window after its neighbour's restart.
	eventually(t, "container sick restarted by its liveness probe, container well never", 30*time.Second, func() error {
		if err := wellKept(); err != nil {
			return permanent(err)
		}
		c, err := a.container("live", "sick")
		if err != nil {
			return err
		}
		if c.RestartCount < 1 {
			return fmt.Errorf("restart count %d (state %s)", c.RestartCount, c.State)
		}
		return nil
	})
	consistently(t, "container well is never restarted", 3*time.Second, wellKept)
	log, _ := os.ReadFile(a.logPath)
	if !bytes.Contains(log, []byte(`"sick" failed Liveness probe`)) {
		t.Errorf("the agent log does not report the liveness failure of container sick (want a line with %q)", `"sick" failed Liveness probe`)
	}
}

// TestKubeletEditedManifestReplacesPod: an edited manifest replaces the pod
// with a new UID, and the old container is gone before the new one starts:
// both listen on the same host port, so the new one could not serve (and
// would crash) while the old held it.
func TestKubeletEditedManifestReplacesPod(t *testing.T) {
	a := newAgent(t, "edit")
	a.start()
	port := freePort(t)
	a.writeManifest("web.yaml", appPod("web", port, "--message=one").manifest())
	old := a.waitServing("web", "app", port, 60*time.Second)
	oldPod, err := a.pod("web")
	if err != nil {
		t.Fatal(err)
	}
	a.writeManifest("web.yaml", appPod("web", port, "--message=two").manifest())
	eventually(t, "the edited pod answers with its new message", 60*time.Second, func() error {
		_, body, err := httpGet(port, "/")
		if err != nil {
			return err
		}
		if !strings.Contains(body, "two") {
			return fmt.Errorf("GET / answers %q", body)
		}
		return nil
	})
	newPod, err := a.pod("web")
	if err != nil {
		t.Fatal(err)
	}
	if newPod.UID == oldPod.UID {
		t.Errorf("the edited pod kept UID %s, want a new UID", newPod.UID)
	}
	c := a.waitServing("web", "app", port, 10*time.Second)
	if c.ID == old.ID || c.RestartCount != 0 {
		t.Errorf("new container: id %s (old %s), restart count %d: want a new container that never crashed on a busy port", c.ID, old.ID, c.RestartCount)
	}
	eventually(t, "the old container is removed from containerd", 20*time.Second, func() error {
		for _, id := range a.runtimeIDs() {
			if strings.Contains(id, old.ID) || strings.Contains(id, oldPod.SandboxID) {
				return fmt.Errorf("still present: %s", id)
			}
		}
		return nil
	})
}

// TestKubeletRemovedManifestRemovesPod: removing a manifest stops and
// removes its pod; no sandbox of the node is left.
func TestKubeletRemovedManifestRemovesPod(t *testing.T) {
	a := newAgent(t, "remove")
	a.start()
	port := freePort(t)
	a.writeManifest("gone.yaml", appPod("gone", port).manifest())
	a.waitServing("gone", "app", port, 60*time.Second)
	if err := os.Remove(filepath.Join(a.manifests, "gone.yaml")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "no sandbox or container of the node is left", 30*time.Second, func() error {
		if ids := a.runtimeIDs(); len(ids) > 0 {
			return fmt.Errorf("left: %v", ids)
		}
		r, err := a.report()
		if err != nil {
			return err
		}
		if len(r.Pods) > 0 {
			return fmt.Errorf("status still lists %d pod(s), first %s (%s)", len(r.Pods), r.Pods[0].Name, r.Pods[0].Phase)
		}
		return nil
	})
	if _, _, err := httpGet(port, "/healthz"); err == nil {
		t.Errorf("port %d still answers after the pod was removed", port)
	}
}

// TestKubeletMalformedManifest: a malformed file leaves the other pods
// running and `kubeadmin kubelet status` names it.
func TestKubeletMalformedManifest(t *testing.T) {
	a := newAgent(t, "bad")
	a.start()
	portA, portB := freePort(t), freePort(t)
	a.writeManifest("a.yaml", appPod("a", portA).manifest())
	before := a.waitServing("a", "app", portA, 60*time.Second)
	a.writeManifest("broken.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: [unclosed\n")
	a.writeManifest("b.yaml", appPod("b", portB).manifest())
	a.waitServing("b", "app", portB, 60*time.Second)
	consistently(t, "pod a's container keeps running beside the malformed file", settleWindow, a.keeps("a", "app", before))
	bad := filepath.Join(a.manifests, "broken.yaml")
	eventually(t, "kubeadmin kubelet status names the malformed file", 10*time.Second, func() error {
		out, err := exec.Command(a.bin, "kubelet", "status", "--server", fmt.Sprintf("http://127.0.0.1:%d", a.healthz)).CombinedOutput()
		if err != nil {
			return fmt.Errorf("kubeadmin kubelet status: %v\n%s", err, out)
		}
		if !strings.Contains(string(out), "FILE") || !strings.Contains(string(out), bad) {
			return fmt.Errorf("no FILE line naming %s in:\n%s", bad, out)
		}
		return nil
	})
}

// TestKubeletKill9Restart: after kill -9 of the agent, a new agent adopts
// the pods: the same sandboxes and containers, none restarted or added.
func TestKubeletKill9Restart(t *testing.T) {
	a := newAgent(t, "kill")
	a.start()
	portA, portB := freePort(t), freePort(t)
	a.writeManifest("a.yaml", appPod("a", portA).manifest())
	a.writeManifest("b.yaml", appPod("b", portB).manifest())
	ca := a.waitServing("a", "app", portA, 60*time.Second)
	cb := a.waitServing("b", "app", portB, 60*time.Second)
	before := a.runtimeIDs()
	if len(before) != 4 {
		t.Fatalf("want 2 sandboxes and 2 containers before the kill, got %v", before)
	}
	a.kill9()
	a.start()
	ca2 := a.waitServing("a", "app", portA, 20*time.Second)
	cb2 := a.waitServing("b", "app", portB, 20*time.Second)
	if ca2.ID != ca.ID || cb2.ID != cb.ID || ca2.RestartCount != 0 || cb2.RestartCount != 0 {
		t.Errorf("after the restart: containers %s, %s (restarts %d, %d); want the adopted %s, %s with no restart", ca2.ID, cb2.ID, ca2.RestartCount, cb2.RestartCount, ca.ID, cb.ID)
	}
	// Nothing can restart while no agent runs; from its restart on, watch.
	consistently(t, "the restarted agent keeps the same sandboxes and containers", settleWindow, func() error {
		if now := a.runtimeIDs(); strings.Join(now, "\n") != strings.Join(before, "\n") {
			return fmt.Errorf("before the kill:\n%s\nnow:\n%s", strings.Join(before, "\n"), strings.Join(now, "\n"))
		}
		return nil
	})
}

// TestKubeletContainerdRestart: the agent survives a containerd restart,
// its pod keeps running and serving, and a new manifest starts. It stops
// the host's containerd that the other agent tests share, and starts it
// again in its cleanup; tests run one at a time, so no other test sees it
// stopped, whatever the order.
func TestKubeletContainerdRestart(t *testing.T) {
	a := newAgent(t, "ctrd")
	root := repoRoot(t)
	script := filepath.Join(root, "hack", "containerd.sh")
	// Whatever happens, leave containerd running for what follows (this
	// cleanup runs before the agent's).
	t.Cleanup(func() {
		if err := startHostContainerd(root); err != nil {
			t.Error(err)
		}
	})
	a.start()
	portA, portB := freePort(t), freePort(t)
	a.writeManifest("a.yaml", appPod("a", portA).manifest())
	before := a.waitServing("a", "app", portA, 60*time.Second)

	if out, err := exec.Command(script, "stop").CombinedOutput(); err != nil {
		t.Fatalf("hack/containerd.sh stop: %v\n%s", err, out)
	}
	eventually(t, "the agent reports the runtime as not ready", 15*time.Second, func() error {
		r, err := a.report()
		if err != nil {
			return err
		}
		if r.RuntimeReady {
			return errors.New("runtimeReady is still true")
		}
		return nil
	})
	if out, err := exec.Command(script, "start").CombinedOutput(); err != nil {
		t.Fatalf("hack/containerd.sh start: %v\n%s", err, out)
	}
	eventually(t, "the agent reports the runtime as ready again", 30*time.Second, func() error {
		r, err := a.report()
		if err != nil {
			return err
		}
		if !r.RuntimeReady {
			return fmt.Errorf("runtimeReady false: %s", r.RuntimeError)
		}
		return nil
	})
	a.waitServing("a", "app", portA, 20*time.Second)
	consistently(t, "pod a's container keeps running over the containerd restart", settleWindow, a.keeps("a", "app", before))
	a.writeManifest("b.yaml", appPod("b", portB).manifest())
	a.waitServing("b", "app", portB, 60*time.Second)
}
