package main

import (
	"bytes"
	"strings"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func TestSummarize(t *testing.T) {
	tests := []struct {
		name      string
		st        *runtimeapi.RuntimeStatus
		wantReady bool
		wantLines []string
	}{
		{name: "nil", st: nil, wantLines: []string{"no runtime status"}},
		{name: "ready, network not", st: &runtimeapi.RuntimeStatus{Conditions: []*runtimeapi.RuntimeCondition{
			{Type: runtimeapi.RuntimeReady, Status: true},
			{Type: runtimeapi.NetworkReady, Status: false, Reason: "NetworkPluginNotReady", Message: "cni plugin not initialized"},
		}}, wantReady: true, wantLines: []string{"RuntimeReady=true", `NetworkReady=false reason="NetworkPluginNotReady"`}},
		{name: "runtime not ready", st: &runtimeapi.RuntimeStatus{Conditions: []*runtimeapi.RuntimeCondition{
			{Type: runtimeapi.RuntimeReady, Status: false, Reason: "x"},
			{Type: runtimeapi.NetworkReady, Status: true},
		}}, wantLines: []string{"RuntimeReady=false", "NetworkReady=true"}},
		{name: "no conditions", st: &runtimeapi.RuntimeStatus{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ready, report := summarize(tt.st)
			if ready != tt.wantReady {
				t.Errorf("ready = %t, want %t", ready, tt.wantReady)
			}
			for _, l := range tt.wantLines {
				if !strings.Contains(report, l) {
					t.Errorf("report %q lacks %q", report, l)
				}
			}
		})
	}
}

func TestEndpoint(t *testing.T) {
	for in, want := range map[string]string{
		"/run/containerd/containerd.sock":        "unix:///run/containerd/containerd.sock",
		"unix:///run/containerd/containerd.sock": "unix:///run/containerd/containerd.sock",
	} {
		if got := endpoint(in); got != want {
			t.Errorf("endpoint(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRunNoSocketFails(t *testing.T) {
	var out, errb bytes.Buffer
	code := run([]string{"--address", t.TempDir() + "/missing.sock"}, &out, &errb)
	if code != 1 || !strings.Contains(errb.String(), "failed to get CRI status") {
		t.Errorf("run on a missing socket = %d, stderr %q; want 1 and a CRI status error", code, errb.String())
	}
}
