package kuberuntime

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kubeadmin/kubeadmin/kubelet/podsource"
)

// fakeSources serves objects by namespace/name and counts reads.
type fakeSources struct {
	configMaps  map[string]*v1.ConfigMap
	secrets     map[string]*v1.Secret
	services    []*v1.Service
	servicesErr error
	reads       int
}

func (f *fakeSources) ConfigMap(_ context.Context, ns, name string) (*v1.ConfigMap, error) {
	f.reads++
	if cm, ok := f.configMaps[ns+"/"+name]; ok {
		return cm, nil
	}
	return nil, apierrors.NewNotFound(v1.Resource("configmap"), name)
}

func (f *fakeSources) Secret(_ context.Context, ns, name string) (*v1.Secret, error) {
	f.reads++
	if s, ok := f.secrets[ns+"/"+name]; ok {
		return s, nil
	}
	return nil, apierrors.NewNotFound(v1.Resource("secret"), name)
}

func (f *fakeSources) Services(context.Context) ([]*v1.Service, error) {
	return f.services, f.servicesErr
}

const envNS = "ns1"

func newSources() *fakeSources {
	return &fakeSources{
		configMaps: map[string]*v1.ConfigMap{
			envNS + "/cm": {ObjectMeta: metav1.ObjectMeta{Namespace: envNS, Name: "cm"}, Data: map[string]string{"b": "2", "a": "1", "URL": "http://$(HOST)"}},
		},
		secrets: map[string]*v1.Secret{
			envNS + "/sec": {ObjectMeta: metav1.ObjectMeta{Namespace: envNS, Name: "sec"}, Data: map[string][]byte{"password": []byte("s3cret"), "a": []byte("from-secret")}},
		},
		services: []*v1.Service{
			service("default", "kubernetes", "10.96.0.1", v1.ServicePort{Name: "https", Port: 443, Protocol: v1.ProtocolTCP}),
		},
	}
}

func service(ns, name, ip string, ports ...v1.ServicePort) *v1.Service {
	return &v1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: v1.ServiceSpec{ClusterIP: ip, Ports: ports}}
}

func envPod(c v1.Container) *v1.Pod {
	return &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: envNS, Name: "p", UID: "uid-1", Labels: map[string]string{"app": "web", "tier": "a\"b"},
			Annotations: map[string]string{podsource.ConfigSourceAnnotation: podsource.APISource}},
		Spec: v1.PodSpec{NodeName: "node1", ServiceAccountName: "sa", Containers: []v1.Container{c}},
	}
}

func ptrTo[T any](v T) *T { return &v }

func envMap(kvs []*runtimeapi.KeyValue) map[string]string {
	m := map[string]string{}
	for _, kv := range kvs {
		m[kv.Key] = string(kv.Value)
	}
	return m
}

func envKeys(kvs []*runtimeapi.KeyValue) []string {
	var keys []string
	for _, kv := range kvs {
		keys = append(keys, kv.Key)
	}
	return keys
}

var kubernetesVars = map[string]string{
	"KUBERNETES_SERVICE_HOST":       "10.96.0.1",
	"KUBERNETES_SERVICE_PORT":       "443",
	"KUBERNETES_SERVICE_PORT_HTTPS": "443",
	"KUBERNETES_PORT":               "tcp://10.96.0.1:443",
	"KUBERNETES_PORT_443_TCP":       "tcp://10.96.0.1:443",
	"KUBERNETES_PORT_443_TCP_PROTO": "tcp",
	"KUBERNETES_PORT_443_TCP_PORT":  "443",
	"KUBERNETES_PORT_443_TCP_ADDR":  "10.96.0.1",
}

// withoutServices drops the KUBERNETES_* variables every pod gets.
func withoutServices(m map[string]string) map[string]string {
	for k := range kubernetesVars {
		delete(m, k)
	}
	return m
}

func TestContainerEnvSources(t *testing.T) {
	cmKey := func(name, key string, optional bool) *v1.EnvVarSource {
		return &v1.EnvVarSource{ConfigMapKeyRef: &v1.ConfigMapKeySelector{LocalObjectReference: v1.LocalObjectReference{Name: name}, Key: key, Optional: &optional}}
	}
	secKey := func(name, key string, optional bool) *v1.EnvVarSource {
		return &v1.EnvVarSource{SecretKeyRef: &v1.SecretKeySelector{LocalObjectReference: v1.LocalObjectReference{Name: name}, Key: key, Optional: &optional}}
	}
	tests := []struct {
		name    string
		c       v1.Container
		want    map[string]string
		wantErr string
	}{
		{
			name: "envFrom configMap and secret with prefix; later source wins",
			c: v1.Container{EnvFrom: []v1.EnvFromSource{
				{ConfigMapRef: &v1.ConfigMapEnvSource{LocalObjectReference: v1.LocalObjectReference{Name: "cm"}}},
				{Prefix: "S_", SecretRef: &v1.SecretEnvSource{LocalObjectReference: v1.LocalObjectReference{Name: "sec"}}},
				{SecretRef: &v1.SecretEnvSource{LocalObjectReference: v1.LocalObjectReference{Name: "sec"}}},
			}},
			// envFrom values are not expanded.
			want: map[string]string{"a": "from-secret", "b": "2", "URL": "http://$(HOST)", "S_password": "s3cret", "S_a": "from-secret", "password": "s3cret"},
		},
		{
			name: "optional envFrom sources that are missing",
			c: v1.Container{EnvFrom: []v1.EnvFromSource{
				{ConfigMapRef: &v1.ConfigMapEnvSource{LocalObjectReference: v1.LocalObjectReference{Name: "nope"}, Optional: ptrTo(true)}},
				{SecretRef: &v1.SecretEnvSource{LocalObjectReference: v1.LocalObjectReference{Name: "nope"}, Optional: ptrTo(true)}},
			}},
			want: map[string]string{},
		},
		{
			name:    "missing envFrom configMap",
			c:       v1.Container{EnvFrom: []v1.EnvFromSource{{ConfigMapRef: &v1.ConfigMapEnvSource{LocalObjectReference: v1.LocalObjectReference{Name: "x"}}}}},
			wantErr: `configmap "x" not found`,
		},
		{
			name:    "missing envFrom secret",
			c:       v1.Container{EnvFrom: []v1.EnvFromSource{{SecretRef: &v1.SecretEnvSource{LocalObjectReference: v1.LocalObjectReference{Name: "x"}, Optional: ptrTo(false)}}}},
			wantErr: `secret "x" not found`,
		},
		{
			name: "key refs",
			c: v1.Container{Env: []v1.EnvVar{
				{Name: "A", ValueFrom: cmKey("cm", "a", false)},
				{Name: "P", ValueFrom: secKey("sec", "password", false)},
			}},
			want: map[string]string{"A": "1", "P": "s3cret"},
		},
		{
			name: "optional key refs: missing object or key leaves the variable unset",
			c: v1.Container{
				EnvFrom: []v1.EnvFromSource{{ConfigMapRef: &v1.ConfigMapEnvSource{LocalObjectReference: v1.LocalObjectReference{Name: "cm"}}}},
				Env: []v1.EnvVar{
					{Name: "X1", ValueFrom: cmKey("nope", "a", true)},
					{Name: "X2", ValueFrom: cmKey("cm", "nokey", true)},
					{Name: "X3", ValueFrom: secKey("nope", "a", true)},
					{Name: "X4", ValueFrom: secKey("sec", "nokey", true)},
					{Name: "a", ValueFrom: cmKey("cm", "nokey", true)}, // keeps the envFrom value
				},
			},
			want: map[string]string{"a": "1", "b": "2", "URL": "http://$(HOST)"},
		},
		{
			name:    "missing configMap key",
			c:       v1.Container{Env: []v1.EnvVar{{Name: "A", ValueFrom: cmKey("cm", "k", false)}}},
			wantErr: "couldn't find key k in ConfigMap ns1/cm",
		},
		{
			name:    "missing secret key",
			c:       v1.Container{Env: []v1.EnvVar{{Name: "A", ValueFrom: secKey("sec", "k", false)}}},
			wantErr: "couldn't find key k in Secret ns1/sec",
		},
		{
			name:    "missing configMap of a key ref",
			c:       v1.Container{Env: []v1.EnvVar{{Name: "A", ValueFrom: cmKey("x", "k", false)}}},
			wantErr: `configmap "x" not found`,
		},
		{
			name:    "missing secret of a key ref",
			c:       v1.Container{Env: []v1.EnvVar{{Name: "A", ValueFrom: secKey("x", "k", false)}}},
			wantErr: `secret "x" not found`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ContainerEnv(context.Background(), envPod(tt.c), &tt.c, &RenderContext{}, newSources())
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m := withoutServices(envMap(got)); !reflect.DeepEqual(m, tt.want) {
				t.Errorf("env = %v, want %v", m, tt.want)
			}
		})
	}
}

func TestContainerEnvReadsEachObjectOnce(t *testing.T) {
	c := v1.Container{
		EnvFrom: []v1.EnvFromSource{{ConfigMapRef: &v1.ConfigMapEnvSource{LocalObjectReference: v1.LocalObjectReference{Name: "cm"}}}},
		Env: []v1.EnvVar{
			{Name: "A", ValueFrom: &v1.EnvVarSource{ConfigMapKeyRef: &v1.ConfigMapKeySelector{LocalObjectReference: v1.LocalObjectReference{Name: "cm"}, Key: "a"}}},
			{Name: "B", ValueFrom: &v1.EnvVarSource{ConfigMapKeyRef: &v1.ConfigMapKeySelector{LocalObjectReference: v1.LocalObjectReference{Name: "cm"}, Key: "b"}}},
		},
	}
	src := newSources()
	if _, err := ContainerEnv(context.Background(), envPod(c), &c, &RenderContext{}, src); err != nil {
		t.Fatal(err)
	}
	if src.reads != 1 {
		t.Errorf("configMap read %d times, want 1", src.reads)
	}
}

func TestContainerEnvExpansionOrder(t *testing.T) {
	src := newSources()
	src.services = append(src.services, service(envNS, "db", "10.96.0.30", v1.ServicePort{Port: 5432}))
	c := v1.Container{
		EnvFrom: []v1.EnvFromSource{{ConfigMapRef: &v1.ConfigMapEnvSource{LocalObjectReference: v1.LocalObjectReference{Name: "cm"}}}},
		Env: []v1.EnvVar{
			{Name: "FROM_ENVFROM", Value: "$(a)-$(b)"},
			{Name: "LATER_REF", Value: "$(DEFINED_LATER)"},
			{Name: "FROM_SERVICE", Value: "$(DB_SERVICE_HOST):$(DB_SERVICE_PORT)"},
			{Name: "HOST", Value: "example"},
			{Name: "FROM_EARLIER", Value: "$(HOST)/$(FROM_ENVFROM)"},
			{Name: "DEFINED_LATER", Value: "x"},
			{Name: "ESCAPED", Value: "$$(HOST) $(MISSING) $(unclosed"},
			{Name: "DB_SERVICE_PORT", Value: "override"},
			{Name: "AFTER_OVERRIDE", Value: "$(DB_SERVICE_PORT)"},
			{Name: "b", Value: "env-b"},
			{Name: "EMPTY"},
		},
	}
	got, err := ContainerEnv(context.Background(), envPod(c), &c, &RenderContext{}, src)
	if err != nil {
		t.Fatal(err)
	}
	m := envMap(got)
	want := map[string]string{
		"FROM_ENVFROM":    "1-2",
		"LATER_REF":       "$(DEFINED_LATER)",
		"FROM_SERVICE":    "10.96.0.30:5432",
		"FROM_EARLIER":    "example/1-2",
		"ESCAPED":         "$(HOST) $(MISSING) $(unclosed",
		"DB_SERVICE_PORT": "override",
		"AFTER_OVERRIDE":  "override",
		"b":               "env-b",
		"URL":             "http://$(HOST)",
		"DB_SERVICE_HOST": "10.96.0.30",
		"EMPTY":           "",
	}
	for k, v := range want {
		if got, ok := m[k]; !ok || got != v {
			t.Errorf("%s = %q (set %v), want %q", k, got, ok, v)
		}
	}
	// Each variable once; the pod's own first, in definition order, then
	// the service variables sorted.
	keys := envKeys(got)
	wantPrefix := []string{"URL", "a", "b", "FROM_ENVFROM", "LATER_REF", "FROM_SERVICE", "HOST", "FROM_EARLIER", "DEFINED_LATER", "ESCAPED", "DB_SERVICE_PORT", "AFTER_OVERRIDE", "EMPTY", "DB_PORT"}
	if !reflect.DeepEqual(keys[:len(wantPrefix)], wantPrefix) {
		t.Errorf("order = %v, want prefix %v", keys, wantPrefix)
	}
	seen := map[string]bool{}
	for _, k := range keys {
		if seen[k] {
			t.Errorf("%s appears twice", k)
		}
		seen[k] = true
	}
}

func TestContainerEnvServiceVars(t *testing.T) {
	src := newSources()
	src.services = append(src.services,
		service(envNS, "my-svc", "10.96.0.20",
			v1.ServicePort{Name: "http", Port: 80, Protocol: v1.ProtocolTCP},
			v1.ServicePort{Name: "metrics-port", Port: 9090, Protocol: v1.ProtocolUDP}),
		service(envNS, "v6", "fd00::10", v1.ServicePort{Port: 53}),
		service(envNS, "headless", v1.ClusterIPNone, v1.ServicePort{Port: 80}),
		service(envNS, "noip", "", v1.ServicePort{Port: 80}),
		service("other", "elsewhere", "10.96.0.40", v1.ServicePort{Port: 80}),
		service("other", "kubernetes", "10.96.0.41", v1.ServicePort{Port: 80}),
	)
	c := v1.Container{Env: []v1.EnvVar{{Name: "MY_SVC_SERVICE_HOST", Value: "mine"}}}
	got, err := ContainerEnv(context.Background(), envPod(c), &c, &RenderContext{}, src)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"MY_SVC_SERVICE_HOST":              "mine", // set explicitly: wins
		"MY_SVC_SERVICE_PORT":              "80",
		"MY_SVC_SERVICE_PORT_HTTP":         "80",
		"MY_SVC_SERVICE_PORT_METRICS_PORT": "9090",
		"MY_SVC_PORT":                      "tcp://10.96.0.20:80",
		"MY_SVC_PORT_80_TCP":               "tcp://10.96.0.20:80",
		"MY_SVC_PORT_80_TCP_PROTO":         "tcp",
		"MY_SVC_PORT_80_TCP_PORT":          "80",
		"MY_SVC_PORT_80_TCP_ADDR":          "10.96.0.20",
		"MY_SVC_PORT_9090_UDP":             "udp://10.96.0.20:9090",
		"MY_SVC_PORT_9090_UDP_PROTO":       "udp",
		"MY_SVC_PORT_9090_UDP_PORT":        "9090",
		"MY_SVC_PORT_9090_UDP_ADDR":        "10.96.0.20",
		"V6_SERVICE_HOST":                  "fd00::10",
		"V6_SERVICE_PORT":                  "53",
		"V6_PORT":                          "tcp://[fd00::10]:53",
		"V6_PORT_53_TCP":                   "tcp://[fd00::10]:53",
		"V6_PORT_53_TCP_PROTO":             "tcp",
		"V6_PORT_53_TCP_PORT":              "53",
		"V6_PORT_53_TCP_ADDR":              "fd00::10",
	}
	for k, v := range kubernetesVars {
		want[k] = v
	}
	if m := envMap(got); !reflect.DeepEqual(m, want) {
		t.Errorf("env:\n got %v\nwant %v", m, want)
	}
	if n := len(got); n != len(want) {
		t.Errorf("%d variables, want %d (duplicates?)", n, len(want))
	}
}

func TestContainerEnvServiceLinksDisabled(t *testing.T) {
	src := newSources()
	src.services = append(src.services, service(envNS, "my-svc", "10.96.0.20", v1.ServicePort{Port: 80}))
	c := v1.Container{}
	pod := envPod(c)
	pod.Spec.EnableServiceLinks = ptrTo(false)
	got, err := ContainerEnv(context.Background(), pod, &c, &RenderContext{}, src)
	if err != nil {
		t.Fatal(err)
	}
	if m := envMap(got); !reflect.DeepEqual(m, kubernetesVars) {
		t.Errorf("env = %v, want only %v", m, kubernetesVars)
	}
}

func TestContainerEnvServicesError(t *testing.T) {
	src := newSources()
	src.servicesErr = errors.New("services have not yet been read at least once, cannot construct envvars")
	c := v1.Container{}
	if _, err := ContainerEnv(context.Background(), envPod(c), &c, &RenderContext{}, src); err == nil || err.Error() != src.servicesErr.Error() {
		t.Errorf("err = %v, want %v", err, src.servicesErr)
	}
}

// TestStaticPodWithoutServices: a static pod starts before the API
// server (it may be the API server): unsynced services give it no service
// variables instead of an error.
func TestStaticPodWithoutServices(t *testing.T) {
	src := newSources()
	src.servicesErr = errors.New("services have not yet been read at least once, cannot construct envvars")
	c := v1.Container{Env: []v1.EnvVar{{Name: "A", Value: "1"}}}
	pod := envPod(c)
	pod.Annotations[podsource.ConfigSourceAnnotation] = podsource.FileSource
	got, err := ContainerEnv(context.Background(), pod, &c, &RenderContext{}, src)
	if err != nil {
		t.Fatalf("static pod: %v", err)
	}
	if m := envMap(got); !reflect.DeepEqual(m, map[string]string{"A": "1"}) {
		t.Errorf("env = %v, want only A", m)
	}
}

func TestContainerEnvNoSources(t *testing.T) {
	for name, c := range map[string]v1.Container{
		"configMapKeyRef": {Env: []v1.EnvVar{{Name: "A", ValueFrom: &v1.EnvVarSource{ConfigMapKeyRef: &v1.ConfigMapKeySelector{LocalObjectReference: v1.LocalObjectReference{Name: "cm"}, Key: "a", Optional: ptrTo(true)}}}}},
		"envFrom secret":  {EnvFrom: []v1.EnvFromSource{{SecretRef: &v1.SecretEnvSource{LocalObjectReference: v1.LocalObjectReference{Name: "sec"}}}}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ContainerEnv(context.Background(), envPod(c), &c, &RenderContext{}, nil)
			if err == nil || !strings.Contains(err.Error(), "no kubeClient defined") || !strings.Contains(err.Error(), "ns1/") {
				t.Errorf("err = %v, want a no-API-server error naming the object", err)
			}
		})
	}
	c := v1.Container{Env: []v1.EnvVar{{Name: "A", Value: "1"}}}
	got, err := ContainerEnv(context.Background(), envPod(c), &c, &RenderContext{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m := envMap(got); !reflect.DeepEqual(m, map[string]string{"A": "1"}) {
		t.Errorf("env = %v, want only A (no service variables without a source)", m)
	}
}

func TestContainerEnvFieldRef(t *testing.T) {
	field := func(p string) *v1.EnvVarSource {
		return &v1.EnvVarSource{FieldRef: &v1.ObjectFieldSelector{APIVersion: "v1", FieldPath: p}}
	}
	tests := []struct {
		path, want, wantErr string
		hostNetwork         bool
	}{
		{path: "metadata.name", want: "p"},
		{path: "metadata.namespace", want: "ns1"},
		{path: "metadata.uid", want: "uid-1"},
		{path: "metadata.labels['app']", want: "web"},
		{path: "metadata.labels['missing']", want: ""},
		{path: "metadata.annotations['note']", want: "hi"},
		{path: "metadata.labels", want: "app=\"web\"\ntier=\"a\\\"b\""},
		{path: "spec.nodeName", want: "node1"},
		{path: "spec.serviceAccountName", want: "sa"},
		{path: "status.podIP", want: "10.244.0.5"},
		{path: "status.podIPs", want: "10.244.0.5,fd00:244::5"},
		{path: "status.hostIP", want: "192.168.1.10"},
		{path: "status.hostIPs", want: "192.168.1.10,fd00::a"},
		{path: "status.podIPs", want: "192.168.1.10,fd00::a", hostNetwork: true},
		{path: "spec.restartPolicy", wantErr: "unsupported fieldPath: spec.restartPolicy"},
		{path: "spec.containers", wantErr: "field label not supported: spec.containers"},
		{path: "spec.nodeName['x']", wantErr: "field label does not support subscript: spec.nodeName['x']"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			c := v1.Container{Env: []v1.EnvVar{{Name: "V", ValueFrom: field(tt.path)}}}
			pod := envPod(c)
			pod.Annotations = map[string]string{"note": "hi"}
			pod.Spec.HostNetwork = tt.hostNetwork
			pod.Status.PodIPs = []v1.PodIP{{IP: "10.244.0.5"}, {IP: "fd00:244::5"}}
			pod.Status.HostIPs = []v1.HostIP{{IP: "192.168.1.10"}, {IP: "fd00::a"}}
			rc := &RenderContext{PodIP: "10.244.0.5", NodeIP: "192.168.1.10"}
			got, err := ContainerEnv(context.Background(), pod, &pod.Spec.Containers[0], rc, nil)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if v := envMap(got)["V"]; v != tt.want {
				t.Errorf("V = %q, want %q", v, tt.want)
			}
		})
	}
	// Without the pod status, the render context's addresses.
	c := v1.Container{Env: []v1.EnvVar{{Name: "V", ValueFrom: field("status.podIPs")}, {Name: "H", ValueFrom: field("status.hostIPs")}}}
	got, err := ContainerEnv(context.Background(), envPod(c), &c, &RenderContext{PodIP: "10.244.0.9", NodeIP: "192.168.1.10"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m := envMap(got); m["V"] != "10.244.0.9" || m["H"] != "192.168.1.10" {
		t.Errorf("podIPs, hostIPs = %q, %q; want the render context's", m["V"], m["H"])
	}
}

func TestContainerEnvResourceFieldRef(t *testing.T) {
	res := func(container, r, divisor string) *v1.EnvVarSource {
		s := &v1.ResourceFieldSelector{ContainerName: container, Resource: r}
		if divisor != "" {
			s.Divisor = resource.MustParse(divisor)
		}
		return &v1.EnvVarSource{ResourceFieldRef: s}
	}
	app := v1.Container{
		Name: "app",
		Resources: v1.ResourceRequirements{
			Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse("250m"), v1.ResourceMemory: resource.MustParse("64Mi")},
			Limits:   v1.ResourceList{v1.ResourceMemory: resource.MustParse("128Mi"), "hugepages-2Mi": resource.MustParse("4Mi")},
		},
		Env: []v1.EnvVar{
			{Name: "REQ_CPU", ValueFrom: res("", "requests.cpu", "")},
			{Name: "REQ_CPU_M", ValueFrom: res("", "requests.cpu", "1m")},
			{Name: "LIM_MEM_MI", ValueFrom: res("", "limits.memory", "1Mi")},
			{Name: "LIM_CPU", ValueFrom: res("", "limits.cpu", "1m")}, // unset: node allocatable
			{Name: "LIM_HUGE", ValueFrom: res("", "limits.hugepages-2Mi", "1Mi")},
			{Name: "SIDE_CPU", ValueFrom: res("side", "limits.cpu", "1m")},
			{Name: "SIDE_MEM", ValueFrom: res("side", "limits.memory", "")}, // unset: node allocatable
			{Name: "INIT_CPU", ValueFrom: res("init", "limits.cpu", "1m")},  // init container: not defaulted
			{Name: "REQ_EPH", ValueFrom: res("", "requests.ephemeral-storage", "")},
		},
	}
	side := v1.Container{Name: "side", Resources: v1.ResourceRequirements{Limits: v1.ResourceList{v1.ResourceCPU: resource.MustParse("1500m")}}}
	pod := envPod(app)
	pod.Spec.Containers = append(pod.Spec.Containers, side)
	pod.Spec.InitContainers = []v1.Container{{Name: "init"}}
	rc := &RenderContext{CPUCapacityMilli: 4000, MemCapacity: 8 << 30}
	got, err := ContainerEnv(context.Background(), pod, &pod.Spec.Containers[0], rc, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"REQ_CPU": "1", "REQ_CPU_M": "250", "LIM_MEM_MI": "128", "LIM_CPU": "4000", "LIM_HUGE": "4",
		"SIDE_CPU": "1500", "SIDE_MEM": "8589934592", "INIT_CPU": "0", "REQ_EPH": "0",
	}
	if m := envMap(got); !reflect.DeepEqual(m, want) {
		t.Errorf("env:\n got %v\nwant %v", m, want)
	}

	// A pod-level limit is the default of an unset container limit.
	pod.Spec.Resources = &v1.ResourceRequirements{Limits: v1.ResourceList{v1.ResourceCPU: resource.MustParse("2")}}
	got, err = ContainerEnv(context.Background(), pod, &pod.Spec.Containers[0], rc, nil)
	if err != nil {
		t.Fatal(err)
	}
	if v := envMap(got)["LIM_CPU"]; v != "2000" {
		t.Errorf("LIM_CPU with pod-level limit 2 = %q, want 2000", v)
	}

	for sel, wantErr := range map[*v1.EnvVarSource]string{
		res("nope", "limits.cpu", ""): "container nope not found",
		res("", "limits.pods", ""):    "unsupported container resource : limits.pods",
	} {
		c := v1.Container{Name: "c", Env: []v1.EnvVar{{Name: "X", ValueFrom: sel}}}
		if _, err := ContainerEnv(context.Background(), envPod(c), &c, rc, nil); err == nil || err.Error() != wantErr {
			t.Errorf("err = %v, want %q", err, wantErr)
		}
	}
}
