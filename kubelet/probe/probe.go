// Package probe runs one container probe attempt: httpGet (HTTP and
// HTTPS, 200-399 succeeds, certificates are not verified, as upstream),
// tcpSocket (the connection opens), grpc (grpc.health.v1 Check answers
// SERVING) and exec (through a CommandRunner, exit code 0 succeeds).
package probe

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// UserAgent is sent with HTTP probes, as the upstream kubelet ("kube-probe/<major>.<minor>").
const UserAgent = "kube-probe/1.37"

// maxBody is how much of an HTTP probe's body is read.
const maxBody = 10 * 1024

// Result is the outcome of one probe attempt.
type Result struct {
	Success bool
	// Message says why the probe failed (empty on success).
	Message string
}

func fail(format string, args ...any) Result {
	return Result{Message: fmt.Sprintf(format, args...)}
}

// HTTPGet is an httpGet probe target.
type HTTPGet struct {
	Scheme  string // "HTTP" or "HTTPS"
	Host    string
	Port    int
	Path    string
	Headers http.Header
}

// transport is shared by all HTTP probes; keep-alives are off so a probe
// never reuses a connection to a process that has been replaced.
var transport = &http.Transport{
	TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // probes do not verify, as upstream
	DisableKeepAlives: true,
	Proxy:             nil,
}

// DoHTTP runs an httpGet probe.
func DoHTTP(ctx context.Context, g HTTPGet, timeout time.Duration) Result {
	scheme := "http"
	if g.Scheme == "HTTPS" {
		scheme = "https"
	}
	u := &url.URL{Scheme: scheme, Host: net.JoinHostPort(g.Host, strconv.Itoa(g.Port))}
	ref, err := url.Parse(g.Path)
	if err != nil {
		return fail("invalid probe path %q: %v", g.Path, err)
	}
	u = u.ResolveReference(ref)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fail("invalid probe URL %q: %v", u, err)
	}
	for k, vs := range g.Headers {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", UserAgent)
	}
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "*/*")
	}
	if h := req.Header.Get("Host"); h != "" {
		req.Host = h
	}
	client := &http.Client{Transport: transport}
	resp, err := client.Do(req)
	if err != nil {
		return fail("Get %q: %v", u, unwrapURLError(err))
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if resp.StatusCode >= 200 && resp.StatusCode < 400 {
		return Result{Success: true}
	}
	return fail("HTTP probe failed with statuscode: %d (body %q)", resp.StatusCode, truncate(body, 200))
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}

// DoTCP runs a tcpSocket probe.
func DoTCP(ctx context.Context, host string, port int, timeout time.Duration) Result {
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return fail("dial tcp %s:%d: %v", host, port, err)
	}
	_ = conn.Close()
	return Result{Success: true}
}

// DoGRPC runs a grpc probe: the standard health service's Check for
// service must answer SERVING.
func DoGRPC(ctx context.Context, host string, port int, service string, timeout time.Duration) Result {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	conn, err := grpc.NewClient("passthrough:///"+addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUserAgent(UserAgent))
	if err != nil {
		return fail("failed to connect to %s: %v", addr, err)
	}
	defer conn.Close()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: service})
	if err != nil {
		return fail("health check of %s failed: %v", addr, err)
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return fail("service unhealthy (responded with %q)", resp.GetStatus().String())
	}
	return Result{Success: true}
}

// CommandRunner runs a command in a container (CRI ExecSync).
type CommandRunner func(ctx context.Context, cmd []string, timeout time.Duration) (stdout, stderr []byte, err error)

// DoExec runs an exec probe: any error (non-zero exit, time-out) fails it.
func DoExec(ctx context.Context, run CommandRunner, cmd []string, timeout time.Duration) Result {
	stdout, stderr, err := run(ctx, cmd, timeout)
	if err != nil {
		out := truncate(append(stdout, stderr...), 200)
		return fail("command %q failed: %v (output %q)", cmd, err, out)
	}
	return Result{Success: true}
}
