//go:build e2e

package e2e

import (
	"strings"
	"testing"

	"github.com/kubeadmin/kubeadmin/test/e2e/nodes"
)

// TestInitReportsAFailingComponent gives kube-apiserver a flag it does not
// know: wait-control-plane must fail with the real cause (the container's
// state, exit code, restarts and its own last log lines), not only
// "timed out", and reset must clean up after the failed init.
func TestInitReportsAFailingComponent(t *testing.T) {
	const node = "cpfail"
	controlPlaneNode(t, node)
	cfg := nodeConfig(t, node, `apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
timeouts:
  controlPlaneComponentHealthCheck: 25s
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
apiServer:
  extraArgs:
  - name: no-such-flag
    value: "1"
`)
	out, errOut, err := nodes.Exec(t, node, "kubeadmin", "init", "--config", cfg)
	if err == nil {
		t.Fatalf("init with a broken kube-apiserver succeeded:\n%s", out)
	}
	if !strings.Contains(out, "[control-plane-check] Checking kube-apiserver at https://") {
		t.Errorf("init did not say what it checks:\n%s", out)
	}
	for _, want := range []string{
		"the control plane did not become healthy",
		"kube-apiserver: https://",
		"did not become healthy within 25s; last error:",
		"(registry.k8s.io/kube-apiserver:v1.37.2): state ",
		", exit code 1",
		"log lines (/var/log/pods/kube-system_kube-apiserver-" + node + "_",
		"unknown flag: --no-such-flag",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("the failure report lacks %q:\n%s", want, errOut)
		}
	}
	if strings.Contains(errOut, "kube-scheduler: https://") || strings.Contains(errOut, "kube-controller-manager: https://") {
		t.Errorf("healthy components were reported as failed:\n%s", errOut)
	}
	if !strings.Contains(out, "kube-controller-manager is healthy after") {
		t.Errorf("init did not report the healthy components:\n%s", out)
	}

	if out, errOut, err := nodes.Exec(t, node, "kubeadmin", "reset", "-f"); err != nil {
		t.Fatalf("reset after a failed init: %v\n%s\n%s", err, out, errOut)
	}
	left, errOut, err := nodes.Exec(t, node, "ctr", "-n", "k8s.io", "containers", "ls", "-q")
	if err != nil {
		t.Fatalf("ctr containers ls: %v\n%s", err, errOut)
	}
	if strings.TrimSpace(left) != "" {
		t.Errorf("containers left after reset:\n%s", left)
	}
}
