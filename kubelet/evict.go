package kubelet

import (
	"context"
	"fmt"
	"time"

	v1 "k8s.io/api/core/v1"

	"github.com/kubeadmin/kubeadmin/kubelet/podsource"
	"github.com/kubeadmin/kubeadmin/kubelet/volume"
)

// Why the agent ends a pod it runs, in upstream's words.
const (
	reasonDeadlineExceeded = "DeadlineExceeded"
	msgDeadlineExceeded    = "Pod was active on the node longer than the specified deadline"
	reasonEvicted          = "Evicted"
	msgEmptyDirExceeded    = "Usage of EmptyDir volume %q exceeds the limit %q. "
)

const (
	// usageCheckPeriod is how often emptyDirs with a sizeLimit are
	// measured (upstream's eviction monitoring interval).
	usageCheckPeriod = 10 * time.Second
	// evictionGrace is the grace period of an evicted pod's containers.
	evictionGrace = 1
)

// ending is why the agent stopped a pod for good while it stays bound:
// its containers are stopped and it is Failed with this reason.
type ending struct {
	reason, message string
	grace           int64
}

// checkEnd decides whether the pod must end now: past its
// activeDeadlineSeconds, or an emptyDir over its sizeLimit. It returns
// when to look again at the latest.
func (w *podWorker) checkEnd(pod *v1.Pod) time.Duration {
	next := w.a.resyncPeriod
	if d := pod.Spec.ActiveDeadlineSeconds; d != nil {
		start := w.seen
		if st := pod.Status.StartTime; st != nil && st.Time.Before(start) {
			start = st.Time
		}
		left := time.Until(start.Add(time.Duration(*d) * time.Second))
		if left <= 0 {
			w.end(pod, ending{reasonDeadlineExceeded, msgDeadlineExceeded, podGrace(pod)}, v1.EventTypeNormal)
			return next
		}
		next = min(next, left)
	}
	if !podsource.IsAPIPod(pod) {
		return next // static pods are critical: never evicted
	}
	limited := false
	for _, vol := range pod.Spec.Volumes {
		ed := vol.EmptyDir
		if ed == nil || ed.SizeLimit == nil || ed.Medium == v1.StorageMediumMemory {
			continue
		}
		limited = true
		if time.Since(w.usageChecked) < w.a.usagePeriod {
			continue
		}
		used, err := volume.EmptyDirUsage(w.a.opts.RootDir, pod, vol.Name)
		if err == nil && used > ed.SizeLimit.Value() {
			w.end(pod, ending{reasonEvicted, fmt.Sprintf(msgEmptyDirExceeded, vol.Name, ed.SizeLimit.String()), evictionGrace}, v1.EventTypeWarning)
			return next
		}
	}
	if limited {
		if time.Since(w.usageChecked) >= w.a.usagePeriod {
			w.usageChecked = time.Now()
		}
		next = min(next, w.a.usagePeriod)
	}
	return next
}

// end records why the pod ends, with an event.
func (w *podWorker) end(pod *v1.Pod, e ending, eventtype string) {
	w.ended = &e
	w.a.logf("pod %q: %s: %s; stopping its containers", pod.Name, e.reason, e.message)
	w.podEvent(pod, eventtype, e.reason, "%s", e.message)
}

// stopEnded stops the containers of an ended pod; the sandbox and the
// dead containers stay until the pod is deleted, as for a completed pod.
func (w *podWorker) stopEnded(ctx context.Context, pod *v1.Pod, rp *runtimePod) error {
	w.a.probes.removePod(pod.UID)
	p := pod.DeepCopy()
	p.DeletionGracePeriodSeconds = &w.ended.grace
	return w.stopContainers(ctx, p, rp.containers)
}
