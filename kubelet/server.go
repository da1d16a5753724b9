package kubelet

import (
	"encoding/json"
	"net/http"

	"github.com/kubeadmin/kubeadmin/internal/constants"
)

// Handler serves GET /healthz ("ok" while the agent runs) and GET /status
// (the status.Report as JSON).
func (a *Agent) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok"))
	})
	mux.HandleFunc(constants.KubeletStatusPath, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(a.Report())
	})
	return mux
}
