package fleet

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kubeadmin/kubeadmin/fleet/inventory"
	"github.com/kubeadmin/kubeadmin/fleet/phase"
)

// ResetOptions are `fleet reset`'s flags.
type ResetOptions struct {
	Options
	// MarkedOnly resets only the hosts marked reset: true.
	MarkedOnly bool
}

// drainTimeout bounds the eviction of a node's pods.
const drainTimeout = 2 * time.Minute

// Reset resets the whole cluster, workers first and the control plane
// last, or only the hosts marked reset: true. A worker in a reachable
// cluster is drained and its Node deleted before `kubeadmin reset`.
func Reset(ctx context.Context, o ResetOptions) error {
	start := time.Now()
	f, err := open(o.Options)
	if err != nil {
		return err
	}
	defer f.close()
	selected := f.hosts
	if o.MarkedOnly {
		selected = f.hosts.ToReset()
	}
	cp := f.controlPlane()
	workers := func(hs []string) []string {
		return f.only(hs, func(h *inventory.Resolved) bool { return h.Role == inventory.RoleWorker })
	}
	r := f.runner()
	err = r.Run(ctx, names(selected), []phase.Phase{
		{Title: "connect", Run: f.connect},
		{Title: "facts", Run: f.gatherFacts},
		{Title: "cluster credentials", Once: func(ctx context.Context) error { f.tryCluster(ctx, cp); return nil }},
		{Title: "reset workers", Hosts: workers, Run: f.resetHost},
		{Title: "reset the control plane", Hosts: f.pick(cp), Run: f.resetHost},
	})
	f.summary(r, time.Since(start))
	return err
}

// tryCluster connects to the cluster if the control plane can be reached
// and serves; without it, hosts are reset without draining.
func (f *fleet) tryCluster(ctx context.Context, cp string) {
	if f.conn(cp) == nil {
		if err := f.connect(ctx, cp); err != nil {
			fmt.Fprintf(f.out, "[fleet] the control plane is unreachable (%v): hosts are reset without draining\n", err)
			return
		}
	}
	if err := f.loadAdmin(ctx); err != nil {
		fmt.Fprintf(f.out, "[fleet] no cluster to drain from (%v)\n", err)
		return
	}
	if _, err := f.client.Discovery().ServerVersion(); err != nil {
		fmt.Fprintf(f.out, "[fleet] the API server does not answer (%v): hosts are reset without draining\n", err)
		f.client = nil
	}
}

// resetHost drains the host's Node (a worker, when the cluster answers),
// runs `kubeadmin reset -f` if kubeadmin left anything there, and then
// deletes the Node: deleted before the reset, the still running agent
// would register it again.
func (f *fleet) resetHost(ctx context.Context, h string) error {
	var node string
	if f.client != nil && f.byName[h].Role == inventory.RoleWorker {
		n, err := f.node(ctx, h)
		if err != nil {
			return err
		}
		if n != nil {
			if err := f.drain(ctx, n.Name); err != nil {
				return err
			}
			node = n.Name
		}
	}
	if facts := f.fact(h); facts != nil && (facts.AdminConf || facts.KubeletConf || facts.StaticPods || len(facts.KubeadminLeftovers) > 0) {
		if _, err := f.kubeadmin(ctx, h, nil, "reset", "-f"); err != nil {
			return err
		}
		f.note(h, "reset")
		fmt.Fprintf(f.out, "[fleet] %s: reset\n", h)
	}
	if node != "" {
		if err := f.client.CoreV1().Nodes().Delete(ctx, node, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("failed to delete Node %q: %w", node, err)
		}
		f.note(h, "drained and deleted from the cluster")
	}
	return nil
}

// drain cordons the Node and evicts its pods, except DaemonSet pods and
// mirror pods, as `kubectl drain --ignore-daemonsets --delete-emptydir-data
// --force` does, and waits until they are gone.
func (f *fleet) drain(ctx context.Context, node string) error {
	nodes := f.client.CoreV1().Nodes()
	n, err := nodes.Get(ctx, node, metav1.GetOptions{})
	if err != nil {
		return err
	}
	if !n.Spec.Unschedulable {
		n.Spec.Unschedulable = true
		if _, err := nodes.Update(ctx, n, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("failed to cordon Node %q: %w", node, err)
		}
	}
	pods, err := f.evictable(ctx, node)
	if err != nil {
		return err
	}
	for _, p := range pods {
		ev := &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace}}
		if err := f.client.CoreV1().Pods(p.Namespace).EvictV1(ctx, ev); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("failed to evict pod %s/%s from %q: %w", p.Namespace, p.Name, node, err)
		}
	}
	var left []corev1.Pod
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, drainTimeout, true, func(ctx context.Context) (bool, error) {
		left, err = f.evictable(ctx, node)
		return err == nil && len(left) == 0, nil
	})
	if err != nil {
		return fmt.Errorf("the pods of Node %q were not gone within %s (%d left, e.g. %s/%s)", node, drainTimeout, len(left), first(left).Namespace, first(left).Name)
	}
	return nil
}

func first(ps []corev1.Pod) corev1.Pod {
	if len(ps) == 0 {
		return corev1.Pod{}
	}
	return ps[0]
}

// evictable are the pods of the node a drain evicts.
func (f *fleet) evictable(ctx context.Context, node string) ([]corev1.Pod, error) {
	list, err := f.client.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=" + node})
	if err != nil {
		return nil, err
	}
	var out []corev1.Pod
	for _, p := range list.Items {
		if _, mirror := p.Annotations[corev1.MirrorPodAnnotationKey]; mirror {
			continue
		}
		if c := metav1.GetControllerOf(&p); c != nil && c.Kind == "DaemonSet" {
			continue
		}
		if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		out = append(out, p)
	}
	return out, nil
}
