package fleet

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubeadmin/kubeadmin/fleet/inventory"
)

const testInventory = `apiVersion: kubeadmin.io/v1alpha1
kind: Cluster
metadata: {name: lab}
spec:
  ssh: {user: root, identityFiles: [KEY], knownHosts: KNOWN}
  hosts:
  - {address: 10.0.0.1, role: control-plane, nodeName: cp}
  - {address: 10.0.0.2, role: worker, nodeName: w1, user: deploy}
  - {address: 10.0.0.3, role: worker, nodeName: w2, bastion: {host: cp}}
`

func testFleet(t *testing.T) *fleet {
	t.Helper()
	dir := t.TempDir()
	key := filepath.Join(dir, "id")
	if err := os.WriteFile(key, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	inv := strings.NewReplacer("KEY", key, "KNOWN", filepath.Join(dir, "known_hosts")).Replace(testInventory)
	file := filepath.Join(dir, "cluster.yaml")
	if err := os.WriteFile(file, []byte(inv), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := open(Options{File: file, SSHConfig: inventory.NoSSHConfig, Out: &bytes.Buffer{}})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestTargetGoesThroughTheBastion(t *testing.T) {
	f := testFleet(t)
	w2 := f.target(f.byName["w2"])
	if w2.Address != "10.0.0.3" || w2.Bastion == nil || w2.Bastion.Address != "10.0.0.1" || w2.Bastion.Bastion != nil {
		t.Fatalf("w2's target = %+v (bastion %+v), want 10.0.0.3 through 10.0.0.1", w2, w2.Bastion)
	}
	w1 := f.target(f.byName["w1"])
	if w1.User != "deploy" || w1.Bastion != nil || w1.Name != "w1" {
		t.Fatalf("w1's target = %+v", w1)
	}
	if f.controlPlane() != "cp" {
		t.Fatalf("control plane = %q", f.controlPlane())
	}
}

func TestOpenWithoutAFile(t *testing.T) {
	if _, err := open(Options{}); err == nil || !strings.Contains(err.Error(), "-f") {
		t.Fatalf("err = %v, want the missing -f named", err)
	}
}

func TestProvisionOrderPutsTheControlPlaneFirst(t *testing.T) {
	f := testFleet(t)
	p := newProvisioner(f, nil, "", "", nil)
	if got := strings.Join(p.hosts([]string{"w1", "cp", "w2"}), ","); got != "cp,w1,w2" {
		t.Fatalf("order = %s, want the control plane first", got)
	}
	select {
	case <-p.cpDone:
		t.Fatal("the workers were told the control plane is done before it ran")
	default:
	}
}

func TestProvisionWithoutTheControlPlaneReleasesTheWorkers(t *testing.T) {
	f := testFleet(t)
	p := newProvisioner(f, nil, "", "", nil)
	p.hosts([]string{"w1", "w2"})
	for _, ch := range []chan struct{}{p.cpDone, p.cpImages} {
		select {
		case <-ch:
		default:
			t.Fatal("workers would wait forever for a control plane that is not in the run")
		}
	}
	if p.cpErr == nil || !strings.Contains(p.cpErr.Error(), "cp") {
		t.Fatalf("cpErr = %v", p.cpErr)
	}
}

func TestHasLabelCountsAnEmptyValue(t *testing.T) {
	if hasLabel(map[string]string{}, "node-role.kubernetes.io/worker", "") {
		t.Fatal("a missing label with an empty value counted as set")
	}
	if !hasLabel(map[string]string{"node-role.kubernetes.io/worker": ""}, "node-role.kubernetes.io/worker", "") {
		t.Fatal("a label set to the empty value was not seen")
	}
}

func TestLabelsAndTaintsRetryAConflict(t *testing.T) {
	f := testFleet(t)
	f.nodes["w1"] = "w1"
	f.byName["w1"].Host.Labels = map[string]string{"node-role.kubernetes.io/worker": ""}
	client := fake.NewSimpleClientset(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "w1"}})
	conflicts := 1
	client.PrependReactor("update", "nodes", func(k8stesting.Action) (bool, runtime.Object, error) {
		if conflicts > 0 {
			conflicts--
			return true, nil, apierrors.NewConflict(corev1.Resource("nodes"), "w1", errors.New("the object has been modified"))
		}
		return false, nil, nil
	})
	f.client = client
	if err := f.labelsAndTaints(context.Background(), "w1"); err != nil {
		t.Fatal(err)
	}
	n, _ := client.CoreV1().Nodes().Get(context.Background(), "w1", metav1.GetOptions{})
	if !hasLabel(n.Labels, "node-role.kubernetes.io/worker", "") {
		t.Fatalf("labels after a conflict: %v", n.Labels)
	}
}

func TestDiscoveryConfigHoldsTheClusterAndNoCredentials(t *testing.T) {
	f := testFleet(t)
	admin := clientcmdapi.NewConfig()
	admin.Clusters["kubernetes"] = &clientcmdapi.Cluster{Server: "https://10.0.0.1:6443", CertificateAuthorityData: []byte("CA")}
	admin.AuthInfos["kubernetes-admin"] = &clientcmdapi.AuthInfo{ClientKeyData: []byte("SECRET KEY")}
	admin.Contexts["kubernetes-admin@kubernetes"] = &clientcmdapi.Context{Cluster: "kubernetes", AuthInfo: "kubernetes-admin"}
	admin.CurrentContext = "kubernetes-admin@kubernetes"
	f.admin = admin
	data, err := f.discoveryConfig()
	if err != nil {
		t.Fatal(err)
	}
	kc, err := clientcmd.Load(data)
	if err != nil {
		t.Fatal(err)
	}
	c := kc.Clusters["lab"]
	if c == nil || c.Server != "https://10.0.0.1:6443" || string(c.CertificateAuthorityData) != "CA" || len(kc.Clusters) != 1 {
		t.Fatalf("discovery config:\n%s", data)
	}
	if len(kc.AuthInfos) != 0 || len(kc.Contexts) != 0 || strings.Contains(string(data), "SECRET") {
		t.Fatalf("the discovery config carries credentials:\n%s", data)
	}
}
