package clusterobjects

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubeadmin/kubeadmin/internal/config"
	"github.com/kubeadmin/kubeadmin/internal/constants"
)

// clusterConfigMaps are the kubeadm-config and kubelet-config ConfigMaps
// of the default configuration.
func clusterConfigMaps(t *testing.T) (*config.InitConfig, *corev1.ConfigMap, *corev1.ConfigMap) {
	t.Helper()
	cfg := testConfig(t, "default")
	kubeadmCM, err := KubeadmConfigMap(&cfg.Cluster)
	if err != nil {
		t.Fatal(err)
	}
	kubeletCM, err := KubeletConfigMap(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, kubeadmCM, kubeletCM
}

func TestFetchClusterConfig(t *testing.T) {
	cfg, kubeadmCM, kubeletCM := clusterConfigMaps(t)
	proxyCM, err := KubeProxyConfigMap(cfg)
	if err != nil {
		t.Fatal(err)
	}
	edited := proxyCM.DeepCopy()
	edited.Data["config.conf"] += "\n# edited"
	tests := []struct {
		name          string
		objects       []runtime.Object
		wantProxy     bool
		wantGenerated bool
		wantErr       string
	}{
		{name: "all generated", objects: []runtime.Object{kubeadmCM, kubeletCM, proxyCM}, wantProxy: true, wantGenerated: true},
		{name: "edited proxy config is user supplied", objects: []runtime.Object{kubeadmCM, kubeletCM, edited}, wantProxy: true},
		{name: "no kube-proxy", objects: []runtime.Object{kubeadmCM, kubeletCM}},
		{name: "no kubelet-config", objects: []runtime.Object{kubeadmCM}, wantErr: `failed to get component configs: configmaps "kubelet-config" not found`},
		{name: "no kubeadm-config", wantErr: `failed to get config map: configmaps "kubeadm-config" not found`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			docs, err := FetchClusterConfig(fake.NewSimpleClientset(tt.objects...), 30*time.Millisecond, "preflight", &out)
			if !strings.HasPrefix(out.String(), "[preflight] Reading configuration from the \"kubeadm-config\" ConfigMap in namespace \"kube-system\"...\n") {
				t.Errorf("output %q", out.String())
			}
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("got %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(docs.ClusterConfiguration) != kubeadmCM.Data["ClusterConfiguration"] || string(docs.Kubelet) != kubeletCM.Data["kubelet"] ||
				!docs.KubeletGenerated {
				t.Errorf("kubeadm or kubelet document wrong: %+v", docs)
			}
			if (docs.KubeProxy != nil) != tt.wantProxy || docs.KubeProxyGenerated != tt.wantGenerated {
				t.Errorf("proxy present %v generated %v", docs.KubeProxy != nil, docs.KubeProxyGenerated)
			}
		})
	}
}

func TestAPIEndpointFromPodAnnotation(t *testing.T) {
	pod := func(annotations map[string]string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "kube-apiserver-node1", Namespace: "kube-system",
			Labels: map[string]string{"component": "kube-apiserver", "tier": "control-plane"}, Annotations: annotations},
			Spec: corev1.PodSpec{NodeName: "node1"}}
	}
	tests := []struct {
		name    string
		objects []runtime.Object
		want    string
		wantErr string
	}{
		{name: "annotated", objects: []runtime.Object{pod(map[string]string{"kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint": "10.0.0.10:6443"})},
			want: "10.0.0.10:6443"},
		{name: "no annotation", objects: []runtime.Object{pod(nil)}, wantErr: "hasn't got a \"kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint\" annotation"},
		{name: "no pod", wantErr: `API server pod for node name "node1" has 0 entries`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := APIEndpointFromPodAnnotation(fake.NewSimpleClientset(tt.objects...), "node1", 30*time.Millisecond)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestFetchRetriesKubeadmConfig(t *testing.T) {
	cfg := testConfig(t, "default")
	kubeadmCM, _ := KubeadmConfigMap(&cfg.Cluster)
	kubeletCM, _ := KubeletConfigMap(cfg)
	client := fake.NewSimpleClientset(kubeadmCM, kubeletCM)
	fails := 3
	client.PrependReactor("get", "configmaps", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.(k8stesting.GetAction).GetName() == "kubeadm-config" && fails > 0 {
			fails--
			return true, nil, errors.New("connection refused")
		}
		return false, nil, nil
	})
	if _, err := FetchClusterConfig(client, 5*time.Second, "preflight", &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
}

// A ConfigMap the API server says is not there is not asked for again.
func TestFetchDoesNotRetryAMissingKubeProxyConfig(t *testing.T) {
	_, kubeadmCM, kubeletCM := clusterConfigMaps(t)
	client := fake.NewSimpleClientset(kubeadmCM, kubeletCM)
	if _, err := FetchClusterConfig(client, time.Second, "preflight", io.Discard); err != nil {
		t.Fatal(err)
	}
	gets := 0
	for _, a := range client.Actions() {
		if g, ok := a.(k8stesting.GetAction); ok && g.GetName() == constants.KubeProxyConfigMap {
			gets++
		}
	}
	if gets != 1 {
		t.Fatalf("the missing kube-proxy ConfigMap was read %d times, want once", gets)
	}
}
