package phases

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubeadmin/kubeadmin/internal/constants"
)

// healthProbeTimeout bounds one health request.
const healthProbeTimeout = 5 * time.Second

// HealthTarget is one endpoint a wait-control-plane phase polls.
type HealthTarget struct {
	Component string
	URL       string
}

// ControlPlaneTargets returns kubeadm's health endpoints, with the address
// and port taken from the rendered manifests' flags.
func ControlPlaneTargets(pods map[string]*corev1.Pod) []HealthTarget {
	arg := func(component, name, def string) string {
		if p := pods[component]; p != nil && len(p.Spec.Containers) > 0 {
			for _, a := range p.Spec.Containers[0].Command {
				if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
					return v
				}
			}
		}
		return def
	}
	host := func(addr string) string {
		if addr == "" || addr == "0.0.0.0" || addr == "::" {
			return "127.0.0.1"
		}
		return addr
	}
	return []HealthTarget{
		{constants.KubeAPIServer, fmt.Sprintf("https://%s/livez", net.JoinHostPort(
			host(arg(constants.KubeAPIServer, "advertise-address", "")),
			arg(constants.KubeAPIServer, "secure-port", fmt.Sprint(constants.KubeAPIServerPort))))},
		{constants.KubeControllerManager, fmt.Sprintf("https://%s/healthz", net.JoinHostPort(
			host(arg(constants.KubeControllerManager, "bind-address", "127.0.0.1")),
			arg(constants.KubeControllerManager, "secure-port", fmt.Sprint(constants.KubeControllerManagerPort))))},
		{constants.KubeScheduler, fmt.Sprintf("https://%s/livez", net.JoinHostPort(
			host(arg(constants.KubeScheduler, "bind-address", "127.0.0.1")),
			arg(constants.KubeScheduler, "secure-port", fmt.Sprint(constants.KubeSchedulerPort))))},
	}
}

// healthClient polls health endpoints without verifying TLS, as kubeadm
// does: the components serve self-signed certificates on these ports.
var healthClient = &http.Client{
	Timeout: healthProbeTimeout,
	Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // health probes only
		DisableKeepAlives: true,
	},
}

// probeOnce returns nil when url answers 200, else what went wrong.
func probeOnce(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := healthClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(body)))
	}
	return nil
}

// WaitHealthy polls url every interval until it answers 200 or timeout
// passes; it returns how long that took, or the last error seen.
func WaitHealthy(ctx context.Context, url string, interval, timeout time.Duration) (time.Duration, error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		err := probeOnce(ctx, url)
		if err == nil {
			return time.Since(start), nil
		}
		// A probe cut short by the deadline says less than the answer
		// before it.
		if ctx.Err() == nil || last == nil {
			last = err
		}
		select {
		case <-ctx.Done():
			return time.Since(start), fmt.Errorf("%s did not become healthy within %s; last error: %w", url, timeout, last)
		case <-time.After(interval):
		}
	}
}

// ComponentResult is the outcome of waiting for one component.
type ComponentResult struct {
	Target HealthTarget
	Took   time.Duration
	Err    error
}

// WaitComponents waits for all targets in parallel, printing kubeadm's
// control-plane-check lines, and returns every failure.
func WaitComponents(ctx context.Context, out io.Writer, targets []HealthTarget, timeout time.Duration) []ComponentResult {
	fmt.Fprintf(out, "[control-plane-check] Waiting for healthy control plane components. This can take up to %s\n", timeout)
	for _, t := range targets {
		fmt.Fprintf(out, "[control-plane-check] Checking %s at %s\n", t.Component, t.URL)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	var failed []ComponentResult
	for _, t := range targets {
		wg.Add(1)
		go func(t HealthTarget) {
			defer wg.Done()
			took, err := WaitHealthy(ctx, t.URL, constants.HealthPollInterval, timeout)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failed = append(failed, ComponentResult{t, took, err})
				return
			}
			fmt.Fprintf(out, "[control-plane-check] %s is healthy after %s\n", t.Component, took.Round(time.Millisecond))
		}(t)
	}
	wg.Wait()
	return failed
}

// WaitKubelet waits for the node agent's health endpoint, printing
// kubeadm's kubelet-check lines.
func WaitKubelet(ctx context.Context, out io.Writer, timeout time.Duration) error {
	fmt.Fprintf(out, "[kubelet-check] Waiting for a healthy kubelet at %s. This can take up to %s\n", constants.KubeletHealthzURL, timeout)
	took, err := WaitHealthy(ctx, constants.KubeletHealthzURL, constants.HealthPollInterval, timeout)
	if err != nil {
		return fmt.Errorf("the node agent (kubeadmin kubelet) is not healthy: %w\n%s", err, kubeletLogHint())
	}
	fmt.Fprintf(out, "[kubelet-check] The kubelet is healthy after %s\n", took.Round(time.Millisecond))
	return nil
}

// UnhealthyError explains every component of failed, with what the
// container runtime at criEndpoint knows about it.
func UnhealthyError(ctx context.Context, criEndpoint string, failed []ComponentResult) error {
	var b strings.Builder
	b.WriteString("the control plane did not become healthy:")
	for _, f := range failed {
		fmt.Fprintf(&b, "\n\n%s: %v\n%s", f.Target.Component, f.Err, DescribeComponent(ctx, criEndpoint, f.Target.Component))
	}
	return errors.New(b.String())
}

func kubeletLogHint() string {
	return fmt.Sprintf("The node agent's log is %s; its status: \"kubeadmin kubelet status\".", constants.KubeletLogFile)
}
