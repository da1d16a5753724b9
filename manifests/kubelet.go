package manifests

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	kubeletv1beta1 "k8s.io/kubelet/config/v1beta1"
	"sigs.k8s.io/yaml"

	"github.com/kubeadmin/kubeadmin/internal/config"
	"github.com/kubeadmin/kubeadmin/internal/constants"
	"github.com/kubeadmin/kubeadmin/internal/fsutil"
)

// File modes of the kubelet-start files and of their directory (kubeadm's).
const (
	KubeletFileMode os.FileMode = 0o644
	KubeletDirMode  os.FileMode = 0o700
)

// KubeletHostname returns the host name as the kubelet sees it by default:
// os.Hostname, trimmed and lower-cased.
func KubeletHostname() (string, error) {
	h, err := os.Hostname()
	if err != nil {
		return "", fmt.Errorf("failed to get the host name: %w", err)
	}
	return strings.ToLower(strings.TrimSpace(h)), nil
}

// KubeletFlagsEnv renders /var/lib/kubelet/kubeadm-flags.env: one line
// KUBELET_KUBEADM_ARGS="<args>" (Go %q quoting). The sorted defaults are
// --hostname-override=<nodeName> when the node name (or the
// hostname-override extra arg) differs from hostname, and, for a joining
// worker only, --register-with-taints=<taints>; extraArgs follow (kubeadm's
// replace-and-append rule). An empty nodeName means the host name.
func KubeletFlagsEnv(nodeName, hostname string, extraArgs []config.Arg, registerTaints []corev1.Taint, isJoinWorker bool) []byte {
	var defaults argSet
	if isJoinWorker && len(registerTaints) > 0 {
		taints := make([]string, 0, len(registerTaints))
		for i := range registerTaints {
			taints = append(taints, registerTaints[i].ToString())
		}
		defaults.set("register-with-taints", strings.Join(taints, ","))
	}
	if nodeName == "" {
		nodeName = hostname
	}
	if v, ok := argValue(extraArgs, "hostname-override"); ok {
		nodeName = v
	}
	if nodeName != hostname {
		defaults.set("hostname-override", nodeName)
	}
	args := ArgumentsToCommand(defaults, extraArgs)
	return fmt.Appendf(nil, "%s=%q\n", constants.KubeletEnvVarName, strings.Join(args, " "))
}

// InstanceConfig renders /var/lib/kubelet/instance-config.yaml:
// `containerRuntimeEndpoint: "<criSocket>"` and a newline.
func InstanceConfig(criSocket string) []byte {
	return fmt.Appendf(nil, "containerRuntimeEndpoint: %q\n", criSocket)
}

// MarshalKubeletConfig serializes kc as kubeadm does (apiVersion
// kubelet.config.k8s.io/v1beta1, kind KubeletConfiguration, keys sorted).
func MarshalKubeletConfig(kc *kubeletv1beta1.KubeletConfiguration) ([]byte, error) {
	if kc == nil {
		return nil, fmt.Errorf("failed to marshal the KubeletConfiguration: it is nil")
	}
	c := kc.DeepCopy()
	c.APIVersion, c.Kind = config.KubeletAPI, config.KindKubelet
	out, err := yaml.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("failed to marshal the KubeletConfiguration: %w", err)
	}
	return out, nil
}

// ApplyInstanceConfig applies InstanceConfig(criSocket) to a serialized
// KubeletConfiguration as a strategic-merge patch, as kubeadm does, and
// returns YAML.
func ApplyInstanceConfig(kubeletConfig []byte, criSocket string) ([]byte, error) {
	data, err := yaml.YAMLToJSON(kubeletConfig)
	if err != nil {
		return nil, fmt.Errorf("failed to convert the KubeletConfiguration to JSON: %w", err)
	}
	patch, err := yaml.YAMLToJSON(InstanceConfig(criSocket))
	if err != nil {
		return nil, fmt.Errorf("failed to convert the kubelet instance configuration to JSON: %w", err)
	}
	data, err = strategicpatch.StrategicMergePatch(data, patch, kubeletv1beta1.KubeletConfiguration{})
	if err != nil {
		return nil, fmt.Errorf("failed to apply the kubelet instance configuration: %w", err)
	}
	out, err := yaml.JSONToYAML(data)
	if err != nil {
		return nil, fmt.Errorf("failed to convert the patched KubeletConfiguration to YAML: %w", err)
	}
	return out, nil
}

// KubeletConfigFile renders /var/lib/kubelet/config.yaml without user
// patches: kc serialized, then the instance configuration applied so that
// containerRuntimeEndpoint is instanceCRISocket.
func KubeletConfigFile(kc *kubeletv1beta1.KubeletConfiguration, instanceCRISocket string) ([]byte, error) {
	data, err := MarshalKubeletConfig(kc)
	if err != nil {
		return nil, err
	}
	return ApplyInstanceConfig(data, instanceCRISocket)
}

// BuildKubeletConfigFile renders /var/lib/kubelet/config.yaml in kubeadm's
// exact order: kc serialized, then the "kubeletconfiguration" patches of
// patchesDir (if not empty), then the instance configuration, printing
// kubeadm's "[patches] ..." lines (including the one for the instance
// configuration) to out.
func BuildKubeletConfigFile(kc *kubeletv1beta1.KubeletConfiguration, criSocket, patchesDir string, out io.Writer) ([]byte, error) {
	data, err := MarshalKubeletConfig(kc)
	if err != nil {
		return nil, err
	}
	if patchesDir != "" {
		if data, err = ApplyPatches(patchesDir, PatchTargetKubeletConfiguration, data, out); err != nil {
			return nil, fmt.Errorf("could not apply patches to the KubeletConfiguration: %w", err)
		}
	}
	if data, err = ApplyInstanceConfig(data, criSocket); err != nil {
		return nil, err
	}
	if out != nil {
		fmt.Fprintf(out, "[patches] Applied patch of type %q to target %q\n", types.StrategicMergePatchType, PatchTargetKubeletConfiguration)
	}
	return data, nil
}

// WriteKubeletFiles writes kubeadm-flags.env, instance-config.yaml and
// config.yaml (in that order, kubeadm init's) into kubeletDir: files 0644,
// the directory created 0700 if missing. Each write is atomic.
func WriteKubeletFiles(kubeletDir string, flagsEnv, instanceConfig, kubeletConfig []byte) error {
	files := []struct {
		name string
		data []byte
	}{
		{constants.KubeletFlagsEnvFile, flagsEnv},
		{constants.KubeletInstanceFile, instanceConfig},
		{constants.KubeletConfigFile, kubeletConfig},
	}
	for _, f := range files {
		if err := WriteKubeletFile(kubeletDir, f.name, f.data); err != nil {
			return err
		}
	}
	return nil
}

// WriteKubeletFile writes one kubelet-start file (0644) into kubeletDir
// (created 0700 if missing), for callers that need join's order.
func WriteKubeletFile(kubeletDir, name string, data []byte) error {
	path := filepath.Join(kubeletDir, name)
	if err := fsutil.WriteFileAtomic(path, data, KubeletFileMode, KubeletDirMode); err != nil {
		return fmt.Errorf("failed to write the kubelet file %q: %w", path, err)
	}
	return nil
}
