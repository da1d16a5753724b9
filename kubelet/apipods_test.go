package kubelet

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kubeadmin/kubeadmin/internal/testutil"
	"github.com/kubeadmin/kubeadmin/kubelet/kuberuntime"
	"github.com/kubeadmin/kubeadmin/kubelet/podsource"
	"github.com/kubeadmin/kubeadmin/kubelet/status"
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

// reported is the agent's report of pod uid (zero if absent).
func reported(ta *testAgent, uid string) status.Pod {
	for _, p := range ta.Report().Pods {
		if p.UID == uid {
			return p
		}
	}
	return status.Pod{}
}

// TestActiveDeadlineEndsThePod: past activeDeadlineSeconds the pod's
// containers stop and it is Failed with DeadlineExceeded, as upstream.
func TestActiveDeadlineEndsThePod(t *testing.T) {
	rt := newTestRuntime()
	ta := startAgent(t, rt, apiTestConfig(t))
	ta.apply(snapshot())
	p := apiPod("late", "u5")
	d := int64(1)
	p.Spec.ActiveDeadlineSeconds = &d
	started := metav1.NewTime(time.Now().Add(-time.Minute))
	p.Status.StartTime = &started
	ta.SetAPIPods([]*v1.Pod{p})
	testutil.Eventually(t, "the pod Failed with DeadlineExceeded", func() bool {
		r := reported(ta, "u5")
		return r.Phase == string(v1.PodFailed) && r.Reason == reasonDeadlineExceeded && r.Message == msgDeadlineExceeded
	})
	testutil.Consistently(t, 100*time.Millisecond, "no container runs", func() bool { return !running(rt) })
}

// TestEmptyDirOverItsLimitIsEvicted: a disk emptyDir over its sizeLimit
// evicts the pod (Failed, Evicted, upstream's message).
func TestEmptyDirOverItsLimitIsEvicted(t *testing.T) {
	rt := newTestRuntime()
	ta := newTestAgent(t, rt, apiTestConfig(t))
	ta.usagePeriod = 20 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	ta.cancel = cancel
	if err := ta.start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ta.stop)
	ta.apply(snapshot())
	p := apiPod("full", "u6")
	limit := resource.MustParse("16Ki")
	p.Spec.Volumes = []v1.Volume{{Name: "scratch", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{SizeLimit: &limit}}}}
	ta.SetAPIPods([]*v1.Pod{p})
	testutil.Eventually(t, "the pod running", func() bool { return running(rt) })
	testutil.Consistently(t, 60*time.Millisecond, "not evicted while under the limit", func() bool { return reported(ta, "u6").Reason == "" })
	dir := filepath.Join(ta.opts.RootDir, "pods", "u6", "volumes", "kubernetes.io~empty-dir", "scratch")
	if err := os.WriteFile(filepath.Join(dir, "blob"), make([]byte, 256<<10), 0o644); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, "the pod evicted", func() bool {
		r := reported(ta, "u6")
		return r.Phase == string(v1.PodFailed) && r.Reason == reasonEvicted && r.Message == `Usage of EmptyDir volume "scratch" exceeds the limit "16Ki". `
	})
	testutil.Eventually(t, "its container stopped", func() bool { return !running(rt) })
}

// The agent's own status write, coming back through the watch, starts no
// sync; a change of the spec or the metadata does.
func TestStatusOnlyUpdateStartsNoSync(t *testing.T) {
	pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default", UID: "u1", ResourceVersion: "1", Labels: map[string]string{"a": "1"}}}
	w := (&Agent{}).newWorker(pod)
	poked := func() bool {
		select {
		case <-w.trigger:
			return true
		default:
			return false
		}
	}
	status := pod.DeepCopy()
	status.ResourceVersion = "2"
	status.Status.Phase = v1.PodRunning
	w.update(status)
	if poked() {
		t.Error("a status-only update started a sync")
	}
	if got, _ := w.state(); got != status {
		t.Error("the worker did not keep the newer pod")
	}
	labels := status.DeepCopy()
	labels.ResourceVersion = "3"
	labels.Labels["a"] = "2"
	w.update(labels)
	if !poked() {
		t.Error("a label change started no sync (downwardAPI files follow labels)")
	}
	spec := labels.DeepCopy()
	spec.ResourceVersion = "4"
	spec.Spec.ActiveDeadlineSeconds = new(int64)
	w.update(spec)
	if !poked() {
		t.Error("a spec change started no sync")
	}
}

// testSources serves ConfigMaps from a map; the others are not found.
type testSources struct {
	mu  sync.Mutex
	cms map[string]*v1.ConfigMap
	// token, if set, answers ServiceAccountToken.
	token func() (string, error)
}

func (s *testSources) ConfigMap(_ context.Context, ns, name string) (*v1.ConfigMap, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cm, ok := s.cms[ns+"/"+name]; ok {
		return cm, nil
	}
	return nil, apierrors.NewNotFound(v1.Resource("configmaps"), name)
}

func (s *testSources) Secret(_ context.Context, _, name string) (*v1.Secret, error) {
	return nil, apierrors.NewNotFound(v1.Resource("secrets"), name)
}
func (s *testSources) Services(context.Context) ([]*v1.Service, error) { return nil, nil }
func (s *testSources) ServiceAccountToken(context.Context, *v1.Pod, *v1.ServiceAccountTokenProjection) (string, error) {
	if s.token != nil {
		return s.token()
	}
	return "", errors.New("no tokens here")
}
func (s *testSources) PersistentVolumeClaim(_ context.Context, _, name string) (*v1.PersistentVolumeClaim, error) {
	return nil, apierrors.NewNotFound(v1.Resource("persistentvolumeclaims"), name)
}
func (s *testSources) PersistentVolume(_ context.Context, name string) (*v1.PersistentVolume, error) {
	return nil, apierrors.NewNotFound(v1.Resource("persistentvolumes"), name)
}
func (s *testSources) Track(*v1.Pod)     {}
func (s *testSources) Untrack(types.UID) {}

// startWithSources starts an agent for API pods whose objects come from
// src and whose events go to the returned recorder.
func startWithSources(t *testing.T, src *testSources) (*testRuntime, *testAgent, *record.FakeRecorder) {
	rt := newTestRuntime()
	cfg := apiTestConfig(t)
	rec := record.NewFakeRecorder(100)
	cfg.Sources, cfg.Recorder = src, rec
	ta := startAgent(t, rt, cfg)
	ta.apply(snapshot())
	return rt, ta, rec
}

// TestFirstSandboxStartsBesideTheVolumes: a pod's first sandbox is started
// while its volumes are set up; while a ConfigMap is missing, the pod's
// status shows no sandbox and no IP (as when the sandbox waits for the
// volumes) and only FailedMount is recorded; once the ConfigMap exists
// the containers start in that same sandbox.
func TestFirstSandboxStartsBesideTheVolumes(t *testing.T) {
	src := &testSources{cms: map[string]*v1.ConfigMap{}}
	rt, ta, rec := startWithSources(t, src)
	p := apiPod("web", "u1")
	p.Spec.Volumes = []v1.Volume{{Name: "conf", VolumeSource: v1.VolumeSource{ConfigMap: &v1.ConfigMapVolumeSource{
		LocalObjectReference: v1.LocalObjectReference{Name: "app-config"}}}}}
	p.Spec.Containers[0].VolumeMounts = []v1.VolumeMount{{Name: "conf", MountPath: "/etc/app"}}
	ta.SetAPIPods([]*v1.Pod{p})
	testutil.Eventually(t, "the first sandbox, started beside the volumes", func() bool {
		_, s := rt.objects()
		return s == 1
	})
	report := func() status.Pod {
		for _, rp := range ta.Report().Pods {
			if rp.UID == "u1" {
				return rp
			}
		}
		return status.Pod{}
	}
	testutil.Consistently(t, 300*time.Millisecond, "no container, and a status without the sandbox", func() bool {
		c, _ := rt.objects()
		r := report()
		return c == 0 && r.SandboxID == "" && r.PodIP == ""
	})
	var events []string
	for len(rec.Events) > 0 {
		events = append(events, <-rec.Events)
	}
	if !slices.ContainsFunc(events, func(e string) bool { return strings.Contains(e, "FailedMount") }) ||
		slices.ContainsFunc(events, func(e string) bool { return strings.Contains(e, "FailedCreatePodSandBox") }) {
		t.Errorf("events %q: want FailedMount and no sandbox failure", events)
	}
	src.mu.Lock()
	src.cms["default/app-config"] = &v1.ConfigMap{Data: map[string]string{"k": "v"}}
	src.mu.Unlock()
	testutil.Eventually(t, "the container running once the ConfigMap exists", func() bool { return running(rt) })
	if n := rt.count("RunPodSandbox"); n != 1 {
		t.Errorf("RunPodSandbox called %d times, want 1 (the sandbox started beside the volumes)", n)
	}
	testutil.Eventually(t, "the status showing the sandbox", func() bool { return report().SandboxID != "" })
}

// TestTokenRefusedJustAfterBindingIsRetriedQuietly: the API server refuses
// a just-bound pod's token until its node authorizer has seen the binding;
// the agent tries again at once and records no FailedMount.
func TestTokenRefusedJustAfterBindingIsRetriedQuietly(t *testing.T) {
	var calls atomic.Int32
	src := &testSources{cms: map[string]*v1.ConfigMap{}, token: func() (string, error) {
		if calls.Add(1) <= 2 {
			return "", apierrors.NewForbidden(v1.Resource("serviceaccounts"), "default",
				errors.New("node requested token bound to a pod scheduled on a different node"))
		}
		return "token", nil
	}}
	rt, ta, rec := startWithSources(t, src)
	p := apiPod("web", "u1")
	p.Spec.Volumes = []v1.Volume{{Name: "token", VolumeSource: v1.VolumeSource{Projected: &v1.ProjectedVolumeSource{
		Sources: []v1.VolumeProjection{{ServiceAccountToken: &v1.ServiceAccountTokenProjection{Path: "token"}}}}}}}
	ta.SetAPIPods([]*v1.Pod{p})
	testutil.Eventually(t, "the pod running once the token is given", func() bool { return running(rt) })
	if n := calls.Load(); n < 3 {
		t.Errorf("%d token requests, want the two refusals and the grant", n)
	}
	for len(rec.Events) > 0 {
		if e := <-rec.Events; strings.Contains(e, "FailedMount") {
			t.Errorf("event %q for a refusal within the binding lag", e)
		}
	}
	// Removed, so that its token's tmpfs is unmounted.
	ta.SetAPIPods(nil)
	testutil.Eventually(t, "the pod removed", func() bool { return ta.PodGone("u1") })
}
