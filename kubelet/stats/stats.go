// Package stats builds the node agent's resource usage views: the
// /stats/summary document (k8s.io/kubelet stats v1alpha1) and the
// /metrics/resource Prometheus metrics that metrics-server reads.
//
// Pod and container figures come from the container runtime's CRI stats
// (ListContainerStats, ListPodSandboxStats); a runtime that does not
// implement ListPodSandboxStats gets its pod totals from the pods' cgroup
// v1 files below the agent's cgroup root, else from the sum of the pod's
// containers. Node figures come from the root cgroups and /proc.
package stats

import (
	"context"
	"fmt"
	"path"
	"sort"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	statsapi "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
)

// Default locations of the kernel's views.
const (
	DefaultCgroupFS = "/sys/fs/cgroup"
	DefaultProcFS   = "/proc"
)

// minRateInterval is the shortest interval between two CPU samples that
// gives a new usageNanoCores; closer samples reuse the last rate, so that
// back-to-back scrapes do not report noise.
const minRateInterval = time.Second

// Runtime is the part of the CRI runtime service stats needs; cri.Remote
// satisfies it.
type Runtime interface {
	ListPodSandbox(ctx context.Context, filter *runtimeapi.PodSandboxFilter) ([]*runtimeapi.PodSandbox, error)
	ListContainers(ctx context.Context, filter *runtimeapi.ContainerFilter) ([]*runtimeapi.Container, error)
	ListContainerStats(ctx context.Context, filter *runtimeapi.ContainerStatsFilter) ([]*runtimeapi.ContainerStats, error)
	ListPodSandboxStats(ctx context.Context, filter *runtimeapi.PodSandboxStatsFilter) ([]*runtimeapi.PodSandboxStats, error)
}

// Options configure a Provider.
type Options struct {
	// NodeName is the summary's node name.
	NodeName string
	// CgroupRoot is the agent's cgroupfs parent of the pods (cgroupRoot,
	// e.g. /kubeadmin-node1); pod cgroups are <CgroupRoot>/pod<uid>.
	CgroupRoot string
	// RootDir is the agent's root directory, whose file system is the
	// node's fs (default /var/lib/kubelet); empty: no node fs stats.
	RootDir string
	// CgroupFS and ProcFS are where cgroup v1 and procfs are mounted;
	// empty: DefaultCgroupFS, DefaultProcFS.
	CgroupFS string
	ProcFS   string
	// Now is the clock; nil: time.Now.
	Now func() time.Time
}

// Provider answers stats from the runtime and the node's files. It is safe
// for concurrent use.
type Provider struct {
	rt   Runtime
	opts Options

	mu sync.Mutex
	// cpu holds the last CPU sample per container, pod and the node, for
	// usageNanoCores.
	cpu map[string]cpuSample
	// noSandboxStats is set once the runtime answered Unimplemented to
	// ListPodSandboxStats.
	noSandboxStats bool
}

type cpuSample struct {
	usage uint64
	at    time.Time
	rate  *uint64
}

// New returns a Provider over rt.
func New(rt Runtime, opts Options) *Provider {
	if opts.CgroupFS == "" {
		opts.CgroupFS = DefaultCgroupFS
	}
	if opts.ProcFS == "" {
		opts.ProcFS = DefaultProcFS
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Provider{rt: rt, opts: opts, cpu: map[string]cpuSample{}}
}

// Keys of the CPU sample cache.
const (
	nodeKey      = "node"
	podKeyPrefix = "pod/"
)

// Summary is the /stats/summary document: the node and every ready pod
// with its running containers.
func (p *Provider) Summary(ctx context.Context) (*statsapi.Summary, error) {
	now := p.opts.Now()
	pods, err := p.podStats(ctx, now)
	if err != nil {
		return nil, err
	}
	node := p.nodeStats(now)
	p.mu.Lock()
	defer p.mu.Unlock()
	seen := map[string]bool{}
	if node.CPU != nil && node.CPU.UsageCoreNanoSeconds != nil {
		node.CPU.UsageNanoCores = p.rateLocked(nodeKey, *node.CPU.UsageCoreNanoSeconds, node.CPU.Time.Time, nil)
		seen[nodeKey] = true
	}
	for i := range pods {
		ps := &pods[i]
		if ps.CPU != nil && ps.CPU.UsageCoreNanoSeconds != nil {
			k := podKeyPrefix + ps.PodRef.UID
			ps.CPU.UsageNanoCores = p.rateLocked(k, *ps.CPU.UsageCoreNanoSeconds, ps.CPU.Time.Time, ps.CPU.UsageNanoCores)
			seen[k] = true
		}
		for j := range ps.Containers {
			c := &ps.Containers[j]
			if c.CPU != nil && c.CPU.UsageCoreNanoSeconds != nil {
				k := ps.PodRef.UID + "/" + c.Name
				c.CPU.UsageNanoCores = p.rateLocked(k, *c.CPU.UsageCoreNanoSeconds, c.CPU.Time.Time, c.CPU.UsageNanoCores)
				seen[k] = true
			}
		}
	}
	for k := range p.cpu {
		if !seen[k] {
			delete(p.cpu, k)
		}
	}
	return &statsapi.Summary{Node: node, Pods: pods}, nil
}

// rateLocked is the CPU use in nanocores between the last sample of key
// and this one; without a usable last sample it is the runtime's own
// figure (fallback, may be nil). A counter that went back (a restarted
// container) starts over.
func (p *Provider) rateLocked(key string, usage uint64, at time.Time, fallback *uint64) *uint64 {
	prev, ok := p.cpu[key]
	switch {
	case !ok || usage < prev.usage || !at.After(prev.at):
		p.cpu[key] = cpuSample{usage: usage, at: at, rate: fallback}
		return fallback
	case at.Sub(prev.at) < minRateInterval:
		return prev.rate
	}
	r := uint64(float64(usage-prev.usage) / float64(at.Sub(prev.at).Nanoseconds()) * float64(time.Second))
	p.cpu[key] = cpuSample{usage: usage, at: at, rate: &r}
	return &r
}

// podStats lists the ready pods with their running containers' stats.
func (p *Provider) podStats(ctx context.Context, now time.Time) ([]statsapi.PodStats, error) {
	sandboxes, err := p.rt.ListPodSandbox(ctx, &runtimeapi.PodSandboxFilter{State: &runtimeapi.PodSandboxStateValue{State: runtimeapi.PodSandboxState_SANDBOX_READY}})
	if err != nil {
		return nil, fmt.Errorf("failed to list pod sandboxes: %w", err)
	}
	containers, err := p.rt.ListContainers(ctx, &runtimeapi.ContainerFilter{State: &runtimeapi.ContainerStateValue{State: runtimeapi.ContainerState_CONTAINER_RUNNING}})
	if err != nil {
		return nil, fmt.Errorf("failed to list containers: %w", err)
	}
	cstats, err := p.rt.ListContainerStats(ctx, &runtimeapi.ContainerStatsFilter{})
	if err != nil {
		return nil, fmt.Errorf("failed to list container stats: %w", err)
	}
	sbStats := p.sandboxStats(ctx)

	statsByID := make(map[string]*runtimeapi.ContainerStats, len(cstats))
	for _, s := range cstats {
		if s.GetAttributes() != nil {
			statsByID[s.GetAttributes().GetId()] = s
		}
	}
	bySandbox := map[string][]*runtimeapi.Container{}
	for _, c := range containers {
		bySandbox[c.GetPodSandboxId()] = append(bySandbox[c.GetPodSandboxId()], c)
	}

	var out []statsapi.PodStats
	for _, sb := range sandboxes {
		md := sb.GetMetadata()
		if md == nil {
			continue
		}
		ps := statsapi.PodStats{
			PodRef:    statsapi.PodReference{Name: md.GetName(), Namespace: md.GetNamespace(), UID: md.GetUid()},
			StartTime: metav1.NewTime(time.Unix(0, sb.GetCreatedAt())),
		}
		for _, c := range latestPerName(bySandbox[sb.GetId()]) {
			ps.Containers = append(ps.Containers, containerStats(c, statsByID[c.GetId()], now))
		}
		sort.Slice(ps.Containers, func(i, j int) bool { return ps.Containers[i].Name < ps.Containers[j].Name })
		if s, ok := sbStats[sb.GetId()]; ok && s.GetLinux() != nil {
			l := s.GetLinux()
			ps.CPU = cpuFromCRI(l.GetCpu(), now)
			ps.Memory = memoryFromCRI(l.GetMemory(), now)
			ps.Network = networkFromCRI(l.GetNetwork(), now)
		} else {
			ps.CPU, ps.Memory = p.podCgroupStats(md.GetUid(), now)
		}
		if ps.CPU == nil {
			ps.CPU = sumCPU(ps.Containers, now)
		}
		if ps.Memory == nil {
			ps.Memory = sumMemory(ps.Containers, now)
		}
		out = append(out, ps)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].PodRef.Namespace != out[j].PodRef.Namespace {
			return out[i].PodRef.Namespace < out[j].PodRef.Namespace
		}
		return out[i].PodRef.Name < out[j].PodRef.Name
	})
	return out, nil
}

// sandboxStats is the runtime's pod sandbox stats by sandbox ID; empty when
// the runtime does not implement the call or it fails (the pods then fall
// back to cgroup files).
func (p *Provider) sandboxStats(ctx context.Context) map[string]*runtimeapi.PodSandboxStats {
	p.mu.Lock()
	skip := p.noSandboxStats
	p.mu.Unlock()
	out := map[string]*runtimeapi.PodSandboxStats{}
	if skip {
		return out
	}
	list, err := p.rt.ListPodSandboxStats(ctx, &runtimeapi.PodSandboxStatsFilter{})
	if err != nil {
		if status.Code(err) == codes.Unimplemented {
			p.mu.Lock()
			p.noSandboxStats = true
			p.mu.Unlock()
		}
		return out
	}
	for _, s := range list {
		if s.GetAttributes() != nil {
			out[s.GetAttributes().GetId()] = s
		}
	}
	return out
}

// latestPerName keeps, per container name, the most recently created
// container (a restarted container's old instance may linger).
func latestPerName(cs []*runtimeapi.Container) []*runtimeapi.Container {
	by := map[string]*runtimeapi.Container{}
	for _, c := range cs {
		name := c.GetMetadata().GetName()
		if old, ok := by[name]; !ok || c.GetCreatedAt() > old.GetCreatedAt() {
			by[name] = c
		}
	}
	out := make([]*runtimeapi.Container, 0, len(by))
	for _, c := range by {
		out = append(out, c)
	}
	return out
}

func containerStats(c *runtimeapi.Container, s *runtimeapi.ContainerStats, now time.Time) statsapi.ContainerStats {
	cs := statsapi.ContainerStats{Name: c.GetMetadata().GetName(), StartTime: metav1.NewTime(time.Unix(0, c.GetCreatedAt()))}
	if s != nil {
		cs.CPU = cpuFromCRI(s.GetCpu(), now)
		cs.Memory = memoryFromCRI(s.GetMemory(), now)
	}
	return cs
}

// sampleTime is a CRI timestamp (ns since the epoch), or now when unset.
func sampleTime(ts int64, now time.Time) metav1.Time {
	if ts <= 0 {
		return metav1.NewTime(now)
	}
	return metav1.NewTime(time.Unix(0, ts))
}

func u64(v *runtimeapi.UInt64Value) *uint64 {
	if v == nil {
		return nil
	}
	x := v.GetValue()
	return &x
}

func cpuFromCRI(c *runtimeapi.CpuUsage, now time.Time) *statsapi.CPUStats {
	if c == nil || c.GetUsageCoreNanoSeconds() == nil {
		return nil
	}
	return &statsapi.CPUStats{Time: sampleTime(c.GetTimestamp(), now), UsageCoreNanoSeconds: u64(c.GetUsageCoreNanoSeconds()), UsageNanoCores: u64(c.GetUsageNanoCores())}
}

func memoryFromCRI(m *runtimeapi.MemoryUsage, now time.Time) *statsapi.MemoryStats {
	if m == nil || m.GetWorkingSetBytes() == nil {
		return nil
	}
	return &statsapi.MemoryStats{
		Time: sampleTime(m.GetTimestamp(), now), WorkingSetBytes: u64(m.GetWorkingSetBytes()),
		UsageBytes: u64(m.GetUsageBytes()), RSSBytes: u64(m.GetRssBytes()), AvailableBytes: u64(m.GetAvailableBytes()),
		PageFaults: u64(m.GetPageFaults()), MajorPageFaults: u64(m.GetMajorPageFaults()),
	}
}

func networkFromCRI(n *runtimeapi.NetworkUsage, now time.Time) *statsapi.NetworkStats {
	if n == nil || n.GetDefaultInterface() == nil {
		return nil
	}
	conv := func(i *runtimeapi.NetworkInterfaceUsage) statsapi.InterfaceStats {
		return statsapi.InterfaceStats{Name: i.GetName(), RxBytes: u64(i.GetRxBytes()), RxErrors: u64(i.GetRxErrors()), TxBytes: u64(i.GetTxBytes()), TxErrors: u64(i.GetTxErrors())}
	}
	out := &statsapi.NetworkStats{Time: sampleTime(n.GetTimestamp(), now), InterfaceStats: conv(n.GetDefaultInterface())}
	for _, i := range n.GetInterfaces() {
		out.Interfaces = append(out.Interfaces, conv(i))
	}
	return out
}

// sumCPU is the pod's CPU as the sum of its containers' (no rate: that is
// computed from the sums over time).
func sumCPU(cs []statsapi.ContainerStats, now time.Time) *statsapi.CPUStats {
	var total uint64
	found := false
	for _, c := range cs {
		if c.CPU != nil && c.CPU.UsageCoreNanoSeconds != nil {
			total += *c.CPU.UsageCoreNanoSeconds
			found = true
		}
	}
	if !found {
		return nil
	}
	return &statsapi.CPUStats{Time: metav1.NewTime(now), UsageCoreNanoSeconds: &total}
}

func sumMemory(cs []statsapi.ContainerStats, now time.Time) *statsapi.MemoryStats {
	var out *statsapi.MemoryStats
	add := func(dst **uint64, v *uint64) {
		if v == nil {
			return
		}
		if *dst == nil {
			*dst = new(uint64)
		}
		**dst += *v
	}
	for _, c := range cs {
		if c.Memory == nil || c.Memory.WorkingSetBytes == nil {
			continue
		}
		if out == nil {
			out = &statsapi.MemoryStats{Time: metav1.NewTime(now)}
		}
		add(&out.WorkingSetBytes, c.Memory.WorkingSetBytes)
		add(&out.UsageBytes, c.Memory.UsageBytes)
		add(&out.RSSBytes, c.Memory.RSSBytes)
	}
	return out
}

// podCgroupStats reads the pod's cgroup v1 cpuacct and memory files
// (<CgroupRoot>/pod<uid>); nil for what cannot be read.
func (p *Provider) podCgroupStats(uid string, now time.Time) (*statsapi.CPUStats, *statsapi.MemoryStats) {
	if p.opts.CgroupRoot == "" || uid == "" {
		return nil, nil
	}
	rel := path.Join(p.opts.CgroupRoot, "pod"+uid)
	return p.cgroupCPU(rel, now), p.cgroupMemory(rel, now, nil)
}
