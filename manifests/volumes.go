package manifests

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubeadmin/kubeadmin/internal/config"
)

// Volume names and paths shared by the control-plane components.
const (
	certsVolumeName      = "k8s-certs"
	caCertsVolumeName    = "ca-certs"
	caCertsVolumePath    = "/etc/ssl/certs"
	kubeconfigVolumeName = "kubeconfig"
	etcdDataVolumeName   = "etcd-data"
	etcdCertsVolumeName  = "etcd-certs"
)

// caCertsExtraVolumePaths are mounted into the API server and the
// controller-manager only when they exist on the host, because files in
// /etc/ssl/certs may be symlinks into them.
var caCertsExtraVolumePaths = []string{
	"/etc/pki/ca-trust",
	"/etc/pki/tls/certs",
	"/etc/ca-certificates",
	"/usr/share/ca-certificates",
	"/usr/local/share/ca-certificates",
}

// hostPathMounts collects the hostPath volumes and mounts of one component,
// unique by name (a later mount of the same name replaces an earlier one,
// which is how user extraVolumes override defaults).
type hostPathMounts struct {
	volumes map[string]corev1.Volume
	mounts  map[string]corev1.VolumeMount
}

func newHostPathMounts() *hostPathMounts {
	return &hostPathMounts{volumes: map[string]corev1.Volume{}, mounts: map[string]corev1.VolumeMount{}}
}

func (h *hostPathMounts) add(name, hostPath, mountPath string, readOnly bool, pathType corev1.HostPathType) {
	h.volumes[name] = hostPathVolume(name, hostPath, pathType)
	h.mounts[name] = corev1.VolumeMount{Name: name, MountPath: mountPath, ReadOnly: readOnly}
}

func (h *hostPathMounts) addExtra(extra []config.HostPathMount) {
	for _, v := range extra {
		h.add(v.Name, v.HostPath, v.MountPath, v.ReadOnly, v.PathType)
	}
}

// sortedVolumes returns the volumes sorted by name.
func (h *hostPathMounts) sortedVolumes() []corev1.Volume {
	out := make([]corev1.Volume, 0, len(h.volumes))
	for _, v := range h.volumes {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// sortedMounts returns the mounts sorted by name.
func (h *hostPathMounts) sortedMounts() []corev1.VolumeMount {
	out := make([]corev1.VolumeMount, 0, len(h.mounts))
	for _, m := range h.mounts {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func hostPathVolume(name, path string, pathType corev1.HostPathType) corev1.Volume {
	t := pathType
	return corev1.Volume{
		Name:         name,
		VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: path, Type: &t}},
	}
}

// addCATrust mounts the certificates directory, /etc/ssl/certs and the
// CA-trust directories that exist on the host.
func (r Renderer) addCATrust(h *hostPathMounts, certDir string) {
	h.add(certsVolumeName, certDir, certDir, true, corev1.HostPathDirectoryOrCreate)
	h.add(caCertsVolumeName, caCertsVolumePath, caCertsVolumePath, true, corev1.HostPathDirectoryOrCreate)
	for _, p := range caCertsExtraVolumePaths {
		if r.exists(p) {
			name := strings.ReplaceAll(p, "/", "-")[1:]
			h.add(name, p, p, true, corev1.HostPathDirectoryOrCreate)
		}
	}
}

// externalEtcdCertDirs returns the distinct directories holding the
// external etcd CA, certificate and key that are not already mounted
// (under /etc/ssl/certs, a CA-trust directory or the certificates
// directory); a directory whose parent is listed is dropped. Sorted.
func externalEtcdCertDirs(e *config.ExternalEtcd, certDir string) []string {
	dirs := map[string]bool{}
	for _, p := range []string{e.CAFile, e.CertFile, e.KeyFile} {
		dir := filepath.ToSlash(filepath.Dir(p))
		if dir == "." || alreadyMounted(dir, certDir) {
			continue
		}
		covered := false
		for existing := range dirs {
			if strings.HasPrefix(existing, dir) {
				delete(dirs, existing)
			} else if strings.HasPrefix(dir, existing) {
				covered = true
			}
		}
		if !covered {
			dirs[dir] = true
		}
	}
	out := make([]string, 0, len(dirs))
	for d := range dirs {
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}

func alreadyMounted(dir, certDir string) bool {
	if strings.HasPrefix(dir, caCertsVolumePath) || strings.HasPrefix(dir, certDir) {
		return true
	}
	for _, p := range caCertsExtraVolumePaths {
		if strings.HasPrefix(dir, p) {
			return true
		}
	}
	return false
}

// addExternalEtcdCerts mounts etcd-certs-<i> for each external etcd cert dir.
func addExternalEtcdCerts(h *hostPathMounts, e *config.ExternalEtcd, certDir string) {
	for i, dir := range externalEtcdCertDirs(e, certDir) {
		h.add(fmt.Sprintf("etcd-certs-%d", i), dir, dir, true, corev1.HostPathDirectoryOrCreate)
	}
}
