package app

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kubeadmin/kubeadmin/internal/constants"
	"github.com/kubeadmin/kubeadmin/kubelet"
	"github.com/kubeadmin/kubeadmin/kubelet/cri"
	"github.com/kubeadmin/kubeadmin/kubelet/server"
	"github.com/kubeadmin/kubeadmin/kubelet/status"
)

type fakeReport struct{ r status.Report }

func (f *fakeReport) Report() *status.Report { return &f.r }

func TestHandler(t *testing.T) {
	want := status.Report{Node: "node1", RuntimeReady: true, Pods: []status.Pod{{Name: "etcd-node1", Phase: "Running"}}, FileErrors: []status.FileError{{File: "/m/bad.yaml", Error: "boom"}}}
	srv := httptest.NewServer(Handler(&fakeReport{want}, &Health{}))
	defer srv.Close()
	resp, err := http.Get(srv.URL + constants.KubeletStatusPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got status.Report
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if got.Node != want.Node || !got.RuntimeReady || len(got.Pods) != 1 || got.Pods[0].Name != "etcd-node1" || len(got.FileErrors) != 1 || got.FileErrors[0].File != "/m/bad.yaml" {
		t.Errorf("report = %+v", got)
	}
	if code, body := getHealthz(t, srv.URL); code != http.StatusOK || body != "ok" {
		t.Errorf("/healthz = %d %q", code, body)
	}
}

func getHealthz(t *testing.T, base string) (int, string) {
	t.Helper()
	resp, err := http.Get(base + constants.KubeletHealthzPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// testEngine is what the cluster side needs, with a runtime that is not
// there.
func testEngine(t *testing.T) (*kubelet.Agent, *cri.Remote) {
	t.Helper()
	rt, err := cri.NewRemote("unix://" + t.TempDir() + "/none.sock")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	return kubelet.New(kubelet.Options{NodeName: "node1", NodeIP: "127.0.0.1"}, rt, rt, quiet), rt
}

// TestKubeletAPIPortTakenIsFatal: a taken port stops the start, naming
// the address.
func TestKubeletAPIPortTakenIsFatal(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	port := taken.Addr().(*net.TCPAddr).Port
	cfg := loadArgs(t, "--hostname-override=node1")
	cfg.Kubelet.Address, cfg.Kubelet.Port = "127.0.0.1", int32(port)
	agent, rt := testEngine(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cs, err := newClusterSide(ctx, cfg, "127.0.0.1", "", fake.NewClientset(), rt, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.stopEvents()
	err = cs.start(ctx, agent, &Health{})
	if err == nil || !strings.Contains(err.Error(), net.JoinHostPort("127.0.0.1", strconv.Itoa(port))) {
		t.Fatalf("the cluster side's start with port %d taken = %v, want an error naming the address", port, err)
	}
}

// TestFailedPartShowsInHealthz: a part that stops while the agent runs
// turns /healthz into a 500 naming the part and the reason; parts that
// stop because the agent stops do not.
func TestFailedPartShowsInHealthz(t *testing.T) {
	cfg := loadArgs(t, "--hostname-override=node1")
	cfg.Kubelet.Address, cfg.Kubelet.Port = "127.0.0.1", 0
	agent, rt := testEngine(t)
	health := &Health{}
	hz := httptest.NewServer(Handler(agent, health))
	defer hz.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	api, err := server.Listen(serverOptions(cfg, "127.0.0.1", fake.NewClientset(), &Health{}, quiet), agent, rt)
	if err != nil {
		t.Fatal(err)
	}
	runPart(ctx, partKubeletAPI, api.Serve, health, quiet)
	stopped, stop := context.WithCancel(ctx)
	runPart(stopped, partPodStatus, func(ctx context.Context) error { <-ctx.Done(); return nil }, health, quiet)
	stop()
	if code, body := getHealthz(t, hz.URL); code != http.StatusOK {
		t.Fatalf("/healthz before any failure = %d %q", code, body)
	}

	api.Close() // the kubelet API server dies under the agent
	runPart(ctx, partNode, func(context.Context) error { return errors.New("lease client broke") }, health, quiet)
	err = wait.PollUntilContextTimeout(ctx, 5*time.Millisecond, 5*time.Second, true, func(context.Context) (bool, error) {
		return len(health.Failures()) == 2, nil
	})
	if err != nil {
		t.Fatalf("failures = %q, want the kubelet API and the node loop", health.Failures())
	}
	code, body := getHealthz(t, hz.URL)
	if code != http.StatusInternalServerError {
		t.Errorf("/healthz = %d, want 500", code)
	}
	for _, want := range []string{"[-]" + partKubeletAPI + " failed: ", "[-]" + partNode + " failed: lease client broke", "healthz check failed"} {
		if !strings.Contains(body, want) {
			t.Errorf("/healthz body %q does not contain %q", body, want)
		}
	}
	if strings.Contains(body, partPodStatus) {
		t.Errorf("/healthz body %q names a part that stopped with the agent", body)
	}
}
