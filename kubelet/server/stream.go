package server

import (
	"context"
	"fmt"

	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kubeadmin/kubeadmin/kubelet/cri"
)

// Streamer hands out the runtime's streaming URLs; the agent's one CRI
// connection (cri.Remote) satisfies it.
type Streamer = cri.StreamingService

// streamCallTimeout bounds the CRI call that returns the streaming URL.
const streamCallTimeout = 30 * time.Second

// streamFlags reads stdin/stdout/stderr/tty from the query, under the
// kubelet's names (input, output, error) or the API's (stdin, ...).
func streamFlags(q url.Values) (stdin, stdout, stderr, tty bool) {
	flag := func(names ...string) bool {
		for _, n := range names {
			if b, err := strconv.ParseBool(q.Get(n)); err == nil && b {
				return true
			}
		}
		return false
	}
	return flag("input", "stdin"), flag("output", "stdout"), flag("error", "stderr"), flag("tty")
}

// runningContainer resolves the URL's pod and container to a running
// container ID, or answers the error.
func (s *Server) runningContainer(w http.ResponseWriter, r *http.Request) (string, bool) {
	ns, name, cname := r.PathValue("namespace"), r.PathValue("pod"), r.PathValue("container")
	p, ok := s.findPod(ns, name)
	if !ok {
		http.Error(w, fmt.Sprintf("pod %q not found in namespace %q on node %q", name, ns, s.opts.NodeName), http.StatusNotFound)
		return "", false
	}
	c, ok := findContainer(p, cname)
	if !ok || c.ID == "" {
		http.Error(w, fmt.Sprintf("container %q not found in pod %q", cname, name), http.StatusNotFound)
		return "", false
	}
	if c.State != "Running" {
		http.Error(w, fmt.Sprintf("container %q in pod %q is not running", cname, name), http.StatusBadRequest)
		return "", false
	}
	return c.ID, true
}

func (s *Server) serveExec(w http.ResponseWriter, r *http.Request) {
	if s.streamer == nil {
		http.Error(w, "streaming is not available on this node", http.StatusServiceUnavailable)
		return
	}
	id, ok := s.runningContainer(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	cmd := q["command"]
	if len(cmd) == 0 {
		http.Error(w, "missing query parameter command: give the command to run", http.StatusBadRequest)
		return
	}
	stdin, stdout, stderr, tty := streamFlags(q)
	ctx, cancel := context.WithTimeout(r.Context(), streamCallTimeout)
	defer cancel()
	resp, err := s.streamer.Exec(ctx, &runtimeapi.ExecRequest{ContainerId: id, Cmd: cmd, Tty: tty, Stdin: stdin, Stdout: stdout, Stderr: stderr})
	if err != nil {
		http.Error(w, fmt.Sprintf("failed to prepare exec in container %q: %v", id, err), http.StatusInternalServerError)
		return
	}
	s.proxyStream(w, r, resp.GetUrl())
}

func (s *Server) serveAttach(w http.ResponseWriter, r *http.Request) {
	if s.streamer == nil {
		http.Error(w, "streaming is not available on this node", http.StatusServiceUnavailable)
		return
	}
	id, ok := s.runningContainer(w, r)
	if !ok {
		return
	}
	stdin, stdout, stderr, tty := streamFlags(r.URL.Query())
	ctx, cancel := context.WithTimeout(r.Context(), streamCallTimeout)
	defer cancel()
	resp, err := s.streamer.Attach(ctx, &runtimeapi.AttachRequest{ContainerId: id, Tty: tty, Stdin: stdin, Stdout: stdout, Stderr: stderr})
	if err != nil {
		http.Error(w, fmt.Sprintf("failed to prepare attach to container %q: %v", id, err), http.StatusInternalServerError)
		return
	}
	s.proxyStream(w, r, resp.GetUrl())
}

func (s *Server) servePortForward(w http.ResponseWriter, r *http.Request) {
	if s.streamer == nil {
		http.Error(w, "streaming is not available on this node", http.StatusServiceUnavailable)
		return
	}
	ns, name := r.PathValue("namespace"), r.PathValue("pod")
	p, ok := s.findPod(ns, name)
	if !ok || p.SandboxID == "" {
		http.Error(w, fmt.Sprintf("pod %q not found in namespace %q on node %q", name, ns, s.opts.NodeName), http.StatusNotFound)
		return
	}
	var ports []int32
	for _, v := range r.URL.Query()["port"] {
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil || n < 1 || n > 65535 {
			http.Error(w, fmt.Sprintf("invalid query parameter port=%q: use a port between 1 and 65535", v), http.StatusBadRequest)
			return
		}
		ports = append(ports, int32(n))
	}
	ctx, cancel := context.WithTimeout(r.Context(), streamCallTimeout)
	defer cancel()
	resp, err := s.streamer.PortForward(ctx, &runtimeapi.PortForwardRequest{PodSandboxId: p.SandboxID, Port: ports})
	if err != nil {
		http.Error(w, fmt.Sprintf("failed to prepare port forwarding to pod %q: %v", name, err), http.StatusInternalServerError)
		return
	}
	s.proxyStream(w, r, resp.GetUrl())
}

// proxyStream forwards the (upgrade) request to the runtime's streaming
// URL and splices the connections, as the upstream kubelet does without
// redirects.
func (s *Server) proxyStream(w http.ResponseWriter, r *http.Request, target string) {
	u, err := url.Parse(target)
	if err != nil || u.Host == "" {
		http.Error(w, fmt.Sprintf("the container runtime returned an unusable streaming URL %q", target), http.StatusInternalServerError)
		return
	}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme, pr.Out.URL.Host, pr.Out.URL.Path, pr.Out.URL.RawPath = u.Scheme, u.Host, u.Path, u.RawPath
			pr.Out.URL.RawQuery = u.RawQuery
			pr.Out.Host = u.Host
			pr.Out.Header.Del("Authorization")
		},
		FlushInterval: -1,
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			s.logf("failed to proxy a stream to %s: %v", u.Host, err)
			http.Error(w, fmt.Sprintf("failed to reach the container runtime's streaming server: %v", err), http.StatusBadGateway)
		},
	}
	proxy.ServeHTTP(w, r)
}
