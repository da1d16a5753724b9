package node

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kubeadmin/kubeadmin/internal/testutil"
)

func TestRuntimeConditions(t *testing.T) {
	rr := &runtimeapi.RuntimeCondition{Type: runtimeapi.RuntimeReady, Status: true}
	tests := []struct {
		name      string
		conds     []*runtimeapi.RuntimeCondition
		wantReady bool
		wantMsg   string
	}{
		{"all ready", []*runtimeapi.RuntimeCondition{rr, {Type: runtimeapi.NetworkReady, Status: true}}, true, ""},
		{"network not ready", []*runtimeapi.RuntimeCondition{rr, {Type: runtimeapi.NetworkReady, Reason: "NetworkPluginNotReady", Message: "cni plugin not initialized"}}, false,
			"container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:cni plugin not initialized"},
		{"runtime not ready", []*runtimeapi.RuntimeCondition{{Type: runtimeapi.RuntimeReady, Reason: "R", Message: "m"}, {Type: runtimeapi.NetworkReady, Status: true}}, false,
			"container runtime not ready: RuntimeReady=false reason:R message:m"},
		{"no conditions", nil, false, "container runtime not ready: RuntimeReady condition is missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ready, msg := runtimeConditions(tt.conds)
			if ready != tt.wantReady || msg != tt.wantMsg {
				t.Errorf("got (%v, %q), want (%v, %q)", ready, msg, tt.wantReady, tt.wantMsg)
			}
		})
	}
}

func TestRegistrationContent(t *testing.T) {
	c := newClient()
	start(t, testOptions(c, &fakeRuntime{}))
	var n *v1.Node
	testutil.Eventually(t, "the node to be registered with a status", func() bool {
		got, err := c.CoreV1().Nodes().Get(context.Background(), "node1", metav1.GetOptions{})
		if err != nil || findCondition(got.Status.Conditions, v1.NodeReady) == nil {
			return false
		}
		n = got
		return true
	})
	labels := map[string]string{
		"kubernetes.io/hostname": "node1", "kubernetes.io/os": "linux", "kubernetes.io/arch": runtime.GOARCH,
		"beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": runtime.GOARCH, "extra": "yes",
	}
	for k, v := range labels {
		if n.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, n.Labels[k], v)
		}
	}
	if len(n.Spec.Taints) != 1 || n.Spec.Taints[0].Key != "node-role.kubernetes.io/control-plane" {
		t.Errorf("taints = %v", n.Spec.Taints)
	}
	wantAddr := []v1.NodeAddress{{Type: v1.NodeInternalIP, Address: "10.0.0.5"}, {Type: v1.NodeHostName, Address: "node1"}}
	if len(n.Status.Addresses) != 2 || n.Status.Addresses[0] != wantAddr[0] || n.Status.Addresses[1] != wantAddr[1] {
		t.Errorf("addresses = %v, want %v", n.Status.Addresses, wantAddr)
	}
	capacity := map[v1.ResourceName]string{v1.ResourceCPU: "2", v1.ResourceMemory: "4Gi", v1.ResourceEphemeralStorage: "100Gi", v1.ResourcePods: "110"}
	for r, v := range capacity {
		if q := n.Status.Capacity[r]; q.String() != v {
			t.Errorf("capacity %s = %s, want %s", r, q.String(), v)
		}
	}
	if q := n.Status.Allocatable[v1.ResourceMemory]; q.Value() != 4<<30-100<<20 {
		t.Errorf("allocatable memory = %s", q.String())
	}
	info := n.Status.NodeInfo
	if info.MachineID != "mid" || info.SystemUUID != "suuid" || info.BootID != "bid" || info.KernelVersion != "6.1.0" ||
		info.OSImage != "Debian GNU/Linux 12 (bookworm)" || info.ContainerRuntimeVersion != "containerd://1.6.20" ||
		info.KubeletVersion != "v1.37.2" || info.KubeProxyVersion != "" || info.OperatingSystem != "linux" || info.Architecture != runtime.GOARCH {
		t.Errorf("nodeInfo = %+v", info)
	}
	if n.Status.DaemonEndpoints.KubeletEndpoint.Port != 10250 {
		t.Errorf("kubelet port = %d", n.Status.DaemonEndpoints.KubeletEndpoint.Port)
	}
	ready := findCondition(n.Status.Conditions, v1.NodeReady)
	if ready.Status != v1.ConditionFalse || ready.Reason != "KubeletNotReady" ||
		!strings.HasPrefix(ready.Message, "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady") {
		t.Errorf("Ready = %+v", ready)
	}
	for _, ct := range []v1.NodeConditionType{v1.NodeMemoryPressure, v1.NodeDiskPressure, v1.NodePIDPressure} {
		if c := findCondition(n.Status.Conditions, ct); c == nil || c.Status != v1.ConditionFalse {
			t.Errorf("condition %s = %+v", ct, c)
		}
	}
}

func TestReRegistrationReconcilesLabels(t *testing.T) {
	existing := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node1", UID: "old-uid", Labels: map[string]string{"kubernetes.io/hostname": "wrong", "keep": "me"}}}
	c := newClient(existing)
	start(t, testOptions(c, &fakeRuntime{}))
	testutil.Eventually(t, "labels to be reconciled", func() bool {
		n, err := c.CoreV1().Nodes().Get(context.Background(), "node1", metav1.GetOptions{})
		return err == nil && n.Labels["kubernetes.io/hostname"] == "node1" && n.Labels["kubernetes.io/os"] == "linux"
	})
	n, _ := c.CoreV1().Nodes().Get(context.Background(), "node1", metav1.GetOptions{})
	if n.Labels["keep"] != "me" || n.UID != "old-uid" {
		t.Errorf("existing node not kept: labels %v uid %s", n.Labels, n.UID)
	}
	if _, ok := n.Labels["extra"]; ok {
		t.Errorf("--node-labels must only apply on creation, got %v", n.Labels)
	}
}

func TestRegistrationRetriesUntilAPIServerAnswers(t *testing.T) {
	c := newClient()
	var calls atomic.Int32
	c.PrependReactor("create", "nodes", func(k8stesting.Action) (bool, k8sruntime.Object, error) {
		if calls.Add(1) <= 3 {
			return true, nil, errors.New("connection refused")
		}
		return false, nil, nil
	})
	start(t, testOptions(c, &fakeRuntime{}))
	testutil.Eventually(t, "the node to be registered", func() bool {
		_, err := c.CoreV1().Nodes().Get(context.Background(), "node1", metav1.GetOptions{})
		return err == nil
	})
	if got := calls.Load(); got < 4 {
		t.Errorf("create calls = %d, want >= 4", got)
	}
}

func TestNodeStatusPostedOnlyOnChange(t *testing.T) {
	c := newClient()
	rt := &fakeRuntime{}
	opts := testOptions(c, rt)
	start(t, opts)
	testutil.Eventually(t, "the first status update", func() bool { return testutil.CountActions(c, "update", "nodes", "status") >= 1 })
	// Let many status periods pass: nothing changes, nothing is posted.
	gets := testutil.CountActions(c, "get", "nodes", "")
	testutil.Eventually(t, "several status checks", func() bool { return testutil.CountActions(c, "get", "nodes", "") >= gets+5 })
	if n := testutil.CountActions(c, "update", "nodes", "status"); n != 1 {
		t.Fatalf("status updates without a change = %d, want 1", n)
	}
	rt.setNetwork(true)
	testutil.Eventually(t, "the node to become Ready", func() bool {
		n, err := c.CoreV1().Nodes().Get(context.Background(), "node1", metav1.GetOptions{})
		return err == nil && nodeReady(n.Status)
	})
	n, _ := c.CoreV1().Nodes().Get(context.Background(), "node1", metav1.GetOptions{})
	if r := findCondition(n.Status.Conditions, v1.NodeReady); r.Reason != "KubeletReady" {
		t.Errorf("Ready reason = %q", r.Reason)
	}
}

func TestChooseNodeIP(t *testing.T) {
	ip, err := ChooseNodeIP("", "https://127.0.0.1:6443")
	if err != nil || ip != "127.0.0.1" {
		t.Errorf("ChooseNodeIP(loopback server) = %q, %v; want 127.0.0.1", ip, err)
	}
	if ip, err := ChooseNodeIP("10.9.9.9", "https://127.0.0.1:6443"); err != nil || ip != "10.9.9.9" {
		t.Errorf("ChooseNodeIP(--node-ip) = %q, %v; want the flag's 10.9.9.9", ip, err)
	}
	if ip, err := ChooseNodeIP("", ""); err != nil || ip == "" {
		t.Errorf("ChooseNodeIP(standalone) = %q, %v; want an address", ip, err)
	}
	for in, want := range map[string]string{"https://10.1.2.3:6443": "10.1.2.3", "10.1.2.3:6443": "10.1.2.3", "": "", "https://[fd00::1]:6443": "fd00::1"} {
		if got := serverHost(in); got != want {
			t.Errorf("serverHost(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestOSImage(t *testing.T) {
	if got := osImage("ID=debian\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"); got != "Debian GNU/Linux 12 (bookworm)" {
		t.Errorf("osImage = %q", got)
	}
}
