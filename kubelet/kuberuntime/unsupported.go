package kuberuntime

import (
	"fmt"
	"path"
	"sort"
	"strings"

	v1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kubeadmin/kubeadmin/kubelet/volume"
)

// Unsupported lists the fields of pod that this agent cannot honour, or
// will not accept, each as an error naming the field, why, and what to do.
// A pod with any of them is refused whole rather than run without them:
//
//   - spec.hostUsers: false (user namespaces)
//   - seLinuxOptions, in the pod's or a container's securityContext
//   - AppArmor profiles of type Localhost (field or the beta annotation),
//     and annotation values that name no profile; RuntimeDefault and
//     Unconfined are honoured
//   - procMount other than Default
//   - volume types other than hostPath, emptyDir, configMap, secret,
//     projected (without clusterTrustBundle and podCertificate sources),
//     downwardAPI and persistentVolumeClaim (whose volume type is checked
//     when the volume is set up)
//   - emptyDir medium HugePages, and sizeLimit on a disk-backed emptyDir
//     (nothing would enforce it: the agent does not evict); medium Memory
//     is a tmpfs sized by sizeLimit and the pod's memory limit
//   - subPath or subPathExpr that is absolute or has a ".." element, or
//     both on one mount
//
// It is pure: the runAsNonRoot check needs the image and is
// VerifyRunAsNonRoot.
func Unsupported(pod *v1.Pod) []error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	spec := &pod.Spec
	if spec.HostUsers != nil && !*spec.HostUsers {
		bad("spec.hostUsers", "false asks for a user namespace, which this agent does not support; remove the field")
	}
	if psc := spec.SecurityContext; psc != nil {
		if psc.SELinuxOptions != nil {
			bad("spec.securityContext.seLinuxOptions", "SELinux labels are not supported by this agent; remove the field")
		}
		if p := psc.AppArmorProfile; p != nil && !appArmorHonoured(p.Type) {
			bad("spec.securityContext.appArmorProfile", "%s", appArmorWhy(p.Type))
		}
	}
	for _, k := range sortedKeys(pod.Annotations) {
		val := pod.Annotations[k]
		if !strings.HasPrefix(k, v1.DeprecatedAppArmorBetaContainerAnnotationKeyPrefix) {
			continue
		}
		field := "metadata.annotations[" + k + "]"
		switch {
		case val == v1.DeprecatedAppArmorBetaProfileRuntimeDefault, val == v1.DeprecatedAppArmorBetaProfileNameUnconfined:
		case strings.HasPrefix(val, v1.DeprecatedAppArmorBetaProfileNamePrefix):
			bad(field, "%s", appArmorWhy(v1.AppArmorProfileTypeLocalhost))
		default:
			bad(field, "%q is not an AppArmor profile; use %q or %q", val, v1.DeprecatedAppArmorBetaProfileRuntimeDefault, v1.DeprecatedAppArmorBetaProfileNameUnconfined)
		}
	}
	for i, vol := range spec.Volumes {
		switch {
		case vol.HostPath != nil, vol.ConfigMap != nil, vol.Secret != nil, vol.DownwardAPI != nil, vol.PersistentVolumeClaim != nil:
			continue
		case vol.Projected != nil:
			for j, src := range vol.Projected.Sources {
				if src.ClusterTrustBundle != nil || src.PodCertificate != nil {
					bad(fmt.Sprintf("spec.volumes[%d].projected.sources[%d].%s", i, j, volume.SourceType(&src)),
						"volume %q: this projected source is not supported by this agent; use %s", vol.Name, supportedProjections)
				}
			}
			continue
		case vol.EmptyDir == nil:
			kind := volume.SourceType(&vol.VolumeSource)
			bad(fmt.Sprintf("spec.volumes[%d].%s", i, kind), "volume %q: %s volumes are not supported by this agent; use %s", vol.Name, kind, supportedVolumes)
			continue
		}
		field := fmt.Sprintf("spec.volumes[%d].emptyDir.medium", i)
		switch m := vol.EmptyDir.Medium; {
		case m == v1.StorageMediumDefault, m == v1.StorageMediumMemory:
			// A disk emptyDir's sizeLimit is enforced by eviction.
		case m == v1.StorageMediumHugePages || strings.HasPrefix(string(m), string(v1.StorageMediumHugePagesPrefix)):
			bad(field, "%q is not supported by this agent; use medium %q (tmpfs) or remove medium to use the node's disk", m, v1.StorageMediumMemory)
		default:
			bad(field, "unknown medium %q; remove it to use the node's disk", m)
		}
	}
	for _, group := range []struct {
		field string
		cs    []v1.Container
	}{{"spec.initContainers", spec.InitContainers}, {"spec.containers", spec.Containers}} {
		for i := range group.cs {
			c := &group.cs[i]
			containerUnsupported(c, fmt.Sprintf("%s[%d]", group.field, i), bad)
		}
	}
	return errs
}

func containerUnsupported(c *v1.Container, field string, bad func(field, format string, args ...any)) {
	if sc := c.SecurityContext; sc != nil {
		if sc.SELinuxOptions != nil {
			bad(field+".securityContext.seLinuxOptions", "SELinux labels are not supported by this agent; remove the field")
		}
		if p := sc.AppArmorProfile; p != nil && !appArmorHonoured(p.Type) {
			bad(field+".securityContext.appArmorProfile", "%s", appArmorWhy(p.Type))
		}
		if sc.ProcMount != nil && *sc.ProcMount != v1.DefaultProcMount {
			bad(field+".securityContext.procMount", "%q needs a user namespace, which this agent does not support; use %q or remove the field", *sc.ProcMount, v1.DefaultProcMount)
		}
	}
	for j, m := range c.VolumeMounts {
		mf := fmt.Sprintf("%s.volumeMounts[%d]", field, j)
		if m.SubPath != "" && m.SubPathExpr != "" {
			bad(mf, "subPath and subPathExpr are mutually exclusive; keep one")
		}
		if m.SubPath != "" {
			if err := CheckSubPath(m.SubPath); err != nil {
				bad(mf+".subPath", "%v", err)
			}
		}
		if m.SubPathExpr != "" {
			if err := CheckSubPath(m.SubPathExpr); err != nil {
				bad(mf+".subPathExpr", "%v", err)
			}
		}
	}
}

// CheckSubPath refuses a sub-path that could leave its volume: an
// absolute path or one with a ".." element.
func CheckSubPath(p string) error {
	if path.IsAbs(p) {
		return fmt.Errorf("%q is an absolute path; a sub-path must be relative to its volume", p)
	}
	for _, part := range strings.Split(p, "/") {
		if part == ".." {
			return fmt.Errorf("%q has a \"..\" element; a sub-path must stay inside its volume", p)
		}
	}
	return nil
}

// The volume types and projected sources this agent sets up.
const (
	supportedVolumes     = "hostPath, emptyDir, configMap, secret, projected, downwardAPI or persistentVolumeClaim"
	supportedProjections = "serviceAccountToken, configMap, secret or downwardAPI"
)

func appArmorHonoured(t v1.AppArmorProfileType) bool {
	return t == v1.AppArmorProfileTypeRuntimeDefault || t == v1.AppArmorProfileTypeUnconfined
}

func appArmorWhy(t v1.AppArmorProfileType) string {
	if t == v1.AppArmorProfileTypeLocalhost {
		return fmt.Sprintf("AppArmor profiles of type %s are not supported by this agent; use %s or %s", t, v1.AppArmorProfileTypeRuntimeDefault, v1.AppArmorProfileTypeUnconfined)
	}
	return fmt.Sprintf("unknown AppArmor profile type %q; use %s or %s", t, v1.AppArmorProfileTypeRuntimeDefault, v1.AppArmorProfileTypeUnconfined)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// appArmor is the CRI AppArmor profile of c: the container's field, else
// the beta annotation, else the pod's field; nil when none is set. Only
// honoured types reach here (Unsupported refuses the others).
func appArmor(pod *v1.Pod, c *v1.Container) *runtimeapi.SecurityProfile {
	var t v1.AppArmorProfileType
	switch {
	case c.SecurityContext != nil && c.SecurityContext.AppArmorProfile != nil:
		t = c.SecurityContext.AppArmorProfile.Type
	case pod.Annotations[v1.DeprecatedAppArmorBetaContainerAnnotationKeyPrefix+c.Name] == v1.DeprecatedAppArmorBetaProfileRuntimeDefault:
		t = v1.AppArmorProfileTypeRuntimeDefault
	case pod.Annotations[v1.DeprecatedAppArmorBetaContainerAnnotationKeyPrefix+c.Name] == v1.DeprecatedAppArmorBetaProfileNameUnconfined:
		t = v1.AppArmorProfileTypeUnconfined
	case pod.Spec.SecurityContext != nil && pod.Spec.SecurityContext.AppArmorProfile != nil:
		t = pod.Spec.SecurityContext.AppArmorProfile.Type
	}
	switch t {
	case v1.AppArmorProfileTypeRuntimeDefault:
		return &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_RuntimeDefault}
	case v1.AppArmorProfileTypeUnconfined:
		return &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_Unconfined}
	}
	return nil
}

// appArmorName is the older string form of a profile, for runtimes that
// read only that field (containerd 1.6).
func appArmorName(p *runtimeapi.SecurityProfile) string {
	switch p.GetProfileType() {
	case runtimeapi.SecurityProfile_RuntimeDefault:
		return v1.DeprecatedAppArmorBetaProfileRuntimeDefault
	case runtimeapi.SecurityProfile_Unconfined:
		return v1.DeprecatedAppArmorBetaProfileNameUnconfined
	}
	return ""
}

// Why a container with runAsNonRoot may not start; the first matches the
// upstream kubelet's wording.
const (
	msgImageRunsAsRoot = "container has runAsNonRoot and image will run as root"
	msgRunAsUserRoot   = "container has runAsNonRoot and runAsUser 0 (root)"
	msgNonNumericUser  = "container has runAsNonRoot and image has non-numeric user %q, cannot verify user is non-root"
)

// NeedsNonRoot reports whether c must not run as root (runAsNonRoot of
// the container, else of the pod).
func NeedsNonRoot(pod *v1.Pod, c *v1.Container) bool {
	if c.SecurityContext != nil && c.SecurityContext.RunAsNonRoot != nil {
		return *c.SecurityContext.RunAsNonRoot
	}
	psc := pod.Spec.SecurityContext
	return psc != nil && psc.RunAsNonRoot != nil && *psc.RunAsNonRoot
}

// VerifyRunAsNonRoot refuses a container with runAsNonRoot whose
// effective user is root: runAsUser 0, or no runAsUser and an image whose
// user is 0, "root" or unset. imageUID and imageUser are the image's user
// as CRI ImageStatus reports it (a numeric user in imageUID, else a name).
// A non-numeric image user other than root cannot be checked and is
// refused too, as upstream.
func VerifyRunAsNonRoot(pod *v1.Pod, c *v1.Container, imageUID *int64, imageUser string) error {
	if !NeedsNonRoot(pod, c) {
		return nil
	}
	where := fmt.Sprintf(" (pod %q, container %q)", pod.Name, c.Name)
	var user *int64
	if csc := c.SecurityContext; csc != nil && csc.RunAsUser != nil {
		user = csc.RunAsUser
	} else if pod.Spec.SecurityContext != nil {
		user = pod.Spec.SecurityContext.RunAsUser
	}
	if user != nil {
		if *user == 0 {
			return fmt.Errorf("%s%s; set a non-zero runAsUser", msgRunAsUserRoot, where)
		}
		return nil
	}
	switch {
	case imageUID != nil && *imageUID == 0, imageUID == nil && (imageUser == "" || imageUser == "root"):
		return fmt.Errorf("%s%s; set a non-zero runAsUser or use an image with a non-root USER", msgImageRunsAsRoot, where)
	case imageUID == nil:
		return fmt.Errorf(msgNonNumericUser+"%s; set a numeric runAsUser", imageUser, where)
	}
	return nil
}

// SubPaths are the sub-paths of c's volume mounts by mount index: subPath
// as written, subPathExpr with $(VAR) expanded from the container's
// environment env. A result that could leave its volume is an error.
func SubPaths(c *v1.Container, env []*runtimeapi.KeyValue) (map[int]string, error) {
	vars := map[string]string{}
	for _, kv := range env {
		vars[kv.Key] = string(kv.Value)
	}
	out := map[int]string{}
	for i, m := range c.VolumeMounts {
		p := m.SubPath
		if m.SubPathExpr != "" {
			p = expand(m.SubPathExpr, vars)
		}
		if p == "" {
			continue
		}
		if err := CheckSubPath(p); err != nil {
			return nil, fmt.Errorf("volume mount %q at %q: %w", m.Name, m.MountPath, err)
		}
		out[i] = p
	}
	return out, nil
}
