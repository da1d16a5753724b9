package status

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func i32(v int32) *int32 { return &v }

func sample() *Report {
	return &Report{
		Node: "n1", RuntimeReady: true,
		Pods: []Pod{
			{Name: "web-n1", Namespace: "default", Phase: "Running", Containers: []Container{
				{Name: "init", Init: true, State: StateTerminated, Reason: "Completed", ExitCode: i32(0)},
				{Name: "app", State: StateWaiting, Reason: "CrashLoopBackOff", RestartCount: 3, LastExitCode: i32(2), LastReason: "Error"},
			}},
			{Name: "etcd-n1", Namespace: "kube-system", Phase: "Pending", Waiting: "waiting for the previous pod to stop"},
			{Name: "x-n1", Namespace: "kube-system", Phase: "Pending", Reason: "CreateContainerConfigError", Message: "spec.hostUsers: unsupported", Containers: []Container{
				{Name: "c", State: StateWaiting, Reason: "CreateContainerConfigError", Message: "spec.hostUsers: unsupported"},
			}},
			{Name: "y-n1", Namespace: "kube-system", Phase: "Pending", Containers: []Container{
				{Name: "c", State: StateWaiting, Reason: "CreateContainerConfigError", Message: "container has runAsNonRoot and image will run as root"},
			}},
		},
		FileErrors: []FileError{{File: "/m/bad.yaml", Error: "bad"}},
	}
}

func TestPrintTable(t *testing.T) {
	var b bytes.Buffer
	if err := PrintTable(&b, sample()); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	want := [][]string{
		{"POD", "CONTAINER", "STATE", "RESTARTS", "LAST", "EXIT", "REASON"},
		{"default/web-n1", "init", "(init)", "Terminated", "0", "0", "Completed"},
		{"default/web-n1", "app", "Waiting", "3", "2", "CrashLoopBackOff"},
		{"kube-system/etcd-n1", "-", "Pending", "0", "-", "waiting", "for", "the", "previous", "pod", "to", "stop"},
		{"kube-system/x-n1", "c", "Waiting", "0", "-", "CreateContainerConfigError"},
		{"kube-system/y-n1", "c", "Waiting", "0", "-", "CreateContainerConfigError"},
		{},
		{"POD", "CONTAINER", "MESSAGE"},
		{"kube-system/x-n1", "-", "spec.hostUsers:", "unsupported"},
		{"kube-system/y-n1", "c", "container", "has", "runAsNonRoot", "and", "image", "will", "run", "as", "root"},
		{},
		{"FILE", "ERROR"},
		{"/m/bad.yaml", "bad"},
	}
	if len(lines) != len(want) {
		t.Fatalf("got %d lines:\n%s", len(lines), b.String())
	}
	for i, w := range want {
		if got := strings.Fields(lines[i]); strings.Join(got, " ") != strings.Join(w, " ") {
			t.Errorf("line %d = %q, want %q", i, got, w)
		}
	}
}

func TestFetchRoundTrip(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(sample())
	}))
	defer srv.Close()
	r, err := Fetch(context.Background(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Pods) != 4 || r.Pods[2].Message == "" || r.Pods[0].Containers[1].RestartCount != 3 || *r.Pods[0].Containers[1].LastExitCode != 2 {
		t.Errorf("round trip lost data: %+v", r)
	}
	if _, err := Fetch(context.Background(), "http://127.0.0.1:1/status"); err == nil {
		t.Error("Fetch from a closed port succeeded")
	}
}
