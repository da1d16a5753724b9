package clusterobjects

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

var cpTaint = corev1.Taint{Key: "node-role.kubernetes.io/control-plane", Effect: corev1.TaintEffectNoSchedule}

func node(labels map[string]string, taints ...corev1.Taint) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node1", Labels: labels}, Spec: corev1.NodeSpec{Taints: taints}}
}

func TestMarkControlPlane(t *testing.T) {
	hostname := map[string]string{"kubernetes.io/hostname": "node1", "keep": "me"}
	other := corev1.Taint{Key: "example.com/gpu", Value: "true", Effect: corev1.TaintEffectNoExecute}
	tests := []struct {
		name       string
		existing   *corev1.Node
		taints     []corev1.Taint
		wantTaints []corev1.Taint
		wantOut    string
	}{
		{
			name: "default taint", existing: node(hostname), taints: []corev1.Taint{cpTaint}, wantTaints: []corev1.Taint{cpTaint},
			wantOut: "[mark-control-plane] Marking the node node1 as control-plane by adding the labels: [node-role.kubernetes.io/control-plane node.kubernetes.io/exclude-from-external-load-balancers]\n" +
				"[mark-control-plane] Marking the node node1 as control-plane by adding the taints [node-role.kubernetes.io/control-plane:NoSchedule]\n",
		},
		{
			name: "keeps existing taints", existing: node(hostname, other), taints: []corev1.Taint{cpTaint},
			wantTaints: []corev1.Taint{cpTaint, other},
		},
		{
			name: "no duplicate when already tainted", existing: node(hostname, cpTaint), taints: []corev1.Taint{cpTaint},
			wantTaints: []corev1.Taint{cpTaint},
		},
		{
			name: "no taints", existing: node(hostname, other), taints: []corev1.Taint{}, wantTaints: []corev1.Taint{other},
			wantOut: "[mark-control-plane] Marking the node node1 as control-plane by adding the labels: [node-role.kubernetes.io/control-plane node.kubernetes.io/exclude-from-external-load-balancers]\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := fake.NewSimpleClientset(tt.existing)
			var out bytes.Buffer
			if err := MarkControlPlane(client, "node1", tt.taints, time.Second, &out); err != nil {
				t.Fatal(err)
			}
			if tt.wantOut != "" && out.String() != tt.wantOut {
				t.Errorf("output:\n%s\nwant:\n%s", out.String(), tt.wantOut)
			}
			n, err := client.CoreV1().Nodes().Get(context.Background(), "node1", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			wantLabels := map[string]string{"kubernetes.io/hostname": "node1", "keep": "me",
				"node-role.kubernetes.io/control-plane": "", "node.kubernetes.io/exclude-from-external-load-balancers": ""}
			if !reflect.DeepEqual(n.Labels, wantLabels) {
				t.Errorf("labels %v, want %v", n.Labels, wantLabels)
			}
			if !reflect.DeepEqual(n.Spec.Taints, tt.wantTaints) {
				t.Errorf("taints %v, want %v", n.Spec.Taints, tt.wantTaints)
			}
			var patches int
			for _, a := range client.Actions() {
				if a.GetVerb() == "patch" {
					patches++
					if pt := a.(k8stesting.PatchAction).GetPatchType(); pt != "application/strategic-merge-patch+json" {
						t.Errorf("patch type %s", pt)
					}
				}
			}
			if patches != 1 {
				t.Errorf("%d patches, want 1", patches)
			}
		})
	}
}

func TestMarkControlPlaneWaitsForHostnameLabel(t *testing.T) {
	client := fake.NewSimpleClientset(node(nil))
	gets := 0
	client.PrependReactor("get", "nodes", func(k8stesting.Action) (bool, runtime.Object, error) {
		gets++
		switch {
		case gets == 1:
			return true, nil, errors.New("connection refused")
		case gets < 4:
			return false, nil, nil // no hostname label yet
		}
		n, _ := client.Tracker().Get(corev1.SchemeGroupVersion.WithResource("nodes"), "", "node1")
		n = n.DeepCopyObject()
		n.(*corev1.Node).Labels = map[string]string{"kubernetes.io/hostname": "node1"}
		return true, n, nil
	})
	if err := MarkControlPlane(client, "node1", []corev1.Taint{cpTaint}, 5*time.Second, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if gets < 4 {
		t.Errorf("patched after %d gets, before the label appeared", gets)
	}
}

func TestMarkControlPlaneTimesOut(t *testing.T) {
	tests := []struct {
		name     string
		existing []runtime.Object
		want     string
	}{
		{"never labelled", []runtime.Object{node(nil)}, `failed to patch Node "node1": node "node1" has no kubernetes.io/hostname label yet`},
		{"missing node", nil, `failed to patch Node "node1": nodes "node1" not found`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := fake.NewSimpleClientset(tt.existing...)
			err := MarkControlPlane(client, "node1", nil, 50*time.Millisecond, &bytes.Buffer{})
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("got %v, want prefix %q", err, tt.want)
			}
		})
	}
}
