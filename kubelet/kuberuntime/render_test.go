package kuberuntime

import (
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func TestExpand(t *testing.T) {
	vars := map[string]string{"A": "1", "B": "two"}
	tests := map[string]string{
		"$(A)-$(B)":  "1-two",
		"$(C)":       "$(C)",
		"$$(A)":      "$(A)",
		"a$b":        "a$b",
		"$(A":        "$(A",
		"plain":      "plain",
		"end$":       "end$",
		"$(A)$(A)$$": "11$",
	}
	for in, want := range tests {
		if got := expand(in, vars); got != want {
			t.Errorf("expand(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDNSConfig(t *testing.T) {
	host := HostDNS{Servers: []string{"1.1.1.1"}, Searches: []string{"example.org"}, Options: []string{"edns0"}}
	rc := &RenderContext{ClusterDNS: []string{"10.96.0.10"}, ClusterDomain: "cluster.local", HostDNS: host}
	pod := func(policy v1.DNSPolicy, hostNet bool) *v1.Pod {
		p := &v1.Pod{}
		p.Namespace = "ns"
		p.Spec.DNSPolicy, p.Spec.HostNetwork = policy, hostNet
		return p
	}
	tests := []struct {
		name        string
		pod         *v1.Pod
		rc          *RenderContext
		wantServers string
		wantSearch  string
	}{
		{"hostNetwork ClusterFirst uses the host", pod(v1.DNSClusterFirst, true), rc, "1.1.1.1", "example.org"},
		{"ClusterFirst", pod(v1.DNSClusterFirst, false), rc, "10.96.0.10", "ns.svc.cluster.local svc.cluster.local cluster.local example.org"},
		{"ClusterFirstWithHostNet", pod(v1.DNSClusterFirstWithHostNet, true), rc, "10.96.0.10", "ns.svc.cluster.local svc.cluster.local cluster.local example.org"},
		{"no clusterDNS falls back", pod(v1.DNSClusterFirst, false), &RenderContext{HostDNS: host}, "1.1.1.1", "example.org"},
		{"None", pod(v1.DNSNone, false), rc, "", ""},
	}
	for _, tt := range tests {
		d := dnsConfig(tt.pod, tt.rc)
		if got := strings.Join(d.Servers, " "); got != tt.wantServers {
			t.Errorf("%s: servers %q, want %q", tt.name, got, tt.wantServers)
		}
		if got := strings.Join(d.Searches, " "); got != tt.wantSearch {
			t.Errorf("%s: searches %q, want %q", tt.name, got, tt.wantSearch)
		}
	}
	if got := ParseResolvConf([]byte("# c\nnameserver 9.9.9.9\nsearch a b\noptions ndots:2\n")); strings.Join(got.Servers, ",") != "9.9.9.9" || len(got.Searches) != 2 || got.Options[0] != "ndots:2" {
		t.Errorf("ParseResolvConf = %+v", got)
	}
}

func TestQoSAndOOMScore(t *testing.T) {
	res := func(req, lim string) v1.ResourceRequirements {
		r := v1.ResourceRequirements{}
		if req != "" {
			r.Requests = v1.ResourceList{v1.ResourceCPU: resource.MustParse(req), v1.ResourceMemory: resource.MustParse(req + "Mi")}
		}
		if lim != "" {
			r.Limits = v1.ResourceList{v1.ResourceCPU: resource.MustParse(lim), v1.ResourceMemory: resource.MustParse(lim + "Mi")}
		}
		return r
	}
	mk := func(r v1.ResourceRequirements, prio string) *v1.Pod {
		p := &v1.Pod{}
		p.Spec.PriorityClassName = prio
		p.Spec.Containers = []v1.Container{{Name: "c", Resources: r}}
		return p
	}
	tests := []struct {
		name    string
		pod     *v1.Pod
		qos     string
		wantOOM int64
	}{
		{"best effort", mk(res("", ""), ""), qosBestEffort, 1000},
		{"guaranteed", mk(res("1", "1"), ""), qosGuaranteed, -997},
		{"burstable", mk(res("512", ""), ""), qosBurstable, 500},
		{"critical", mk(res("1", ""), "system-node-critical"), qosBurstable, -997},
	}
	for _, tt := range tests {
		if got := qosClass(tt.pod); got != tt.qos {
			t.Errorf("%s: qos %s, want %s", tt.name, got, tt.qos)
		}
		if got := oomScoreAdj(tt.pod, &tt.pod.Spec.Containers[0], 1024<<20); got != tt.wantOOM {
			t.Errorf("%s: oom %d, want %d", tt.name, got, tt.wantOOM)
		}
	}
}
