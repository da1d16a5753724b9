package manifests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	kubeletv1beta1 "k8s.io/kubelet/config/v1beta1"

	"github.com/kubeadmin/kubeadmin/internal/config"
)

func TestKubeletFlagsEnv(t *testing.T) {
	taints := []corev1.Taint{
		{Key: "dedicated", Value: "infra", Effect: corev1.TaintEffectNoSchedule},
		{Key: "gpu", Effect: corev1.TaintEffectNoExecute},
	}
	tests := []struct {
		name       string
		nodeName   string
		hostname   string
		extra      []config.Arg
		taints     []corev1.Taint
		joinWorker bool
		want       string
	}{
		{name: "node name is the host name", nodeName: "node1", hostname: "node1", want: `KUBELET_KUBEADM_ARGS=""` + "\n"},
		{name: "empty node name means the host name", hostname: "node1", want: `KUBELET_KUBEADM_ARGS=""` + "\n"},
		{name: "different node name", nodeName: "worker-a", hostname: "node1", want: `KUBELET_KUBEADM_ARGS="--hostname-override=worker-a"` + "\n"},
		{
			name: "hostname-override extra arg wins and is appended", nodeName: "node1", hostname: "node1",
			extra: []config.Arg{{Name: "hostname-override", Value: "x"}, {Name: "v", Value: "2"}},
			want:  `KUBELET_KUBEADM_ARGS="--hostname-override=x --v=2"` + "\n",
		},
		{
			name: "taints only for a joining worker", nodeName: "node1", hostname: "node1", taints: taints, joinWorker: true,
			extra: []config.Arg{{Name: "node-labels", Value: `a="b c"`}},
			want:  `KUBELET_KUBEADM_ARGS="--register-with-taints=dedicated=infra:NoSchedule,gpu:NoExecute --node-labels=a=\"b c\""` + "\n",
		},
		{name: "no taints for a control plane", nodeName: "n", hostname: "h", taints: taints, want: `KUBELET_KUBEADM_ARGS="--hostname-override=n"` + "\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := string(KubeletFlagsEnv(tc.nodeName, tc.hostname, tc.extra, tc.taints, tc.joinWorker))
			if got != tc.want {
				t.Errorf("KubeletFlagsEnv() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestInstanceConfig(t *testing.T) {
	got := string(InstanceConfig("unix:///var/run/containerd/containerd.sock"))
	want := "containerRuntimeEndpoint: \"unix:///var/run/containerd/containerd.sock\"\n"
	if got != want {
		t.Errorf("InstanceConfig() = %q, want %q", got, want)
	}
}

func TestKubeletConfigFile(t *testing.T) {
	enabled := true
	kc := &kubeletv1beta1.KubeletConfiguration{
		ContainerRuntimeEndpoint: "",
		StaticPodPath:            "/etc/kubernetes/manifests",
		ClusterDNS:               []string{"10.96.0.10"},
		RotateCertificates:       true,
		Authentication: kubeletv1beta1.KubeletAuthentication{
			Webhook: kubeletv1beta1.KubeletWebhookAuthentication{Enabled: &enabled},
		},
	}
	got, err := KubeletConfigFile(kc, "unix:///run/containerd/containerd.sock")
	if err != nil {
		t.Fatal(err)
	}
	s := string(got)
	for _, want := range []string{
		"apiVersion: kubelet.config.k8s.io/v1beta1\n",
		"kind: KubeletConfiguration\n",
		"containerRuntimeEndpoint: unix:///run/containerd/containerd.sock\n",
		"staticPodPath: /etc/kubernetes/manifests\n",
		"clusterDNS:\n- 10.96.0.10\n",
		"rotateCertificates: true\n",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("config.yaml lacks %q:\n%s", want, s)
		}
	}
	if strings.Index(s, "apiVersion:") > strings.Index(s, "authentication:") {
		t.Errorf("keys are not sorted:\n%s", s)
	}
	if kc.APIVersion != "" || kc.ContainerRuntimeEndpoint != "" {
		t.Errorf("KubeletConfigFile modified its input: %+v", kc.TypeMeta)
	}
	// Without patches, the exact-order builder gives the same bytes.
	built, err := BuildKubeletConfigFile(kc, "unix:///run/containerd/containerd.sock", "", nil)
	if err != nil || string(built) != s {
		t.Errorf("BuildKubeletConfigFile() = %q, %v; want KubeletConfigFile's output", built, err)
	}
	if _, err := KubeletConfigFile(nil, "x"); err == nil {
		t.Error("KubeletConfigFile(nil) succeeded")
	}
}

func TestWriteKubeletFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "kubelet")
	files := map[string]string{
		"kubeadm-flags.env":    `KUBELET_KUBEADM_ARGS=""` + "\n",
		"instance-config.yaml": "containerRuntimeEndpoint: \"x\"\n",
		"config.yaml":          "kind: KubeletConfiguration\n",
	}
	if err := WriteKubeletFiles(dir, []byte(files["kubeadm-flags.env"]), []byte(files["instance-config.yaml"]), []byte(files["config.yaml"])); err != nil {
		t.Fatal(err)
	}
	if m := fileMode(t, dir); m != 0o700 {
		t.Errorf("kubelet dir mode = %o, want 700", m)
	}
	for name, want := range files {
		p := filepath.Join(dir, name)
		if m := fileMode(t, p); m != 0o644 {
			t.Errorf("%s mode = %o, want 644", name, m)
		}
		got, err := os.ReadFile(p)
		if err != nil || string(got) != want {
			t.Errorf("%s = %q, %v; want %q", name, got, err, want)
		}
	}
}
