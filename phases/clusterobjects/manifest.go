package clusterobjects

import (
	"encoding/json"
	"fmt"
	"io"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"
)

// MarshalManifest renders obj as YAML with apiVersion and kind set and
// without the empty creationTimestamp and status that Go types add.
func MarshalManifest(obj runtime.Object) ([]byte, error) {
	gvks, _, err := scheme.Scheme.ObjectKinds(obj)
	if err != nil || len(gvks) == 0 {
		return nil, fmt.Errorf("failed to find the kind of %T: %w", obj, err)
	}
	apiVersion, kind := gvks[0].ToAPIVersionAndKind()
	j, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("failed to marshal %s: %w", kind, err)
	}
	m := map[string]any{}
	if err := json.Unmarshal(j, &m); err != nil {
		return nil, fmt.Errorf("failed to marshal %s: %w", kind, err)
	}
	m["apiVersion"], m["kind"] = apiVersion, kind
	pruneEmpty(m)
	b, err := yaml.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("failed to marshal %s: %w", kind, err)
	}
	return b, nil
}

// pruneEmpty drops null creationTimestamps and empty status maps at any depth.
func pruneEmpty(v any) {
	switch t := v.(type) {
	case map[string]any:
		for k, child := range t {
			if k == "creationTimestamp" && child == nil {
				delete(t, k)
				continue
			}
			pruneEmpty(child)
			if cm, ok := child.(map[string]any); ok && k == "status" && len(cm) == 0 {
				delete(t, k)
			}
		}
	case []any:
		for _, child := range t {
			pruneEmpty(child)
		}
	}
}

// PrintManifests writes objs as a "---"-separated YAML stream, as the addon
// phases do with --print-manifest.
func PrintManifests(out io.Writer, objs []runtime.Object) error {
	for _, o := range objs {
		b, err := MarshalManifest(o)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(out, "---\n%s", b); err != nil {
			return fmt.Errorf("failed to print manifest: %w", err)
		}
	}
	return nil
}
