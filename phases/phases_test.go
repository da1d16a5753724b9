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
	got := controlPlaneTargets(manifests.ControlPlanePods(cfg))
	want := []healthTarget{
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
	if _, err := waitHealthy(context.Background(), srv.URL, time.Millisecond, 5*time.Second); err != nil {
		t.Fatalf("waitHealthy: %v", err)
	}
	if calls.Load() != 3 {
		t.Errorf("polled %d times, want 3", calls.Load())
	}

	down := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "[-]etcd failed", http.StatusInternalServerError)
	}))
	defer down.Close()
	_, err := waitHealthy(context.Background(), down.URL, time.Millisecond, 50*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "HTTP 500: [-]etcd failed") {
		t.Errorf("error = %v, want the last answer in it", err)
	}
}

func TestWaitComponentsReportsEachFailure(t *testing.T) {
	ok := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "ok") }))
	defer ok.Close()
	var out strings.Builder
	failed := waitComponents(context.Background(), &out, []healthTarget{
		{"kube-scheduler", ok.URL},
		{"kube-apiserver", "https://127.0.0.1:1/livez"},
	}, 200*time.Millisecond)
	if len(failed) != 1 || failed[0].target.component != "kube-apiserver" || !strings.Contains(failed[0].err.Error(), "connection refused") {
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

func TestParseFlagsEnv(t *testing.T) {
	got := parseFlagsEnv([]byte(`KUBELET_KUBEADM_ARGS="--hostname-override=n1 --node-labels=a=b"` + "\n"))
	if want := []string{"--hostname-override=n1", "--node-labels=a=b"}; !reflect.DeepEqual(got, want) {
		t.Errorf("args = %q, want %q", got, want)
	}
	if got := parseFlagsEnv([]byte(`KUBELET_KUBEADM_ARGS=""`)); len(got) != 0 {
		t.Errorf("empty args = %q", got)
	}
}

func TestDryRunRealPaths(t *testing.T) {
	d := &InitData{cfg: testConfig(), dryRunDir: "/tmp/dry", kubeconfigDir: "/etc/kubernetes"}
	for rel, want := range map[string]string{
		"ca.crt":              "/etc/kubernetes/pki/ca.crt",
		"etcd/peer.key":       "/etc/kubernetes/pki/etcd/peer.key",
		"sa.pub":              "/etc/kubernetes/pki/sa.pub",
		"admin.conf":          "/etc/kubernetes/admin.conf",
		"kube-apiserver.yaml": "/etc/kubernetes/manifests/kube-apiserver.yaml",
		"config.yaml":         "/var/lib/kubelet/config.yaml",
		"kubeadm-flags.env":   "/var/lib/kubelet/kubeadm-flags.env",
	} {
		if got := realPath(d, rel); got != want {
			t.Errorf("realPath(%q) = %q, want %q", rel, got, want)
		}
	}
}

func TestRemoveAllPodsReportsAnUnreachableRuntime(t *testing.T) {
	_, err := removeAllPods("unix://" + filepath.Join(t.TempDir(), "none.sock"))
	if err == nil {
		t.Fatal("no error for a runtime that is not there")
	}
}

func TestCleanDirKeepsTheDirectory(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"a", "sub/b"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := cleanDir(dir); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 0 {
		t.Errorf("entries %v, err %v", entries, err)
	}
	if err := cleanDir(filepath.Join(dir, "missing")); err != nil {
		t.Errorf("a missing directory is an error: %v", err)
	}
}
