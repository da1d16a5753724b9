//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kubeadmin/kubeadmin/test/e2e/nodes"
)

// TestInitUnderSystemd runs init on a node whose init system is systemd:
// kubelet-start must install the kubelet unit and kubeadm's drop-in, enable
// and start it through systemctl (no supervisor), systemd must restart the
// agent after kill -9 without touching the control-plane containers, and
// reset must stop the unit.
func TestInitUnderSystemd(t *testing.T) {
	const node = "cpsd"
	controlPlaneNode(t, node)
	nodes.Systemd(t, node)
	systemctl := func(args ...string) string {
		t.Helper()
		out, errOut, err := nodes.Exec(t, node, append([]string{"systemctl"}, args...)...)
		if err != nil {
			t.Fatalf("systemctl %s: %v\n%s%s", strings.Join(args, " "), err, out, errOut)
		}
		return strings.TrimSpace(out)
	}
	show := func(prop string) string { return systemctl("show", "kubelet", "-p", prop, "--value") }

	// containerd on these nodes uses the cgroupfs driver, as the agent must.
	cfg := nodeConfig(t, node, `apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
---
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: cgroupfs
`)
	out, errOut, err := nodes.Exec(t, node, "kubeadmin", "init", "--config", cfg)
	if err != nil {
		t.Fatalf("kubeadmin init under systemd failed: %v\n%s\n%s", err, out, errOut)
	}
	if got := show("ActiveState") + " " + systemctl("is-enabled", "kubelet"); got != "active enabled" {
		t.Errorf("kubelet unit: %q, want active and enabled", got)
	}
	unit := systemctl("cat", "kubelet")
	for _, want := range []string{"/etc/systemd/system/kubelet.service.d/10-kubeadm.conf", "EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env", "Restart=always"} {
		if !strings.Contains(unit, want) {
			t.Errorf("systemctl cat kubelet lacks %q:\n%s", want, unit)
		}
	}
	pid := show("MainPID")
	cmdline, _, _ := nodes.Exec(t, node, "cat", "/proc/"+pid+"/cmdline")
	if args := strings.ReplaceAll(cmdline, "\x00", " "); !strings.Contains(args, " kubelet --bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf --config=/var/lib/kubelet/config.yaml") {
		t.Errorf("the unit's main process is not the agent with kubeadm's flags: %q", args)
	}
	if _, err := os.Stat(filepath.Join(nodes.Root(t, node), "run/kubeadmin/kubelet.pid")); !os.IsNotExist(err) {
		t.Errorf("the supervisor ran although systemd runs (pid file: %v)", err)
	}
	if _, err := kubectl(t, node, "get", "node", node); err != nil {
		t.Errorf("the node did not register: %v", err)
	}

	before, beforeIDs := runningTasks(t, node), containerIDs(t, node)
	for _, c := range controlPlane {
		if componentID(beforeIDs, c) == "" {
			t.Fatalf("no running %s container: %v", c, beforeIDs)
		}
	}
	if out, errOut, err := nodes.Exec(t, node, "kill", "-9", pid); err != nil {
		t.Fatalf("kill -9 %s: %v\n%s%s", pid, err, out, errOut)
	}
	// kubeadm's unit restarts the kubelet after RestartSec=10. No container
	// may restart, from the kill until a window after the agent is back.
	eventually(t, "systemd to restart the agent with no container restarted meanwhile", 40*time.Second, func() error {
		if err := sameTasks(t, node, before); err != nil {
			return permanent(err)
		}
		if now := show("MainPID"); now == pid || now == "0" || show("NRestarts") != "1" {
			return fmt.Errorf("MainPID %s, NRestarts %s", now, show("NRestarts"))
		}
		return nil
	})
	eventually(t, "the restarted agent to report the same containers", 20*time.Second, func() error {
		if err := sameTasks(t, node, before); err != nil {
			return permanent(err)
		}
		after, err := agentContainers(t, node)
		if err == nil && !reflect.DeepEqual(after, beforeIDs) {
			err = fmt.Errorf("containers before %v, after %v", beforeIDs, after)
		}
		return err
	})
	consistently(t, "no container restarts after the agent came back", settleWindow, func() error {
		return sameTasks(t, node, before)
	})

	if out, errOut, err := nodes.Exec(t, node, "kubeadmin", "reset", "-f"); err != nil {
		t.Fatalf("reset: %v\n%s%s", err, out, errOut)
	}
	if got := show("ActiveState"); got != "inactive" {
		t.Errorf("after reset the kubelet unit is %q, want inactive", got)
	}
}
