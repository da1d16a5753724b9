package metrics

import (
	"io"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

func scrape(t *testing.T) string {
	t.Helper()
	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("/metrics answered %d", rec.Code)
	}
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}

// value is the sample of the series line starting with series ("" if
// absent).
func value(text, series string) string {
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindStringSubmatch(text)
	if m == nil {
		return ""
	}
	return m[1]
}

func num(t *testing.T, text, series string) float64 {
	t.Helper()
	v := value(text, series)
	if v == "" {
		return 0
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		t.Fatalf("%s = %q", series, v)
	}
	return f
}

func TestAgentMetrics(t *testing.T) {
	before := scrape(t)
	ObservePodStart(1500 * time.Millisecond)
	ObservePodWorker(OperationSync, 20*time.Millisecond)
	SetRunningPods(3)
	SetRunningContainers(map[string]int{ContainerStateRunning: 4, ContainerStateExited: 1})
	IncStartedPods(false)
	IncStartedPods(true)
	IncStartedContainers(ContainerTypeInit, "")
	IncStartedContainers(ContainerTypeRegular, "DeadlineExceeded")
	after := scrape(t)

	delta := func(series string) float64 { return num(t, after, series) - num(t, before, series) }
	checks := map[string]float64{
		`kubelet_pod_start_duration_seconds_bucket{le="1"}`:                                           0,
		`kubelet_pod_start_duration_seconds_bucket{le="2"}`:                                           1,
		`kubelet_pod_start_duration_seconds_count`:                                                    1,
		`kubelet_pod_worker_duration_seconds_count{operation_type="sync"}`:                            1,
		`kubelet_started_pods_total`:                                                                  2,
		`kubelet_started_pods_errors_total`:                                                           1,
		`kubelet_started_containers_total{container_type="init_container"}`:                           1,
		`kubelet_started_containers_total{container_type="container"}`:                                1,
		`kubelet_started_containers_errors_total{code="DeadlineExceeded",container_type="container"}`: 1,
	}
	for series, want := range checks {
		if got := delta(series); got != want {
			t.Errorf("%s went up by %v, want %v", series, got, want)
		}
	}
	for series, want := range map[string]string{
		`kubelet_running_pods`:                                  "3",
		`kubelet_running_containers{container_state="running"}`: "4",
		`kubelet_running_containers{container_state="exited"}`:  "1",
		`kubelet_running_containers{container_state="created"}`: "0",
	} {
		if got := value(after, series); got != want {
			t.Errorf("%s = %q, want %q", series, got, want)
		}
	}
	for _, help := range []string{
		"# HELP kubelet_pod_start_duration_seconds [ALPHA] Duration in seconds from kubelet seeing a pod for the first time to the pod starting to run",
		"# TYPE kubelet_pod_start_duration_seconds histogram",
		`kubelet_pod_start_duration_seconds_bucket{le="3600"}`,
		"# TYPE kubelet_started_containers_total counter",
		"# TYPE go_goroutines gauge",
	} {
		if !strings.Contains(after, help) {
			t.Errorf("/metrics lacks %q", help)
		}
	}

	// A state with no containers any more goes back to zero.
	SetRunningContainers(map[string]int{ContainerStateRunning: 2})
	if got := value(scrape(t), `kubelet_running_containers{container_state="exited"}`); got != "0" {
		t.Errorf("exited containers after they went = %q, want 0", got)
	}
}
