package kuberuntime

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kubeadmin/kubeadmin/kubelet/fieldpath"
	"github.com/kubeadmin/kubeadmin/kubelet/podsource"
)

// EnvSources are the API objects the environment reads (package kubelet/objects implements it).
//
// A missing object is an apierrors NotFound error (its text, as
// `configmap "x" not found`, is what the pod shows). Services returns the
// services of every namespace; its error is shown unchanged (upstream says
// "services have not yet been read at least once, cannot construct envvars"
// before the first list).
type EnvSources interface {
	ConfigMap(ctx context.Context, namespace, name string) (*v1.ConfigMap, error)
	Secret(ctx context.Context, namespace, name string) (*v1.Secret, error)
	Services(ctx context.Context) ([]*v1.Service, error)
}

// The service whose variables every pod gets, whatever enableServiceLinks.
const (
	masterServiceNamespace = "default"
	masterServiceName      = "kubernetes"
)

// ContainerEnv renders a container's environment as the upstream kubelet:
// envFrom first, then env in order (a later definition wins), each env value
// expanding "$(NAME)" over the variables defined before it and then the
// service variables, which come last unless a variable of the same name is
// set. src nil (a static pod without an API server) fails on configMap and
// secret references and gives no service variables.
//
// The output order is deterministic (upstream's is a map's): the pod's own
// variables in the order first defined, envFrom keys sorted per source, then
// the service variables sorted by name.
func ContainerEnv(ctx context.Context, pod *v1.Pod, c *v1.Container, rc *RenderContext, src EnvSources) ([]*runtimeapi.KeyValue, error) {
	e := envBuilder{ctx: ctx, pod: pod, src: src, vars: map[string]string{}}
	services, err := e.serviceVars()
	if err != nil {
		return nil, err
	}

	for _, from := range c.EnvFrom {
		data, ok, err := e.envFromData(from)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		keys := make([]string, 0, len(data))
		for k := range data {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			e.set(from.Prefix+k, data[k])
		}
	}

	for i := range c.Env {
		ev := &c.Env[i]
		val := ev.Value
		switch {
		case val != "":
			val = expandWith(val, e.vars, services)
		case ev.ValueFrom != nil:
			v, ok, err := e.valueFrom(ev.ValueFrom, c, rc)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
			val = v
		}
		e.set(ev.Name, val)
	}

	out := make([]*runtimeapi.KeyValue, 0, len(e.order)+len(services))
	for _, k := range e.order {
		out = append(out, &runtimeapi.KeyValue{Key: k, Value: []byte(e.vars[k])})
	}
	names := make([]string, 0, len(services))
	for k := range services {
		if _, set := e.vars[k]; !set {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	for _, k := range names {
		out = append(out, &runtimeapi.KeyValue{Key: k, Value: []byte(services[k])})
	}
	return out, nil
}

// envBuilder holds the variables set so far and the objects read once.
type envBuilder struct {
	ctx        context.Context
	pod        *v1.Pod
	src        EnvSources
	vars       map[string]string
	order      []string
	configMaps map[string]*v1.ConfigMap
	secrets    map[string]*v1.Secret
}

func (e *envBuilder) set(k, v string) {
	if _, ok := e.vars[k]; !ok {
		e.order = append(e.order, k)
	}
	e.vars[k] = v
}

// envFromData is the data of one envFrom source; ok false when an optional
// source is missing.
func (e *envBuilder) envFromData(from v1.EnvFromSource) (map[string]string, bool, error) {
	switch {
	case from.ConfigMapRef != nil:
		cm, err := e.configMap(from.ConfigMapRef.Name)
		if err != nil {
			if apierrors.IsNotFound(err) && isTrue(from.ConfigMapRef.Optional) {
				return nil, false, nil
			}
			return nil, false, err
		}
		return cm.Data, true, nil
	case from.SecretRef != nil:
		s, err := e.secret(from.SecretRef.Name)
		if err != nil {
			if apierrors.IsNotFound(err) && isTrue(from.SecretRef.Optional) {
				return nil, false, nil
			}
			return nil, false, err
		}
		data := make(map[string]string, len(s.Data))
		for k, v := range s.Data {
			data[k] = string(v)
		}
		return data, true, nil
	}
	return nil, false, nil
}

// valueFrom resolves one env valueFrom; ok false when an optional object or
// key is missing and the variable is not set.
func (e *envBuilder) valueFrom(vf *v1.EnvVarSource, c *v1.Container, rc *RenderContext) (string, bool, error) {
	switch {
	case vf.FieldRef != nil:
		v, err := fieldRefValue(e.pod, vf.FieldRef, rc)
		return v, err == nil, err
	case vf.ResourceFieldRef != nil:
		v, err := resourceFieldValue(e.pod, c, vf.ResourceFieldRef, rc)
		return v, err == nil, err
	case vf.ConfigMapKeyRef != nil:
		ref := vf.ConfigMapKeyRef
		cm, err := e.configMap(ref.Name)
		if err != nil {
			if apierrors.IsNotFound(err) && isTrue(ref.Optional) {
				return "", false, nil
			}
			return "", false, err
		}
		v, ok := cm.Data[ref.Key]
		if !ok {
			if isTrue(ref.Optional) {
				return "", false, nil
			}
			return "", false, fmt.Errorf("couldn't find key %v in ConfigMap %v/%v", ref.Key, e.pod.Namespace, ref.Name)
		}
		return v, true, nil
	case vf.SecretKeyRef != nil:
		ref := vf.SecretKeyRef
		s, err := e.secret(ref.Name)
		if err != nil {
			if apierrors.IsNotFound(err) && isTrue(ref.Optional) {
				return "", false, nil
			}
			return "", false, err
		}
		v, ok := s.Data[ref.Key]
		if !ok {
			if isTrue(ref.Optional) {
				return "", false, nil
			}
			return "", false, fmt.Errorf("couldn't find key %v in Secret %v/%v", ref.Key, e.pod.Namespace, ref.Name)
		}
		return string(v), true, nil
	}
	// A source this agent does not know (fileKeyRef is alpha upstream):
	// the variable is set empty, as upstream leaves it.
	return "", true, nil
}

func (e *envBuilder) configMap(name string) (*v1.ConfigMap, error) {
	if cm, ok := e.configMaps[name]; ok {
		return cm, nil
	}
	if e.src == nil {
		return nil, fmt.Errorf("couldn't get configMap %v/%v, no kubeClient defined", e.pod.Namespace, name)
	}
	cm, err := e.src.ConfigMap(e.ctx, e.pod.Namespace, name)
	if err == nil && cm == nil {
		err = apierrors.NewNotFound(v1.Resource("configmap"), name)
	}
	if err != nil {
		return nil, err
	}
	if e.configMaps == nil {
		e.configMaps = map[string]*v1.ConfigMap{}
	}
	e.configMaps[name] = cm
	return cm, nil
}

func (e *envBuilder) secret(name string) (*v1.Secret, error) {
	if s, ok := e.secrets[name]; ok {
		return s, nil
	}
	if e.src == nil {
		return nil, fmt.Errorf("couldn't get secret %v/%v, no kubeClient defined", e.pod.Namespace, name)
	}
	s, err := e.src.Secret(e.ctx, e.pod.Namespace, name)
	if err == nil && s == nil {
		err = apierrors.NewNotFound(v1.Resource("secret"), name)
	}
	if err != nil {
		return nil, err
	}
	if e.secrets == nil {
		e.secrets = map[string]*v1.Secret{}
	}
	e.secrets[name] = s
	return s, nil
}

// serviceVars are the Docker-link style variables of the services the pod
// sees: default/kubernetes always, those of its namespace when
// enableServiceLinks is true (the API's default), each only with a cluster
// IP.
func (e *envBuilder) serviceVars() (map[string]string, error) {
	out := map[string]string{}
	if e.src == nil {
		return out, nil
	}
	all, err := e.src.Services(e.ctx)
	if err != nil {
		if !podsource.IsAPIPod(e.pod) {
			// A static pod starts before the API server it may run:
			// it gets whatever services are known, as upstream.
			return out, nil
		}
		return nil, err
	}
	links := e.pod.Spec.EnableServiceLinks == nil || *e.pod.Spec.EnableServiceLinks
	seen := map[string]*v1.Service{}
	for _, s := range all {
		if s == nil || s.Spec.ClusterIP == "" || s.Spec.ClusterIP == v1.ClusterIPNone || len(s.Spec.Ports) == 0 {
			continue
		}
		switch {
		case s.Namespace == masterServiceNamespace && s.Name == masterServiceName:
			if _, ok := seen[s.Name]; !ok {
				seen[s.Name] = s
			}
		case s.Namespace == e.pod.Namespace && links:
			seen[s.Name] = s
		}
	}
	for _, s := range seen {
		addServiceVars(out, s)
	}
	return out, nil
}

// envName is a service or port name as a variable name part.
func envName(s string) string {
	return strings.ToUpper(strings.ReplaceAll(s, "-", "_"))
}

func addServiceVars(out map[string]string, s *v1.Service) {
	ip := s.Spec.ClusterIP
	prefix := envName(s.Name)
	out[prefix+"_SERVICE_HOST"] = ip
	out[prefix+"_SERVICE_PORT"] = strconv.Itoa(int(s.Spec.Ports[0].Port))
	for i, p := range s.Spec.Ports {
		port := strconv.Itoa(int(p.Port))
		if p.Name != "" {
			out[prefix+"_SERVICE_PORT_"+envName(p.Name)] = port
		}
		proto := string(p.Protocol)
		if proto == "" {
			proto = string(v1.ProtocolTCP)
		}
		url := strings.ToLower(proto) + "://" + net.JoinHostPort(ip, port)
		if i == 0 {
			out[prefix+"_PORT"] = url
		}
		pp := prefix + "_PORT_" + port + "_" + strings.ToUpper(proto)
		out[pp] = url
		out[pp+"_PROTO"] = strings.ToLower(proto)
		out[pp+"_PORT"] = port
		out[pp+"_ADDR"] = ip
	}
}

func isTrue(b *bool) bool { return b != nil && *b }

// podIPs are the pod's addresses, the one the sandbox reported first; a
// host-network pod has the node's.
func podIPs(pod *v1.Pod, rc *RenderContext) []string {
	if pod.Spec.HostNetwork {
		return hostIPs(pod, rc)
	}
	var status []string
	for _, ip := range pod.Status.PodIPs {
		status = append(status, ip.IP)
	}
	return primaryFirst(rc.PodIP, status)
}

// hostIPs are the node's addresses, rc.NodeIP first.
func hostIPs(pod *v1.Pod, rc *RenderContext) []string {
	var status []string
	for _, ip := range pod.Status.HostIPs {
		status = append(status, ip.IP)
	}
	return primaryFirst(rc.NodeIP, status)
}

// primaryFirst is primary (when set) followed by the other addresses of
// rest, as the pod status lists the secondary family.
func primaryFirst(primary string, rest []string) []string {
	if primary == "" {
		return rest
	}
	out := []string{primary}
	for _, ip := range rest {
		if ip != primary {
			out = append(out, ip)
		}
	}
	return out
}

// fieldRefValue resolves a downward-API field path for the environment,
// with upstream's errors for paths it does not allow.
func fieldRefValue(pod *v1.Pod, ref *v1.ObjectFieldSelector, rc *RenderContext) (string, error) {
	if ref.APIVersion != "" && ref.APIVersion != "v1" {
		return "", fmt.Errorf("unsupported pod version: %s", ref.APIVersion)
	}
	fp := ref.FieldPath
	if path, key, ok := fieldpath.SplitSubscript(fp); ok {
		switch path {
		case "metadata.labels":
			if errs := validation.IsQualifiedName(key); len(errs) != 0 {
				return "", fmt.Errorf("invalid key subscript in %s: %s", fp, strings.Join(errs, ";"))
			}
			return pod.Labels[key], nil
		case "metadata.annotations":
			if errs := validation.IsQualifiedName(strings.ToLower(key)); len(errs) != 0 {
				return "", fmt.Errorf("invalid key subscript in %s: %s", fp, strings.Join(errs, ";"))
			}
			return pod.Annotations[key], nil
		}
		return "", fmt.Errorf("field label does not support subscript: %s", fp)
	}
	switch fp {
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	case "metadata.labels":
		return fieldpath.FormatMap(pod.Labels), nil
	case "metadata.annotations":
		return fieldpath.FormatMap(pod.Annotations), nil
	case "spec.nodeName", "spec.host":
		return pod.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "status.hostIP":
		return first(hostIPs(pod, rc)), nil
	case "status.hostIPs":
		return strings.Join(hostIPs(pod, rc), ","), nil
	case "status.podIP":
		return first(podIPs(pod, rc)), nil
	case "status.podIPs":
		return strings.Join(podIPs(pod, rc), ","), nil
	case "spec.restartPolicy", "spec.schedulerName", "status.phase":
		// Known field labels that upstream cannot render for env.
		return "", fmt.Errorf("unsupported fieldPath: %v", fp)
	}
	return "", fmt.Errorf("field label not supported: %s", fp)
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// resourceFieldValue resolves limits.* / requests.* of the container named
// by the selector (c when it names none). An unset or zero cpu, memory or
// ephemeral-storage limit is the pod-level limit, else the node's
// allocatable, as upstream (ephemeral-storage allocatable is not known here:
// 0).
func resourceFieldValue(pod *v1.Pod, c *v1.Container, ref *v1.ResourceFieldSelector, rc *RenderContext) (string, error) {
	target, defaulted := c, true
	if ref.ContainerName != "" {
		target, defaulted = nil, false
		for i := range pod.Spec.Containers {
			if pod.Spec.Containers[i].Name == ref.ContainerName {
				target, defaulted = &pod.Spec.Containers[i], true
				break
			}
		}
		if target == nil {
			// Upstream does not default the limits of an init container
			// named by containerName.
			for i := range pod.Spec.InitContainers {
				if pod.Spec.InitContainers[i].Name == ref.ContainerName {
					target = &pod.Spec.InitContainers[i]
					break
				}
			}
		}
		if target == nil {
			return "", fmt.Errorf("container %s not found", ref.ContainerName)
		}
	}

	// Unset limits count as the pod's limit or the node's allocatable,
	// except for an init container named by containerName.
	var capacity v1.ResourceList
	if defaulted {
		capacity = v1.ResourceList{}
		for _, rn := range []v1.ResourceName{v1.ResourceCPU, v1.ResourceMemory, v1.ResourceEphemeralStorage} {
			capacity[rn] = defaultLimit(pod, rn, rc)
		}
	}
	v, err := fieldpath.Resource(target, ref, capacity)
	if err != nil {
		return "", fmt.Errorf("unsupported container resource : %v", ref.Resource)
	}
	return v, nil
}

// defaultLimit is what an unset container limit counts as.
func defaultLimit(pod *v1.Pod, rn v1.ResourceName, rc *RenderContext) resource.Quantity {
	if pod.Spec.Resources != nil && (rn == v1.ResourceCPU || rn == v1.ResourceMemory) {
		if q, ok := pod.Spec.Resources.Limits[rn]; ok && !q.IsZero() {
			return q
		}
	}
	switch rn {
	case v1.ResourceCPU:
		return *resource.NewMilliQuantity(rc.CPUCapacityMilli, resource.DecimalSI)
	case v1.ResourceMemory:
		return *resource.NewQuantity(rc.MemCapacity, resource.BinarySI)
	}
	return resource.Quantity{}
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
	return expandWith(s, vars, nil)
}

// expandWith is expand looking NAME up in vars, then in fallback.
func expandWith(s string, vars, fallback map[string]string) string {
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
			} else if v, ok := fallback[name]; ok {
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
