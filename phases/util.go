package phases

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeadmin/kubeadmin/internal/fsutil"
	"github.com/kubeadmin/kubeadmin/manifests"
)

// parseDuration parses a Go duration flag value.
func parseDuration(s string) (*metav1.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return nil, err
	}
	return &metav1.Duration{Duration: d}, nil
}

// writeStaticPod renders pod, applies the user's patches for the component
// and writes it to the manifest directory (0600, directory 0700).
func writeStaticPod(d *InitData, component string, pod *corev1.Pod) error {
	if pod == nil {
		return fmt.Errorf("no static Pod manifest is defined for %q", component)
	}
	data, err := manifests.MarshalPod(pod)
	if err != nil {
		return fmt.Errorf("failed to serialize the static Pod manifest for %q: %w", component, err)
	}
	if d.PatchesDir() != "" {
		if data, err = manifests.ApplyPatches(d.PatchesDir(), component, data, d.Out()); err != nil {
			return err
		}
	}
	path := filepath.Join(d.ManifestDir(), componentManifest(component))
	if err := fsutil.WriteFileAtomic(path, data, 0o600, 0o700); err != nil {
		return fmt.Errorf("failed to write the static Pod manifest for %q: %w", component, err)
	}
	return nil
}

// parseFlagsEnv turns the kubeadm-flags.env line
// KUBELET_KUBEADM_ARGS="--a=b --c=d" into arguments, as a shell would for
// the unquoted variable in kubeadm's systemd drop-in.
func parseFlagsEnv(env []byte) []string {
	line := strings.TrimSpace(string(env))
	_, value, ok := strings.Cut(line, "=")
	if !ok {
		return nil
	}
	if v, err := strconv.Unquote(value); err == nil {
		value = v
	}
	return strings.Fields(value)
}
