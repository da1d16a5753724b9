package kuberuntime

import (
	"fmt"
	"strconv"
	"strings"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// containerEnv renders a container's environment: each variable in order,
// "$(NAME)" referring to earlier ones expanded, fieldRef and
// resourceFieldRef values resolved for a static pod.
func ContainerEnv(pod *v1.Pod, c *v1.Container, rc *RenderContext) ([]*runtimeapi.KeyValue, error) {
	vars := map[string]string{}
	var out []*runtimeapi.KeyValue
	for _, e := range c.Env {
		val := e.Value
		switch {
		case e.ValueFrom == nil:
			val = expand(val, vars)
		case e.ValueFrom.FieldRef != nil:
			v, err := fieldRefValue(pod, e.ValueFrom.FieldRef.FieldPath, rc)
			if err != nil {
				return nil, fmt.Errorf("env %q: %w", e.Name, err)
			}
			val = v
		case e.ValueFrom.ResourceFieldRef != nil:
			v, err := resourceFieldValue(c, e.ValueFrom.ResourceFieldRef, rc)
			if err != nil {
				return nil, fmt.Errorf("env %q: %w", e.Name, err)
			}
			val = v
		default:
			return nil, fmt.Errorf("env %q: only fieldRef and resourceFieldRef are supported for static pods", e.Name)
		}
		vars[e.Name] = val
		out = append(out, &runtimeapi.KeyValue{Key: e.Name, Value: []byte(val)})
	}
	return out, nil
}

// fieldRefValue resolves a downward-API field path.
func fieldRefValue(pod *v1.Pod, fp string, rc *RenderContext) (string, error) {
	switch fp {
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	case "spec.nodeName":
		return pod.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "status.hostIP", "status.hostIPs":
		return rc.NodeIP, nil
	case "status.podIP", "status.podIPs":
		if pod.Spec.HostNetwork {
			return rc.NodeIP, nil
		}
		return rc.PodIP, nil
	}
	for prefix, m := range map[string]map[string]string{"metadata.labels": pod.Labels, "metadata.annotations": pod.Annotations} {
		if key, ok := strings.CutPrefix(fp, prefix+"['"); ok && strings.HasSuffix(key, "']") {
			return m[strings.TrimSuffix(key, "']")], nil
		}
	}
	return "", fmt.Errorf("unsupported fieldRef %q", fp)
}

// resourceFieldValue resolves limits.* / requests.* of the container; an
// unset limit is the node's capacity, as upstream.
func resourceFieldValue(c *v1.Container, ref *v1.ResourceFieldSelector, rc *RenderContext) (string, error) {
	kind, name, ok := strings.Cut(ref.Resource, ".")
	if !ok || (kind != "limits" && kind != "requests") {
		return "", fmt.Errorf("unsupported resourceFieldRef %q", ref.Resource)
	}
	list := c.Resources.Limits
	if kind == "requests" {
		list = c.Resources.Requests
	}
	q, set := list[v1.ResourceName(name)]
	cpu := name == "cpu"
	if !set {
		switch {
		case kind == "requests":
			q = resource.Quantity{}
		case cpu:
			q = *resource.NewMilliQuantity(rc.CPUCapacityMilli, resource.DecimalSI)
		case name == "memory":
			q = *resource.NewQuantity(rc.MemCapacity, resource.BinarySI)
		}
	}
	divisor := ref.Divisor
	if divisor.IsZero() {
		divisor = resource.MustParse("1")
	}
	return strconv.FormatInt(quantityCeil(q, divisor, cpu), 10), nil
}

func expandAll(in []string, vars map[string]string) []string {
	if in == nil {
		return nil
	}
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = expand(s, vars)
	}
	return out
}

// expand replaces "$(NAME)" by the variable's value when it is defined,
// "$$" by "$", and leaves anything else unchanged, as the API documents.
func expand(s string, vars map[string]string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			name := s[i+2 : i+2+end]
			if v, ok := vars[name]; ok {
				b.WriteString(v)
			} else {
				b.WriteString(s[i : i+3+end])
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}
