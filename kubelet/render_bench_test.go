package kubelet

import (
	"context"
	"testing"

	"github.com/kubeadmin/kubeadmin/kubelet/kuberuntime"
	"github.com/kubeadmin/kubeadmin/kubelet/volume"
)

func BenchmarkRenderPod(b *testing.B) {
	y, _ := webPodYAML(&testing.T{})
	pod := decodePod(&testing.T{}, y, "/m/web.yaml")
	rc := &kuberuntime.RenderContext{Node: "node1", NodeIP: "10.0.0.1", PodLogsDir: "/var/log/pods", CgroupRoot: "/kubeadmin"}
	c := &pod.Spec.Containers[0]
	b.ReportAllocs()
	for b.Loop() {
		kuberuntime.SandboxConfig(pod, 0, rc)
		env, _ := kuberuntime.ContainerEnv(context.Background(), pod, c, rc, nil)
		kuberuntime.ContainerConfig(kuberuntime.ContainerSpec{Pod: pod, Container: c, Env: env, Mounts: volume.ContainerMounts(pod, c, map[string]string{"data": "/d", "scratch": "/s"}, nil)}, rc)
	}
}
