package fieldpath

import (
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func testPod() *v1.Pod {
	p := &v1.Pod{}
	p.Name, p.Namespace, p.UID = "web", "prod", "u-1"
	p.Labels = map[string]string{"tier": "front", "app": "web"}
	p.Annotations = map[string]string{"note": "say \"hi\"\n", "Example.com/Key": "v"}
	p.Spec.Containers = []v1.Container{{Name: "c", Resources: v1.ResourceRequirements{
		Limits:   v1.ResourceList{v1.ResourceCPU: resource.MustParse("250m"), v1.ResourceMemory: resource.MustParse("0")},
		Requests: v1.ResourceList{v1.ResourceMemory: resource.MustParse("100Mi")},
	}}}
	p.Spec.InitContainers = []v1.Container{{Name: "init"}}
	return p
}

func TestMetadata(t *testing.T) {
	tests := []struct{ path, want, wantErr string }{
		{path: "metadata.name", want: "web"},
		{path: "metadata.namespace", want: "prod"},
		{path: "metadata.uid", want: "u-1"},
		{path: "metadata.labels", want: "app=\"web\"\ntier=\"front\""},
		{path: "metadata.annotations", want: "Example.com/Key=\"v\"\nnote=\"say \\\"hi\\\"\\n\""},
		{path: "metadata.labels['tier']", want: "front"},
		{path: "metadata.labels['missing']", want: ""},
		{path: "metadata.annotations['Example.com/Key']", want: "v"},
		{path: "metadata.labels['Bad Key']", wantErr: "invalid key"},
		{path: "metadata.name['x']", wantErr: "subscript"},
		{path: "spec.nodeName", wantErr: "unsupported"},
	}
	for _, tt := range tests {
		got, err := Metadata(testPod(), tt.path)
		switch {
		case tt.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: error %v, want one containing %q", tt.path, err, tt.wantErr)
			}
		case err != nil:
			t.Errorf("%s: %v", tt.path, err)
		case got != tt.want:
			t.Errorf("%s = %q, want %q", tt.path, got, tt.want)
		}
	}
	if got := FormatMap(nil); got != "" {
		t.Errorf("FormatMap(nil) = %q", got)
	}
}

func TestResource(t *testing.T) {
	capacity := v1.ResourceList{v1.ResourceCPU: resource.MustParse("4"), v1.ResourceMemory: resource.MustParse("8Gi")}
	tests := []struct {
		res, divisor, want, wantErr string
	}{
		{res: "limits.cpu", want: "1"}, // 250m rounded up to whole cores
		{res: "limits.cpu", divisor: "1m", want: "250"},
		{res: "limits.memory", want: "8589934592"}, // zero limit: node capacity
		{res: "limits.memory", divisor: "1Gi", want: "8"},
		{res: "requests.memory", divisor: "1Mi", want: "100"},
		{res: "requests.cpu", want: "0"},
		{res: "limits.ephemeral-storage", want: "0"}, // not in capacity
		{res: "limits.hugepages-2Mi", want: "0"},
		{res: "limits.nvidia.com/gpu", wantErr: "unsupported"},
		{res: "cpu", wantErr: "unsupported"},
	}
	pod := testPod()
	for _, tt := range tests {
		ref := &v1.ResourceFieldSelector{Resource: tt.res}
		if tt.divisor != "" {
			ref.Divisor = resource.MustParse(tt.divisor)
		}
		got, err := Resource(&pod.Spec.Containers[0], ref, capacity)
		switch {
		case tt.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: error %v, want one containing %q", tt.res, err, tt.wantErr)
			}
		case err != nil:
			t.Errorf("%s: %v", tt.res, err)
		case got != tt.want:
			t.Errorf("%s / %q = %s, want %s", tt.res, tt.divisor, got, tt.want)
		}
	}
	if got, _ := Resource(&pod.Spec.InitContainers[0], &v1.ResourceFieldSelector{Resource: "limits.cpu", Divisor: resource.MustParse("1m")}, capacity); got != "4000" {
		t.Errorf("unset cpu limit = %s, want the node's 4000m", got)
	}
}

func TestContainer(t *testing.T) {
	pod := testPod()
	if c, err := Container(pod, "init"); err != nil || c != &pod.Spec.InitContainers[0] {
		t.Errorf("init container: %v, %v", c, err)
	}
	if _, err := Container(pod, "nope"); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("missing container: %v", err)
	}
}

func TestQuantityCeil(t *testing.T) {
	if got := QuantityCeil(resource.MustParse("1001m"), resource.MustParse("1"), true); got != 2 {
		t.Errorf("1001m / 1 = %d, want 2", got)
	}
	if got := QuantityCeil(resource.MustParse("1Mi"), resource.MustParse("1M"), false); got != 2 {
		t.Errorf("1Mi / 1M = %d, want 2", got)
	}
}
