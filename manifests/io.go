package manifests

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/kubeadmin/kubeadmin/internal/fsutil"
)

// File modes of the static-pod manifests, their directory and the etcd data
// directory (kubeadm's, and CIS 1.1.1-1.1.11).
const (
	ManifestFileMode os.FileMode = 0o600
	ManifestDirMode  os.FileMode = 0o700
	EtcdDataDirMode  os.FileMode = 0o700
)

// MarshalPod serializes pod as kubeadm writes a static-pod manifest: the
// JSON form of the v1 Pod converted to YAML (keys sorted, "status: {}" last).
// apiVersion and kind are always "v1" and "Pod".
func MarshalPod(pod *corev1.Pod) ([]byte, error) {
	p := *pod
	p.APIVersion, p.Kind = "v1", "Pod"
	out, err := yaml.Marshal(&p)
	if err != nil {
		return nil, fmt.Errorf("failed to marshal the static pod %q to YAML: %w", pod.Name, err)
	}
	return out, nil
}

// ManifestPath returns <dir>/<component>.yaml.
func ManifestPath(dir, component string) string {
	return filepath.Join(dir, component+".yaml")
}

// WriteStaticPod is the one writer of static-pod manifests: it serializes
// pod, applies the user's patches for component from patchesDir (none when
// empty; out receives their notices), and writes <dir>/<component>.yaml
// atomically with mode 0600, creating dir with 0700 if it is missing.
func WriteStaticPod(dir, component string, pod *corev1.Pod, patchesDir string, out io.Writer) error {
	if pod == nil {
		return fmt.Errorf("no static Pod manifest is defined for %q", component)
	}
	data, err := MarshalPod(pod)
	if err != nil {
		return fmt.Errorf("failed to serialize the static Pod manifest for %q: %w", component, err)
	}
	if patchesDir != "" {
		if data, err = ApplyPatches(patchesDir, component, data, out); err != nil {
			return err
		}
	}
	path := ManifestPath(dir, component)
	if err := fsutil.WriteFileAtomic(path, data, ManifestFileMode, ManifestDirMode); err != nil {
		return fmt.Errorf("failed to write the static Pod manifest for %q: %w", component, err)
	}
	return nil
}

// ReadStaticPod reads a Pod manifest (YAML or JSON) from path.
func ReadStaticPod(path string) (*corev1.Pod, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("failed to read the manifest %q: %w", path, err)
	}
	pod, err := UnmarshalPod(data)
	if err != nil {
		return nil, fmt.Errorf("failed to parse the manifest %q: %w", path, err)
	}
	return pod, nil
}

// UnmarshalPod decodes a v1 Pod from YAML or JSON; kind and apiVersion must
// be "Pod" and "v1".
func UnmarshalPod(data []byte) (*corev1.Pod, error) {
	pod := &corev1.Pod{}
	if err := yaml.Unmarshal(data, pod); err != nil {
		return nil, fmt.Errorf("failed to decode a Pod: %w", err)
	}
	if pod.Kind != "Pod" || pod.APIVersion != "v1" {
		return nil, fmt.Errorf("expected apiVersion \"v1\" and kind \"Pod\", got apiVersion %q and kind %q", pod.APIVersion, pod.Kind)
	}
	return pod, nil
}

// CreateEtcdDataDir creates the etcd data directory with mode 0700 if it
// does not exist. An existing directory and its content are left alone; an
// existing non-directory is an error.
func CreateEtcdDataDir(path string) error {
	st, err := os.Stat(path)
	switch {
	case err == nil && st.IsDir():
		return nil
	case err == nil:
		return fmt.Errorf("failed to create the etcd data directory %q: it exists and is not a directory; remove it or set etcd.local.dataDir to another path", path)
	case !errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("failed to inspect the etcd data directory %q: %w", path, err)
	}
	if err := os.MkdirAll(path, EtcdDataDirMode); err != nil {
		return fmt.Errorf("failed to create the etcd data directory %q: %w", path, err)
	}
	// MkdirAll honours the umask; enforce the mode on the directory it made.
	if err := os.Chmod(path, EtcdDataDirMode); err != nil {
		return fmt.Errorf("failed to set the mode of the etcd data directory %q: %w", path, err)
	}
	return nil
}
