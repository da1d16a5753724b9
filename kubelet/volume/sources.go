package volume

import (
	"context"
	"fmt"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Sources are the API objects that volumes read (package kubelet/objects implements it).
// A missing object is an error for which apierrors.IsNotFound is true.
// ServiceAccountToken is called on every Prepare: it must return the same
// token until that token needs a refresh, else the volume is rewritten on
// every sync.
type Sources interface {
	ConfigMap(ctx context.Context, namespace, name string) (*v1.ConfigMap, error)
	Secret(ctx context.Context, namespace, name string) (*v1.Secret, error)
	ServiceAccountToken(ctx context.Context, pod *v1.Pod, p *v1.ServiceAccountTokenProjection) (string, error)
	PersistentVolumeClaim(ctx context.Context, namespace, name string) (*v1.PersistentVolumeClaim, error)
	PersistentVolume(ctx context.Context, name string) (*v1.PersistentVolume, error)
}

// Env is what Prepare needs besides the pod.
type Env struct {
	// Sources is nil for a static pod without the API server: a volume
	// that reads API objects then fails with a MountError.
	Sources Sources
	// NodeCPUMilli and NodeMemory (bytes) are the node's capacity, the
	// value of a resourceFieldRef to an unset limit.
	NodeCPUMilli, NodeMemory int64
}

// MountError is a volume that could not be set up; its message is the one
// of the upstream FailedMount event. The caller retries on a later sync.
type MountError struct {
	Volume string
	Err    error
}

func (e *MountError) Error() string {
	return fmt.Sprintf("MountVolume.SetUp failed for volume %q : %v", e.Volume, e.Err)
}

func (e *MountError) Unwrap() error { return e.Err }

// errNoAPI is a volume of a pod that has no API server to read from.
func errNoAPI(kind string) error {
	return fmt.Errorf("%s volumes read objects from the API server, which this static pod has none of; remove the volume or use hostPath", kind)
}

// lookupError words the failure to get object name of resource (the
// upstream kubelet's singular names: configmap, secret): a missing one as
// `configmap "x" not found`, whatever the Sources' wording.
func lookupError(resource, name string, err error) error {
	if apierrors.IsNotFound(err) {
		return apierrors.NewNotFound(schema.GroupResource{Resource: resource}, name)
	}
	return fmt.Errorf("failed to get %s %q: %w", resource, name, err)
}

// joinErrors is one error's own message, several in brackets (as the
// upstream aggregate error words them).
func joinErrors(errs []error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	return &multiError{errs}
}

type multiError struct{ errs []error }

func (m *multiError) Error() string {
	s := "["
	for i, e := range m.errs {
		if i > 0 {
			s += ", "
		}
		s += e.Error()
	}
	return s + "]"
}

func (m *multiError) Unwrap() []error { return m.errs }
