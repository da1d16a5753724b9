package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/kubeadmin/kubeadmin/internal/constants"
	"github.com/kubeadmin/kubeadmin/kubelet/status"
)

// healthzReadHeaderTimeout bounds reading a request's headers.
const healthzReadHeaderTimeout = 5 * time.Second

// ReportProvider is the engine's JSON report; *kubelet.Agent satisfies it.
type ReportProvider interface {
	Report() *status.Report
}

// Handler serves GET /healthz ("ok" while the agent runs) and GET /status
// (the status.Report as JSON).
func Handler(p ReportProvider) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok"))
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
func serveHealthz(addr string, p ReportProvider, errs chan<- error) (*http.Server, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("failed to listen on the healthz address %q (healthzBindAddress, healthzPort): %w", addr, err)
	}
	srv := &http.Server{Handler: Handler(p), ReadHeaderTimeout: healthzReadHeaderTimeout}
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs <- fmt.Errorf("the healthz server on %q failed: %w", addr, err)
		}
	}()
	return srv, nil
}
