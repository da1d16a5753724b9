package phases

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kubeadmin/kubeadmin/internal/config"
	"github.com/kubeadmin/kubeadmin/manifests"
)

func testConfig() *config.InitConfig {
	cfg := config.DefaultInitConfig()
	cfg.Init.LocalAPIEndpoint.AdvertiseAddress = "10.0.0.10"
	cfg.Init.LocalAPIEndpoint.BindPort = 6444
	cfg.Init.NodeRegistration.Name = "node1"
	cfg.Cluster.KubernetesVersion = "v1.37.2"
	return cfg
}

func TestControlPlaneTargetsFollowTheManifests(t *testing.T) {
	cfg := testConfig()
	cfg.Cluster.Scheduler.ExtraArgs = []config.Arg{{Name: "bind-address", Value: "0.0.0.0"}}
	got := ControlPlaneTargets(manifests.ControlPlanePods(cfg))
	want := []HealthTarget{
		{"kube-apiserver", "https://10.0.0.10:6444/livez"},
		{"kube-controller-manager", "https://127.0.0.1:10257/healthz"},
		{"kube-scheduler", "https://127.0.0.1:10259/livez"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("targets = %v, want %v", got, want)
	}
}

func TestWaitHealthy(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if calls.Add(1) < 3 {
			http.Error(w, "etcd not ready", http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, "ok")
	}))
	defer srv.Close()
	if _, err := WaitHealthy(context.Background(), srv.URL, time.Millisecond, 5*time.Second); err != nil {
		t.Fatalf("waitHealthy: %v", err)
	}
	if calls.Load() != 3 {
		t.Errorf("polled %d times, want 3", calls.Load())
	}

	down := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "[-]etcd failed", http.StatusInternalServerError)
	}))
	defer down.Close()
	_, err := WaitHealthy(context.Background(), down.URL, time.Millisecond, 50*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "HTTP 500: [-]etcd failed") {
		t.Errorf("error = %v, want the last answer in it", err)
	}
}

func TestWaitComponentsReportsEachFailure(t *testing.T) {
	ok := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "ok") }))
	defer ok.Close()
	var out strings.Builder
	failed := WaitComponents(context.Background(), &out, []HealthTarget{
		{"kube-scheduler", ok.URL},
		{"kube-apiserver", "https://127.0.0.1:1/livez"},
	}, 200*time.Millisecond)
	if len(failed) != 1 || failed[0].Target.Component != "kube-apiserver" || !strings.Contains(failed[0].Err.Error(), "connection refused") {
		t.Errorf("failed = %+v", failed)
	}
	if !strings.Contains(out.String(), "[control-plane-check] kube-scheduler is healthy after") {
		t.Errorf("output:\n%s", out.String())
	}
}

func TestTailFileStripsTheCRIPrefix(t *testing.T) {
	p := filepath.Join(t.TempDir(), "0.log")
	var b strings.Builder
	for i := 1; i <= 30; i++ {
		fmt.Fprintf(&b, "2026-11-28T03:00:%02d.000000000Z stderr F line %d\n", i, i)
	}
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	got := tailFile(p, 3)
	if want := []string{"line 28", "line 29", "line 30"}; !reflect.DeepEqual(got, want) {
		t.Errorf("tail = %q, want %q", got, want)
	}
	if tailFile(filepath.Join(t.TempDir(), "missing"), 3) != nil {
		t.Error("a missing file gave lines")
	}
}
