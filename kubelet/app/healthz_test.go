package app

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/kubeadmin/kubeadmin/internal/constants"
	"github.com/kubeadmin/kubeadmin/kubelet/status"
)

type fakeReport struct{ r status.Report }

func (f *fakeReport) Report() *status.Report { return &f.r }

func TestHandler(t *testing.T) {
	want := status.Report{Node: "node1", RuntimeReady: true, Pods: []status.Pod{{Name: "etcd-node1", Phase: "Running"}}, FileErrors: []status.FileError{{File: "/m/bad.yaml", Error: "boom"}}}
	srv := httptest.NewServer(Handler(&fakeReport{want}))
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
	hz, err := http.Get(srv.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer hz.Body.Close()
	body, _ := io.ReadAll(hz.Body)
	if hz.StatusCode != http.StatusOK || string(body) != "ok" {
		t.Errorf("/healthz = %d %q", hz.StatusCode, body)
	}
}
