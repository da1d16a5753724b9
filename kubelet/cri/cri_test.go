package cri

import (
	"context"
	"errors"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	critest "k8s.io/cri-api/pkg/apis/testing"
)

var (
	_ RuntimeService   = (*critest.FakeRuntimeService)(nil)
	_ ImageService     = (*critest.FakeImageService)(nil)
	_ StreamingService = (*critest.FakeRuntimeService)(nil)
)

func TestTarget(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{in: "unix:///run/containerd/containerd.sock", want: "unix:///run/containerd/containerd.sock"},
		{in: "/run/containerd/containerd.sock", want: "unix:///run/containerd/containerd.sock"},
		{in: "tcp://1.2.3.4:5", wantErr: true},
		{in: "unix://relative.sock", wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tt := range tests {
		got, err := Target(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("Target(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestWaitReady(t *testing.T) {
	fake := critest.NewFakeRuntimeService()
	fake.FakeStatus = &runtimeapi.RuntimeStatus{Conditions: []*runtimeapi.RuntimeCondition{{Type: runtimeapi.RuntimeReady, Status: true}}}
	fake.InjectError("Status", errors.New("server is not initialized yet"))
	var failures int
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := WaitReady(ctx, fake, time.Millisecond, func(error) { failures++ }); err != nil {
		t.Fatalf("WaitReady: %v", err)
	}
	if failures != 1 {
		t.Errorf("failures = %d, want 1", failures)
	}

	fake.FakeStatus = &runtimeapi.RuntimeStatus{Conditions: []*runtimeapi.RuntimeCondition{{Type: runtimeapi.RuntimeReady, Status: false, Reason: "NotReady"}}}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel2()
	if err := WaitReady(ctx2, fake, time.Millisecond, nil); err == nil {
		t.Error("WaitReady succeeded on a runtime that is not ready")
	}
}

func TestSocketPath(t *testing.T) {
	for in, want := range map[string]string{"unix:///run/containerd/containerd.sock": "/run/containerd/containerd.sock", "/run/x.sock": "/run/x.sock"} {
		if got, err := SocketPath(in); err != nil || got != want {
			t.Errorf("SocketPath(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"tcp://1.2.3.4:1", "unix://relative.sock", ""} {
		if _, err := SocketPath(in); err == nil {
			t.Errorf("SocketPath(%q): want an error", in)
		}
	}
}
