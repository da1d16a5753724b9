package server

import (
	"context"
	"encoding/json"
	"log"
	"net/http"
	"strconv"

	statsapi "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
)

// StatsProvider answers /stats/summary and /metrics/resource;
// *stats.Provider satisfies it.
type StatsProvider interface {
	Summary(ctx context.Context) (*statsapi.Summary, error)
	ResourceMetricsHandler(logger *log.Logger) http.Handler
}

// onlyCPUAndMemoryParam asks /stats/summary for CPU and memory only, as
// upstream's query parameter does.
const onlyCPUAndMemoryParam = "only_cpu_and_memory"

// errNoStats answers the stats endpoints when the agent gave no stats.
const errNoStats = "stats are not available on this node agent"

// serveSummary answers the stats summary as JSON.
func (s *Server) serveSummary(w http.ResponseWriter, r *http.Request) {
	if s.opts.Stats == nil {
		http.Error(w, errNoStats, http.StatusServiceUnavailable)
		return
	}
	only := false
	if v := r.URL.Query().Get(onlyCPUAndMemoryParam); v != "" {
		var err error
		if only, err = strconv.ParseBool(v); err != nil {
			http.Error(w, "invalid "+onlyCPUAndMemoryParam+" value "+strconv.Quote(v)+": use true or false", http.StatusBadRequest)
			return
		}
	}
	sum, err := s.opts.Stats.Summary(r.Context())
	if err != nil {
		s.logf("failed to get the stats summary: %v", err)
		http.Error(w, "failed to get the stats summary: "+err.Error(), http.StatusInternalServerError)
		return
	}
	if only {
		sum = cpuAndMemoryOnly(sum)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(sum)
}

// cpuAndMemoryOnly is the summary less everything but names, start times,
// CPU and memory.
func cpuAndMemoryOnly(in *statsapi.Summary) *statsapi.Summary {
	out := &statsapi.Summary{Node: statsapi.NodeStats{NodeName: in.Node.NodeName, StartTime: in.Node.StartTime, CPU: in.Node.CPU, Memory: in.Node.Memory}}
	for _, p := range in.Pods {
		ps := statsapi.PodStats{PodRef: p.PodRef, StartTime: p.StartTime, CPU: p.CPU, Memory: p.Memory}
		for _, c := range p.Containers {
			ps.Containers = append(ps.Containers, statsapi.ContainerStats{Name: c.Name, StartTime: c.StartTime, CPU: c.CPU, Memory: c.Memory})
		}
		out.Pods = append(out.Pods, ps)
	}
	return out
}

// serveResourceMetrics answers the resource metrics metrics-server reads.
func (s *Server) serveResourceMetrics(w http.ResponseWriter, r *http.Request) {
	if s.resourceMetrics == nil {
		http.Error(w, errNoStats, http.StatusServiceUnavailable)
		return
	}
	s.resourceMetrics.ServeHTTP(w, r)
}
