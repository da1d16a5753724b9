package stats

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	statsapi "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
)

// fakeRuntime answers fixed lists; sandboxErr replaces the sandbox stats.
type fakeRuntime struct {
	sandboxes     []*runtimeapi.PodSandbox
	containers    []*runtimeapi.Container
	cstats        []*runtimeapi.ContainerStats
	sbstats       []*runtimeapi.PodSandboxStats
	sandboxErr    error
	listErr       error
	sandboxCalled int
}

func (f *fakeRuntime) ListPodSandbox(context.Context, *runtimeapi.PodSandboxFilter) ([]*runtimeapi.PodSandbox, error) {
	return f.sandboxes, f.listErr
}
func (f *fakeRuntime) ListContainers(context.Context, *runtimeapi.ContainerFilter) ([]*runtimeapi.Container, error) {
	return f.containers, nil
}
func (f *fakeRuntime) ListContainerStats(context.Context, *runtimeapi.ContainerStatsFilter) ([]*runtimeapi.ContainerStats, error) {
	return f.cstats, nil
}
func (f *fakeRuntime) ListPodSandboxStats(context.Context, *runtimeapi.PodSandboxStatsFilter) ([]*runtimeapi.PodSandboxStats, error) {
	f.sandboxCalled++
	if f.sandboxErr != nil {
		return nil, f.sandboxErr
	}
	return f.sbstats, nil
}

var t0 = time.Unix(1_700_000_000, 0)

func u(v uint64) *runtimeapi.UInt64Value { return &runtimeapi.UInt64Value{Value: v} }

func sandbox(id, ns, name, uid string) *runtimeapi.PodSandbox {
	return &runtimeapi.PodSandbox{Id: id, Metadata: &runtimeapi.PodSandboxMetadata{Name: name, Namespace: ns, Uid: uid},
		State: runtimeapi.PodSandboxState_SANDBOX_READY, CreatedAt: t0.Add(-time.Hour).UnixNano()}
}

func container(id, sb, name string, created time.Time) *runtimeapi.Container {
	return &runtimeapi.Container{Id: id, PodSandboxId: sb, Metadata: &runtimeapi.ContainerMetadata{Name: name},
		State: runtimeapi.ContainerState_CONTAINER_RUNNING, CreatedAt: created.UnixNano()}
}

func cstat(id string, at time.Time, cpuNs, ws uint64) *runtimeapi.ContainerStats {
	return &runtimeapi.ContainerStats{
		Attributes: &runtimeapi.ContainerAttributes{Id: id},
		Cpu:        &runtimeapi.CpuUsage{Timestamp: at.UnixNano(), UsageCoreNanoSeconds: u(cpuNs)},
		Memory:     &runtimeapi.MemoryUsage{Timestamp: at.UnixNano(), WorkingSetBytes: u(ws), UsageBytes: u(ws + 100), RssBytes: u(ws / 2)},
	}
}

func sbstat(id string, at time.Time, cpuNs, ws uint64) *runtimeapi.PodSandboxStats {
	return &runtimeapi.PodSandboxStats{Attributes: &runtimeapi.PodSandboxAttributes{Id: id}, Linux: &runtimeapi.LinuxPodSandboxStats{
		Cpu:    &runtimeapi.CpuUsage{Timestamp: at.UnixNano(), UsageCoreNanoSeconds: u(cpuNs)},
		Memory: &runtimeapi.MemoryUsage{Timestamp: at.UnixNano(), WorkingSetBytes: u(ws)},
	}}
}

// writeFiles lays out files (relative path -> content) below a new dir.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for rel, content := range files {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// clock is a settable Now.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newTestProvider(t *testing.T, rt Runtime, cgroups map[string]string, clk *clock) *Provider {
	return New(rt, Options{NodeName: "node1", CgroupRoot: "/kubeadmin-node1",
		CgroupFS: writeFiles(t, cgroups), ProcFS: writeFiles(t, map[string]string{"stat": "cpu  100 0 50 1000 0 0 0 0 0 0\nbtime 1600000000\n",
			"meminfo": "MemTotal: 1000 kB\nMemAvailable: 400 kB\n", "net/dev": netDev, "net/route": netRoute}), Now: clk.now})
}

const netDev = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:     100       1    0    0    0     0          0         0      100       1    0    0    0     0       0          0
 cni0:    2000      20    1    0    0     0          0         0     3000      30    2    0    0     0       0          0
  eth0:  50000     500    3    0    0     0          0         0    60000     600    4    0    0     0       0          0
`

const netRoute = "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\tMTU\tWindow\tIRTT\n" +
	"cni0\t0000580A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n" +
	"eth0\t00000000\t0100A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"

func findPod(t *testing.T, s *statsapi.Summary, name string) statsapi.PodStats {
	t.Helper()
	for _, p := range s.Pods {
		if p.PodRef.Name == name {
			return p
		}
	}
	t.Fatalf("pod %q not in summary %+v", name, s.Pods)
	return statsapi.PodStats{}
}

func TestSummaryFromCRI(t *testing.T) {
	rt := &fakeRuntime{
		sandboxes: []*runtimeapi.PodSandbox{sandbox("sb1", "default", "web", "uid1"), sandbox("sb2", "kube-system", "dns", "uid2")},
		containers: []*runtimeapi.Container{
			container("c1", "sb1", "app", t0.Add(-time.Minute)),
			container("c2", "sb1", "sidecar", t0.Add(-time.Minute)),
			container("c3", "sb2", "coredns", t0.Add(-2*time.Minute)),
		},
		cstats:  []*runtimeapi.ContainerStats{cstat("c1", t0, 1000, 10), cstat("c2", t0, 2000, 20), cstat("c3", t0, 5000, 50)},
		sbstats: []*runtimeapi.PodSandboxStats{sbstat("sb1", t0, 3500, 40)},
	}
	p := newTestProvider(t, rt, nil, &clock{t0})
	s, err := p.Summary(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Pods) != 2 || s.Pods[0].PodRef.Namespace != "default" || s.Pods[1].PodRef.Namespace != "kube-system" {
		t.Fatalf("pods not sorted by namespace/name: %+v", s.Pods)
	}
	web := findPod(t, s, "web")
	if web.PodRef.UID != "uid1" || len(web.Containers) != 2 || web.Containers[0].Name != "app" || web.Containers[1].Name != "sidecar" {
		t.Fatalf("web pod = %+v", web)
	}
	app := web.Containers[0]
	if *app.CPU.UsageCoreNanoSeconds != 1000 || *app.Memory.WorkingSetBytes != 10 || *app.Memory.UsageBytes != 110 || *app.Memory.RSSBytes != 5 {
		t.Errorf("app container stats = cpu %+v mem %+v", app.CPU, app.Memory)
	}
	if !app.StartTime.Time.Equal(t0.Add(-time.Minute)) {
		t.Errorf("app start time = %v", app.StartTime)
	}
	// The sandbox stats, not the sum of containers, are web's totals.
	if *web.CPU.UsageCoreNanoSeconds != 3500 || *web.Memory.WorkingSetBytes != 40 {
		t.Errorf("web totals = cpu %d mem %d, want the sandbox stats 3500 and 40", *web.CPU.UsageCoreNanoSeconds, *web.Memory.WorkingSetBytes)
	}
	// dns has no sandbox stats nor cgroup files: the sum of its containers.
	dns := findPod(t, s, "dns")
	if *dns.CPU.UsageCoreNanoSeconds != 5000 || *dns.Memory.WorkingSetBytes != 50 {
		t.Errorf("dns totals = cpu %d mem %d, want the container sums", *dns.CPU.UsageCoreNanoSeconds, *dns.Memory.WorkingSetBytes)
	}
	if s.Node.NodeName != "node1" || !s.Node.StartTime.Time.Equal(time.Unix(1600000000, 0)) {
		t.Errorf("node = %q started %v", s.Node.NodeName, s.Node.StartTime)
	}
}

func TestUsageNanoCoresFromTwoSamples(t *testing.T) {
	clk := &clock{t0}
	rt := &fakeRuntime{
		sandboxes:  []*runtimeapi.PodSandbox{sandbox("sb1", "default", "web", "uid1")},
		containers: []*runtimeapi.Container{container("c1", "sb1", "app", t0)},
		cstats:     []*runtimeapi.ContainerStats{cstat("c1", t0, 1_000_000_000, 10)},
		sbstats:    []*runtimeapi.PodSandboxStats{sbstat("sb1", t0, 2_000_000_000, 10)},
	}
	p := newTestProvider(t, rt, nil, clk)
	s, err := p.Summary(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Pods[0].Containers[0].CPU.UsageNanoCores; got != nil {
		t.Fatalf("first sample gave usageNanoCores %d, want none", *got)
	}
	// 10 s later the container used 5 more CPU seconds: half a core; the
	// pod 10 more: one core.
	t1 := t0.Add(10 * time.Second)
	rt.cstats = []*runtimeapi.ContainerStats{cstat("c1", t1, 6_000_000_000, 10)}
	rt.sbstats = []*runtimeapi.PodSandboxStats{sbstat("sb1", t1, 12_000_000_000, 10)}
	s, _ = p.Summary(context.Background())
	if got := s.Pods[0].Containers[0].CPU.UsageNanoCores; got == nil || *got != 500_000_000 {
		t.Fatalf("container usageNanoCores = %v, want 500000000", got)
	}
	if got := s.Pods[0].CPU.UsageNanoCores; got == nil || *got != 1_000_000_000 {
		t.Fatalf("pod usageNanoCores = %v, want 1000000000", got)
	}
	// A sample 100 ms later keeps the last rate rather than a noisy one.
	t2 := t1.Add(100 * time.Millisecond)
	rt.cstats = []*runtimeapi.ContainerStats{cstat("c1", t2, 6_100_000_000, 10)}
	s, _ = p.Summary(context.Background())
	if got := s.Pods[0].Containers[0].CPU.UsageNanoCores; got == nil || *got != 500_000_000 {
		t.Fatalf("close sample usageNanoCores = %v, want the last rate 500000000", got)
	}
	// A restarted container's counter goes back: no rate until the next sample.
	t3 := t1.Add(20 * time.Second)
	rt.cstats = []*runtimeapi.ContainerStats{cstat("c1", t3, 100, 10)}
	s, _ = p.Summary(context.Background())
	if got := s.Pods[0].Containers[0].CPU.UsageNanoCores; got != nil {
		t.Fatalf("after a counter reset usageNanoCores = %d, want none", *got)
	}
	// Gone containers leave the cache.
	rt.sandboxes = nil
	if _, err := p.Summary(context.Background()); err != nil {
		t.Fatal(err)
	}
	for k := range p.cpu {
		if k != nodeKey {
			t.Errorf("stale CPU sample %q kept", k)
		}
	}
}

func TestPodTotalsFromCgroupsWithoutSandboxStats(t *testing.T) {
	rt := &fakeRuntime{
		sandboxes:  []*runtimeapi.PodSandbox{sandbox("sb1", "default", "web", "uid1")},
		containers: []*runtimeapi.Container{container("c1", "sb1", "app", t0)},
		cstats:     []*runtimeapi.ContainerStats{cstat("c1", t0, 1000, 10)},
		sandboxErr: status.Error(codes.Unimplemented, "method ListPodSandboxStats not implemented"),
	}
	cg := map[string]string{
		"cpuacct/kubeadmin-node1/poduid1/cpuacct.usage":        "777\n",
		"memory/kubeadmin-node1/poduid1/memory.usage_in_bytes": "5000\n",
		"memory/kubeadmin-node1/poduid1/memory.stat":           "cache 10\ntotal_inactive_file 1200\ntotal_rss 3000\ntotal_pgfault 7\ntotal_pgmajfault 1\n",
	}
	p := newTestProvider(t, rt, cg, &clock{t0})
	for i := 0; i < 2; i++ {
		s, err := p.Summary(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		web := s.Pods[0]
		if *web.CPU.UsageCoreNanoSeconds != 777 {
			t.Errorf("pod cpu = %d, want 777 from cpuacct.usage", *web.CPU.UsageCoreNanoSeconds)
		}
		m := web.Memory
		if *m.UsageBytes != 5000 || *m.WorkingSetBytes != 3800 || *m.RSSBytes != 3000 || *m.PageFaults != 7 || *m.MajorPageFaults != 1 {
			t.Errorf("pod memory = usage %d ws %d rss %d", *m.UsageBytes, *m.WorkingSetBytes, *m.RSSBytes)
		}
	}
	if rt.sandboxCalled != 1 {
		t.Errorf("ListPodSandboxStats called %d times, want once (Unimplemented is remembered)", rt.sandboxCalled)
	}

	// Another error is not remembered: the next summary asks again.
	rt2 := &fakeRuntime{sandboxErr: errors.New("transient")}
	p2 := newTestProvider(t, rt2, nil, &clock{t0})
	_, _ = p2.Summary(context.Background())
	_, _ = p2.Summary(context.Background())
	if rt2.sandboxCalled != 2 {
		t.Errorf("ListPodSandboxStats called %d times after transient errors, want 2", rt2.sandboxCalled)
	}
}

func TestNodeStatsFromCgroupsElseProc(t *testing.T) {
	cg := map[string]string{
		"cpuacct/cpuacct.usage":        "123456789\n",
		"memory/memory.usage_in_bytes": "900000\n",
		"memory/memory.stat":           "total_inactive_file 100000\ntotal_rss 500000\n",
	}
	p := newTestProvider(t, &fakeRuntime{}, cg, &clock{t0})
	s, err := p.Summary(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	n := s.Node
	if *n.CPU.UsageCoreNanoSeconds != 123456789 || *n.Memory.WorkingSetBytes != 800000 || *n.Memory.AvailableBytes != 1000*1024-800000 {
		t.Errorf("node from cgroups = cpu %d ws %d avail %d", *n.CPU.UsageCoreNanoSeconds, *n.Memory.WorkingSetBytes, *n.Memory.AvailableBytes)
	}
	net := n.Network
	if net == nil || net.Name != "eth0" || *net.RxBytes != 50000 || *net.TxErrors != 4 || len(net.Interfaces) != 2 || net.Interfaces[0].Name != "cni0" || *net.Interfaces[0].RxErrors != 1 {
		t.Errorf("node network = %+v, want eth0 (default route) as the default of cni0 and eth0, no lo", net)
	}
	// No cgroup files: /proc/stat (150 ticks = 1.5 s) and /proc/meminfo.
	p = newTestProvider(t, &fakeRuntime{}, nil, &clock{t0})
	s, _ = p.Summary(context.Background())
	n = s.Node
	if *n.CPU.UsageCoreNanoSeconds != 1_500_000_000 || *n.Memory.WorkingSetBytes != 600*1024 {
		t.Errorf("node from /proc = cpu %d ws %d", *n.CPU.UsageCoreNanoSeconds, *n.Memory.WorkingSetBytes)
	}
}

func TestSummaryRuntimeError(t *testing.T) {
	p := newTestProvider(t, &fakeRuntime{listErr: errors.New("runtime down")}, nil, &clock{t0})
	if _, err := p.Summary(context.Background()); err == nil || !strings.Contains(err.Error(), "runtime down") {
		t.Fatalf("err = %v, want the runtime's error", err)
	}
}

func scrape(t *testing.T, p *Provider) string {
	t.Helper()
	rec := httptest.NewRecorder()
	p.ResourceMetricsHandler(nil).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics/resource", nil))
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}

func TestResourceMetrics(t *testing.T) {
	rt := &fakeRuntime{
		sandboxes:  []*runtimeapi.PodSandbox{sandbox("sb1", "default", "web", "uid1")},
		containers: []*runtimeapi.Container{container("c1", "sb1", "app", t0.Add(-90*time.Second))},
		cstats:     []*runtimeapi.ContainerStats{cstat("c1", t0, 2_500_000_000, 4096)},
		sbstats:    []*runtimeapi.PodSandboxStats{sbstat("sb1", t0, 3_000_000_000, 8192)},
	}
	cg := map[string]string{
		"cpuacct/cpuacct.usage":        "10000000000\n",
		"memory/memory.usage_in_bytes": "2000\n",
		"memory/memory.stat":           "total_inactive_file 1000\n",
	}
	p := newTestProvider(t, rt, cg, &clock{t0})
	ms := t0.UnixMilli()
	want := strings.Join([]string{
		"# HELP container_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the container in core-seconds",
		"# TYPE container_cpu_usage_seconds_total counter",
		`container_cpu_usage_seconds_total{container="app",namespace="default",pod="web"} 2.5 ` + itoa(ms),
		"# HELP container_memory_working_set_bytes [STABLE] Current working set of the container in bytes",
		"# TYPE container_memory_working_set_bytes gauge",
		`container_memory_working_set_bytes{container="app",namespace="default",pod="web"} 4096 ` + itoa(ms),
		"# HELP container_start_time_seconds [STABLE] Start time of the container since unix epoch in seconds",
		"# TYPE container_start_time_seconds gauge",
		`container_start_time_seconds{container="app",namespace="default",pod="web"} 1.69999991e+09`,
		"# HELP node_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the node in core-seconds",
		"# TYPE node_cpu_usage_seconds_total counter",
		"node_cpu_usage_seconds_total 10 " + itoa(ms),
		"# HELP node_memory_working_set_bytes [STABLE] Current working set of the node in bytes",
		"# TYPE node_memory_working_set_bytes gauge",
		"node_memory_working_set_bytes 1000 " + itoa(ms),
		"# HELP pod_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the pod in core-seconds",
		"# TYPE pod_cpu_usage_seconds_total counter",
		`pod_cpu_usage_seconds_total{namespace="default",pod="web"} 3 ` + itoa(ms),
		"# HELP pod_memory_working_set_bytes [STABLE] Current working set of the pod in bytes",
		"# TYPE pod_memory_working_set_bytes gauge",
		`pod_memory_working_set_bytes{namespace="default",pod="web"} 8192 ` + itoa(ms),
		"# HELP resource_scrape_error [STABLE] 1 if there was an error while getting container metrics, 0 otherwise",
		"# TYPE resource_scrape_error gauge",
		"resource_scrape_error 0",
		"# HELP scrape_error [ALPHA] 1 if there was an error while getting container metrics, 0 otherwise",
		"# TYPE scrape_error gauge",
		"scrape_error 0",
	}, "\n") + "\n"
	if got := scrape(t, p); got != want {
		t.Errorf("/metrics/resource =\n%s\nwant\n%s", got, want)
	}

	failing := newTestProvider(t, &fakeRuntime{listErr: errors.New("down")}, cg, &clock{t0})
	got := scrape(t, failing)
	if !strings.Contains(got, "\nscrape_error 1\n") || !strings.Contains(got, "\nresource_scrape_error 1\n") || strings.Contains(got, "node_cpu") {
		t.Errorf("failed scrape =\n%s\nwant only the error gauges at 1", got)
	}
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
