package volume

import (
	"fmt"
	"os"
	"reflect"
	"strings"

	v1 "k8s.io/api/core/v1"
)

// persistentVolumeClaim resolves a claim to its bound persistent volume
// and returns the volume's host path. Only hostPath and local volumes are
// supported; their path is mounted directly (upstream bind-mounts a local
// volume below the pod's directory first, to the same effect).
func (p *preparer) persistentVolumeClaim(vol *v1.Volume) (string, error) {
	if p.env.Sources == nil {
		return "", errNoAPI("persistentVolumeClaim")
	}
	name := vol.PersistentVolumeClaim.ClaimName
	claim, err := p.env.Sources.PersistentVolumeClaim(p.ctx, p.pod.Namespace, name)
	if err != nil {
		return "", lookupError("persistentvolumeclaim", name, err)
	}
	if claim.Status.Phase != v1.ClaimBound || claim.Spec.VolumeName == "" {
		phase := claim.Status.Phase
		if phase == "" {
			phase = v1.ClaimPending
		}
		return "", fmt.Errorf("persistentvolumeclaim %q is not bound (phase %s); the pod waits until a persistent volume is bound to it", name, phase)
	}
	pv, err := p.env.Sources.PersistentVolume(p.ctx, claim.Spec.VolumeName)
	if err != nil {
		return "", lookupError("persistentvolume", claim.Spec.VolumeName, err)
	}
	if ref := pv.Spec.ClaimRef; ref == nil || ref.Name != name || ref.Namespace != claim.Namespace || (ref.UID != "" && ref.UID != claim.UID) {
		return "", fmt.Errorf("persistentvolume %q is not bound to persistentvolumeclaim %q", pv.Name, name)
	}
	switch src := &pv.Spec.PersistentVolumeSource; {
	case src.HostPath != nil:
		if err := prepareHostPath(src.HostPath); err != nil {
			return "", fmt.Errorf("persistentvolume %q: %w", pv.Name, err)
		}
		return src.HostPath.Path, nil
	case src.Local != nil:
		if _, err := os.Stat(src.Local.Path); err != nil {
			return "", fmt.Errorf("persistentvolume %q: local path %q: %w", pv.Name, src.Local.Path, err)
		}
		return src.Local.Path, nil
	default:
		return "", fmt.Errorf("persistentvolume %q is of type %s; this agent supports only hostPath and local persistent volumes", pv.Name, SourceType(src))
	}
}

// SourceType is the JSON name of the one set member of a volume source
// struct (VolumeSource, VolumeProjection, PersistentVolumeSource),
// "unknown" for none.
func SourceType(src any) string {
	v := reflect.Indirect(reflect.ValueOf(src))
	for i := 0; i < v.NumField(); i++ {
		if f := v.Field(i); f.Kind() == reflect.Pointer && !f.IsNil() {
			name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ",")
			return name
		}
	}
	return "unknown"
}
