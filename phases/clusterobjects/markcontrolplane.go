package clusterobjects

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/kubeadmin/kubeadmin/internal/constants"
)

// controlPlaneLabels are the labels kubeadm puts on control-plane nodes.
var controlPlaneLabels = []string{constants.LabelNodeRoleControlPlane, constants.LabelExcludeFromExternalLB}

// MarkControlPlane labels node nodeName as a control plane and sets its
// taints to taints plus any existing taint with another key and effect.
// Like kubeadm it waits for the node to carry the kubernetes.io/hostname
// label (set by the kubelet on registration), then sends a strategic-merge
// patch, retrying until timeout.
func MarkControlPlane(client kubernetes.Interface, nodeName string, taints []corev1.Taint, timeout time.Duration, out io.Writer) error {
	fmt.Fprintf(out, "[mark-control-plane] Marking the node %s as control-plane by adding the labels: %v\n", nodeName, controlPlaneLabels)
	if len(taints) > 0 {
		strs := make([]string, 0, len(taints))
		for i := range taints {
			strs = append(strs, taints[i].ToString())
		}
		fmt.Fprintf(out, "[mark-control-plane] Marking the node %s as control-plane by adding the taints %v\n", nodeName, strs)
	}
	return PatchNode(client, nodeName, timeout, func(n *corev1.Node) { markControlPlaneNode(n, taints) })
}

// markControlPlaneNode adds the control-plane labels and merges taints.
func markControlPlaneNode(n *corev1.Node, taints []corev1.Taint) {
	if n.Labels == nil {
		n.Labels = map[string]string{}
	}
	for _, l := range controlPlaneLabels {
		n.Labels[l] = ""
	}
	merged := append([]corev1.Taint(nil), taints...)
	for _, existing := range n.Spec.Taints {
		if !containsTaint(merged, existing) {
			merged = append(merged, existing)
		}
	}
	n.Spec.Taints = merged
}

// containsTaint reports whether a taint with t's key and effect is in list
// (a node may not carry two taints with the same key and effect).
func containsTaint(list []corev1.Taint, t corev1.Taint) bool {
	for i := range list {
		if list[i].MatchTaint(&t) {
			return true
		}
	}
	return false
}

// PatchNode applies mutate to node nodeName with a strategic-merge patch,
// once the node has its kubernetes.io/hostname label, retrying every
// failure until timeout.
func PatchNode(client kubernetes.Interface, nodeName string, timeout time.Duration, mutate func(*corev1.Node)) error {
	var lastErr error
	err := wait.PollUntilContextTimeout(context.Background(), retryInterval, timeout, true,
		func(ctx context.Context) (bool, error) {
			done, err := patchNodeOnce(ctx, client, nodeName, mutate)
			if err != nil && (lastErr == nil || !isContextError(err)) {
				lastErr = err
			}
			return done, nil
		})
	if err == nil {
		return nil
	}
	if lastErr == nil {
		lastErr = fmt.Errorf("node %q has no %s label yet: %w", nodeName, corev1.LabelHostname, err)
	}
	return fmt.Errorf("failed to patch Node %q: %w", nodeName, lastErr)
}

func patchNodeOnce(ctx context.Context, client kubernetes.Interface, nodeName string, mutate func(*corev1.Node)) (bool, error) {
	n, err := client.CoreV1().Nodes().Get(ctx, nodeName, metav1.GetOptions{})
	if err != nil {
		return false, err
	}
	if _, ok := n.Labels[corev1.LabelHostname]; !ok {
		return false, nil
	}
	oldData, err := json.Marshal(n)
	if err != nil {
		return false, fmt.Errorf("failed to marshal node %q: %w", nodeName, err)
	}
	mutate(n)
	newData, err := json.Marshal(n)
	if err != nil {
		return false, fmt.Errorf("failed to marshal node %q: %w", nodeName, err)
	}
	patch, err := strategicpatch.CreateTwoWayMergePatch(oldData, newData, corev1.Node{})
	if err != nil {
		return false, fmt.Errorf("failed to create a patch for node %q: %w", nodeName, err)
	}
	if _, err := client.CoreV1().Nodes().Patch(ctx, nodeName, types.StrategicMergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return false, fmt.Errorf("error patching Node %q: %w", nodeName, err)
	}
	return true, nil
}
