package stats

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	statsapi "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
)

// cgroup v1 controller directories and files read.
const (
	cpuacctController = "cpuacct"
	memoryController  = "memory"
	cpuacctUsageFile  = "cpuacct.usage"
	memoryUsageFile   = "memory.usage_in_bytes"
	memoryStatFile    = "memory.stat"
)

// procfs files read, relative to ProcFS.
const (
	procStatFile    = "stat"
	procMeminfoFile = "meminfo"
	procNetDevFile  = "net/dev"
	procRouteFile   = "net/route"
)

// userHZ is the unit of /proc/stat's CPU times (USER_HZ, 100 on Linux).
const userHZ = 100

// nodeStats is the node's CPU and memory (root cgroups, else /proc),
// file system of RootDir and network interfaces.
func (p *Provider) nodeStats(now time.Time) statsapi.NodeStats {
	n := statsapi.NodeStats{NodeName: p.opts.NodeName, StartTime: metav1.NewTime(p.bootTime())}
	n.CPU = p.cgroupCPU("/", now)
	if n.CPU == nil {
		n.CPU = p.procCPU(now)
	}
	var capacity *uint64
	if v, ok := p.meminfo()["MemTotal"]; ok {
		capacity = &v
	}
	n.Memory = p.cgroupMemory("/", now, capacity)
	if n.Memory == nil {
		n.Memory = p.procMemory(now)
	}
	n.Fs = p.fsStats(now)
	n.Network = p.netStats(now)
	return n
}

func readUint(file string) (uint64, bool) {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0, false
	}
	v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	return v, err == nil
}

// keyValues parses "key value" lines (memory.stat, /proc/meminfo with
// its "kB" unit scaled to bytes).
func keyValues(b []byte) map[string]uint64 {
	out := map[string]uint64{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		v, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil {
			continue
		}
		if len(f) > 2 && f[2] == "kB" {
			v *= 1024
		}
		out[strings.TrimSuffix(f[0], ":")] = v
	}
	return out
}

// cgroupCPU is the cumulative CPU of cgroup rel (cgroupfs path, "/" for
// the root) from cpuacct.usage.
func (p *Provider) cgroupCPU(rel string, now time.Time) *statsapi.CPUStats {
	v, ok := readUint(filepath.Join(p.opts.CgroupFS, cpuacctController, rel, cpuacctUsageFile))
	if !ok {
		return nil
	}
	return &statsapi.CPUStats{Time: metav1.NewTime(now), UsageCoreNanoSeconds: &v}
}

// cgroupMemory is the memory of cgroup rel: usage, and working set =
// usage less inactive file pages, as upstream counts it. With capacity
// (the node) also the available bytes.
func (p *Provider) cgroupMemory(rel string, now time.Time, capacity *uint64) *statsapi.MemoryStats {
	dir := filepath.Join(p.opts.CgroupFS, memoryController, rel)
	usage, ok := readUint(filepath.Join(dir, memoryUsageFile))
	if !ok {
		return nil
	}
	b, err := os.ReadFile(filepath.Join(dir, memoryStatFile))
	if err != nil {
		return nil
	}
	st := keyValues(b)
	ws := usage
	if inactive := st["total_inactive_file"]; inactive < ws {
		ws -= inactive
	} else {
		ws = 0
	}
	rss, pf, mpf := st["total_rss"], st["total_pgfault"], st["total_pgmajfault"]
	m := &statsapi.MemoryStats{Time: metav1.NewTime(now), UsageBytes: &usage, WorkingSetBytes: &ws, RSSBytes: &rss, PageFaults: &pf, MajorPageFaults: &mpf}
	if capacity != nil {
		avail := uint64(0)
		if *capacity > ws {
			avail = *capacity - ws
		}
		m.AvailableBytes = &avail
	}
	return m
}

// procCPU sums the busy times of /proc/stat's "cpu" line.
func (p *Provider) procCPU(now time.Time) *statsapi.CPUStats {
	b, err := os.ReadFile(filepath.Join(p.opts.ProcFS, procStatFile))
	if err != nil {
		return nil
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 8 || f[0] != "cpu" {
			continue
		}
		var ticks uint64
		// user nice system (idle iowait skipped) irq softirq steal
		for _, i := range []int{1, 2, 3, 6, 7, 8} {
			if i < len(f) {
				v, _ := strconv.ParseUint(f[i], 10, 64)
				ticks += v
			}
		}
		ns := ticks * uint64(time.Second/userHZ)
		return &statsapi.CPUStats{Time: metav1.NewTime(now), UsageCoreNanoSeconds: &ns}
	}
	return nil
}

func (p *Provider) meminfo() map[string]uint64 {
	b, err := os.ReadFile(filepath.Join(p.opts.ProcFS, procMeminfoFile))
	if err != nil {
		return nil
	}
	return keyValues(b)
}

// procMemory is MemTotal less MemAvailable as the working set.
func (p *Provider) procMemory(now time.Time) *statsapi.MemoryStats {
	mi := p.meminfo()
	total, ok1 := mi["MemTotal"]
	avail, ok2 := mi["MemAvailable"]
	if !ok1 || !ok2 || avail > total {
		return nil
	}
	ws := total - avail
	return &statsapi.MemoryStats{Time: metav1.NewTime(now), WorkingSetBytes: &ws, UsageBytes: &ws, AvailableBytes: &avail}
}

// bootTime is /proc/stat's btime; zero when unknown.
func (p *Provider) bootTime() time.Time {
	b, err := os.ReadFile(filepath.Join(p.opts.ProcFS, procStatFile))
	if err != nil {
		return time.Time{}
	}
	if v, ok := keyValues(b)["btime"]; ok {
		return time.Unix(int64(v), 0)
	}
	return time.Time{}
}

// fsStats is the file system holding RootDir.
func (p *Provider) fsStats(now time.Time) *statsapi.FsStats {
	if p.opts.RootDir == "" {
		return nil
	}
	var st unix.Statfs_t
	if err := unix.Statfs(p.opts.RootDir, &st); err != nil {
		return nil
	}
	bs := uint64(st.Bsize)
	capacity, avail := st.Blocks*bs, st.Bavail*bs
	used := (st.Blocks - st.Bfree) * bs
	inodes, free := st.Files, st.Ffree
	iused := inodes - free
	return &statsapi.FsStats{Time: metav1.NewTime(now), CapacityBytes: &capacity, AvailableBytes: &avail, UsedBytes: &used,
		Inodes: &inodes, InodesFree: &free, InodesUsed: &iused}
}

// netStats is every interface but loopback from /proc/net/dev; the one
// with the default route (/proc/net/route) is the default interface.
func (p *Provider) netStats(now time.Time) *statsapi.NetworkStats {
	b, err := os.ReadFile(filepath.Join(p.opts.ProcFS, procNetDevFile))
	if err != nil {
		return nil
	}
	var ifaces []statsapi.InterfaceStats
	for _, line := range strings.Split(string(b), "\n") {
		name, rest, ok := strings.Cut(line, ":")
		name = strings.TrimSpace(name)
		f := strings.Fields(rest)
		if !ok || name == "lo" || len(f) < 11 {
			continue
		}
		num := func(i int) *uint64 { v, _ := strconv.ParseUint(f[i], 10, 64); return &v }
		// receive: bytes packets errs ...; transmit starts at field 8.
		ifaces = append(ifaces, statsapi.InterfaceStats{Name: name, RxBytes: num(0), RxErrors: num(2), TxBytes: num(8), TxErrors: num(10)})
	}
	if len(ifaces) == 0 {
		return nil
	}
	def := ifaces[0]
	if name := p.defaultRouteInterface(); name != "" {
		for _, i := range ifaces {
			if i.Name == name {
				def = i
			}
		}
	}
	return &statsapi.NetworkStats{Time: metav1.NewTime(now), InterfaceStats: def, Interfaces: ifaces}
}

func (p *Provider) defaultRouteInterface() string {
	b, err := os.ReadFile(filepath.Join(p.opts.ProcFS, procRouteFile))
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) > 2 && f[1] == "00000000" {
			return f[0]
		}
	}
	return ""
}
