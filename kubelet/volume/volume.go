// Package volume prepares what a container mounts on the host: hostPath,
// emptyDir, configMap, secret, projected, downwardAPI and
// persistentVolumeClaim volumes, sub-paths, the pod's /etc/hosts and the
// termination-message files, below <root-dir>/pods/<uid> as upstream.
package volume

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	v1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kubeadmin/kubeadmin/internal/fsutil"
)

// hostEtcHosts is the host's hosts file, copied for hostNetwork pods.
const hostEtcHosts = "/etc/hosts"

// localhostEntries start every generated hosts file.
const localhostEntries = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"

// PodDir is <root-dir>/pods/<uid>: the pod's emptyDirs, termination
// message files and etc-hosts. It is removed with the pod, through
// TeardownPodDir (Memory emptyDirs are mounts below it).
func PodDir(rootDir string, pod *v1.Pod) string {
	return filepath.Join(rootDir, "pods", string(pod.UID))
}

// pluginEmptyDir is the directory of emptyDir volumes below a pod's
// volumes, as upstream.
const pluginEmptyDir = "kubernetes.io~empty-dir"

// volumeDirMode is the mode of a volume's directories above the volume.
const volumeDirMode = 0o750

// emptyDirPath is where an emptyDir volume lives, as upstream.
func emptyDirPath(rootDir string, pod *v1.Pod, name string) string {
	return volumePath(rootDir, pod, pluginEmptyDir, name)
}

// volumePath is <pod dir>/volumes/<plugin>/<name>.
func volumePath(rootDir string, pod *v1.Pod, plugin, name string) string {
	return filepath.Join(PodDir(rootDir, pod), "volumes", plugin, name)
}

// Prepare creates what the pod's volumes need on the host and returns
// the host path of each volume. It runs on every sync of the pod and
// writes only what changed: a configMap, secret, projected or downwardAPI
// volume gets new files (swapped in at once, see writeAtomic) when its
// objects' content changed. hostPath types follow the API:
// DirectoryOrCreate creates a 0755 directory, FileOrCreate an empty 0644
// file, the other types must already exist with that type. A Memory
// emptyDir is a tmpfs mounted once: a later call keeps the mount.
//
// Every volume is prepared even when one fails; the error is the first
// failure, a *MountError naming the volume.
func Prepare(ctx context.Context, pod *v1.Pod, rootDir string, env Env) (map[string]string, error) {
	p := &preparer{ctx: ctx, pod: pod, rootDir: rootDir, env: env}
	paths := map[string]string{}
	var first error
	for i := range pod.Spec.Volumes {
		vol := &pod.Spec.Volumes[i]
		path, err := p.volume(vol)
		if err != nil {
			if first == nil {
				first = &MountError{Volume: vol.Name, Err: err}
			}
			continue
		}
		paths[vol.Name] = path
	}
	if first != nil {
		return nil, first
	}
	return paths, nil
}

// preparer sets up the volumes of one pod.
type preparer struct {
	ctx     context.Context
	pod     *v1.Pod
	rootDir string
	env     Env
}

func (p *preparer) volume(vol *v1.Volume) (string, error) {
	switch {
	case vol.HostPath != nil:
		if err := prepareHostPath(vol.HostPath); err != nil {
			return "", err
		}
		return vol.HostPath.Path, nil
	case vol.EmptyDir != nil:
		return p.emptyDir(vol)
	case vol.ConfigMap != nil:
		return p.configMap(vol)
	case vol.Secret != nil:
		return p.secret(vol)
	case vol.Projected != nil:
		return p.projected(vol)
	case vol.DownwardAPI != nil:
		return p.downwardAPI(vol)
	case vol.PersistentVolumeClaim != nil:
		return p.persistentVolumeClaim(vol)
	}
	return "", fmt.Errorf("%s volumes are not supported by this agent", SourceType(&vol.VolumeSource))
}

func (p *preparer) emptyDir(vol *v1.Volume) (string, error) {
	dir := emptyDirPath(p.rootDir, p.pod, vol.Name)
	if err := os.MkdirAll(dir, volumeDirMode); err != nil {
		return "", fmt.Errorf("failed to create directory %q: %w", dir, err)
	}
	if vol.EmptyDir.Medium == v1.StorageMediumMemory {
		size, sized := MemoryMediumSize(p.pod, vol.EmptyDir)
		if err := setupTmpfs(dir, size, sized); err != nil {
			return "", err
		}
	}
	// emptyDirs are world-writable as upstream (containers may run as any user).
	if err := os.Chmod(dir, emptyDirMode); err != nil { //nolint:gosec // upstream emptyDir mode
		return "", fmt.Errorf("failed to set the mode of %q: %w", dir, err)
	}
	return dir, nil
}

// diskDir creates the directory of a volume kept on the node's disk,
// world-writable as upstream's emptyDir below it.
func (p *preparer) diskDir(plugin, name string) (string, error) {
	dir := volumePath(p.rootDir, p.pod, plugin, name)
	if err := os.MkdirAll(dir, volumeDirMode); err != nil {
		return "", fmt.Errorf("failed to create directory %q: %w", dir, err)
	}
	st, err := os.Stat(dir)
	if err != nil {
		return "", err
	}
	if st.Mode().Perm() != emptyDirMode {
		if err := os.Chmod(dir, emptyDirMode); err != nil { //nolint:gosec // upstream emptyDir mode
			return "", fmt.Errorf("failed to set the mode of %q: %w", dir, err)
		}
	}
	return dir, nil
}

// memoryDir creates the directory of a volume kept in memory: a tmpfs of
// its own (its root mode 1777, the tmpfs default, as upstream), sized by
// the pod's memory limit or else the node's memory.
func (p *preparer) memoryDir(plugin, name string) (string, error) {
	dir := volumePath(p.rootDir, p.pod, plugin, name)
	if err := os.MkdirAll(dir, volumeDirMode); err != nil {
		return "", fmt.Errorf("failed to create directory %q: %w", dir, err)
	}
	size, sized := MemoryMediumSize(p.pod, &v1.EmptyDirVolumeSource{Medium: v1.StorageMediumMemory})
	if !sized && p.env.NodeMemory > 0 {
		size, sized = p.env.NodeMemory, true
	}
	data := ""
	if sized {
		data = "size=" + strconv.FormatInt(size, 10)
	}
	if err := tmpfsOnce(dir, data, emptyDirMode); err != nil {
		return "", err
	}
	return dir, nil
}

func prepareHostPath(hp *v1.HostPathVolumeSource) error {
	t := v1.HostPathUnset
	if hp.Type != nil {
		t = *hp.Type
	}
	p := hp.Path
	switch t {
	case v1.HostPathUnset:
		return nil
	case v1.HostPathDirectoryOrCreate:
		if err := os.MkdirAll(p, 0o755); err != nil {
			return fmt.Errorf("failed to create directory %q: %w", p, err)
		}
		return wantType(p, t)
	case v1.HostPathFileOrCreate:
		if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return fmt.Errorf("failed to create directory %q: %w", filepath.Dir(p), err)
			}
			f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
			if err != nil && !errors.Is(err, os.ErrExist) {
				return fmt.Errorf("failed to create file %q: %w", p, err)
			}
			if f != nil {
				_ = f.Close()
			}
		}
		return wantType(p, t)
	}
	return wantType(p, t)
}

// wantType checks that p exists and has the type hostPath type t asks for.
func wantType(p string, t v1.HostPathType) error {
	st, err := os.Stat(p)
	if err != nil {
		return fmt.Errorf("hostPath type %q: %w", t, err)
	}
	m := st.Mode()
	var ok bool
	switch t {
	case v1.HostPathDirectory, v1.HostPathDirectoryOrCreate:
		ok = m.IsDir()
	case v1.HostPathFile, v1.HostPathFileOrCreate:
		ok = m.IsRegular()
	case v1.HostPathSocket:
		ok = m&os.ModeSocket != 0
	case v1.HostPathCharDev:
		ok = m&os.ModeCharDevice != 0
	case v1.HostPathBlockDev:
		ok = m&os.ModeDevice != 0 && m&os.ModeCharDevice == 0
	}
	if !ok {
		return fmt.Errorf("hostPath type check failed: %q is not a %s", p, t)
	}
	return nil
}

// ContainerMounts renders the container's volume mounts (pure): each
// volume's host path, or the mount's resolved sub-path from subPaths (by
// mount index, as PrepareSubPaths returns them). ConfigMap, secret,
// projected and downwardAPI volumes are always read-only, as upstream, and
// a persistentVolumeClaim volume when its readOnly is set.
func ContainerMounts(pod *v1.Pod, c *v1.Container, volumes map[string]string, subPaths map[int]string) []*runtimeapi.Mount {
	readOnly := map[string]bool{}
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		readOnly[v.Name] = v.ConfigMap != nil || v.Secret != nil || v.Projected != nil || v.DownwardAPI != nil ||
			(v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ReadOnly)
	}
	var out []*runtimeapi.Mount
	for i, m := range c.VolumeMounts {
		host := volumes[m.Name]
		if p, ok := subPaths[i]; ok {
			host = p
		}
		out = append(out, &runtimeapi.Mount{
			ContainerPath: m.MountPath,
			HostPath:      host,
			Readonly:      m.ReadOnly || readOnly[m.Name],
			Propagation:   propagation(m.MountPropagation),
		})
	}
	return out
}

func propagation(p *v1.MountPropagationMode) runtimeapi.MountPropagation {
	if p == nil {
		return runtimeapi.MountPropagation_PROPAGATION_PRIVATE
	}
	switch *p {
	case v1.MountPropagationHostToContainer:
		return runtimeapi.MountPropagation_PROPAGATION_HOST_TO_CONTAINER
	case v1.MountPropagationBidirectional:
		return runtimeapi.MountPropagation_PROPAGATION_BIDIRECTIONAL
	}
	return runtimeapi.MountPropagation_PROPAGATION_PRIVATE
}

// MountsPath reports whether the container mounts something at p.
func MountsPath(c *v1.Container, p string) bool {
	for _, m := range c.VolumeMounts {
		if filepath.Clean(m.MountPath) == p {
			return true
		}
	}
	return false
}

// PrepareSubPaths resolves the sub-paths of c's mounts (relative paths by
// mount index, already checked by kuberuntime.SubPaths) inside their
// volumes and creates the missing directories. It returns the host path
// of each, with symbolic links resolved: a sub-path whose links lead
// outside its volume is refused, and no directory is ever created outside
// a volume.
func PrepareSubPaths(c *v1.Container, volumes map[string]string, subPaths map[int]string) (map[int]string, error) {
	out := map[int]string{}
	for i, m := range c.VolumeMounts {
		sub, ok := subPaths[i]
		if !ok {
			continue
		}
		root, ok := volumes[m.Name]
		if !ok {
			return nil, fmt.Errorf("volume mount %q: the pod has no volume of that name", m.Name)
		}
		p, err := resolveInside(root, sub)
		if err != nil {
			return nil, fmt.Errorf("volume mount %q at %q, sub-path %q: %w", m.Name, m.MountPath, sub, err)
		}
		out[i] = p
	}
	return out, nil
}

// resolveInside walks sub below root one element at a time, following
// symbolic links only while they stay inside root and creating missing
// directories (0755) there, and returns the resolved path.
func resolveInside(root, sub string) (string, error) {
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return "", fmt.Errorf("failed to resolve the volume %q: %w", root, err)
	}
	cur := realRoot
	for _, part := range strings.Split(filepath.Clean(sub), "/") {
		if part == "" || part == "." {
			continue
		}
		if part == ".." {
			return "", errors.New(`a sub-path must not have ".." elements`)
		}
		next := filepath.Join(cur, part)
		st, err := os.Lstat(next)
		switch {
		case errors.Is(err, os.ErrNotExist):
			if err := os.Mkdir(next, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
				return "", fmt.Errorf("failed to create directory %q: %w", next, err)
			}
			// Look again: something may have raced into its place.
			if st, err = os.Lstat(next); err != nil {
				return "", err
			}
			if st.Mode()&os.ModeSymlink != 0 {
				if next, err = followInside(realRoot, next); err != nil {
					return "", err
				}
			}
		case err != nil:
			return "", err
		case st.Mode()&os.ModeSymlink != 0:
			if next, err = followInside(realRoot, next); err != nil {
				return "", err
			}
		}
		cur = next
	}
	return cur, nil
}

// followInside resolves the symbolic link p and refuses a target outside
// root or one that does not exist (creating it could create outside).
func followInside(root, p string) (string, error) {
	target, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", fmt.Errorf("%q is a symbolic link that does not resolve (%v); a sub-path may only follow links to existing paths inside its volume", p, err)
	}
	if target != root && !strings.HasPrefix(target, root+string(filepath.Separator)) {
		return "", fmt.Errorf("%q is a symbolic link to %q, outside the volume %q", p, target, root)
	}
	return target, nil
}

// TerminationMessageFile creates the empty host file mounted at the
// terminationMessagePath of instance restartCount of container c
// (world-writable, as upstream): <pod dir>/containers/<name>/<restartCount>.
// One file per instance, so that garbage collection can tell which files
// belong to removed containers (ContainerFiles).
func TerminationMessageFile(rootDir string, pod *v1.Pod, c *v1.Container, restartCount int) (string, error) {
	p := filepath.Join(ContainerFiles(rootDir, string(pod.UID)), c.Name, strconv.Itoa(restartCount))
	if err := fsutil.WriteFileAtomic(p, nil, 0o666, 0o750); err != nil {
		return "", err
	}
	return p, nil
}

// ContainerFiles is the directory of the termination-message files of pod
// uid: <pod dir>/containers/<name>/<restartCount>.
func ContainerFiles(rootDir, uid string) string {
	return filepath.Join(rootDir, "pods", uid, "containers")
}

// EtcHostsFile writes <pod dir>/etc-hosts for a new container: the host's
// /etc/hosts for hostNetwork pods, a small generated file naming podIP for
// others. It is rewritten whenever its content changes, so that a new
// sandbox's IP replaces the old one.
func EtcHostsFile(rootDir string, pod *v1.Pod, podIP, hostname string) (string, error) {
	p := filepath.Join(PodDir(rootDir, pod), "etc-hosts")
	var content []byte
	if pod.Spec.HostNetwork {
		data, err := os.ReadFile(hostEtcHosts)
		if err != nil {
			data = []byte(localhostEntries)
		}
		content = data
	} else {
		content = []byte("# Kubernetes-managed hosts file.\n" + localhostEntries)
		if podIP != "" {
			content = append(content, []byte(fmt.Sprintf("%s\t%s\n", podIP, hostname))...)
		}
	}
	if old, err := os.ReadFile(p); err == nil && bytes.Equal(old, content) {
		return p, nil
	}
	if err := fsutil.WriteFileAtomic(p, content, 0o644, 0o750); err != nil {
		return "", err
	}
	return p, nil
}
