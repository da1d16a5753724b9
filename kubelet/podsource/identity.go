package podsource

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// The annotations every static pod carries. Their keys and values are read
// by the API server (mirror pods), by kubeadm and by users' tooling, so
// they are spelled exactly as the upstream kubelet spells them.
const (
	// ConfigHashAnnotation holds the pod's UID, the manifest's digest.
	ConfigHashAnnotation = "kubernetes.io/config.hash"
	// ConfigSourceAnnotation names where the pod came from.
	ConfigSourceAnnotation = "kubernetes.io/config.source"
	// ConfigSeenAnnotation is when this UID was first read (RFC 3339).
	ConfigSeenAnnotation = "kubernetes.io/config.seen"
	// FileSource is the ConfigSourceAnnotation value of manifest files.
	FileSource = "file"
	// MirrorAnnotation marks a mirror pod, the API server's copy of a
	// static pod; its value is the static pod's hash.
	MirrorAnnotation = "kubernetes.io/config.mirror"
)

// bindStatic turns a decoded, defaulted pod into node's static pod read
// from file; it runs before validation, which checks the final name.
//
// A static pod is known to the runtime, to the API server and to the status
// report by its UID and its name, so both must be the same on every read
// of an unchanged manifest and must differ between nodes:
//
//   - UID: the uid written in the manifest if there is one, else a digest
//     of the node, the file path and the defaulted pod (see manifestDigest);
//   - name: the manifest's name, "-", the node name in lower case;
//   - node binding: spec.nodeName, a toleration of every NoExecute taint
//     (a node problem must not evict its own control plane), phase Pending;
//   - annotations: the digest and the source, set over whatever the
//     manifest wrote; config.seen is added later by the Source.
func bindStatic(pod *v1.Pod, node, file string) error {
	// The digest covers the pod as the manifest describes it, so it is
	// taken before any of the fields below are touched.
	if pod.UID == "" {
		digest, err := manifestDigest(pod, node, file)
		if err != nil {
			return err
		}
		pod.UID = digest
	}
	pod.Name = staticPodName(pod.Name, node)

	spec := &pod.Spec
	spec.NodeName = node
	spec.Tolerations = withNoExecuteToleration(spec.Tolerations)
	pod.Status.Phase = v1.PodPending

	if pod.Annotations == nil {
		pod.Annotations = make(map[string]string, 3)
	}
	pod.Annotations[ConfigHashAnnotation] = string(pod.UID)
	pod.Annotations[ConfigSourceAnnotation] = FileSource
	return nil
}

// tolerateNoExecute matches every NoExecute taint.
var tolerateNoExecute = v1.Toleration{Operator: v1.TolerationOpExists, Effect: v1.TaintEffectNoExecute}

// withNoExecuteToleration gives a static pod tolerateNoExecute once, as the
// upstream kubelet does: a toleration of the same key, operator, value and
// effect is replaced (its tolerationSeconds dropped), otherwise it is
// appended.
func withNoExecuteToleration(ts []v1.Toleration) []v1.Toleration {
	for i, t := range ts {
		if t.Key == "" && t.Operator == v1.TolerationOpExists && t.Value == "" && t.Effect == v1.TaintEffectNoExecute {
			ts[i] = tolerateNoExecute
			return ts
		}
	}
	return append(ts, tolerateNoExecute)
}

// staticPodName keeps the pods of one manifest apart across nodes.
func staticPodName(name, node string) string {
	return name + "-" + strings.ToLower(node)
}

// manifestDigest is the hex MD5 of "host:<node>file:<path>" followed by
// the pod's JSON encoding. Hashing the decoded pod rather than the bytes
// of the file means that reformatting, comments or YAML-versus-JSON keep
// the UID, while any change of content, a rename or another node gives a
// new one (and so a new pod).
func manifestDigest(pod *v1.Pod, node, file string) (types.UID, error) {
	body, err := json.Marshal(pod)
	if err != nil {
		return "", fmt.Errorf("failed to hash the pod: %w", err)
	}
	input := make([]byte, 0, len("host:file:")+len(node)+len(file)+len(body))
	input = append(input, "host:"+node+"file:"+file...)
	input = append(input, body...)
	sum := md5.Sum(input)
	return types.UID(hex.EncodeToString(sum[:])), nil
}
