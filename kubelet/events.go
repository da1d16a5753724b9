package kubelet

import (
	"fmt"
	"strings"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Recorder records events about pods and their containers; client-go's
// record.EventRecorder satisfies it.
type Recorder interface {
	Eventf(object runtime.Object, eventtype, reason, messageFmt string, args ...any)
}

type nopRecorder struct{}

func (nopRecorder) Eventf(runtime.Object, string, string, string, ...any) {}

// Event reasons, spelled as the upstream kubelet spells them: users and
// tools filter `kubectl get events` on them.
const (
	eventCreated           = "Created"
	eventStarted           = "Started"
	eventFailed            = "Failed"
	eventKilling           = "Killing"
	eventBackOff           = "BackOff"
	eventPulling           = "Pulling"
	eventPulled            = "Pulled"
	eventErrImageNeverPull = "ErrImageNeverPull"
	eventUnhealthy         = "Unhealthy"
	eventFailedMount       = "FailedMount"
	eventFailedSandbox     = "FailedCreatePodSandBox"
	eventSandboxChanged    = "SandboxChanged"
	eventFailedPostStart   = "FailedPostStartHook"
	eventFailedPreStop     = "FailedPreStopHook"
	eventExceededGrace     = "ExceededGracePeriod"
)

// containerRef is the event object for container c of pod: the pod with
// the container's field path, as `kubectl describe pod` groups them.
func containerRef(pod *v1.Pod, c *v1.Container) *v1.ObjectReference {
	path := "spec.containers{" + c.Name + "}"
	for i := range pod.Spec.InitContainers {
		if pod.Spec.InitContainers[i].Name == c.Name {
			path = "spec.initContainers{" + c.Name + "}"
		}
	}
	return &v1.ObjectReference{
		Kind: "Pod", APIVersion: "v1", Namespace: pod.Namespace, Name: pod.Name,
		UID: pod.UID, ResourceVersion: pod.ResourceVersion, FieldPath: path,
	}
}

// podRef is the event object for the pod itself.
func podRef(pod *v1.Pod) *v1.ObjectReference {
	return &v1.ObjectReference{Kind: "Pod", APIVersion: "v1", Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID, ResourceVersion: pod.ResourceVersion}
}

// containerEvent records an event of container c; the container's ID in
// a runtime message is replaced by its name, so that repeated events
// aggregate.
func (w *podWorker) containerEvent(pod *v1.Pod, c *v1.Container, id, eventtype, reason, format string, args ...any) {
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	if id != "" {
		msg = strings.ReplaceAll(msg, id, c.Name)
	}
	w.a.opts.Recorder.Eventf(containerRef(pod, c), eventtype, reason, "%s", msg)
}

// podEvent records an event of the pod.
func (w *podWorker) podEvent(pod *v1.Pod, eventtype, reason, format string, args ...any) {
	w.a.opts.Recorder.Eventf(podRef(pod), eventtype, reason, format, args...)
}
