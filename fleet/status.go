package fleet

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubeadmin/kubeadmin/fleet/hostprep"
	"github.com/kubeadmin/kubeadmin/fleet/inventory"
	"github.com/kubeadmin/kubeadmin/fleet/phase"
)

// hostState is what status and plan know of one host.
type hostState struct {
	err   error
	facts *hostprep.Facts
	node  *corev1.Node
}

// survey connects to every host it can and reads its facts and Node,
// with the same runner as apply (quietly: status and plan print their own
// table).
func (f *fleet) survey(ctx context.Context) map[string]*hostState {
	r := f.runner()
	r.Out = io.Discard
	_ = r.Run(ctx, names(f.hosts), []phase.Phase{
		{Title: "connect", Run: f.connect},
		{Title: "facts", Run: f.gatherFacts},
	})
	states := map[string]*hostState{}
	for _, res := range r.Results() {
		states[res.Host] = &hostState{err: res.Err, facts: f.fact(res.Host)}
	}
	cp := f.controlPlane()
	if st := states[cp]; st.err == nil && st.facts.AdminConf && f.loadAdmin(ctx) == nil {
		if _, err := f.client.Discovery().ServerVersion(); err == nil {
			for h, st := range states {
				if st.err == nil {
					st.node, _ = f.node(ctx, h)
				}
			}
		} else {
			f.client = nil
		}
	}
	return states
}

// Status prints, per host, whether it is reachable, its OS, containerd and
// kubeadmin, its role and its Node's state.
func Status(ctx context.Context, o Options) error {
	f, err := open(o)
	if err != nil {
		return err
	}
	defer f.close()
	states := f.survey(ctx)
	tw := tabwriter.NewWriter(f.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tROLE\tREACHABLE\tOS\tCONTAINERD\tKUBEADMIN\tNODE")
	var failed []string
	for _, h := range f.hosts {
		name := hostName(h)
		st := states[name]
		if st.err != nil {
			fmt.Fprintf(tw, "%s\t%s\tno\t-\t-\t-\t-\n", name, h.Role)
			failed = append(failed, fmt.Sprintf("%s: %v", name, st.err))
			continue
		}
		fa := st.facts
		ctr := "missing"
		if fa.ContainerdInstalled {
			ctr = "stopped " + fa.ContainerdVersion
			if fa.ContainerdRunning {
				ctr = "running " + fa.ContainerdVersion
			}
		}
		kadm := "missing"
		if fa.KubeadminSHA256 != "" {
			kadm = fa.KubeadminVersion
		}
		fmt.Fprintf(tw, "%s\t%s\tyes\t%s %s\t%s\t%s\t%s\n", name, h.Role, fa.OSID, fa.OSVersion, strings.TrimSpace(ctr), kadm, nodeState(f, st))
	}
	_ = tw.Flush()
	for _, msg := range failed {
		fmt.Fprintln(f.out, msg)
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d hosts are unreachable", len(failed), len(f.hosts))
	}
	return nil
}

// nodeState is "Ready", "NotReady", "not joined" or "unknown".
func nodeState(f *fleet, st *hostState) string {
	switch {
	case f.client == nil:
		return "unknown (no cluster)"
	case st.node == nil:
		return "not joined"
	}
	for _, c := range st.node.Status.Conditions {
		if c.Type == corev1.NodeReady {
			if c.Status == corev1.ConditionTrue {
				return "Ready"
			}
			return "NotReady"
		}
	}
	return "NotReady"
}

// Plan prints, per host, what apply would do, changing nothing.
func Plan(ctx context.Context, o Options) error {
	f, err := open(o)
	if err != nil {
		return err
	}
	defer f.close()
	states := f.survey(ctx)
	binary, err := f.inv.KubeadminBinary()
	if err != nil {
		return err
	}
	sum, err := fileSHA256(binary)
	if err != nil {
		return err
	}
	nothing := true
	for _, h := range f.hosts {
		name := hostName(h)
		st := states[name]
		var todo []string
		switch {
		case st.err != nil:
			todo = []string{fmt.Sprintf("cannot plan: %v", st.err)}
		case h.Reset:
			if st.node != nil {
				todo = append(todo, "drain and delete its Node")
			}
			if st.facts.AdminConf || st.facts.KubeletConf || len(st.facts.KubeadminLeftovers) > 0 {
				todo = append(todo, "kubeadmin reset")
			}
		default:
			todo = f.planHost(h, st, sum)
		}
		if len(todo) == 0 {
			fmt.Fprintf(f.out, "%s (%s): nothing to do\n", name, h.Role)
			continue
		}
		nothing = false
		fmt.Fprintf(f.out, "%s (%s):\n", name, h.Role)
		for _, t := range todo {
			fmt.Fprintf(f.out, "  - %s\n", t)
		}
	}
	if nothing {
		fmt.Fprintf(f.out, "[fleet] no changes: every host already matches %s\n", f.opts.File)
	}
	return nil
}

// planHost lists what apply would do on a host to keep.
func (f *fleet) planHost(h *inventory.Resolved, st *hostState, binarySHA string) []string {
	fa := st.facts
	var todo []string
	if fa.KubeadminSHA256 != binarySHA {
		todo = append(todo, "upload kubeadmin to "+hostprep.RemoteKubeadmin)
	}
	if !fa.ContainerdInstalled {
		todo = append(todo, "install containerd from the host's package sources")
	}
	if !fa.ContainerdRunning {
		todo = append(todo, "configure and start containerd")
	}
	if !fa.ContainerdRunning || !fa.KubeletConf && !fa.AdminConf {
		todo = append(todo, "upload and import the images it lacks")
	}
	switch h.Role {
	case inventory.RoleControlPlane:
		if !(fa.AdminConf && fa.StaticPods) {
			todo = append(todo, "kubeadmin init")
		}
	default:
		if st.node == nil || !fa.KubeletConf {
			todo = append(todo, "kubeadmin join (with a new bootstrap token)")
		}
	}
	if st.node != nil {
		for k, v := range h.Host.Labels {
			if !hasLabel(st.node.Labels, k, v) {
				todo = append(todo, fmt.Sprintf("label %s=%s", k, v))
			}
		}
		for _, t := range h.Host.Taints {
			if !hasTaint(st.node.Spec.Taints, t) {
				todo = append(todo, "taint "+t.ToString())
			}
		}
	} else if len(h.Host.Labels)+len(h.Host.Taints) > 0 {
		todo = append(todo, "set its labels and taints")
	}
	return todo
}
