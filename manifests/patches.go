package manifests

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	kubeletv1beta1 "k8s.io/kubelet/config/v1beta1"
	"sigs.k8s.io/yaml"

	"github.com/kubeadmin/kubeadmin/internal/constants"
)

// Patch targets besides the static-pod components.
const (
	PatchTargetKubeletConfiguration = "kubeletconfiguration"
	PatchTargetCoreDNSDeployment    = "corednsdeployment"
	PatchTargetKubeProxyDaemonSet   = "kubeproxydaemonset"
)

// PatchTargets are the targets kubeadm accepts in a --patches directory, in
// kubeadm's order.
var PatchTargets = []string{
	constants.Etcd,
	constants.KubeAPIServer,
	constants.KubeControllerManager,
	constants.KubeScheduler,
	PatchTargetKubeletConfiguration,
	PatchTargetCoreDNSDeployment,
	PatchTargetKubeProxyDaemonSet,
}

// patchTypes maps the "+<type>" of a patch file name to its patch type.
var patchTypes = map[string]types.PatchType{
	"json":      types.JSONPatchType,
	"merge":     types.MergePatchType,
	"strategic": types.StrategicMergePatchType,
	"":          types.StrategicMergePatchType,
}

var (
	patchExtension = regexp.MustCompile(`.+\.(json|yaml)$`)
	patchFileName  = regexp.MustCompile(`^(` + strings.Join(PatchTargets, "|") + `)([^.+\n]*)?(\+)?(json|merge|strategic)?`)
)

// patchSet is the content of one patch file: one or more patches (YAML
// documents, converted to JSON) of one type for one target.
type patchSet struct {
	target    string
	patchType types.PatchType
	patches   [][]byte
}

// Patches is a parsed --patches directory.
type Patches struct {
	sets []patchSet
	out  io.Writer
}

var (
	patchCacheMu sync.Mutex
	patchCache   = map[string]*Patches{}
)

// LoadPatches reads a --patches directory once per process (later calls for
// the same dir return the same result, as kubeadm does) and prints kubeadm's
// "[patches] Reading patches from path" lines to out (nil discards).
// Files are read in lexical order of their paths; a file whose name does not
// match target[suffix][+patchtype].{json|yaml} is ignored with a message.
func LoadPatches(dir string, out io.Writer) (*Patches, error) {
	patchCacheMu.Lock()
	defer patchCacheMu.Unlock()
	if p, ok := patchCache[dir]; ok {
		return p, nil
	}
	if out == nil {
		out = io.Discard
	}
	fmt.Fprintf(out, "[patches] Reading patches from path %q\n", dir)
	sets, files, ignored, err := readPatchDir(dir, out)
	if err != nil {
		return nil, err
	}
	if len(files) > 0 {
		fmt.Fprintf(out, "[patches] Found the following patch files: %v\n", files)
	}
	if len(ignored) > 0 {
		fmt.Fprintf(out, "[patches] Ignored the following files: %v\n", ignored)
	}
	p := &Patches{sets: sets, out: out}
	patchCache[dir] = p
	return p, nil
}

// ApplyPatches applies the patches for target found in dir to obj (YAML or
// JSON) and prints `[patches] Applied patch of type "..." to target "..."`
// for each one to out. Without a matching patch obj is returned unchanged;
// otherwise the result is YAML, and for the static-pod targets it is
// re-serialized as a Pod exactly as MarshalPod does.
func ApplyPatches(dir, target string, obj []byte, out io.Writer) ([]byte, error) {
	p, err := LoadPatches(dir, out)
	if err != nil {
		return nil, err
	}
	return p.Apply(target, obj)
}

// Apply applies the patches for target to obj; see ApplyPatches.
func (p *Patches) Apply(target string, obj []byte) ([]byte, error) {
	if !slices.Contains(PatchTargets, target) {
		return nil, fmt.Errorf("unknown patch target name %q, must be one of %v", target, PatchTargets)
	}
	data, err := yaml.YAMLToJSON(obj)
	if err != nil {
		return nil, fmt.Errorf("failed to convert the %q object to JSON: %w", target, err)
	}
	applied := false
	for _, set := range p.sets {
		if set.target != target {
			continue
		}
		for _, patch := range set.patches {
			if data, err = applyPatch(data, patch, set.patchType, target); err != nil {
				return nil, fmt.Errorf("failed to apply the patch %s of type %q to target %q: %w", patch, set.patchType, target, err)
			}
			fmt.Fprintf(p.out, "[patches] Applied patch of type %q to target %q\n", set.patchType, target)
			applied = true
		}
	}
	if !applied {
		return obj, nil
	}
	return patchedYAML(target, data)
}

func applyPatch(data, patch []byte, patchType types.PatchType, target string) ([]byte, error) {
	switch patchType {
	case types.JSONPatchType:
		decoded, err := jsonpatch.DecodePatch(patch)
		if err != nil {
			return nil, err
		}
		return decoded.Apply(data)
	case types.MergePatchType:
		return jsonpatch.MergePatch(data, patch)
	default:
		return strategicpatch.StrategicMergePatch(data, patch, schemaFor(target))
	}
}

// schemaFor returns the Go type whose patch strategy applies to target.
func schemaFor(target string) any {
	switch target {
	case PatchTargetKubeletConfiguration:
		return kubeletv1beta1.KubeletConfiguration{}
	case PatchTargetCoreDNSDeployment:
		return appsv1.Deployment{}
	case PatchTargetKubeProxyDaemonSet:
		return appsv1.DaemonSet{}
	default:
		return corev1.Pod{}
	}
}

// patchedYAML turns the patched JSON back into YAML; a static pod must still
// decode as a Pod and is re-serialized as one.
func patchedYAML(target string, data []byte) ([]byte, error) {
	if _, isPod := schemaFor(target).(corev1.Pod); !isPod {
		out, err := yaml.JSONToYAML(data)
		if err != nil {
			return nil, fmt.Errorf("failed to convert the patched %q object to YAML: %w", target, err)
		}
		return out, nil
	}
	pod, err := UnmarshalPod(data)
	if err != nil {
		return nil, fmt.Errorf("the patched manifest for %q is not a valid Pod: %w", target, err)
	}
	return MarshalPod(pod)
}

// readPatchDir parses every patch file under dir (recursively, lexical
// order), returning the sets, the names of the files used and of those
// ignored.
func readPatchDir(dir string, out io.Writer) (sets []patchSet, files, ignored []string, err error) {
	files, ignored = []string{}, []string{}
	info, err := os.Lstat(dir)
	if err == nil && !info.IsDir() {
		err = fmt.Errorf("%q is not a directory", dir)
	}
	if err == nil {
		err = filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
			if err != nil || info.IsDir() {
				return err
			}
			name := info.Name()
			target, patchType, ignoreReason, err := parsePatchFileName(name)
			if err != nil {
				return fmt.Errorf("invalid patch file name %q: %w", name, err)
			}
			if ignoreReason != "" {
				fmt.Fprintf(out, "[patches] Ignoring file %q: %s\n", name, ignoreReason)
				ignored = append(ignored, name)
				return nil
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return fmt.Errorf("could not read the file %q: %w", path, err)
			}
			if len(data) == 0 {
				fmt.Fprintf(out, "[patches] Ignoring empty file: %q\n", name)
				ignored = append(ignored, name)
				return nil
			}
			set, err := newPatchSet(target, patchType, data)
			if err != nil {
				return fmt.Errorf("invalid patch file %q: %w", path, err)
			}
			files = append(files, name)
			sets = append(sets, set)
			return nil
		})
	}
	if err != nil {
		return nil, nil, nil, fmt.Errorf("could not list patch files for path %q: %w", dir, err)
	}
	return sets, files, ignored, nil
}

// parsePatchFileName splits target[suffix][+patchtype].{json|yaml}. A file
// with another extension or an unknown target is ignored (with a reason);
// a "+" without a known patch type is an error.
func parsePatchFileName(name string) (target string, patchType types.PatchType, ignoreReason string, err error) {
	if !patchExtension.MatchString(name) {
		return "", "", "the file extension must be one of [json yaml]", nil
	}
	sub := patchFileName.FindStringSubmatch(name)
	if sub == nil {
		return "", "", fmt.Sprintf("unknown target, must be one of %v", PatchTargets), nil
	}
	if sub[3] != "" && sub[4] == "" {
		return "", "", "", errors.New("unknown or missing patch type after '+', must be one of [json merge strategic]")
	}
	return sub[1], patchTypes[sub[4]], "", nil
}

// newPatchSet splits data into YAML documents and converts each to JSON.
func newPatchSet(target string, patchType types.PatchType, data []byte) (patchSet, error) {
	set := patchSet{target: target, patchType: patchType}
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for {
		doc, err := reader.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return set, fmt.Errorf("could not split the patches: %w", err)
		}
		doc = bytes.TrimSpace(doc)
		if len(doc) == 0 {
			continue
		}
		patch, err := yaml.YAMLToJSON(doc)
		if err != nil {
			return set, fmt.Errorf("could not convert a patch to JSON: %w", err)
		}
		set.patches = append(set.patches, patch)
	}
	return set, nil
}
