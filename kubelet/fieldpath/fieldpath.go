// Package fieldpath resolves the downward API's field paths of a pod: the
// metadata fields a fieldRef names and the container resources a
// resourceFieldRef names, formatted as the upstream kubelet writes them
// into environment variables and downwardAPI volume files.
package fieldpath

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Metadata field paths.
const (
	pathName        = "metadata.name"
	pathNamespace   = "metadata.namespace"
	pathUID         = "metadata.uid"
	pathLabels      = "metadata.labels"
	pathAnnotations = "metadata.annotations"
)

// FormatMap renders a label or annotation map as the downward API does:
// one key="value" line per entry (the value Go-quoted), sorted by key,
// with no newline after the last.
func FormatMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b []byte
	for i, k := range keys {
		if i > 0 {
			b = append(b, '\n')
		}
		b = append(b, k...)
		b = append(b, '=')
		b = strconv.AppendQuote(b, m[k])
	}
	return string(b)
}

// SplitSubscript splits "metadata.labels['app']" into its path and key;
// ok is false for a path with no subscript.
func SplitSubscript(fp string) (path, key string, ok bool) {
	s, found := strings.CutSuffix(fp, "']")
	if !found {
		return fp, "", false
	}
	path, key, found = strings.Cut(s, "['")
	if !found || path == "" {
		return fp, "", false
	}
	return path, key, true
}

// Metadata resolves a metadata field path of pod: metadata.name,
// metadata.namespace, metadata.uid, metadata.labels, metadata.annotations
// (whole maps, FormatMap) and one entry, metadata.labels['key'] or
// metadata.annotations['key'] (empty when absent). Other paths, such as
// spec.nodeName or status.podIP, depend on the node and are the caller's.
func Metadata(pod *v1.Pod, fp string) (string, error) {
	if path, key, ok := SplitSubscript(fp); ok {
		switch path {
		case pathAnnotations:
			// Annotation keys may have upper case letters.
			if errs := validation.IsQualifiedName(strings.ToLower(key)); len(errs) > 0 {
				return "", fmt.Errorf("fieldPath %q: invalid key: %s", fp, strings.Join(errs, "; "))
			}
			return pod.Annotations[key], nil
		case pathLabels:
			if errs := validation.IsQualifiedName(key); len(errs) > 0 {
				return "", fmt.Errorf("fieldPath %q: invalid key: %s", fp, strings.Join(errs, "; "))
			}
			return pod.Labels[key], nil
		}
		return "", fmt.Errorf("fieldPath %q: only %s and %s take a ['key'] subscript", fp, pathLabels, pathAnnotations)
	}
	switch fp {
	case pathName:
		return pod.Name, nil
	case pathNamespace:
		return pod.Namespace, nil
	case pathUID:
		return string(pod.UID), nil
	case pathLabels:
		return FormatMap(pod.Labels), nil
	case pathAnnotations:
		return FormatMap(pod.Annotations), nil
	}
	return "", fmt.Errorf("unsupported fieldPath %q", fp)
}

// Container finds the container or init container named name in pod.
func Container(pod *v1.Pod, name string) (*v1.Container, error) {
	for _, cs := range [][]v1.Container{pod.Spec.Containers, pod.Spec.InitContainers} {
		for i := range cs {
			if cs[i].Name == name {
				return &cs[i], nil
			}
		}
	}
	return nil, fmt.Errorf("container %q not found in pod %q", name, pod.Name)
}

// overcommitted are the resources whose unset (or zero) limit is the
// node's capacity; huge pages always have a limit.
var overcommitted = []v1.ResourceName{v1.ResourceCPU, v1.ResourceMemory, v1.ResourceEphemeralStorage}

// Resource resolves ref (limits.<name> or requests.<name>) for container c:
// the quantity divided by the divisor (default 1) and rounded up. An unset
// or zero limit of cpu, memory or ephemeral-storage is capacity's value
// (the node's); an unset request is 0.
func Resource(c *v1.Container, ref *v1.ResourceFieldSelector, capacity v1.ResourceList) (string, error) {
	kind, name, _ := strings.Cut(ref.Resource, ".")
	rn := v1.ResourceName(name)
	known := rn == v1.ResourceCPU || rn == v1.ResourceMemory || rn == v1.ResourceEphemeralStorage ||
		strings.HasPrefix(name, v1.ResourceHugePagesPrefix)
	if (kind != "limits" && kind != "requests") || !known {
		return "", fmt.Errorf("unsupported container resource %q", ref.Resource)
	}
	list := c.Resources.Requests
	if kind == "limits" {
		list = c.Resources.Limits
	}
	q, set := list[rn]
	if kind == "limits" && (!set || q.IsZero()) {
		for _, o := range overcommitted {
			if o == rn {
				if cp, ok := capacity[rn]; ok {
					q = cp
				}
			}
		}
	}
	divisor := ref.Divisor
	if divisor.IsZero() {
		divisor = resource.MustParse("1")
	}
	return strconv.FormatInt(QuantityCeil(q, divisor, rn == v1.ResourceCPU), 10), nil
}

// QuantityCeil is q/divisor rounded up; cpu divides milli-units, so that a
// divisor of 1m counts millicores.
func QuantityCeil(q, divisor resource.Quantity, cpu bool) int64 {
	n, d := q.Value(), divisor.Value()
	if cpu {
		n, d = q.MilliValue(), divisor.MilliValue()
	}
	if d <= 0 {
		d = 1
	}
	if n <= 0 {
		return -((-n) / d) // toward zero: ceil of a non-positive quotient
	}
	return (n + d - 1) / d
}
