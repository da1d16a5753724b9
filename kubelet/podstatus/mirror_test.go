package podstatus

import (
	"context"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubeadmin/kubeadmin/internal/testutil"
	"github.com/kubeadmin/kubeadmin/kubelet/status"
)

func staticPod(name, hash string) *v1.Pod {
	return &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "kube-system", UID: types.UID(hash),
			Labels:      map[string]string{"component": name},
			Annotations: map[string]string{AnnotationConfigHash: hash, "kubernetes.io/config.source": "file"}},
		Spec: v1.PodSpec{NodeName: "node1", HostNetwork: true, Containers: []v1.Container{{Name: "c", Image: "img:1"}}},
	}
}

func getPod(c *fake.Clientset, name string) *v1.Pod {
	p, err := c.CoreV1().Pods("kube-system").Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		return nil
	}
	return p
}

func TestMirrorPodLifecycle(t *testing.T) {
	c := newClient()
	p := &fakeProvider{}
	p.set([]*v1.Pod{staticPod("etcd-node1", "h1")}, nil)
	start(t, testOptions(c), p)

	testutil.Eventually(t, "the mirror pod", func() bool { return getPod(c, "etcd-node1") != nil })
	m := getPod(c, "etcd-node1")
	node, _ := c.CoreV1().Nodes().Get(context.Background(), "node1", metav1.GetOptions{})
	if m.Annotations[AnnotationConfigMirror] != "h1" || m.Annotations[AnnotationConfigHash] != "h1" || m.Labels["component"] != "etcd-node1" {
		t.Errorf("mirror metadata: labels %v annotations %v", m.Labels, m.Annotations)
	}
	if m.Spec.NodeName != "node1" {
		t.Errorf("mirror nodeName = %q", m.Spec.NodeName)
	}
	or := m.OwnerReferences
	if len(or) != 1 || or[0].APIVersion != "v1" || or[0].Kind != "Node" || or[0].Name != "node1" || or[0].UID != node.UID || or[0].Controller == nil || !*or[0].Controller {
		t.Errorf("owner references = %+v (node uid %q)", or, node.UID)
	}

	// Deleted by a user: recreated.
	if err := c.CoreV1().Pods("kube-system").Delete(context.Background(), "etcd-node1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, "the mirror pod to be recreated", func() bool { return getPod(c, "etcd-node1") != nil })

	// The static pod changes: the mirror is replaced.
	old := getPod(c, "etcd-node1").UID
	p.set([]*v1.Pod{staticPod("etcd-node1", "h2")}, nil)
	testutil.Eventually(t, "the mirror pod to be replaced", func() bool {
		m := getPod(c, "etcd-node1")
		return m != nil && m.Annotations[AnnotationConfigMirror] == "h2" && m.UID != old
	})

	// An orphan mirror of this node is deleted, other pods are left alone.
	orphan := MirrorPod(staticPod("gone-node1", "h9"), "node1", node.UID)
	other := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "user", Namespace: "kube-system"}, Spec: v1.PodSpec{NodeName: "node1"}}
	for _, x := range []*v1.Pod{orphan, other} {
		if _, err := c.CoreV1().Pods("kube-system").Create(context.Background(), x, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	testutil.Eventually(t, "the orphan mirror to be deleted", func() bool { return getPod(c, "gone-node1") == nil })
	if getPod(c, "user") == nil {
		t.Errorf("a non-mirror pod was deleted")
	}

	// The static pod is removed: its mirror is deleted.
	p.set(nil, nil)
	testutil.Eventually(t, "the mirror of a removed static pod to be deleted", func() bool { return getPod(c, "etcd-node1") == nil })
}

// TestMirrorPodsWatchedNotListed: the pods of the node are listed once
// (field selector spec.nodeName) and then watched, across many resync
// periods and a mirror recreated after a deletion.
func TestMirrorPodsWatchedNotListed(t *testing.T) {
	c := newClient()
	p := &fakeProvider{}
	p.set([]*v1.Pod{staticPod("etcd-node1", "h1")}, nil)
	opts := testOptions(c)
	start(t, opts, p)
	testutil.Eventually(t, "the mirror pod", func() bool { return getPod(c, "etcd-node1") != nil })
	old := getPod(c, "etcd-node1").UID
	if err := c.CoreV1().Pods("kube-system").Delete(context.Background(), "etcd-node1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, "the mirror pod to be recreated", func() bool {
		m := getPod(c, "etcd-node1")
		return m != nil && m.UID != old
	})
	rounds := p.rounds()
	// At least three MirrorResyncPeriods of 30 ms at 10 ms a round.
	testutil.Eventually(t, "many sync rounds", func() bool { return p.rounds() >= rounds+10 })
	var lists, watches int
	for _, a := range c.Actions() {
		if a.GetResource().Resource != "pods" {
			continue
		}
		switch a.GetVerb() {
		case "list":
			lists++
			if fs := a.(k8stesting.ListAction).GetListRestrictions().Fields.String(); fs != "spec.nodeName=node1" {
				t.Errorf("list field selector = %q, want spec.nodeName=node1", fs)
			}
		case "watch":
			watches++
		}
	}
	if lists != 1 || watches < 1 {
		t.Errorf("pods listed %d times and watched %d times, want one list and a watch", lists, watches)
	}
}

func TestPodStatusWrittenOnlyOnChange(t *testing.T) {
	c := newClient()
	p := &fakeProvider{}
	sp := staticPod("api-node1", "h1")
	started := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	running := status.Pod{Name: sp.Name, Namespace: sp.Namespace, UID: "h1", Phase: "Running", SandboxID: "sb", PodIP: "10.0.0.5",
		Containers: []status.Container{{Name: "c", ID: "abc", Image: "img:1", State: status.StateRunning, Started: true, Ready: false, StartedAt: &started}}}
	p.set([]*v1.Pod{sp}, []status.Pod{running})
	opts := testOptions(c)
	start(t, opts, p)
	testutil.Eventually(t, "the pod status", func() bool {
		m := getPod(c, "api-node1")
		return m != nil && m.Status.Phase == v1.PodRunning
	})
	rounds := p.rounds()
	testutil.Eventually(t, "several sync rounds", func() bool { return p.rounds() >= rounds+5 })
	if n := testutil.CountActions(c, "update", "pods", "status"); n != 1 {
		t.Fatalf("status writes without a change = %d, want 1", n)
	}
	running.Containers = []status.Container{running.Containers[0]}
	running.Containers[0].Ready = true
	p.set([]*v1.Pod{sp}, []status.Pod{running})
	testutil.Eventually(t, "the Ready status", func() bool {
		m := getPod(c, "api-node1")
		return m != nil && len(m.Status.ContainerStatuses) == 1 && m.Status.ContainerStatuses[0].Ready
	})
	if n := testutil.CountActions(c, "update", "pods", "status"); n != 2 {
		t.Errorf("status writes after one change = %d, want 2", n)
	}
	m := getPod(c, "api-node1")
	if m.Status.HostIP != "10.0.0.5" || m.Status.PodIP != "10.0.0.5" || m.Status.ContainerStatuses[0].ContainerID != "containerd://abc" {
		t.Errorf("status = %+v", m.Status)
	}
}

func TestPodStatus(t *testing.T) {
	started := time.Date(2026, 1, 1, 0, 0, 0, 500, time.UTC)
	one, zero := int32(1), int32(0)
	now := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	spec := staticPod("x", "h")
	spec.Spec.InitContainers = []v1.Container{{Name: "init", Image: "i:1"}}
	tests := []struct {
		name      string
		rp        status.Pod
		wantPhase v1.PodPhase
		wantReady v1.ConditionStatus
		wantInit  v1.ConditionStatus
		check     func(t *testing.T, st v1.PodStatus)
	}{
		{
			name: "running and ready",
			rp: status.Pod{Phase: "Running", SandboxID: "sb", Containers: []status.Container{
				{Name: "init", Init: true, ID: "i1", State: status.StateTerminated, ExitCode: &zero, Reason: "Completed"},
				{Name: "c", ID: "c1", State: status.StateRunning, Ready: true, Started: true, StartedAt: &started, RestartCount: 2, LastExitCode: &one, LastReason: "Error"},
			}},
			wantPhase: v1.PodRunning, wantReady: v1.ConditionTrue, wantInit: v1.ConditionTrue,
			check: func(t *testing.T, st v1.PodStatus) {
				cs := st.ContainerStatuses[0]
				if cs.ContainerID != "containerd://c1" || cs.RestartCount != 2 || cs.State.Running == nil || !cs.State.Running.StartedAt.Time.Equal(started.Truncate(time.Second)) {
					t.Errorf("container status = %+v", cs)
				}
				if lt := cs.LastTerminationState.Terminated; lt == nil || lt.ExitCode != 1 || lt.Reason != "Error" {
					t.Errorf("last state = %+v", cs.LastTerminationState)
				}
				if st.PodIP != "10.0.0.5" || st.HostIP != "10.0.0.5" {
					t.Errorf("IPs = %q %q", st.PodIP, st.HostIP)
				}
			},
		},
		{
			name: "crash looping",
			rp: status.Pod{Phase: "Running", SandboxID: "sb", Containers: []status.Container{
				{Name: "init", Init: true, State: status.StateTerminated, ExitCode: &zero},
				{Name: "c", State: status.StateWaiting, Reason: "CrashLoopBackOff", Message: "back-off 10s", LastExitCode: &one, LastReason: "Error"},
			}},
			wantPhase: v1.PodRunning, wantReady: v1.ConditionFalse, wantInit: v1.ConditionTrue,
			check: func(t *testing.T, st v1.PodStatus) {
				if w := st.ContainerStatuses[0].State.Waiting; w == nil || w.Reason != "CrashLoopBackOff" {
					t.Errorf("state = %+v", st.ContainerStatuses[0].State)
				}
			},
		},
		{
			name:      "initializing",
			rp:        status.Pod{Phase: "Pending", Containers: []status.Container{{Name: "init", Init: true, State: status.StateRunning}}},
			wantPhase: v1.PodPending, wantReady: v1.ConditionFalse, wantInit: v1.ConditionFalse,
			check: func(t *testing.T, st v1.PodStatus) {
				if st.PodIP != "" {
					t.Errorf("pod IP without a sandbox = %q", st.PodIP)
				}
				if w := st.ContainerStatuses[0].State.Waiting; w == nil || w.Reason != "ContainerCreating" {
					t.Errorf("state = %+v", st.ContainerStatuses[0].State)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := v1.PodStatus{QOSClass: v1.PodQOSBestEffort}
			st := PodStatus(spec, tt.rp, old, "10.0.0.5", "containerd", now)
			if st.Phase != tt.wantPhase {
				t.Errorf("phase = %s, want %s", st.Phase, tt.wantPhase)
			}
			if st.QOSClass != v1.PodQOSBestEffort {
				t.Errorf("qosClass not kept: %q", st.QOSClass)
			}
			conds := map[v1.PodConditionType]v1.ConditionStatus{}
			for _, c := range st.Conditions {
				conds[c.Type] = c.Status
			}
			if conds[v1.PodReady] != tt.wantReady || conds[v1.ContainersReady] != tt.wantReady || conds[v1.PodInitialized] != tt.wantInit || conds[v1.PodScheduled] != v1.ConditionTrue {
				t.Errorf("conditions = %v", conds)
			}
			// Recomputing from the result changes nothing.
			again := PodStatus(spec, tt.rp, st, "10.0.0.5", "containerd", now.Add(time.Hour))
			for i := range again.Conditions {
				if !again.Conditions[i].LastTransitionTime.Equal(&st.Conditions[i].LastTransitionTime) {
					t.Errorf("condition %s transition time moved", again.Conditions[i].Type)
				}
			}
			tt.check(t, st)
		})
	}
}

// TestMirrorStatusRewrittenAfterAnotherWriter: when someone else changes
// a mirror pod's status (the node lifecycle controller marks pods not
// Ready while the node is NotReady), the loop compares against that newer
// copy and writes the agent's status again.
func TestMirrorStatusRewrittenAfterAnotherWriter(t *testing.T) {
	c := newClient()
	p := &fakeProvider{}
	sp := staticPod("etcd-node1", "h1")
	p.set([]*v1.Pod{sp}, []status.Pod{{Name: "etcd-node1", Namespace: "kube-system", UID: "h1", Phase: "Running", SandboxID: "s",
		Containers: []status.Container{{Name: "c", ID: "abc", Image: "img:1", State: status.StateRunning, Ready: true, Started: true}}}})
	start(t, testOptions(c), p)
	ready := func() v1.ConditionStatus {
		m := getPod(c, "etcd-node1")
		if m == nil {
			return ""
		}
		for _, cond := range m.Status.Conditions {
			if cond.Type == v1.PodReady {
				return cond.Status
			}
		}
		return ""
	}
	testutil.Eventually(t, "the mirror Ready", func() bool { return ready() == v1.ConditionTrue })
	m := getPod(c, "etcd-node1")
	for i := range m.Status.Conditions {
		if m.Status.Conditions[i].Type == v1.PodReady {
			m.Status.Conditions[i].Status = v1.ConditionFalse
		}
	}
	if _, err := c.CoreV1().Pods("kube-system").UpdateStatus(context.Background(), m, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, "the mirror Ready again", func() bool { return ready() == v1.ConditionTrue })
}
