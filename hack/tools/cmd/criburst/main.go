// Command criburst measures what a container runtime alone needs to start
// pods: it runs --pods pod-network sandboxes at once through the CRI,
// creates and starts one container in each (default the test image), polls
// each container's readiness URL on its pod IP until it answers 200, prints
// the per-pod times from the common start and removes everything. No kubelet
// and no API server take part, so its numbers are a floor for any node
// agent's pod start times on the same runtime and machine.
//
//	criburst --pods 30
//
// The last line is the summary scripts read:
//
//	criburst: pods 30 sandbox p50 S p99 S started p50 S p99 S ready p50 S p99 S all S
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"sort"
	"strconv"
	"sync"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kubeadmin/kubeadmin/hack/tools/crirun"
)

type options struct {
	address, image, port, path, logDir, cgroupParent string
	pods                                             int
	interval, timeout                                time.Duration
}

// times are one pod's milestones, from the burst's start.
type times struct {
	sandbox, started, ready time.Duration
}

func main() {
	o := &options{}
	flag.StringVar(&o.address, "address", "unix:///run/containerd/containerd.sock", "CRI endpoint")
	flag.IntVar(&o.pods, "pods", 3, "pods started at once")
	flag.StringVar(&o.image, "image", "kubeadmin.test/testapp:v1", "image of each pod's container; it must be present")
	flag.StringVar(&o.port, "port", "8080", "port the container serves its readiness URL on")
	flag.StringVar(&o.path, "path", "/readyz", "readiness URL path")
	flag.DurationVar(&o.interval, "interval", 10*time.Millisecond, "readiness poll interval")
	flag.StringVar(&o.logDir, "log-dir", "/tmp/kubeadmin-criburst", "pod log directory")
	flag.StringVar(&o.cgroupParent, "cgroup-parent", "/kubeadmin-criburst", "cgroup parent of the sandboxes (cgroupfs)")
	flag.DurationVar(&o.timeout, "timeout", 3*time.Minute, "overall deadline")
	flag.Parse()
	if o.pods < 1 {
		fmt.Fprintf(os.Stderr, "criburst: --pods %d: want at least 1\n", o.pods)
		os.Exit(2)
	}
	if err := run(o); err != nil {
		fmt.Fprintf(os.Stderr, "criburst: %v\n", err)
		os.Exit(1)
	}
}

func run(o *options) error {
	rt, closeConn, err := crirun.Dial(o.address)
	if err != nil {
		return err
	}
	defer closeConn()
	if err := os.MkdirAll(o.logDir, 0o755); err != nil {
		return fmt.Errorf("failed to create log dir %q: %w", o.logDir, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	res := make([]times, o.pods)
	errs := make([]error, o.pods)
	ids := make([]string, o.pods)
	var wg sync.WaitGroup
	begin := time.Now()
	for i := range o.pods {
		wg.Go(func() { ids[i], errs[i] = startPod(ctx, rt, o, i, begin, &res[i]) })
	}
	wg.Wait()
	all := time.Since(begin)
	for _, id := range ids {
		if id == "" {
			continue
		}
		wg.Go(func() {
			if err := crirun.RemoveSandbox(rt, id); err != nil {
				fmt.Fprintf(os.Stderr, "criburst: %v\n", err)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	pick := func(f func(times) time.Duration) []time.Duration {
		out := make([]time.Duration, len(res))
		for i, t := range res {
			out[i] = f(t)
		}
		return out
	}
	sb, st, rd := pick(func(t times) time.Duration { return t.sandbox }), pick(func(t times) time.Duration { return t.started }), pick(func(t times) time.Duration { return t.ready })
	fmt.Printf("criburst: pods %d sandbox p50 %s p99 %s started p50 %s p99 %s ready p50 %s p99 %s all %s\n", o.pods,
		secs(pct(sb, 50)), secs(pct(sb, 99)), secs(pct(st, 50)), secs(pct(st, 99)), secs(pct(rd, 50)), secs(pct(rd, 99)), secs(all))
	return nil
}

// startPod runs pod i's sandbox and container and waits for its readiness
// URL; it returns the sandbox ID as soon as there is one.
func startPod(ctx context.Context, rt runtimeapi.RuntimeServiceClient, o *options, i int, begin time.Time, t *times) (string, error) {
	name := "criburst-" + strconv.Itoa(i)
	cfg := &runtimeapi.PodSandboxConfig{
		Metadata:     &runtimeapi.PodSandboxMetadata{Name: name, Uid: fmt.Sprintf("%s-%d", name, begin.UnixNano()), Namespace: "kubeadmin-test"},
		Hostname:     name,
		LogDirectory: o.logDir + "/" + name,
		Linux:        &runtimeapi.LinuxPodSandboxConfig{CgroupParent: o.cgroupParent},
	}
	sb, err := rt.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: cfg})
	if err != nil {
		return "", fmt.Errorf("pod %s: failed to run the sandbox: %w", name, err)
	}
	id := sb.GetPodSandboxId()
	t.sandbox = time.Since(begin)
	st, err := rt.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: id})
	if err != nil {
		return id, fmt.Errorf("pod %s: failed to read the sandbox status: %w", name, err)
	}
	ip := st.GetStatus().GetNetwork().GetIp()
	if ip == "" {
		return id, fmt.Errorf("pod %s: sandbox %s has no pod IP (is a CNI network configured?)", name, crirun.Short(id))
	}
	if _, err := crirun.StartApp(ctx, rt, id, cfg, o.image); err != nil {
		return id, fmt.Errorf("pod %s: %w", name, err)
	}
	t.started = time.Since(begin)
	if err := crirun.WaitHTTP(ctx, "http://"+ip+":"+o.port+o.path, o.interval); err != nil {
		return id, fmt.Errorf("pod %s: %w", name, err)
	}
	t.ready = time.Since(begin)
	return id, nil
}

// pct is the nearest-rank percentile p of ds.
func pct(ds []time.Duration, p int) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	k := (p*len(s) + 99) / 100
	return s[max(k, 1)-1]
}

func secs(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 3, 64) }
