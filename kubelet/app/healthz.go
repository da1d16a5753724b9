package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/kubeadmin/kubeadmin/internal/constants"
	"github.com/kubeadmin/kubeadmin/kubelet/server"
	"github.com/kubeadmin/kubeadmin/kubelet/status"
)

// healthzReadHeaderTimeout bounds reading a request's headers.
const healthzReadHeaderTimeout = 5 * time.Second

// ReportProvider is the engine's JSON report; *kubelet.Agent satisfies it.
type ReportProvider interface {
	Report() *status.Report
}

// Health records the failures of the agent's long-running parts (node
// loop, pod status loop, kubelet API) for /healthz. The zero value is
// healthy; a failed part stays failed until the agent restarts.
type Health struct {
	mu     sync.Mutex
	failed map[string]error
}

// Fail marks part as failed with err.
func (h *Health) Fail(part string, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.failed == nil {
		h.failed = map[string]error{}
	}
	h.failed[part] = err
}

// Failures is one line per failed part, sorted; none when healthy.
func (h *Health) Failures() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	lines := make([]string, 0, len(h.failed))
	for part, err := range h.failed {
		lines = append(lines, fmt.Sprintf("%s failed: %v", part, err))
	}
	sort.Strings(lines)
	return lines
}

// Handler serves GET /healthz ("ok", or 500 naming each failed part of
// h, which may be nil) and GET /status (the status.Report as JSON).
func Handler(p ReportProvider, h *Health) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(constants.KubeletHealthzPath, func(w http.ResponseWriter, _ *http.Request) {
		var failures []string
		if h != nil {
			failures = h.Failures()
		}
		server.WriteHealthz(w, failures)
	})
	mux.HandleFunc(constants.KubeletStatusPath, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(p.Report())
	})
	return mux
}

// serveHealthz starts the health and status server on addr; a failure
// after the start is sent on errs.
func serveHealthz(addr string, p ReportProvider, h *Health, errs chan<- error) (*http.Server, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("failed to listen on the healthz address %q (healthzBindAddress, healthzPort): %w", addr, err)
	}
	srv := &http.Server{Handler: Handler(p, h), ReadHeaderTimeout: healthzReadHeaderTimeout}
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs <- fmt.Errorf("the healthz server on %q failed: %w", addr, err)
		}
	}()
	return srv, nil
}
