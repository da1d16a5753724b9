package joinphases

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubeadmin/kubeadmin/internal/config"
	"github.com/kubeadmin/kubeadmin/internal/constants"
	"github.com/kubeadmin/kubeadmin/phases/kubeconfig"
)

const testToken = "abcdef.0123456789abcdef"

func TestJoinConfigFromFlags(t *testing.T) {
	cfg := joinConfigFromFlags(&JoinOptions{Endpoint: "10.0.0.1:6443", Token: testToken, CACertHashes: []string{"sha256:aa"}, NodeName: "w1"})
	bt := cfg.Discovery.BootstrapToken
	if bt == nil || bt.Token != testToken || bt.APIServerEndpoint != "10.0.0.1:6443" || len(bt.CACertHashes) != 1 {
		t.Fatalf("token discovery from flags = %+v", bt)
	}
	if cfg.Discovery.TLSBootstrapToken != testToken || cfg.NodeRegistration.Name != "w1" {
		t.Fatalf("TLS bootstrap token %q, node %q", cfg.Discovery.TLSBootstrapToken, cfg.NodeRegistration.Name)
	}
	// Explicit tokens win over --token; a discovery file replaces token discovery.
	cfg = joinConfigFromFlags(&JoinOptions{Token: testToken, TLSBootstrapToken: "zzzzzz.0123456789abcdef", DiscoveryFile: "/x.conf"})
	if cfg.Discovery.BootstrapToken != nil || cfg.Discovery.File == nil || cfg.Discovery.File.KubeConfigPath != "/x.conf" {
		t.Fatalf("file discovery from flags = %+v", cfg.Discovery)
	}
	if cfg.Discovery.TLSBootstrapToken != "zzzzzz.0123456789abcdef" {
		t.Fatalf("TLS bootstrap token = %q", cfg.Discovery.TLSBootstrapToken)
	}
}

func TestNewJoinDataRefusesControlPlane(t *testing.T) {
	_, err := NewJoinData(&JoinOptions{ControlPlane: true, Endpoint: "10.0.0.1:6443", Token: testToken, UnsafeSkipCAVerification: true}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "--control-plane") || !strings.Contains(err.Error(), "worker") {
		t.Fatalf("control-plane join: err = %v, want a refusal that says what to do", err)
	}
}

func TestNewJoinDataRefusesMixedConfigAndFlags(t *testing.T) {
	_, err := NewJoinData(&JoinOptions{ConfigPath: "/nonexistent.yaml", ChangedFlags: []string{"config", "token"}}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "token") {
		t.Fatalf("err = %v, want the mixed-flags error naming --token", err)
	}
}

func TestRenameCluster(t *testing.T) {
	kc := kubeconfig.BuildBootstrapKubeconfig("https://10.0.0.1:6443", []byte("ca"), "kubernetes", testToken)
	renameCluster(kc, "prod")
	ctx := kc.Contexts[kc.CurrentContext]
	if kc.CurrentContext != constants.BootstrapTokenUser+"@prod" || ctx == nil || ctx.Cluster != "prod" || kc.Clusters["prod"] == nil || len(kc.Clusters) != 1 {
		t.Fatalf("renamed kubeconfig: current %q, clusters %v", kc.CurrentContext, kc.Clusters)
	}
}

// testData is join data with discovery done and the cluster read.
func testData(t *testing.T, objects ...runtime.Object) (*JoinData, *bytes.Buffer) {
	t.Helper()
	dir := t.TempDir()
	out := &bytes.Buffer{}
	cfg := config.DefaultJoinConfig()
	cfg.NodeRegistration.Name = "w1"
	cfg.NodeRegistration.CRISocket = "unix:///run/containerd/containerd.sock"
	cfg.CACertPath = filepath.Join(dir, "pki", "ca.crt")
	initCfg := config.DefaultInitConfig()
	d := &JoinData{
		cfg: cfg, out: out, dryRun: true, dryRunDir: filepath.Join(dir, "dryrun"),
		k8sDir: filepath.Join(dir, "etc"), kubeletDir: filepath.Join(dir, "kubelet"),
		tlsBootstrap: kubeconfig.BuildBootstrapKubeconfig("https://10.0.0.1:6443", []byte("-----BEGIN CERTIFICATE-----\n"), "kubernetes", testToken),
		initCfg:      initCfg,
		client:       fake.NewSimpleClientset(objects...),
		discover: func(context.Context, config.Discovery, time.Duration, io.Writer) (*clientcmdapi.Config, error) {
			t.Fatal("discovery must not run again")
			return nil, nil
		},
	}
	if err := os.MkdirAll(d.dryRunDir, 0o700); err != nil {
		t.Fatal(err)
	}
	return d, out
}

func TestKubeletStartRefusesAReadyNodeOfTheSameName(t *testing.T) {
	ready := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "w1"}, Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}}}
	d, _ := testData(t, ready)
	err := runKubeletStart(d)
	if err == nil || !strings.Contains(err.Error(), `a Node with name "w1" and status "Ready" already exists`) || !strings.Contains(err.Error(), "kubectl delete node w1") {
		t.Fatalf("err = %v", err)
	}
	if entries, _ := os.ReadDir(d.dryRunDir); len(entries) != 0 {
		t.Fatalf("a refused join wrote %d files", len(entries))
	}
}

func TestKubeletStartDryRunWritesTheKubeletFiles(t *testing.T) {
	notReady := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "w1"}, Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionFalse}}}}
	d, out := testData(t, notReady)
	d.cfg.NodeRegistration.Taints = []corev1.Taint{{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoSchedule}}
	if err := runKubeletStart(d); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{constants.KubeletBootstrapKubeConfigFile, "ca.crt", constants.KubeletConfigFile, constants.KubeletInstanceFile, constants.KubeletFlagsEnvFile} {
		if _, err := os.Stat(filepath.Join(d.dryRunDir, name)); err != nil {
			t.Errorf("dry run did not write %s: %v", name, err)
		}
	}
	env, _ := os.ReadFile(filepath.Join(d.dryRunDir, constants.KubeletFlagsEnvFile))
	if !strings.Contains(string(env), "--register-with-taints=dedicated=gpu:NoSchedule") {
		t.Errorf("a worker's taints are not in kubeadm-flags.env: %s", env)
	}
	if fi, err := os.Stat(filepath.Join(d.dryRunDir, constants.KubeletBootstrapKubeConfigFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("bootstrap kubeconfig mode: %v %v", fi, err)
	}
	if !strings.Contains(out.String(), "[kubelet-start] Would start the kubelet") {
		t.Errorf("output:\n%s", out)
	}
	if _, err := os.Stat(d.cfg.CACertPath); err == nil {
		t.Errorf("dry run wrote the real CA path")
	}
}

func TestRollbackRemovesOnlyWhatTheRunCreated(t *testing.T) {
	dir := t.TempDir()
	kept := filepath.Join(dir, "kept")
	created := filepath.Join(dir, "created")
	if err := os.WriteFile(kept, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	d := &JoinData{}
	d.recordWrite(kept)
	d.recordWrite(created)
	if err := os.WriteFile(created, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	stopped := false
	removed := d.Rollback(func() error { stopped = true; return nil })
	if !stopped || len(removed) != 1 || removed[0] != created {
		t.Fatalf("rollback stopped=%v removed=%v", stopped, removed)
	}
	if _, err := os.Stat(kept); err != nil {
		t.Fatalf("rollback removed a file that existed before the run: %v", err)
	}
}
