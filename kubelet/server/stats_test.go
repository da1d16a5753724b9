package server

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	statsapi "k8s.io/kubelet/pkg/apis/stats/v1alpha1"

	"github.com/kubeadmin/kubeadmin/kubelet/stats"
)

// fakeStatsRuntime is one pod with one running container.
type fakeStatsRuntime struct{}

func (fakeStatsRuntime) ListPodSandbox(context.Context, *runtimeapi.PodSandboxFilter) ([]*runtimeapi.PodSandbox, error) {
	return []*runtimeapi.PodSandbox{{Id: "sb1", Metadata: &runtimeapi.PodSandboxMetadata{Name: "web", Namespace: "default", Uid: "u1"}, CreatedAt: 1}}, nil
}
func (fakeStatsRuntime) ListContainers(context.Context, *runtimeapi.ContainerFilter) ([]*runtimeapi.Container, error) {
	return []*runtimeapi.Container{{Id: "c1", PodSandboxId: "sb1", Metadata: &runtimeapi.ContainerMetadata{Name: "app"}, CreatedAt: time.Unix(1_700_000_000, 0).UnixNano()}}, nil
}
func (fakeStatsRuntime) ListContainerStats(context.Context, *runtimeapi.ContainerStatsFilter) ([]*runtimeapi.ContainerStats, error) {
	return []*runtimeapi.ContainerStats{{Attributes: &runtimeapi.ContainerAttributes{Id: "c1"},
		Cpu:    &runtimeapi.CpuUsage{Timestamp: time.Now().UnixNano(), UsageCoreNanoSeconds: &runtimeapi.UInt64Value{Value: 3_000_000_000}},
		Memory: &runtimeapi.MemoryUsage{Timestamp: time.Now().UnixNano(), WorkingSetBytes: &runtimeapi.UInt64Value{Value: 4096}}}}, nil
}
func (fakeStatsRuntime) ListPodSandboxStats(context.Context, *runtimeapi.PodSandboxStatsFilter) ([]*runtimeapi.PodSandboxStats, error) {
	return nil, nil
}

func withStats(o *Options) {
	o.Stats = stats.New(fakeStatsRuntime{}, stats.Options{NodeName: "node1", CgroupFS: "/nonexistent", RootDir: "/"})
}

func TestStatsSummary(t *testing.T) {
	e := newEnv(t, true, withStats)
	c := e.httpClient(true)
	code, body := e.get(t, c, "/stats/summary", nil)
	if code != http.StatusOK {
		t.Fatalf("/stats/summary = %d %q", code, body)
	}
	var s statsapi.Summary
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		t.Fatalf("summary is not JSON: %v\n%s", err, body)
	}
	if s.Node.NodeName != "node1" || len(s.Pods) != 1 || s.Pods[0].PodRef.Name != "web" || len(s.Pods[0].Containers) != 1 {
		t.Fatalf("summary = %s", body)
	}
	ct := s.Pods[0].Containers[0]
	if ct.Name != "app" || *ct.CPU.UsageCoreNanoSeconds != 3_000_000_000 || *ct.Memory.WorkingSetBytes != 4096 {
		t.Errorf("container = %+v", ct)
	}
	if s.Node.Fs == nil {
		t.Errorf("full summary has no node fs")
	}

	code, body = e.get(t, c, "/stats/summary?only_cpu_and_memory=true", nil)
	s = statsapi.Summary{}
	if err := json.Unmarshal([]byte(body), &s); code != http.StatusOK || err != nil {
		t.Fatalf("only_cpu_and_memory = %d %v", code, err)
	}
	if s.Node.Fs != nil || s.Node.Network != nil || s.Node.CPU == nil || s.Pods[0].Containers[0].CPU == nil {
		t.Errorf("only_cpu_and_memory summary = %s", body)
	}
	if code, body := e.get(t, c, "/stats/summary?only_cpu_and_memory=maybe", nil); code != http.StatusBadRequest || !strings.Contains(body, onlyCPUAndMemoryParam) {
		t.Errorf("bad only_cpu_and_memory = %d %q, want 400 naming the parameter", code, body)
	}
}

func TestResourceAndAgentMetrics(t *testing.T) {
	e := newEnv(t, true, withStats)
	c := e.httpClient(true)
	code, body := e.get(t, c, "/metrics/resource", nil)
	if code != http.StatusOK || !strings.Contains(body, `container_cpu_usage_seconds_total{container="app",namespace="default",pod="web"} 3 `) ||
		!strings.Contains(body, "\nresource_scrape_error 0\n") {
		t.Errorf("/metrics/resource = %d\n%s", code, body)
	}
	code, body = e.get(t, c, "/metrics", nil)
	if code != http.StatusOK || !strings.Contains(body, "# TYPE kubelet_pod_start_duration_seconds histogram") {
		t.Errorf("/metrics = %d\n%s", code, body)
	}
}

// The stats and metrics endpoints are authorized against nodes/stats and
// nodes/metrics only, as upstream's; a denied caller gets 403 naming them.
func TestStatsAndMetricsAuthorization(t *testing.T) {
	for path, sub := range map[string]string{"/stats/summary": "stats", "/metrics/resource": "metrics", "/metrics": "metrics"} {
		e := newEnv(t, false, withStats)
		code, body := e.get(t, e.httpClient(true), path, nil)
		if code != http.StatusForbidden || !strings.Contains(body, "subresource(s)=["+sub+"]") {
			t.Errorf("%s denied = %d %q, want 403 for nodes/%s", path, code, body, sub)
		}
		e.mu.Lock()
		if len(e.sars) != 1 || e.sars[0].Spec.ResourceAttributes.Subresource != sub || e.sars[0].Spec.ResourceAttributes.Name != "node1" {
			t.Errorf("%s reviews = %+v, want one for nodes/%s/node1", path, e.sars, sub)
		}
		e.mu.Unlock()
	}
}

func TestStatsWithoutProvider(t *testing.T) {
	e := newEnv(t, true)
	for _, path := range []string{"/stats/summary", "/metrics/resource"} {
		if code, body := e.get(t, e.httpClient(true), path, nil); code != http.StatusServiceUnavailable || !strings.Contains(body, errNoStats) {
			t.Errorf("%s without stats = %d %q, want 503", path, code, body)
		}
	}
}
