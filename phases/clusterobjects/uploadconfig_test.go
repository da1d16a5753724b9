package clusterobjects

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/clientcmd"
)

func TestConfigMapHash(t *testing.T) {
	sum := func(parts ...string) string {
		return fmt.Sprintf("sha256:%x", sha256.Sum256([]byte(strings.Join(parts, ""))))
	}
	tests := []struct {
		name string
		cm   corev1.ConfigMap
		want string
	}{
		{"empty", corev1.ConfigMap{}, sum()},
		{"data in key order", corev1.ConfigMap{Data: map[string]string{"b": "2", "a": "1", "c": "3"}}, sum("1", "2", "3")},
		{"binary after data", corev1.ConfigMap{Data: map[string]string{"z": "d"}, BinaryData: map[string][]byte{"b": []byte("B"), "a": []byte("A")}},
			sum("d", "A", "B")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ConfigMapHash(&tt.cm); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestUploadKubeadmConfigKeepsOtherKeys(t *testing.T) {
	existing := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "kubeadm-config", Namespace: "kube-system", Labels: map[string]string{"keep": "me"}},
		Data:       map[string]string{"ClusterConfiguration": "old", "ClusterStatus": "legacy"},
	}
	client := fake.NewSimpleClientset(existing)
	cfg := testConfig(t, "default")
	var out bytes.Buffer
	if err := UploadKubeadmConfig(client, cfg, &out); err != nil {
		t.Fatal(err)
	}
	want := "[upload-config] Storing the configuration used in ConfigMap \"kubeadm-config\" in the \"kube-system\" Namespace\n"
	if out.String() != want {
		t.Errorf("output %q, want %q", out.String(), want)
	}
	cm, err := client.CoreV1().ConfigMaps("kube-system").Get(context.Background(), "kubeadm-config", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if cm.Data["ClusterStatus"] != "legacy" || cm.Labels["keep"] != "me" {
		t.Errorf("lost existing content: %v %v", cm.Labels, cm.Data)
	}
	if !strings.Contains(cm.Data["ClusterConfiguration"], "kind: ClusterConfiguration\nkubernetesVersion: v1.37.2\n") {
		t.Errorf("ClusterConfiguration not replaced:\n%s", cm.Data["ClusterConfiguration"])
	}
}

func TestKubeletConfigMapHashAnnotation(t *testing.T) {
	tests := []struct {
		variant  string
		wantHash bool
	}{
		{"default", true},
		{"usersupplied", false},
	}
	for _, tt := range tests {
		t.Run(tt.variant, func(t *testing.T) {
			cm, err := KubeletConfigMap(testConfig(t, tt.variant))
			if err != nil {
				t.Fatal(err)
			}
			h, ok := cm.Annotations["kubeadm.kubernetes.io/component-config.hash"]
			if ok != tt.wantHash {
				t.Fatalf("hash annotation present: %v, want %v", ok, tt.wantHash)
			}
			if ok && h != ConfigMapHash(cm) {
				t.Errorf("hash %s does not match the data (%s)", h, ConfigMapHash(cm))
			}
			if !strings.Contains(cm.Data["kubelet"], "containerRuntimeEndpoint: \"\"\n") {
				t.Errorf("kubelet config lacks the empty containerRuntimeEndpoint:\n%s", cm.Data["kubelet"])
			}
		})
	}
}

func TestClusterInfoConfigMap(t *testing.T) {
	tests := []struct {
		admin, server string
	}{
		{"testdata/admin.conf", "https://10.0.0.10:6443"},
		{"testdata/admin-2ca.conf", "https://cp.example.com:6443"},
	}
	for _, tt := range tests {
		t.Run(tt.admin, func(t *testing.T) {
			admin := loadKubeconfig(t, tt.admin)
			cm, err := ClusterInfoConfigMap(admin)
			if err != nil {
				t.Fatal(err)
			}
			if cm.Namespace != "kube-public" || cm.Name != "cluster-info" || len(cm.Data) != 1 {
				t.Fatalf("got %s/%s with keys %v", cm.Namespace, cm.Name, cm.Data)
			}
			kc, err := clientcmd.Load([]byte(cm.Data["kubeconfig"]))
			if err != nil {
				t.Fatal(err)
			}
			if len(kc.Clusters) != 1 || kc.Clusters[""] == nil {
				t.Fatalf("clusters %v, want exactly one named \"\"", kc.Clusters)
			}
			var adminCA []byte
			for _, c := range admin.Clusters {
				adminCA = c.CertificateAuthorityData
			}
			c := kc.Clusters[""]
			if c.Server != tt.server || !bytes.Equal(c.CertificateAuthorityData, adminCA) {
				t.Errorf("server %s, CA equal %v", c.Server, bytes.Equal(c.CertificateAuthorityData, adminCA))
			}
			if len(kc.AuthInfos) != 0 || len(kc.Contexts) != 0 || kc.CurrentContext != "" {
				t.Errorf("credentials or contexts leaked: %v %v %q", kc.AuthInfos, kc.Contexts, kc.CurrentContext)
			}
			for _, s := range []string{"contexts: null\n", "current-context: \"\"\n", "users: null\n"} {
				if !strings.Contains(cm.Data["kubeconfig"], s) {
					t.Errorf("kubeconfig lacks %q:\n%s", s, cm.Data["kubeconfig"])
				}
			}
		})
	}
}

func TestClusterInfoConfigMapInvalid(t *testing.T) {
	admin := loadKubeconfig(t, "testdata/admin.conf")
	admin.CurrentContext = "missing"
	if _, err := ClusterInfoConfigMap(admin); err == nil || !strings.Contains(err.Error(), `current context "missing" not found`) {
		t.Fatalf("got %v", err)
	}
}

func TestBootstrapTokenPhase(t *testing.T) {
	tests := []struct {
		name      string
		skipPrint bool
		wantFirst string
	}{
		{"prints token", false, "[bootstrap-token] Using token: abcdef.0123456789abcdef\n"},
		{"skip token print", true, "[bootstrap-token] Configuring bootstrap tokens, cluster-info ConfigMap, RBAC Roles\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := fake.NewSimpleClientset()
			var out bytes.Buffer
			if err := BootstrapTokenPhase(client, testConfig(t, "default"), "testdata/admin.conf", tt.skipPrint, &out); err != nil {
				t.Fatal(err)
			}
			first, _, _ := strings.Cut(out.String(), "\n")
			if first+"\n" != tt.wantFirst {
				t.Errorf("first line %q, want %q", first, tt.wantFirst)
			}
			if strings.Contains(out.String(), "0123456789abcdef") == tt.skipPrint {
				t.Errorf("token printed: %v, skip: %v", !tt.skipPrint, tt.skipPrint)
			}
			ctx := context.Background()
			if _, err := client.CoreV1().Secrets("kube-system").Get(ctx, "bootstrap-token-abcdef", metav1.GetOptions{}); err != nil {
				t.Error(err)
			}
			if _, err := client.CoreV1().ConfigMaps("kube-public").Get(ctx, "cluster-info", metav1.GetOptions{}); err != nil {
				t.Error(err)
			}
		})
	}
}
