package fleet

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
	p := &provisioner{f: f, cpDone: make(chan struct{})}
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
	p := &provisioner{f: f, cpDone: make(chan struct{})}
	p.hosts([]string{"w1", "w2"})
	select {
	case <-p.cpDone:
	default:
		t.Fatal("workers would wait forever for a control plane that is not in the run")
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
