package kubelet

import (
	"os"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kubeadmin/kubeadmin/internal/testutil"
	"github.com/kubeadmin/kubeadmin/kubelet/kuberuntime"
	"github.com/kubeadmin/kubeadmin/kubelet/podsource"
)

// apiPod is a defaulted pod as the API server sends it, bound to node1.
func apiPod(name, uid string) *v1.Pod {
	grace := int64(30)
	return &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID(uid),
			Annotations: map[string]string{podsource.ConfigSourceAnnotation: podsource.APISource}},
		Spec: v1.PodSpec{
			NodeName: "node1", RestartPolicy: v1.RestartPolicyAlways, DNSPolicy: v1.DNSDefault,
			TerminationGracePeriodSeconds: &grace,
			Containers: []v1.Container{{Name: "c", Image: "img:1", ImagePullPolicy: v1.PullIfNotPresent,
				TerminationMessagePath: v1.TerminationMessagePathDefault, TerminationMessagePolicy: v1.TerminationMessageReadFile}},
		},
	}
}

func apiTestConfig(t *testing.T) Options {
	cfg := testConfig(t)
	cfg.APIPods = true
	return cfg
}

func running(rt *testRuntime) bool {
	_, st := rt.find("c")
	return st == runtimeapi.ContainerState_CONTAINER_RUNNING
}

// TestAPIPodRunsAndGracefulDeletion: an API pod runs next to the static
// pods; when its deletion starts, its containers stop with the deletion's
// grace period, everything is removed, and only then is it reported gone.
func TestAPIPodRunsAndGracefulDeletion(t *testing.T) {
	rt := newTestRuntime()
	ta := startAgent(t, rt, apiTestConfig(t))
	ta.apply(snapshot())
	p := apiPod("web", "u1")
	ta.SetAPIPods([]*v1.Pod{p})
	testutil.Eventually(t, "the API pod running", func() bool { return running(rt) })
	if ta.PodGone("u1") {
		t.Fatal("PodGone is true for a running pod")
	}
	d := p.DeepCopy()
	now := metav1.Now()
	g := int64(7)
	d.DeletionTimestamp, d.DeletionGracePeriodSeconds = &now, &g
	ta.SetAPIPods([]*v1.Pod{d})
	testutil.Eventually(t, "the pod removed from the runtime", func() bool {
		c, s := rt.objects()
		return c == 0 && s == 0
	})
	testutil.Eventually(t, "PodGone", func() bool { return ta.PodGone("u1") })
	if _, err := os.Stat(kuberuntime.PodLogDir(ta.opts.PodLogsDir, p)); !os.IsNotExist(err) {
		t.Errorf("the log directory of the deleted pod is still there (%v)", err)
	}
	if got := rt.lastStopTimeout(); got != 7 {
		t.Errorf("StopContainer timeout = %d, want the deletion's grace period 7", got)
	}
	// A deleted pod is never started again.
	testutil.Consistently(t, 50*time.Millisecond, "no new sandbox", func() bool {
		_, s := rt.objects()
		return s == 0
	})
}

// TestAdmissionRejectsAPIPod: a pod that admission refuses is reported
// Failed with the reason and message, and nothing of it runs.
func TestAdmissionRejectsAPIPod(t *testing.T) {
	rt := newTestRuntime()
	cfg := apiTestConfig(t)
	cfg.Admit = func(pod *v1.Pod, admitted []*v1.Pod) (bool, string, string) {
		return false, "OutOfcpu", "Pod was rejected: Node didn't have enough resource: cpu"
	}
	ta := startAgent(t, rt, cfg)
	ta.apply(snapshot())
	ta.SetAPIPods([]*v1.Pod{apiPod("big", "u2")})
	testutil.Eventually(t, "the pod reported Failed", func() bool {
		for _, p := range ta.Report().Pods {
			if p.UID == "u2" {
				return p.Phase == string(v1.PodFailed) && p.Reason == "OutOfcpu"
			}
		}
		return false
	})
	if _, s := rt.objects(); s != 0 {
		t.Errorf("a rejected pod got %d sandboxes", s)
	}
}

// TestRuntimePodsWaitForTheAPIList: with pods from the API server, a pod
// found in the runtime is not stopped before the first API list says it
// is unwanted (an API server that is down must not stop workloads).
func TestRuntimePodsWaitForTheAPIList(t *testing.T) {
	rt := newTestRuntime()
	seedRunningPod(rt, "u3", "old", "node1")
	ta := startAgent(t, rt, apiTestConfig(t))
	ta.apply(snapshot())
	testutil.Consistently(t, 100*time.Millisecond, "the running pod kept", func() bool {
		c, _ := rt.objects()
		return c == 1 && rt.count("StopContainer") == 0
	})
	ta.SetAPIPods(nil)
	testutil.Eventually(t, "the unwanted pod removed", func() bool {
		c, s := rt.objects()
		return c == 0 && s == 0
	})
}

// TestTerminalAPIPodIsNotStarted: a pod the API shows as finished is not
// run again (after an agent restart, say).
func TestTerminalAPIPodIsNotStarted(t *testing.T) {
	rt := newTestRuntime()
	ta := startAgent(t, rt, apiTestConfig(t))
	ta.apply(snapshot())
	p := apiPod("done", "u4")
	p.Spec.RestartPolicy = v1.RestartPolicyNever
	p.Status.Phase = v1.PodSucceeded
	ta.SetAPIPods([]*v1.Pod{p})
	testutil.Consistently(t, 100*time.Millisecond, "no sandbox", func() bool {
		_, s := rt.objects()
		return s == 0
	})
}
