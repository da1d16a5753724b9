package podstatus

import (
	"context"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeadmin/kubeadmin/internal/testutil"
	"github.com/kubeadmin/kubeadmin/kubelet/status"
)

// TestAPIPodStatusFields: the fields upstream derives from the spec
// (volume mounts, resources once the container exists), the admission
// reason of a Failed pod, and the readiness gates.
func TestAPIPodStatusFields(t *testing.T) {
	pod := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default", UID: "u"},
		Spec: v1.PodSpec{
			ReadinessGates: []v1.PodReadinessGate{{ConditionType: "example.com/lb"}},
			Containers: []v1.Container{{Name: "c", Image: "img:1",
				Resources:    v1.ResourceRequirements{Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse("100m")}},
				VolumeMounts: []v1.VolumeMount{{Name: "cfg", MountPath: "/cfg", ReadOnly: true}, {Name: "data", MountPath: "/data"}}}},
		},
	}
	now := time.Now()
	started := now.Add(-time.Minute)
	rp := status.Pod{UID: "u", Phase: "Running", SandboxID: "sb", PodIP: "10.244.0.9",
		Containers: []status.Container{{Name: "c", ID: "abc", Image: "img:1", ImageID: "sha256:1", State: status.StateRunning, Ready: true, Started: true, StartedAt: &started}}}
	st := PodStatus(pod, rp, v1.PodStatus{}, "10.0.0.1", "containerd", now)
	cs := st.ContainerStatuses[0]
	if len(cs.VolumeMounts) != 2 || cs.VolumeMounts[0].RecursiveReadOnly == nil || *cs.VolumeMounts[0].RecursiveReadOnly != v1.RecursiveReadOnlyDisabled || cs.VolumeMounts[1].RecursiveReadOnly != nil {
		t.Errorf("volumeMounts = %+v", cs.VolumeMounts)
	}
	if cs.Resources == nil || cs.AllocatedResources.Cpu().MilliValue() != 100 || cs.ImageID != "sha256:1" {
		t.Errorf("resources %+v, allocated %v, imageID %q", cs.Resources, cs.AllocatedResources, cs.ImageID)
	}
	for _, c := range st.Conditions {
		if c.Type == v1.PodReady && (c.Status != v1.ConditionFalse || c.Reason != "ReadinessGatesNotReady") {
			t.Errorf("Ready = %+v, want False for the readiness gate", c)
		}
		if c.Type == v1.ContainersReady && c.Status != v1.ConditionTrue {
			t.Errorf("ContainersReady = %+v", c)
		}
	}
	rejected := PodStatus(pod, status.Pod{UID: "u", Phase: "Failed", Reason: "OutOfcpu", Message: "Pod was rejected: ..."}, v1.PodStatus{}, "10.0.0.1", "containerd", now)
	if rejected.Phase != v1.PodFailed || rejected.Reason != "OutOfcpu" || rejected.Message != "Pod was rejected: ..." {
		t.Errorf("rejected pod status = %s %q %q", rejected.Phase, rejected.Reason, rejected.Message)
	}
	if len(rejected.ContainerStatuses)+len(rejected.InitContainerStatuses) != 0 || rejected.StartTime == nil {
		t.Errorf("a pod rejected before it ran has container statuses %+v (kubectl would show them, not the reason) or no start time", rejected.ContainerStatuses)
	}
}

// TestAPIPodStatusWrittenAndDeletionFinished: the status of a pod the agent
// runs from the API server is written through the status subresource; a
// pod being deleted is removed (grace 0) only once the agent says nothing
// of it is left.
func TestAPIPodStatusWrittenAndDeletionFinished(t *testing.T) {
	c := newClient()
	ctx := context.Background()
	web := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", UID: "w1"},
		Spec: v1.PodSpec{NodeName: "node1", Containers: []v1.Container{{Name: "c", Image: "img:1"}}}}
	now := metav1.Now()
	gone := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "gone", Namespace: "default", UID: "g1", DeletionTimestamp: &now, Finalizers: []string{"x"}},
		Spec: v1.PodSpec{NodeName: "node1", Containers: []v1.Container{{Name: "c", Image: "img:1"}}}}
	for _, p := range []*v1.Pod{web, gone} {
		if _, err := c.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	p := &fakeProvider{}
	p.set(nil, []status.Pod{{Name: "web", Namespace: "default", UID: "w1", Phase: "Running", SandboxID: "s", PodIP: "10.244.0.7",
		Containers: []status.Container{{Name: "c", ID: "abc", Image: "img:1", State: status.StateRunning, Ready: true, Started: true}}}})
	start(t, testOptions(c), p)
	testutil.Eventually(t, "the status of web written", func() bool {
		got, err := c.CoreV1().Pods("default").Get(ctx, "web", metav1.GetOptions{})
		return err == nil && got.Status.Phase == v1.PodRunning && got.Status.PodIP == "10.244.0.7" && got.Status.HostIP == "10.0.0.5"
	})
	testutil.Consistently(t, 100*time.Millisecond, "a pod being deleted stays while the agent still has it", func() bool {
		_, err := c.CoreV1().Pods("default").Get(ctx, "gone", metav1.GetOptions{})
		return err == nil
	})
	p.setGone("g1")
	testutil.Eventually(t, "the deletion finished", func() bool {
		_, err := c.CoreV1().Pods("default").Get(ctx, "gone", metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
}
