// Package metrics is the node agent's own Prometheus registry, served at
// GET /metrics on the kubelet API. The metric names, help texts, labels and
// buckets are upstream kubelet's, so dashboards and alerts written for the
// kubelet work unchanged.
//
// It uses github.com/prometheus/client_golang directly: the agent already
// links it (through k8s.io/component-base's feature gates), so the registry
// costs next to nothing in binary size, while k8s.io/component-base/metrics
// would add its stability and registry layers on top for no gain here.
package metrics

import (
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// subsystem prefixes every agent metric, as upstream's.
const subsystem = "kubelet"

// Container types, the container_type label of
// kubelet_started_containers_total.
const (
	ContainerTypeRegular   = "container"
	ContainerTypeInit      = "init_container"
	ContainerTypeEphemeral = "ephemeral_container"
)

// Container states, the container_state label of kubelet_running_containers.
const (
	ContainerStateCreated = "created"
	ContainerStateRunning = "running"
	ContainerStateExited  = "exited"
	ContainerStateUnknown = "unknown"
)

// Pod worker operations, the operation_type label of
// kubelet_pod_worker_duration_seconds.
const (
	OperationCreate = "create"
	OperationUpdate = "update"
	OperationSync   = "sync"
)

// PodStartBuckets are upstream's bucket bounds of
// kubelet_pod_start_duration_seconds, in seconds.
var PodStartBuckets = []float64{0.5, 1, 2, 3, 4, 5, 6, 8, 10, 20, 30, 45, 60, 120, 180, 240, 300, 360, 480, 600, 900, 1200, 1800, 2700, 3600}

// alpha marks a help text with the stability level, as upstream's
// component-base does.
func alpha(help string) string { return "[ALPHA] " + help }

var (
	podStartDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Subsystem: subsystem, Name: "pod_start_duration_seconds",
		Help:    alpha("Duration in seconds from kubelet seeing a pod for the first time to the pod starting to run"),
		Buckets: PodStartBuckets,
	})
	podWorkerDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Subsystem: subsystem, Name: "pod_worker_duration_seconds",
		Help:    alpha("Duration in seconds to sync a single pod. Broken down by operation type: create, update, or sync"),
		Buckets: prometheus.DefBuckets,
	}, []string{"operation_type"})
	runningPods = prometheus.NewGauge(prometheus.GaugeOpts{
		Subsystem: subsystem, Name: "running_pods",
		Help: alpha("Number of pods that have a running pod sandbox"),
	})
	runningContainers = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Subsystem: subsystem, Name: "running_containers",
		Help: alpha("Number of containers currently running"),
	}, []string{"container_state"})
	startedPods = prometheus.NewCounter(prometheus.CounterOpts{
		Subsystem: subsystem, Name: "started_pods_total",
		Help: alpha("Cumulative number of pods started"),
	})
	startedPodsErrors = prometheus.NewCounter(prometheus.CounterOpts{
		Subsystem: subsystem, Name: "started_pods_errors_total",
		Help: alpha("Cumulative number of errors when starting pods"),
	})
	startedContainers = prometheus.NewCounterVec(prometheus.CounterOpts{
		Subsystem: subsystem, Name: "started_containers_total",
		Help: alpha("Cumulative number of containers started"),
	}, []string{"container_type"})
	startedContainersErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Subsystem: subsystem, Name: "started_containers_errors_total",
		Help: alpha("Cumulative number of errors when starting containers"),
	}, []string{"code", "container_type"})
)

var (
	registryOnce sync.Once
	registry     *prometheus.Registry
	// statesMu serialises SetRunningContainers so that its reset and sets
	// are seen together.
	statesMu sync.Mutex
)

// Registry is the agent's registry: the metrics above plus the Go runtime
// and process collectors.
func Registry() *prometheus.Registry {
	registryOnce.Do(func() {
		registry = prometheus.NewRegistry()
		registry.MustRegister(podStartDuration, podWorkerDuration, runningPods, runningContainers,
			startedPods, startedPodsErrors, startedContainers, startedContainersErrors,
			collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	})
	return registry
}

// Handler serves the registry in the Prometheus text (or negotiated)
// format.
func Handler() http.Handler {
	return promhttp.HandlerFor(Registry(), promhttp.HandlerOpts{})
}

// ObservePodStart records the time from the agent first seeing a pod to
// all its containers running.
func ObservePodStart(d time.Duration) { podStartDuration.Observe(d.Seconds()) }

// ObservePodWorker records one sync of a pod; operation is OperationCreate,
// OperationUpdate or OperationSync.
func ObservePodWorker(operation string, d time.Duration) {
	podWorkerDuration.WithLabelValues(operation).Observe(d.Seconds())
}

// SetRunningPods sets the number of pods with a running sandbox.
func SetRunningPods(n int) { runningPods.Set(float64(n)) }

// SetRunningContainers sets the number of containers per state (keys are
// the ContainerState* constants); states not in byState go to zero, as
// they have no containers any more.
func SetRunningContainers(byState map[string]int) {
	statesMu.Lock()
	defer statesMu.Unlock()
	for _, s := range []string{ContainerStateCreated, ContainerStateRunning, ContainerStateExited, ContainerStateUnknown} {
		runningContainers.WithLabelValues(s).Set(float64(byState[s]))
	}
	for s, n := range byState {
		runningContainers.WithLabelValues(s).Set(float64(n))
	}
}

// IncStartedPods counts one pod sandbox start attempt; failed also counts
// it as an error.
func IncStartedPods(failed bool) {
	startedPods.Inc()
	if failed {
		startedPodsErrors.Inc()
	}
}

// IncStartedContainers counts one container start attempt of
// containerType (ContainerType*); a non-empty errCode (e.g. the gRPC code
// name) also counts it as an error.
func IncStartedContainers(containerType, errCode string) {
	startedContainers.WithLabelValues(containerType).Inc()
	if errCode != "" {
		startedContainersErrors.WithLabelValues(errCode, containerType).Inc()
	}
}
