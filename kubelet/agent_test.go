package kubelet

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	critest "k8s.io/cri-api/pkg/apis/testing"

	"github.com/kubeadmin/kubeadmin/internal/testutil"
	"github.com/kubeadmin/kubeadmin/kubelet/kuberuntime"
	"github.com/kubeadmin/kubeadmin/kubelet/podsource"
	"github.com/kubeadmin/kubeadmin/kubelet/status"
)

const webPod = `apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: kube-system
  labels: {tier: control-plane}
spec:
  hostNetwork: true
  terminationGracePeriodSeconds: 5
  volumes:
  - name: data
    hostPath: {path: %DATA%, type: DirectoryOrCreate}
  - name: scratch
    emptyDir: {}
  containers:
  - name: app
    image: img:1
    command: ["/app", "--name=$(POD_NAME)", "--ip=$(HOST_IP)"]
    args: ["$(MISSING)", "$$(ESCAPED)"]
    workingDir: /work
    env:
    - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
    - {name: HOST_IP, valueFrom: {fieldRef: {fieldPath: status.hostIP}}}
    - {name: GREETING, value: "hello $(POD_NAME)"}
    ports:
    - {containerPort: 8080}
    volumeMounts:
    - {name: data, mountPath: /data}
    - {name: scratch, mountPath: /scratch, readOnly: true}
    securityContext:
      privileged: true
      runAsUser: 1000
      capabilities: {add: [NET_ADMIN]}
    resources:
      requests: {cpu: 250m, memory: 64Mi}
      limits: {cpu: 500m, memory: 128Mi}
`

func webPodYAML(t *testing.T) (string, string) {
	data := filepath.Join(t.TempDir(), "data")
	return strings.Replace(webPod, "%DATA%", data, 1), data
}

func TestSyncCreatesSandboxAndContainer(t *testing.T) {
	rt := newTestRuntime()
	ta := startAgent(t, rt, testConfig(t))
	y, dataDir := webPodYAML(t)
	pod := decodePod(t, y, "/m/web.yaml")
	ta.apply(snapshot(pod))
	testutil.Eventually(t, "the container to run", func() bool {
		_, st := rt.find("app")
		return st == runtimeapi.ContainerState_CONTAINER_RUNNING
	})

	rt.mu.Lock()
	sb := rt.sandboxes[0]
	rt.mu.Unlock()
	uid := string(pod.UID)
	if sb.Metadata.Name != "web-node1" || sb.Metadata.Namespace != "kube-system" || sb.Metadata.Uid != uid || sb.Metadata.Attempt != 0 {
		t.Errorf("sandbox metadata = %+v", sb.Metadata)
	}
	wantLabels := map[string]string{kuberuntime.LabelPodName: "web-node1", kuberuntime.LabelPodNamespace: "kube-system", kuberuntime.LabelPodUID: uid, kuberuntime.LabelNode: "node1", "tier": "control-plane"}
	for k, v := range wantLabels {
		if sb.Labels[k] != v {
			t.Errorf("sandbox label %s = %q, want %q", k, sb.Labels[k], v)
		}
	}
	if sb.Annotations["kubernetes.io/config.hash"] != uid || sb.Annotations["kubernetes.io/config.source"] != "file" {
		t.Errorf("sandbox annotations = %v", sb.Annotations)
	}
	if want := filepath.Join(ta.opts.PodLogsDir, "kube-system_web-node1_"+uid); sb.LogDirectory != want {
		t.Errorf("log directory = %q, want %q", sb.LogDirectory, want)
	}
	if sb.Linux.CgroupParent != "/test/pod"+uid {
		t.Errorf("cgroup parent = %q", sb.Linux.CgroupParent)
	}
	ns := sb.Linux.SecurityContext.NamespaceOptions
	if ns.Network != runtimeapi.NamespaceMode_NODE || ns.Pid != runtimeapi.NamespaceMode_CONTAINER || !sb.Linux.SecurityContext.Privileged {
		t.Errorf("sandbox security = %+v", sb.Linux.SecurityContext)
	}
	if sb.Hostname != "" {
		t.Errorf("hostNetwork sandbox has hostname %q", sb.Hostname)
	}
	if len(sb.PortMappings) != 1 || sb.PortMappings[0].HostPort != 8080 {
		t.Errorf("port mappings = %v", sb.PortMappings)
	}

	c := rt.lastConfig("app")
	if c.LogPath != "app/0.log" {
		t.Errorf("log path = %q", c.LogPath)
	}
	if got := strings.Join(c.Command, " "); got != "/app --name=web-node1 --ip=10.0.0.1" {
		t.Errorf("command = %q", got)
	}
	if got := strings.Join(c.Args, " "); got != "$(MISSING) $(ESCAPED)" {
		t.Errorf("args = %q", got)
	}
	env := map[string]string{}
	for _, kv := range c.Envs {
		env[kv.Key] = string(kv.Value)
	}
	if env["GREETING"] != "hello web-node1" || env["HOST_IP"] != "10.0.0.1" {
		t.Errorf("env = %v", env)
	}
	if c.WorkingDir != "/work" || c.Image.UserSpecifiedImage != "img:1" {
		t.Errorf("workingDir %q image %+v", c.WorkingDir, c.Image)
	}
	wantCLabels := map[string]string{kuberuntime.LabelPodName: "web-node1", kuberuntime.LabelPodNamespace: "kube-system", kuberuntime.LabelPodUID: uid, kuberuntime.LabelContainer: "app", kuberuntime.LabelNode: "node1"}
	if len(c.Labels) != len(wantCLabels) {
		t.Errorf("container labels = %v", c.Labels)
	}
	for k, v := range wantCLabels {
		if c.Labels[k] != v {
			t.Errorf("container label %s = %q, want %q", k, c.Labels[k], v)
		}
	}
	for _, k := range []string{kuberuntime.AnnotationHash, kuberuntime.AnnotationRestartCount, kuberuntime.AnnotationTermMessagePath, kuberuntime.AnnotationPodTerminationGrace, kuberuntime.AnnotationPorts, kuberuntime.AnnotationContainerType} {
		if c.Annotations[k] == "" {
			t.Errorf("container annotation %s missing (have %v)", k, sortedKeys(c.Annotations))
		}
	}
	if c.Annotations[kuberuntime.AnnotationRestartCount] != "0" || c.Annotations[kuberuntime.AnnotationPodTerminationGrace] != "5" || c.Annotations[kuberuntime.AnnotationContainerType] != "container" {
		t.Errorf("annotations = %v", c.Annotations)
	}
	mounts := map[string]*runtimeapi.Mount{}
	for _, m := range c.Mounts {
		mounts[m.ContainerPath] = m
	}
	if m := mounts["/data"]; m == nil || m.HostPath != dataDir {
		t.Errorf("/data mount = %v", m)
	}
	if st, err := os.Stat(dataDir); err != nil || !st.IsDir() || st.Mode().Perm() != 0o755 {
		t.Errorf("DirectoryOrCreate did not create a 0755 directory: %v %v", st, err)
	}
	wantEmpty := filepath.Join(ta.opts.RootDir, "pods", uid, "volumes", "kubernetes.io~empty-dir", "scratch")
	if m := mounts["/scratch"]; m == nil || m.HostPath != wantEmpty || !m.Readonly {
		t.Errorf("/scratch mount = %v, want %s read-only", m, wantEmpty)
	}
	if mounts["/dev/termination-log"] == nil || mounts["/etc/hosts"] == nil {
		t.Errorf("missing termination-log or /etc/hosts mount: %v", sortedMountPaths(c.Mounts))
	}
	sc := c.Linux.SecurityContext
	if !sc.Privileged || sc.RunAsUser.GetValue() != 1000 || len(sc.Capabilities.AddCapabilities) != 1 || len(sc.MaskedPaths) != 0 {
		t.Errorf("container security = %+v", sc)
	}
	res := c.Linux.Resources
	if res.CpuShares != 256 || res.CpuQuota != 50000 || res.CpuPeriod != 100000 || res.MemoryLimitInBytes != 128<<20 {
		t.Errorf("resources = %+v", res)
	}
	if st, err := os.Stat(filepath.Join(sb.LogDirectory, "app")); err != nil || !st.IsDir() {
		t.Errorf("container log directory missing: %v", err)
	}
}

func sortedMountPaths(ms []*runtimeapi.Mount) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.ContainerPath)
	}
	return out
}

const initPod = `apiVersion: v1
kind: Pod
metadata: {name: init}
spec:
  hostNetwork: true
  initContainers:
  - {name: first, image: img:1}
  - {name: second, image: img:1}
  containers:
  - {name: main, image: img:2}
`

func TestInitContainersRunInOrder(t *testing.T) {
	rt := newTestRuntime()
	ta := startAgent(t, rt, testConfig(t))
	ta.apply(snapshot(decodePod(t, initPod, "/m/init.yaml")))
	for i, name := range []string{"first", "second"} {
		testutil.Eventually(t, name+" to run", func() bool { _, st := rt.find(name); return st == runtimeapi.ContainerState_CONTAINER_RUNNING })
		testutil.Consistently(t, 50*time.Millisecond, "only the init containers so far", func() bool { return len(rt.created()) == i+1 })
		if c := rt.lastConfig(name); c.Annotations[kuberuntime.AnnotationContainerType] != "init" {
			t.Errorf("%s: container type %q", name, c.Annotations[kuberuntime.AnnotationContainerType])
		}
		id, _ := rt.find(name)
		rt.exit(id, 0, ta.clock.Now())
	}
	testutil.Eventually(t, "main to run", func() bool { _, st := rt.find("main"); return st == runtimeapi.ContainerState_CONTAINER_RUNNING })
	if got := strings.Join(rt.created(), ","); got != "first/0,second/0,main/0" {
		t.Errorf("creation order = %s", got)
	}
}

func TestFailedInitContainerWithNeverFailsPod(t *testing.T) {
	rt := newTestRuntime()
	ta := startAgent(t, rt, testConfig(t))
	pod := decodePod(t, strings.Replace(initPod, "spec:\n", "spec:\n  restartPolicy: Never\n", 1), "/m/init.yaml")
	ta.apply(snapshot(pod))
	testutil.Eventually(t, "first to run", func() bool { _, st := rt.find("first"); return st == runtimeapi.ContainerState_CONTAINER_RUNNING })
	id, _ := rt.find("first")
	rt.exit(id, 3, ta.clock.Now())
	testutil.Eventually(t, "the pod to fail", func() bool { return podPhase(ta, pod) == "Failed" })
	if got := strings.Join(rt.created(), ","); got != "first/0" {
		t.Errorf("created = %s, want only first/0", got)
	}
}

func podPhase(ta *testAgent, pod *v1.Pod) string {
	for _, p := range ta.Report().Pods {
		if p.UID == string(pod.UID) {
			return p.Phase
		}
	}
	return ""
}

func containerStatus(ta *testAgent, name string) status.Container {
	for _, p := range ta.Report().Pods {
		for _, c := range p.Containers {
			if c.Name == name {
				return c
			}
		}
	}
	return status.Container{}
}

const crashPod = `apiVersion: v1
kind: Pod
metadata: {name: crash}
spec:
  hostNetwork: true
  containers:
  - {name: c, image: img:1}
`

func TestRestartBackOff(t *testing.T) {
	rt := newTestRuntime()
	ta := startAgent(t, rt, testConfig(t))
	pod := decodePod(t, crashPod, "/m/crash.yaml")
	ta.apply(snapshot(pod))
	running := func(attempt int) func() bool {
		return func() bool {
			id, st := rt.find("c")
			return st == runtimeapi.ContainerState_CONTAINER_RUNNING && strings.HasSuffix(id, "_c_"+strconv.Itoa(attempt))
		}
	}
	testutil.Eventually(t, "attempt 0", running(0))
	crash := func() {
		id, _ := rt.find("c")
		rt.exit(id, 1, ta.clock.Now())
	}
	// First crash: restarted at once.
	crash()
	testutil.Eventually(t, "attempt 1 (immediate restart)", running(1))
	// Then 10 s, 20 s, 40 s of back-off.
	for _, step := range []struct {
		attempt int
		delay   time.Duration
	}{{2, 10 * time.Second}, {3, 20 * time.Second}, {4, 40 * time.Second}} {
		crash()
		testutil.Eventually(t, "CrashLoopBackOff", func() bool {
			cs := containerStatus(ta, "c")
			return cs.Reason == reasonCrashLoop && cs.LastExitCode != nil && *cs.LastExitCode == 1
		})
		ta.clock.Step(step.delay - time.Second)
		ta.pokeAll()
		testutil.Consistently(t, 50*time.Millisecond, "no restart before the back-off ends", func() bool { return len(rt.created()) == step.attempt })
		ta.clock.Step(time.Second)
		ta.pokeAll()
		testutil.Eventually(t, "restart after "+step.delay.String(), running(step.attempt))
		testutil.Eventually(t, "restart count "+strconv.Itoa(step.attempt), func() bool {
			cs := containerStatus(ta, "c")
			return cs.RestartCount == int32(step.attempt) && cs.State == status.StateRunning
		})
	}
	if c := rt.lastConfig("c"); c.LogPath != "c/4.log" || c.Annotations[kuberuntime.AnnotationRestartCount] != "4" {
		t.Errorf("log path %q restartCount %q", c.LogPath, c.Annotations[kuberuntime.AnnotationRestartCount])
	}
}

// pokeAll wakes every worker.
func (ta *testAgent) pokeAll() {
	ta.mu.Lock()
	defer ta.mu.Unlock()
	for _, w := range ta.workers {
		w.poke()
	}
}

func TestRestartPolicyNeverAndOnFailure(t *testing.T) {
	tests := []struct {
		policy      string
		exit        int32
		wantRestart bool
		wantPhase   string
	}{
		{"Never", 1, false, "Failed"},
		{"Never", 0, false, "Succeeded"},
		{"OnFailure", 0, false, "Succeeded"},
		{"OnFailure", 2, true, "Running"},
	}
	for _, tt := range tests {
		t.Run(tt.policy+"/"+strconv.Itoa(int(tt.exit)), func(t *testing.T) {
			rt := newTestRuntime()
			ta := startAgent(t, rt, testConfig(t))
			pod := decodePod(t, strings.Replace(crashPod, "spec:\n", "spec:\n  restartPolicy: "+tt.policy+"\n", 1), "/m/crash.yaml")
			ta.apply(snapshot(pod))
			testutil.Eventually(t, "running", func() bool { _, st := rt.find("c"); return st == runtimeapi.ContainerState_CONTAINER_RUNNING })
			id, _ := rt.find("c")
			rt.exit(id, tt.exit, ta.clock.Now())
			if tt.wantRestart {
				testutil.Eventually(t, "restart", func() bool { return len(rt.created()) == 2 })
			} else {
				testutil.Eventually(t, "phase "+tt.wantPhase, func() bool { return podPhase(ta, pod) == tt.wantPhase })
				testutil.Consistently(t, 50*time.Millisecond, "no restart", func() bool { return len(rt.created()) == 1 })
			}
		})
	}
}

// toggleServer is an HTTP endpoint whose health can be switched.
type toggleServer struct {
	*httptest.Server
	healthy atomic.Bool
	hits    atomic.Int32
}

func newToggleServer(t *testing.T, healthy bool) *toggleServer {
	ts := &toggleServer{}
	ts.healthy.Store(healthy)
	ts.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		ts.hits.Add(1)
		if !ts.healthy.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(ts.Close)
	return ts
}

func (ts *toggleServer) port() string {
	_, p, _ := net.SplitHostPort(strings.TrimPrefix(ts.URL, "http://"))
	return p
}

func probePod(liveness, startup *toggleServer) string {
	y := `apiVersion: v1
kind: Pod
metadata: {name: probed}
spec:
  hostNetwork: true
  containers:
  - name: c
    image: img:1
    livenessProbe:
      httpGet: {host: 127.0.0.1, port: ` + liveness.port() + `, path: /healthz}
      periodSeconds: 1
      failureThreshold: 2
`
	if startup != nil {
		y += `    startupProbe:
      httpGet: {host: 127.0.0.1, port: ` + startup.port() + `, path: /healthz}
      periodSeconds: 1
      failureThreshold: 100000
`
	}
	return y
}

func TestLivenessFailureRestarts(t *testing.T) {
	rt := newTestRuntime()
	ta := startAgent(t, rt, testConfig(t))
	live := newToggleServer(t, true)
	ta.apply(snapshot(decodePod(t, probePod(live, nil), "/m/p.yaml")))
	testutil.Eventually(t, "running", func() bool { _, st := rt.find("c"); return st == runtimeapi.ContainerState_CONTAINER_RUNNING })
	testutil.Eventually(t, "probes", func() bool { return live.hits.Load() >= 3 })
	if n := rt.count("StopContainer"); n != 0 {
		t.Fatalf("container stopped %d times while healthy", n)
	}
	live.healthy.Store(false)
	testutil.Eventually(t, "the container to be stopped", func() bool { return rt.count("StopContainer") >= 1 })
	testutil.Eventually(t, "a new instance", func() bool {
		id, st := rt.find("c")
		return strings.HasSuffix(id, "_c_1") && st == runtimeapi.ContainerState_CONTAINER_RUNNING
	})
}

func TestStartupProbeGatesLiveness(t *testing.T) {
	rt := newTestRuntime()
	ta := startAgent(t, rt, testConfig(t))
	live := newToggleServer(t, false)
	startup := newToggleServer(t, false)
	ta.apply(snapshot(decodePod(t, probePod(live, startup), "/m/p.yaml")))
	testutil.Eventually(t, "running", func() bool { _, st := rt.find("c"); return st == runtimeapi.ContainerState_CONTAINER_RUNNING })
	testutil.Eventually(t, "startup probes", func() bool { return startup.hits.Load() >= 5 })
	testutil.Consistently(t, 100*time.Millisecond, "no liveness probe before startup succeeds", func() bool {
		return live.hits.Load() == 0 && rt.count("StopContainer") == 0
	})
	if cs := containerStatus(ta, "c"); cs.Started || cs.Ready {
		t.Errorf("status before startup: started %v ready %v", cs.Started, cs.Ready)
	}
	startup.healthy.Store(true)
	testutil.Eventually(t, "liveness probes", func() bool { return live.hits.Load() > 0 })
	testutil.Eventually(t, "the liveness kill", func() bool { return rt.count("StopContainer") >= 1 })
}

func TestReadinessProbe(t *testing.T) {
	rt := newTestRuntime()
	ta := startAgent(t, rt, testConfig(t))
	ready := newToggleServer(t, false)
	y := `apiVersion: v1
kind: Pod
metadata: {name: ready}
spec:
  hostNetwork: true
  containers:
  - name: c
    image: img:1
    readinessProbe:
      tcpSocket: {host: 127.0.0.1, port: ` + ready.port() + `}
      periodSeconds: 1
`
	ta.apply(snapshot(decodePod(t, y, "/m/r.yaml")))
	testutil.Eventually(t, "ready", func() bool { return containerStatus(ta, "c").Ready })
	ready.Close()
	testutil.Eventually(t, "not ready", func() bool { return !containerStatus(ta, "c").Ready })
	if rt.count("StopContainer") != 0 {
		t.Error("a readiness failure stopped the container")
	}
}

func TestManifestEditWaitsForOldPod(t *testing.T) {
	rt := newTestRuntime()
	ta := startAgent(t, rt, testConfig(t))
	old := decodePod(t, crashPod, "/m/crash.yaml")
	edited := decodePod(t, strings.Replace(crashPod, "img:1", "img:2", 1), "/m/crash.yaml")
	if old.UID == edited.UID || old.Name != edited.Name {
		t.Fatal("test pods must share the name and differ in UID")
	}
	ta.apply(snapshot(old))
	testutil.Eventually(t, "old pod running", func() bool { _, st := rt.find("c"); return st == runtimeapi.ContainerState_CONTAINER_RUNNING })

	release := make(chan struct{})
	var once sync.Once
	rt.mu.Lock()
	rt.onStop = func(string) { <-release }
	var violation atomic.Value
	rt.onRun = func(cfg *runtimeapi.PodSandboxConfig) {
		if cfg.Metadata.Uid != string(edited.UID) {
			return
		}
		rt.Lock()
		defer rt.Unlock()
		for _, s := range rt.Sandboxes {
			if s.Metadata.Uid == string(old.UID) {
				violation.Store("old sandbox still present")
			}
		}
		for _, c := range rt.Containers {
			if c.Labels[kuberuntime.LabelPodUID] == string(old.UID) {
				violation.Store("old container still present")
			}
		}
	}
	rt.mu.Unlock()
	defer once.Do(func() { close(release) })

	ta.apply(snapshot(edited))
	testutil.Consistently(t, 100*time.Millisecond, "the new pod waits while the old one stops", func() bool {
		rt.mu.Lock()
		defer rt.mu.Unlock()
		return len(rt.sandboxes) == 1
	})
	r := ta.Report()
	waiting := false
	for _, p := range r.Pods {
		if p.UID == string(edited.UID) && p.Waiting != "" {
			waiting = true
		}
	}
	if !waiting {
		t.Errorf("status does not show the new pod waiting: %+v", r.Pods)
	}
	once.Do(func() { close(release) })
	testutil.Eventually(t, "the new pod's sandbox", func() bool {
		rt.mu.Lock()
		defer rt.mu.Unlock()
		return len(rt.sandboxes) == 2
	})
	if v := violation.Load(); v != nil {
		t.Errorf("new pod started while %s", v)
	}
	testutil.Eventually(t, "new container", func() bool {
		c := rt.lastConfig("c")
		return c != nil && c.Image.UserSpecifiedImage == "img:2"
	})
}

func TestRemovedManifestStopsAndRemovesPod(t *testing.T) {
	rt := newTestRuntime()
	ta := startAgent(t, rt, testConfig(t))
	y, _ := webPodYAML(t)
	pod := decodePod(t, y, "/m/web.yaml")
	ta.apply(snapshot(pod))
	testutil.Eventually(t, "running", func() bool { _, st := rt.find("app"); return st == runtimeapi.ContainerState_CONTAINER_RUNNING })
	ta.apply(snapshot())
	testutil.Eventually(t, "everything removed", func() bool { c, s := rt.objects(); return c == 0 && s == 0 })
	if rt.count("StopContainer") != 1 || rt.count("StopPodSandbox") != 1 {
		t.Errorf("calls = %v", rt.GetCalls())
	}
	testutil.Eventually(t, "status without pods", func() bool { return len(ta.Report().Pods) == 0 })
	if _, err := os.Stat(filepath.Join(ta.opts.RootDir, "pods", string(pod.UID))); !os.IsNotExist(err) {
		t.Errorf("pod directory still present: %v", err)
	}
}

func TestAdoptionAfterRestart(t *testing.T) {
	rt := newTestRuntime()
	cfg := testConfig(t)
	first := startAgent(t, rt, cfg)
	pod := decodePod(t, initPod, "/m/init.yaml")
	first.apply(snapshot(pod))
	for _, name := range []string{"first", "second"} {
		testutil.Eventually(t, name, func() bool { _, st := rt.find(name); return st == runtimeapi.ContainerState_CONTAINER_RUNNING })
		id, _ := rt.find(name)
		rt.exit(id, 0, first.clock.Now())
	}
	testutil.Eventually(t, "main", func() bool { _, st := rt.find("main"); return st == runtimeapi.ContainerState_CONTAINER_RUNNING })
	first.stop()
	containers, sandboxes := rt.objects()
	creates, runs, stops := rt.count("CreateContainer"), rt.count("RunPodSandbox"), rt.count("StopContainer")

	second := startAgent(t, rt, cfg)
	second.apply(snapshot(decodePod(t, initPod, "/m/init.yaml")))
	testutil.Eventually(t, "the adopted pod to be Running", func() bool { return podPhase(second, pod) == "Running" })
	testutil.Consistently(t, 100*time.Millisecond, "nothing created or stopped", func() bool {
		return rt.count("CreateContainer") == creates && rt.count("RunPodSandbox") == runs && rt.count("StopContainer") == stops
	})
	if c, s := rt.objects(); c != containers || s != sandboxes {
		t.Errorf("objects changed: %d/%d -> %d/%d", containers, sandboxes, c, s)
	}
	if cs := containerStatus(second, "main"); cs.State != status.StateRunning {
		t.Errorf("main = %+v", cs)
	}
}

func TestOrphansOfThisNodeOnlyAreRemoved(t *testing.T) {
	rt := newTestRuntime()
	mine := map[string]string{kuberuntime.LabelPodUID: "u1", kuberuntime.LabelPodName: "gone-node1", kuberuntime.LabelPodNamespace: "default", kuberuntime.LabelNode: "node1"}
	theirs := map[string]string{kuberuntime.LabelPodUID: "u2", kuberuntime.LabelPodName: "x-node2", kuberuntime.LabelPodNamespace: "default", kuberuntime.LabelNode: "node2"}
	rt.SetFakeSandboxes([]*critest.FakePodSandbox{
		{PodSandboxStatus: runtimeapi.PodSandboxStatus{Id: "s1", Metadata: &runtimeapi.PodSandboxMetadata{Name: "gone-node1", Uid: "u1"}, State: runtimeapi.PodSandboxState_SANDBOX_READY, Labels: mine}},
		{PodSandboxStatus: runtimeapi.PodSandboxStatus{Id: "s2", Metadata: &runtimeapi.PodSandboxMetadata{Name: "x-node2", Uid: "u2"}, State: runtimeapi.PodSandboxState_SANDBOX_READY, Labels: theirs}},
	})
	rt.SetFakeContainers([]*critest.FakeContainer{
		{SandboxID: "s1", ContainerStatus: runtimeapi.ContainerStatus{Id: "c1", Metadata: &runtimeapi.ContainerMetadata{Name: "c"}, State: runtimeapi.ContainerState_CONTAINER_RUNNING, Labels: mine}},
		{SandboxID: "s2", ContainerStatus: runtimeapi.ContainerStatus{Id: "c2", Metadata: &runtimeapi.ContainerMetadata{Name: "c"}, State: runtimeapi.ContainerState_CONTAINER_RUNNING, Labels: theirs}},
	})
	ta := startAgent(t, rt, testConfig(t))
	ta.apply(snapshot())
	testutil.Eventually(t, "the orphan to be removed", func() bool { c, s := rt.objects(); return c == 1 && s == 1 })
	rt.Lock()
	_, keptC := rt.Containers["c2"]
	_, keptS := rt.Sandboxes["s2"]
	rt.Unlock()
	if !keptC || !keptS {
		t.Error("another node's pod was touched")
	}
}

func TestGCKeepsOneDeadContainer(t *testing.T) {
	rt := newTestRuntime()
	ta := startAgent(t, rt, testConfig(t))
	pod := decodePod(t, crashPod, "/m/crash.yaml")
	ta.apply(snapshot(pod))
	for attempt := 0; attempt < 4; attempt++ {
		suffix := "_c_" + strconv.Itoa(attempt)
		testutil.Eventually(t, "attempt "+strconv.Itoa(attempt), func() bool {
			id, st := rt.find("c")
			return strings.HasSuffix(id, suffix) && st == runtimeapi.ContainerState_CONTAINER_RUNNING
		})
		if attempt == 3 {
			break
		}
		id, _ := rt.find("c")
		rt.exit(id, 1, ta.clock.Now())
		ta.clock.Step(10 * time.Minute) // beyond any back-off
		ta.pokeAll()
	}
	if c, _ := rt.objects(); c != 4 {
		t.Fatalf("%d containers before GC, want 4", c)
	}
	// A log directory of a pod of this node that no longer exists.
	stale := filepath.Join(ta.opts.PodLogsDir, "default_old-node1_olduid")
	other := filepath.Join(ta.opts.PodLogsDir, "default_old-node2_otheruid")
	// The directory of a pod that is gone (a teardown that failed before
	// the agent restarted).
	stalePod := filepath.Join(ta.opts.RootDir, "pods", "olduid")
	for _, d := range []string{stale, other, filepath.Join(stalePod, "volumes", "kubernetes.io~empty-dir", "v")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// The log files of every instance, a rotation of the first, and one
	// file too new to be collected (its container may be being created).
	logDir := filepath.Join(kuberuntime.PodLogDir(ta.opts.PodLogsDir, pod), "c")
	termDir := filepath.Join(ta.opts.RootDir, "pods", string(pod.UID), "containers", "c")
	old := time.Now().Add(-time.Hour)
	for _, f := range []string{"0.log", "0.log.20260101-000000.gz", "1.log", "2.log", "3.log", "7.log"} {
		p := filepath.Join(logDir, f)
		if err := os.WriteFile(p, []byte("x\n"), 0o640); err != nil {
			t.Fatal(err)
		}
		if f != "7.log" {
			if err := os.Chtimes(p, old, old); err != nil {
				t.Fatal(err)
			}
		}
	}
	terms, err := os.ReadDir(termDir)
	if err != nil || len(terms) != 4 {
		t.Fatalf("termination-message files before GC: %v, %v; want one per instance", terms, err)
	}
	for _, f := range terms {
		if err := os.Chtimes(filepath.Join(termDir, f.Name()), old, old); err != nil {
			t.Fatal(err)
		}
	}
	ta.gc(t.Context())
	if got := dirNames(t, logDir); got != "2.log,3.log,7.log" {
		t.Errorf("log files after GC: %s, want those of the two kept instances and the new one", got)
	}
	if got := dirNames(t, termDir); got != "2,3" {
		t.Errorf("termination-message files after GC: %s, want those of the two kept instances", got)
	}
	rt.Lock()
	var left []string
	for id, c := range rt.Containers {
		left = append(left, id+"="+c.State.String())
	}
	rt.Unlock()
	if len(left) != 2 {
		t.Errorf("after GC: %v, want the running one and the newest dead one", left)
	}
	if _, err := os.Stat(stalePod); !os.IsNotExist(err) {
		t.Error("directory of a gone pod kept")
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Error("stale log directory of this node kept")
	}
	if _, err := os.Stat(other); err != nil {
		t.Error("log directory of another node removed")
	}
}

func TestImagePolicy(t *testing.T) {
	tests := []struct {
		name, image, policy string
		wantPull            bool
		wantReason          string
	}{
		{"present image pulled again with Always, as upstream", "img:1", "Always", true, ""},
		{"present image not pulled with IfNotPresent", "img:1", "IfNotPresent", false, ""},
		{"missing image with Never", "absent:1", "Never", false, reasonErrImageNeverPull},
		{"missing image is pulled", "absent:1", "IfNotPresent", true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt := newTestRuntime()
			ta := startAgent(t, rt, testConfig(t))
			y := strings.Replace(crashPod, "{name: c, image: img:1}", "{name: c, image: "+tt.image+", imagePullPolicy: "+tt.policy+"}", 1)
			ta.apply(snapshot(decodePod(t, y, "/m/i.yaml")))
			if tt.wantReason != "" {
				testutil.Eventually(t, tt.wantReason, func() bool { return containerStatus(ta, "c").Reason == tt.wantReason })
			} else {
				testutil.Eventually(t, "running", func() bool { _, st := rt.find("c"); return st == runtimeapi.ContainerState_CONTAINER_RUNNING })
			}
			pulled := false
			for _, c := range ta.images.Called {
				if c == "PullImage" {
					pulled = true
				}
			}
			if pulled != tt.wantPull {
				t.Errorf("pulled = %v, want %v", pulled, tt.wantPull)
			}
		})
	}
}

func TestReport(t *testing.T) {
	rt := newTestRuntime()
	ta := startAgent(t, rt, testConfig(t))
	pod := decodePod(t, crashPod, "/m/crash.yaml")
	s := snapshot(pod)
	s.Errors = append(s.Errors, podsourceError("/m/bad.yaml", "file \"/m/bad.yaml\": boom"))
	ta.apply(s)
	testutil.Eventually(t, "running", func() bool { return containerStatus(ta, "c").State == status.StateRunning })
	r := ta.Report()
	if r.Node != "node1" || !r.RuntimeReady || len(r.Pods) != 1 || len(r.FileErrors) != 1 {
		t.Fatalf("report = %+v", r)
	}
	p := r.Pods[0]
	if p.Name != "crash-node1" || p.Phase != "Running" || p.File != "/m/crash-node1" || len(p.Containers) != 1 {
		t.Errorf("pod = %+v", p)
	}
	if c := p.Containers[0]; c.State != status.StateRunning || !c.Ready || c.RestartCount != 0 || c.ID == "" {
		t.Errorf("container = %+v", c)
	}
	if r.FileErrors[0].File != "/m/bad.yaml" {
		t.Errorf("file errors = %+v", r.FileErrors)
	}
}

// Without a pod source (no staticPodPath) nothing says which pods are
// unwanted: pods found in the runtime must keep running.
func TestNoPodSourceNeverStopsPods(t *testing.T) {
	rt := newTestRuntime()
	seedRunningPod(rt, "u1", "etcd-node1", "node1")
	ta := newTestAgent(t, rt, testConfig(t))
	runAgent(t, ta, nil)
	testutil.Eventually(t, "the runtime to be listed", func() bool { return ta.Report().RuntimeReady && rt.count("ListContainers") >= 2 })
	testutil.Consistently(t, 100*time.Millisecond, "the pod keeps running", func() bool {
		c, s := rt.objects()
		return rt.count("StopContainer") == 0 && rt.count("StopPodSandbox") == 0 && c == 1 && s == 1
	})
}

// Until the source's first snapshot, its error is the only sign of why
// nothing runs: the report shows it, and pods in the runtime are kept.
func TestSourceErrorBeforeFirstSnapshot(t *testing.T) {
	rt := newTestRuntime()
	seedRunningPod(rt, "u1", "etcd-node1", "node1")
	cfg := testConfig(t)
	cfg.StaticPodPath = "/etc/kubernetes/manifests"
	var srcErr atomic.Value
	srcErr.Store("permission denied")
	cfg.SourceErr = func() error { return errors.New(srcErr.Load().(string)) }
	ta := newTestAgent(t, rt, cfg)
	updates := make(chan podsource.Snapshot, 1)
	runAgent(t, ta, updates)
	testutil.Eventually(t, "the source error in the report", func() bool {
		r := ta.Report()
		return len(r.FileErrors) == 1 && r.FileErrors[0].File == cfg.StaticPodPath && r.FileErrors[0].Error == "permission denied"
	})
	if rt.count("StopContainer") != 0 {
		t.Error("a pod was stopped before the first snapshot")
	}
	updates <- snapshot()
	testutil.Eventually(t, "the snapshot to replace the source error", func() bool { return len(ta.Report().FileErrors) == 0 })
	testutil.Eventually(t, "the orphan to be stopped once a snapshot says so", func() bool { c, _ := rt.objects(); return c == 0 })
}

// An instance in UNKNOWN state may still run: it is stopped, and a new
// instance starts only once the runtime reports the old one exited.
func TestUnknownContainerIsStoppedBeforeANewStart(t *testing.T) {
	tests := []struct{ name, yaml, container string }{
		{"container", crashPod, "c"},
		{"init container", strings.Replace(initPod, "spec:\n", "spec:\n  restartPolicy: OnFailure\n", 1), "first"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt := newTestRuntime()
			ta := startAgent(t, rt, testConfig(t))
			ta.apply(snapshot(decodePod(t, tt.yaml, "/m/p.yaml")))
			testutil.Eventually(t, "running", func() bool { _, st := rt.find(tt.container); return st == runtimeapi.ContainerState_CONTAINER_RUNNING })
			old, _ := rt.find(tt.container)
			var violation atomic.Value
			rt.mu.Lock()
			rt.onCreate = func(cfg *runtimeapi.ContainerConfig) {
				if cfg.Metadata.Name != tt.container {
					return
				}
				rt.Lock()
				defer rt.Unlock()
				if st := rt.Containers[old].State; st != runtimeapi.ContainerState_CONTAINER_EXITED {
					violation.Store("a new instance was created while the old one was " + st.String())
				}
			}
			rt.mu.Unlock()
			creates := len(rt.created())

			rt.stopIgnored.Store(true)
			rt.setState(old, runtimeapi.ContainerState_CONTAINER_UNKNOWN)
			testutil.Eventually(t, "a stop of the unknown instance", func() bool { return rt.count("StopContainer") >= 1 })
			testutil.Eventually(t, "the unknown state in the status", func() bool { return containerStatus(ta, tt.container).Reason == reasonStatusUnknown })
			testutil.Consistently(t, 100*time.Millisecond, "no new instance while the old one is unknown", func() bool { return len(rt.created()) == creates })
			if n := rt.count("StopContainer"); n < 2 {
				t.Errorf("StopContainer called %d times; want retries while unknown", n)
			}

			rt.stopIgnored.Store(false)
			testutil.Eventually(t, "a new instance once the old one exited", func() bool { return len(rt.created()) == creates+1 })
			if v := violation.Load(); v != nil {
				t.Error(v)
			}
		})
	}
}

// A pod that completed runs no probes any more.
func TestProbesStopWhenPodCompletes(t *testing.T) {
	rt := newTestRuntime()
	ta := startAgent(t, rt, testConfig(t))
	live := newToggleServer(t, true)
	y := strings.Replace(probePod(live, nil), "spec:\n", "spec:\n  restartPolicy: Never\n", 1)
	pod := decodePod(t, y, "/m/p.yaml")
	ta.apply(snapshot(pod))
	testutil.Eventually(t, "probes", func() bool { return live.hits.Load() >= 2 })
	id, _ := rt.find("c")
	rt.exit(id, 0, ta.clock.Now())
	testutil.Eventually(t, "the pod to succeed", func() bool { return podPhase(ta, pod) == "Succeeded" })
	ta.pokeAll()
	after := live.hits.Load()
	testutil.Consistently(t, 100*time.Millisecond, "no probe after completion", func() bool { return live.hits.Load() <= after+1 })
}

// A preStop httpGet without a host goes to the pod IP, and a named port
// is the container's port of that name.
func TestPreStopHTTPGoesToPodIPAndNamedPort(t *testing.T) {
	rt := newTestRuntime()
	rt.sandboxIP = "127.0.0.1"
	ta := startAgent(t, rt, testConfig(t))
	var stopHits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/stop" && r.Header.Get("X-Hook") == "1" {
			stopHits.Add(1)
		}
	}))
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	y := `apiVersion: v1
kind: Pod
metadata: {name: hooked}
spec:
  terminationGracePeriodSeconds: 5
  containers:
  - name: c
    image: img:1
    ports: [{name: admin, containerPort: ` + port + `}]
    lifecycle:
      preStop:
        httpGet: {port: admin, path: /stop, httpHeaders: [{name: X-Hook, value: "1"}]}
`
	ta.apply(snapshot(decodePod(t, y, "/m/h.yaml")))
	testutil.Eventually(t, "running", func() bool { _, st := rt.find("c"); return st == runtimeapi.ContainerState_CONTAINER_RUNNING })
	ta.apply(snapshot())
	testutil.Eventually(t, "everything removed", func() bool { c, s := rt.objects(); return c == 0 && s == 0 })
	if n := stopHits.Load(); n != 1 {
		t.Errorf("preStop hook reached the pod's named port %d times, want 1", n)
	}
}

// A container whose create fails backs off like one that crashes.
func TestFailedCreateBacksOff(t *testing.T) {
	rt := newTestRuntime()
	for range 100 {
		rt.InjectError("CreateContainer", errors.New("no space left on device"))
	}
	ta := startAgent(t, rt, testConfig(t))
	ta.apply(snapshot(decodePod(t, crashPod, "/m/crash.yaml")))
	creates := func() int { return rt.count("CreateContainer") }
	// The first retry is immediate, as after a first crash; then 10 s, 20 s.
	testutil.Eventually(t, "two attempts", func() bool { return creates() == 2 })
	for i, delay := range []time.Duration{10 * time.Second, 20 * time.Second} {
		testutil.Eventually(t, "the error and back-off in the status", func() bool {
			cs := containerStatus(ta, "c")
			return cs.Reason == reasonCreateError && strings.Contains(cs.Message, "no space left on device") && strings.Contains(cs.Message, "back-off")
		})
		ta.clock.Step(delay - time.Second)
		ta.pokeAll()
		testutil.Consistently(t, 100*time.Millisecond, "no attempt during the back-off", func() bool { return creates() == 2+i })
		ta.clock.Step(time.Second)
		ta.pokeAll()
		testutil.Eventually(t, "an attempt after "+delay.String(), func() bool { return creates() == 3+i })
	}
}

// Run honours cancellation while it waits for the runtime to list.
func TestRunReturnsWhenCancelledDuringStart(t *testing.T) {
	rt := newTestRuntime()
	for range 100 {
		rt.InjectError("ListPodSandbox", errors.New("runtime busy"))
	}
	ta := newTestAgent(t, rt, testConfig(t))
	ta.runtimeWait = time.Hour
	done := runAgent(t, ta, nil)
	testutil.Eventually(t, "a failed list", func() bool { return rt.count("ListPodSandbox") >= 1 })
	ta.cancel()
	select {
	case <-done:
	case <-time.After(runReturnTimeout):
		t.Fatal("Run did not return after its context ended")
	}
}

// Run returns only after the agent's goroutines, probes included, ended.
func TestRunWaitsForProbes(t *testing.T) {
	rt := newTestRuntime()
	entered := make(chan struct{}, 1)
	release := make(chan struct{})
	rt.onExec = func(string) {
		select {
		case entered <- struct{}{}:
		default:
		}
		<-release
	}
	ta := newTestAgent(t, rt, testConfig(t))
	updates := make(chan podsource.Snapshot, 1)
	done := runAgent(t, ta, updates)
	updates <- snapshot(decodePod(t, strings.Replace(crashPod, "{name: c, image: img:1}", "{name: c, image: img:1, livenessProbe: {exec: {command: [\"true\"]}, periodSeconds: 1}}", 1), "/m/e.yaml"))
	<-entered
	ta.cancel()
	returned := func() bool {
		select {
		case <-done:
			return true
		default:
			return false
		}
	}
	testutil.Consistently(t, 100*time.Millisecond, "Run waits while a probe runs", func() bool { return !returned() })
	close(release)
	testutil.Eventually(t, "Run to return", returned)
}

// dirNames lists a directory's entries, comma-separated in name order.
func dirNames(t *testing.T, dir string) string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return strings.Join(names, ",")
}

// A pod with fields the agent cannot honour is not run; its status says
// why, naming the fields.
func TestUnsupportedFieldsRefuseThePod(t *testing.T) {
	rt := newTestRuntime()
	ta := startAgent(t, rt, testConfig(t))
	y := strings.Replace(crashPod, "spec:\n", "spec:\n  hostUsers: false\n  securityContext: {seLinuxOptions: {type: spc_t}}\n", 1)
	pod := decodePod(t, y, "/m/u.yaml")
	ta.apply(snapshot(pod))
	testutil.Eventually(t, "the refusal in the status", func() bool {
		for _, p := range ta.Report().Pods {
			if p.UID == string(pod.UID) && p.Reason == reasonConfigError {
				return true
			}
		}
		return false
	})
	var p status.Pod
	for _, q := range ta.Report().Pods {
		if q.UID == string(pod.UID) {
			p = q
		}
	}
	for _, field := range []string{"spec.hostUsers", "spec.securityContext.seLinuxOptions"} {
		if !strings.Contains(p.Message, field) {
			t.Errorf("pod message %q does not name %s", p.Message, field)
		}
	}
	if p.Phase != "Pending" || len(p.Containers) != 1 || p.Containers[0].Reason != reasonConfigError || p.Containers[0].Message != p.Message {
		t.Errorf("pod status = %+v", p)
	}
	testutil.Consistently(t, 50*time.Millisecond, "no sandbox for a refused pod", func() bool { return rt.count("RunPodSandbox") == 0 })
}

// runAsNonRoot is enforced from runAsUser or the image's user.
func TestRunAsNonRoot(t *testing.T) {
	tests := []struct {
		name     string
		sc       string
		imageUID *int64
		imageUsr string
		wantRun  bool
		wantMsg  string
	}{
		{"image runs as root", "{runAsNonRoot: true}", ptrInt64(0), "", false, "container has runAsNonRoot and image will run as root"},
		{"image has no user", "{runAsNonRoot: true}", nil, "", false, "container has runAsNonRoot and image will run as root"},
		{"runAsUser 0", "{runAsNonRoot: true, runAsUser: 0}", ptrInt64(1000), "", false, "runAsUser 0"},
		{"image runs as 1000", "{runAsNonRoot: true}", ptrInt64(1000), "", true, ""},
		{"runAsUser 1000 over a root image", "{runAsNonRoot: true, runAsUser: 1000}", ptrInt64(0), "", true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt := newTestRuntime()
			ta := startAgent(t, rt, testConfig(t))
			ta.images.Lock()
			img := ta.images.Images["img:1"]
			if tt.imageUID != nil {
				img.Uid = &runtimeapi.Int64Value{Value: *tt.imageUID}
			}
			img.Username = tt.imageUsr
			ta.images.Unlock()
			y := strings.Replace(crashPod, "{name: c, image: img:1}", "{name: c, image: img:1, securityContext: "+tt.sc+"}", 1)
			ta.apply(snapshot(decodePod(t, y, "/m/n.yaml")))
			if tt.wantRun {
				testutil.Eventually(t, "running", func() bool { _, st := rt.find("c"); return st == runtimeapi.ContainerState_CONTAINER_RUNNING })
				return
			}
			testutil.Eventually(t, "the refusal", func() bool {
				cs := containerStatus(ta, "c")
				return cs.Reason == reasonConfigError && strings.Contains(cs.Message, tt.wantMsg)
			})
			if n := rt.count("CreateContainer"); n != 0 {
				t.Errorf("%d containers created", n)
			}
		})
	}
}

func ptrInt64(v int64) *int64 { return &v }

// A subPathExpr that expands to a path leaving its volume is refused and
// creates nothing outside.
func TestSubPathExprCannotLeaveTheVolume(t *testing.T) {
	rt := newTestRuntime()
	cfg := testConfig(t)
	ta := startAgent(t, rt, cfg)
	y := `apiVersion: v1
kind: Pod
metadata: {name: sub}
spec:
  hostNetwork: true
  volumes: [{name: scratch, emptyDir: {}}]
  containers:
  - name: c
    image: img:1
    env: [{name: WHERE, value: ../../../../escaped}]
    volumeMounts: [{name: scratch, mountPath: /s, subPathExpr: $(WHERE)}]
`
	pod := decodePod(t, y, "/m/s.yaml")
	ta.apply(snapshot(pod))
	testutil.Eventually(t, "the refusal", func() bool {
		cs := containerStatus(ta, "c")
		return cs.Reason == reasonConfigError && strings.Contains(cs.Message, `".." element`)
	})
	emptyDir := filepath.Join(cfg.RootDir, "pods", string(pod.UID), "volumes", "kubernetes.io~empty-dir", "scratch")
	if _, err := os.Stat(filepath.Join(emptyDir, "../../../../escaped")); !os.IsNotExist(err) {
		t.Errorf("a directory was created outside the volume: %v", err)
	}
	if n := rt.count("CreateContainer"); n != 0 {
		t.Errorf("%d containers created", n)
	}
}

// TestReadinessRetriedSoonAfterStart: a readiness probe that fails right
// after the container starts (its server is not listening yet) is tried
// again within the first period, so the container is Ready long before
// one period has passed; after it was once Ready, the period applies.
// readinessPod is a host-network pod named name whose container c has a
// readiness probe of srv with a period of 300 s (3 s in the tests).
func readinessPod(name string, srv *toggleServer) string {
	return `apiVersion: v1
kind: Pod
metadata: {name: ` + name + `}
spec:
  hostNetwork: true
  containers:
  - name: c
    image: img:1
    readinessProbe:
      httpGet: {host: 127.0.0.1, path: /, port: ` + srv.port() + `}
      periodSeconds: 300
`
}

func TestReadinessRetriedSoonAfterStart(t *testing.T) {
	rt := newTestRuntime()
	ta := startAgent(t, rt, testConfig(t))
	srv := newToggleServer(t, false)
	ta.apply(snapshot(decodePod(t, readinessPod("slow", srv), "/m/slow.yaml")))
	testutil.Eventually(t, "the first probe", func() bool { return srv.hits.Load() > 0 })
	srv.healthy.Store(true)
	// The period is 3 s here (300 × 10 ms); Ready comes within a second.
	start := time.Now()
	testutil.Eventually(t, "ready", func() bool { return containerStatus(ta, "c").Ready })
	if d := time.Since(start); d > time.Second {
		t.Errorf("Ready %s after the server answered, want well within the 3 s period", d)
	}
	hits := srv.hits.Load()
	testutil.Consistently(t, 300*time.Millisecond, "no quick retries once Ready", func() bool { return srv.hits.Load() == hits })
}

// TestReadinessProbedRightAfterStart: a started container's readiness
// probe runs at once, not after the runtime is next listed (here every
// listing after the start is held back).
func TestReadinessProbedRightAfterStart(t *testing.T) {
	rt := newTestRuntime()
	ta := startAgent(t, rt, testConfig(t))
	srv := newToggleServer(t, true)
	release := make(chan struct{})
	var releaseOnce sync.Once
	t.Cleanup(func() { releaseOnce.Do(func() { close(release) }) })
	rt.mu.Lock()
	rt.onList = func() {
		if _, st := rt.find("c"); st == runtimeapi.ContainerState_CONTAINER_RUNNING {
			<-release
		}
	}
	rt.mu.Unlock()
	ta.apply(snapshot(decodePod(t, readinessPod("quick", srv), "/m/quick.yaml")))
	testutil.Eventually(t, "the readiness probe while the runtime listing is held", func() bool { return srv.hits.Load() > 0 })
	releaseOnce.Do(func() { close(release) })
	testutil.Eventually(t, "ready", func() bool { return containerStatus(ta, "c").Ready })
}
