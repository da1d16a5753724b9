package stats

import (
	"context"
	"log"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	statsapi "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
)

// resourceScrapeTimeout bounds one /metrics/resource collection.
const resourceScrapeTimeout = 10 * time.Second

// The /metrics/resource metrics: upstream kubelet's names, help texts
// (with their stability prefix) and labels.
var (
	containerLabels = []string{"container", "pod", "namespace"}
	podLabels       = []string{"pod", "namespace"}

	nodeCPUDesc = prometheus.NewDesc("node_cpu_usage_seconds_total",
		"[STABLE] Cumulative cpu time consumed by the node in core-seconds", nil, nil)
	nodeMemoryDesc = prometheus.NewDesc("node_memory_working_set_bytes",
		"[STABLE] Current working set of the node in bytes", nil, nil)
	containerCPUDesc = prometheus.NewDesc("container_cpu_usage_seconds_total",
		"[STABLE] Cumulative cpu time consumed by the container in core-seconds", containerLabels, nil)
	containerMemoryDesc = prometheus.NewDesc("container_memory_working_set_bytes",
		"[STABLE] Current working set of the container in bytes", containerLabels, nil)
	containerStartDesc = prometheus.NewDesc("container_start_time_seconds",
		"[STABLE] Start time of the container since unix epoch in seconds", containerLabels, nil)
	podCPUDesc = prometheus.NewDesc("pod_cpu_usage_seconds_total",
		"[STABLE] Cumulative cpu time consumed by the pod in core-seconds", podLabels, nil)
	podMemoryDesc = prometheus.NewDesc("pod_memory_working_set_bytes",
		"[STABLE] Current working set of the pod in bytes", podLabels, nil)
	scrapeErrorDesc = prometheus.NewDesc("scrape_error",
		"[ALPHA] 1 if there was an error while getting container metrics, 0 otherwise", nil, nil)
	resourceScrapeErrorDesc = prometheus.NewDesc("resource_scrape_error",
		"[STABLE] 1 if there was an error while getting container metrics, 0 otherwise", nil, nil)
)

// resourceCollector turns a fresh summary into the resource metrics at
// each scrape, so that gone containers leave no series behind.
type resourceCollector struct {
	summary func(context.Context) (*statsapi.Summary, error)
	logf    func(string, ...any)
}

func (c *resourceCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{nodeCPUDesc, nodeMemoryDesc, containerStartDesc, containerCPUDesc, containerMemoryDesc,
		podCPUDesc, podMemoryDesc, scrapeErrorDesc, resourceScrapeErrorDesc} {
		ch <- d
	}
}

func (c *resourceCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), resourceScrapeTimeout)
	defer cancel()
	s, err := c.summary(ctx)
	failed := 0.0
	if err != nil {
		failed = 1
		c.logf("failed to get the stats for /metrics/resource: %v", err)
	}
	ch <- prometheus.MustNewConstMetric(scrapeErrorDesc, prometheus.GaugeValue, failed)
	ch <- prometheus.MustNewConstMetric(resourceScrapeErrorDesc, prometheus.GaugeValue, failed)
	if err != nil {
		return
	}
	if cpu := s.Node.CPU; cpu != nil && cpu.UsageCoreNanoSeconds != nil {
		ch <- at(cpu.Time.Time, prometheus.MustNewConstMetric(nodeCPUDesc, prometheus.CounterValue, seconds(*cpu.UsageCoreNanoSeconds)))
	}
	if m := s.Node.Memory; m != nil && m.WorkingSetBytes != nil {
		ch <- at(m.Time.Time, prometheus.MustNewConstMetric(nodeMemoryDesc, prometheus.GaugeValue, float64(*m.WorkingSetBytes)))
	}
	for _, pod := range s.Pods {
		name, ns := pod.PodRef.Name, pod.PodRef.Namespace
		for _, ct := range pod.Containers {
			if ct.StartTime.Unix() > 0 {
				ch <- prometheus.MustNewConstMetric(containerStartDesc, prometheus.GaugeValue,
					float64(ct.StartTime.UnixNano())/float64(time.Second), ct.Name, name, ns)
			}
			if cpu := ct.CPU; cpu != nil && cpu.UsageCoreNanoSeconds != nil {
				ch <- at(cpu.Time.Time, prometheus.MustNewConstMetric(containerCPUDesc, prometheus.CounterValue,
					seconds(*cpu.UsageCoreNanoSeconds), ct.Name, name, ns))
			}
			if m := ct.Memory; m != nil && m.WorkingSetBytes != nil {
				ch <- at(m.Time.Time, prometheus.MustNewConstMetric(containerMemoryDesc, prometheus.GaugeValue,
					float64(*m.WorkingSetBytes), ct.Name, name, ns))
			}
		}
		if cpu := pod.CPU; cpu != nil && cpu.UsageCoreNanoSeconds != nil {
			ch <- at(cpu.Time.Time, prometheus.MustNewConstMetric(podCPUDesc, prometheus.CounterValue, seconds(*cpu.UsageCoreNanoSeconds), name, ns))
		}
		if m := pod.Memory; m != nil && m.WorkingSetBytes != nil {
			ch <- at(m.Time.Time, prometheus.MustNewConstMetric(podMemoryDesc, prometheus.GaugeValue, float64(*m.WorkingSetBytes), name, ns))
		}
	}
}

func at(t time.Time, m prometheus.Metric) prometheus.Metric {
	return prometheus.NewMetricWithTimestamp(t, m)
}

func seconds(ns uint64) float64 { return float64(ns) / float64(time.Second) }

// ResourceMetricsHandler serves /metrics/resource from fresh stats at
// each scrape; logger nil: log.Default().
func (p *Provider) ResourceMetricsHandler(logger *log.Logger) http.Handler {
	if logger == nil {
		logger = log.Default()
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(&resourceCollector{summary: p.Summary, logf: logger.Printf})
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}
