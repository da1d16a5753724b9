package app

import (
	"bytes"
	"context"
	"log"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	critest "k8s.io/cri-api/pkg/apis/testing"
	kubeletv1beta1 "k8s.io/kubelet/config/v1beta1"

	"github.com/kubeadmin/kubeadmin/internal/constants"
	"github.com/kubeadmin/kubeadmin/kubelet/options"
)

func rotationConfig(maxSize string) *options.Config {
	return &options.Config{NodeName: "node1", Kubelet: &kubeletv1beta1.KubeletConfiguration{ContainerLogMaxSize: maxSize}}
}

func TestStartLogRotationRotatesBigLogs(t *testing.T) {
	logPath := filepath.Join(t.TempDir(), "0.log")
	if err := os.WriteFile(logPath, bytes.Repeat([]byte("x"), 20), 0o640); err != nil {
		t.Fatal(err)
	}
	rt := critest.NewFakeRuntimeService()
	rt.SetFakeContainers([]*critest.FakeContainer{{ContainerStatus: runtimeapi.ContainerStatus{
		Id: "c1", State: runtimeapi.ContainerState_CONTAINER_RUNNING, LogPath: logPath,
		Labels: map[string]string{constants.KubeletNodeLabel: "node1"},
	}}})
	stop, err := startLogRotation(context.Background(), rotationConfig("10"), rt, log.New(&bytes.Buffer{}, "", 0))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(strings.Join(rt.GetCalls(), ","), "ReopenContainerLog") {
		if time.Now().After(deadline) {
			t.Fatalf("the log was not rotated; calls: %v", rt.GetCalls())
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	if _, err := os.Stat(logPath); err == nil {
		t.Errorf("%s is still in place after the rotation", logPath)
	}
}

func TestStartLogRotationRejectsABadMaxSize(t *testing.T) {
	_, err := startLogRotation(context.Background(), rotationConfig("ten"), critest.NewFakeRuntimeService(), log.New(&bytes.Buffer{}, "", 0))
	if err == nil || !strings.Contains(err.Error(), `"containerLogMaxSize"`) {
		t.Fatalf("error = %v, want one naming containerLogMaxSize", err)
	}
}
