package node

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	kubeletapis "k8s.io/kubelet/pkg/apis"

	"github.com/kubeadmin/kubeadmin/internal/constants"
)

const (
	runtimeCallTime = 5 * time.Second
	// evictionMemory and evictionDiskPercent are the upstream default hard
	// eviction thresholds, subtracted from capacity for allocatable.
	evictionMemory      = 100 * 1024 * 1024
	evictionDiskPercent = 10
)

// RuntimeState is what the container runtime says about itself.
type RuntimeState struct {
	// Version is "<runtimeName>://<runtimeVersion>", e.g. containerd://1.6.20.
	Version string
	// Ready is true when the runtime and its network are ready; Message
	// says why not, in the upstream kubelet's words.
	Ready   bool
	Message string
}

// QueryRuntime asks rt for its version and conditions.
func QueryRuntime(ctx context.Context, rt Runtime) RuntimeState {
	if rt == nil {
		return RuntimeState{Message: "container runtime status check may not have completed yet"}
	}
	cctx, cancel := context.WithTimeout(ctx, runtimeCallTime)
	defer cancel()
	st := RuntimeState{}
	if v, err := rt.Version(cctx, "v1"); err == nil {
		st.Version = v.GetRuntimeName() + "://" + v.GetRuntimeVersion()
	}
	resp, err := rt.Status(cctx, false)
	if err != nil {
		st.Message = fmt.Sprintf("container runtime is down: %v", err)
		return st
	}
	st.Ready, st.Message = runtimeConditions(resp.GetStatus().GetConditions())
	return st
}

// runtimeConditions turns the CRI conditions into readiness and the
// upstream message, e.g. "container runtime network not ready:
// NetworkReady=false reason:NetworkPluginNotReady message:...".
func runtimeConditions(conds []*runtimeapi.RuntimeCondition) (bool, string) {
	var errs []string
	found := map[string]bool{}
	for _, c := range conds {
		found[c.GetType()] = true
		if c.GetStatus() {
			continue
		}
		text := fmt.Sprintf("%s=%t reason:%s message:%s", c.GetType(), c.GetStatus(), c.GetReason(), c.GetMessage())
		switch c.GetType() {
		case runtimeapi.RuntimeReady:
			errs = append(errs, "container runtime not ready: "+text)
		case runtimeapi.NetworkReady:
			errs = append(errs, "container runtime network not ready: "+text)
		}
	}
	if !found[runtimeapi.RuntimeReady] {
		errs = append([]string{"container runtime not ready: RuntimeReady condition is missing"}, errs...)
	}
	switch len(errs) {
	case 0:
		return true, ""
	case 1:
		return false, errs[0]
	}
	return false, "[" + strings.Join(errs, ", ") + "]"
}

// defaultLabels are the labels the agent owns on its Node.
func defaultLabels(nodeName string) map[string]string {
	return map[string]string{
		v1.LabelHostname:      nodeName,
		v1.LabelOSStable:      runtime.GOOS,
		v1.LabelArchStable:    runtime.GOARCH,
		kubeletapis.LabelOS:   runtime.GOOS,
		kubeletapis.LabelArch: runtime.GOARCH,
	}
}

// initialNode is the Node to create.
func initialNode(o *Options, host HostInfo, rs RuntimeState, now time.Time) *v1.Node {
	labels := map[string]string{}
	for k, v := range o.Labels {
		labels[k] = v
	}
	for k, v := range defaultLabels(o.NodeName) {
		labels[k] = v
	}
	n := &v1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: o.NodeName, Labels: labels},
		Spec:       v1.NodeSpec{Taints: append([]v1.Taint(nil), o.Taints...)},
	}
	n.Status = computeStatus(o, host, rs, v1.NodeStatus{}, now)
	setHeartbeat(&n.Status, now)
	return n
}

// computeStatus is the node status from the facts, keeping the condition
// times of old where a condition did not change. Heartbeat times are kept
// from old (setHeartbeat sets them when the status is posted).
func computeStatus(o *Options, host HostInfo, rs RuntimeState, old v1.NodeStatus, now time.Time) v1.NodeStatus {
	capacity := v1.ResourceList{
		v1.ResourceCPU:              *resource.NewQuantity(int64(host.CPUs), resource.DecimalSI),
		v1.ResourceMemory:           *resource.NewQuantity(host.MemoryBytes, resource.BinarySI),
		v1.ResourceEphemeralStorage: *resource.NewQuantity(host.EphemeralBytes, resource.BinarySI),
		v1.ResourcePods:             *resource.NewQuantity(int64(o.MaxPods), resource.DecimalSI),
	}
	mem := host.MemoryBytes - evictionMemory
	if mem < 0 {
		mem = 0
	}
	allocatable := v1.ResourceList{
		v1.ResourceCPU:              capacity[v1.ResourceCPU],
		v1.ResourceMemory:           *resource.NewQuantity(mem, resource.BinarySI),
		v1.ResourceEphemeralStorage: *resource.NewQuantity(host.EphemeralBytes/100*(100-evictionDiskPercent), resource.DecimalSI),
		v1.ResourcePods:             capacity[v1.ResourcePods],
	}
	// Start from old so that fields others own (images, volumes,
	// features, ...) are kept.
	st := *old.DeepCopy()
	st.Capacity, st.Allocatable = capacity, allocatable
	st.Addresses = []v1.NodeAddress{
		{Type: v1.NodeInternalIP, Address: o.NodeIP},
		{Type: v1.NodeHostName, Address: o.NodeName},
	}
	st.DaemonEndpoints = v1.NodeDaemonEndpoints{KubeletEndpoint: v1.DaemonEndpoint{Port: int32(o.KubeletPort)}}
	info := &st.NodeInfo
	info.MachineID, info.SystemUUID, info.BootID = host.MachineID, host.SystemUUID, host.BootID
	info.KernelVersion, info.OSImage = host.KernelVersion, host.OSImage
	info.ContainerRuntimeVersion = rs.Version
	info.KubeletVersion, info.KubeProxyVersion = constants.KubernetesVersion, ""
	info.OperatingSystem, info.Architecture = runtime.GOOS, runtime.GOARCH
	if st.NodeInfo.ContainerRuntimeVersion == "" {
		st.NodeInfo.ContainerRuntimeVersion = old.NodeInfo.ContainerRuntimeVersion
	}
	ready := v1.NodeCondition{Type: v1.NodeReady, Status: v1.ConditionTrue, Reason: "KubeletReady", Message: "kubelet is posting ready status"}
	if !rs.Ready {
		ready.Status, ready.Reason, ready.Message = v1.ConditionFalse, "KubeletNotReady", rs.Message
	}
	want := []v1.NodeCondition{
		{Type: v1.NodeMemoryPressure, Status: v1.ConditionFalse, Reason: "KubeletHasSufficientMemory", Message: "kubelet has sufficient memory available"},
		{Type: v1.NodeDiskPressure, Status: v1.ConditionFalse, Reason: "KubeletHasNoDiskPressure", Message: "kubelet has no disk pressure"},
		{Type: v1.NodePIDPressure, Status: v1.ConditionFalse, Reason: "KubeletHasSufficientPID", Message: "kubelet has sufficient PID available"},
		ready,
	}
	st.Conditions = nil
	for _, c := range want {
		prev := findCondition(old.Conditions, c.Type)
		c.LastTransitionTime = metav1.NewTime(now.Truncate(time.Second))
		if prev != nil {
			c.LastHeartbeatTime = prev.LastHeartbeatTime
			if prev.Status == c.Status {
				c.LastTransitionTime = prev.LastTransitionTime
			}
		}
		st.Conditions = append(st.Conditions, c)
	}
	// Keep conditions set by others (e.g. NetworkUnavailable).
	for _, c := range old.Conditions {
		if findCondition(want, c.Type) == nil {
			st.Conditions = append(st.Conditions, c)
		}
	}
	return st
}

func findCondition(conds []v1.NodeCondition, t v1.NodeConditionType) *v1.NodeCondition {
	for i := range conds {
		if conds[i].Type == t {
			return &conds[i]
		}
	}
	return nil
}

// setHeartbeat stamps the conditions the agent owns with now.
func setHeartbeat(st *v1.NodeStatus, now time.Time) {
	for i := range st.Conditions {
		switch st.Conditions[i].Type {
		case v1.NodeReady, v1.NodeMemoryPressure, v1.NodeDiskPressure, v1.NodePIDPressure:
			st.Conditions[i].LastHeartbeatTime = metav1.NewTime(now.Truncate(time.Second))
		}
	}
}

// nodeReady is the status of the Ready condition.
func nodeReady(st v1.NodeStatus) bool {
	c := findCondition(st.Conditions, v1.NodeReady)
	return c != nil && c.Status == v1.ConditionTrue
}

// register creates the Node or, if it exists, reconciles its default
// labels; it retries every RegisterRetry until it succeeds or ctx ends
// (false).
func (n *Node) register(ctx context.Context) bool {
	err := wait.PollUntilContextCancel(ctx, n.opts.RegisterRetry, true, func(ctx context.Context) (bool, error) {
		if err := n.tryRegister(ctx); err != nil {
			n.logState("register", fmt.Sprintf("unable to register node %q with the API server (will retry): %v", n.opts.NodeName, err))
			return false, nil
		}
		return true, nil
	})
	return err == nil
}

func (n *Node) tryRegister(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, apiCallTimeout)
	defer cancel()
	nodes := n.opts.Client.CoreV1().Nodes()
	rs := QueryRuntime(ctx, n.opts.Runtime)
	created, err := nodes.Create(ctx, initialNode(&n.opts, n.host, rs, n.opts.Now()), metav1.CreateOptions{})
	if err == nil {
		n.setUID(created.UID)
		n.logState("register", fmt.Sprintf("successfully registered node %q", n.opts.NodeName))
		return nil
	}
	if !apierrors.IsAlreadyExists(err) {
		return err
	}
	existing, err := nodes.Get(ctx, n.opts.NodeName, metav1.GetOptions{})
	if err != nil {
		return err
	}
	if existing.DeletionTimestamp != nil {
		return fmt.Errorf("node %q is being deleted", n.opts.NodeName)
	}
	changed := false
	if existing.Labels == nil {
		existing.Labels = map[string]string{}
	}
	for k, v := range defaultLabels(n.opts.NodeName) {
		if existing.Labels[k] != v {
			existing.Labels[k] = v
			changed = true
		}
	}
	if changed {
		if existing, err = nodes.Update(ctx, existing, metav1.UpdateOptions{}); err != nil {
			return err
		}
	}
	n.setUID(existing.UID)
	n.logState("register", fmt.Sprintf("node %q was already registered; reconciled its labels", n.opts.NodeName))
	return nil
}

// While a started node is not Ready yet, the runtime is checked every
// startupTick, for at most startupWindow.
const (
	startupTick   = 100 * time.Millisecond
	startupWindow = 30 * time.Second
)

// statusLoop checks the runtime every second (so that a Ready transition
// is posted at once), recomputes the status every StatusUpdatePeriod and
// posts it when it changed or StatusReportPeriod passed.
func (n *Node) statusLoop(ctx context.Context) {
	var lastPost, lastCheck time.Time
	lastReady := false
	first := true
	tick := time.Second
	if n.opts.StatusUpdatePeriod < tick {
		tick = n.opts.StatusUpdatePeriod
	}
	// A new node is not Ready until its pod network is configured, which
	// usually follows within a second of registration: the runtime is
	// asked more often then, so that Ready is posted as soon as it holds.
	start := n.opts.Now()
	failed := false // the last post failed (not on a conflict): no faster than tick
	interval := func() time.Duration {
		if !lastReady && !failed && n.opts.Now().Sub(start) < startupWindow && startupTick < tick {
			return startupTick
		}
		return tick
	}
	for t := time.NewTimer(0); ; t.Reset(interval()) {
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		rs := QueryRuntime(ctx, n.opts.Runtime)
		n.setRuntimeName(rs.Version)
		now := n.opts.Now()
		if !first && rs.Ready == lastReady && now.Sub(lastCheck) < n.opts.StatusUpdatePeriod {
			continue
		}
		posted, err := n.syncStatus(ctx, rs, now, now.Sub(lastPost) >= n.opts.StatusReportPeriod)
		// A conflict (the controller-manager just set the pod CIDR) is
		// retried at once with the newer object.
		failed = err != nil && !apierrors.IsConflict(err)
		if err != nil {
			n.logState("status", fmt.Sprintf("unable to update the status of node %q (will retry): %v", n.opts.NodeName, err))
			continue
		}
		n.logState("status", fmt.Sprintf("updating the status of node %q", n.opts.NodeName))
		lastCheck, lastReady, first = now, rs.Ready, false
		if posted {
			lastPost = now
		}
	}
}

// syncStatus posts the node status if it changed or force is set; it
// reports whether it posted.
func (n *Node) syncStatus(ctx context.Context, rs RuntimeState, now time.Time, force bool) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, apiCallTimeout)
	defer cancel()
	nodes := n.opts.Client.CoreV1().Nodes()
	cur, err := nodes.Get(ctx, n.opts.NodeName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		// Deleted behind our back: register again.
		if err := n.tryRegister(ctx); err != nil {
			return false, err
		}
		cur, err = nodes.Get(ctx, n.opts.NodeName, metav1.GetOptions{})
	}
	if err != nil {
		return false, err
	}
	n.setUID(cur.UID)
	n.setObject(cur)
	st := computeStatus(&n.opts, n.host, rs, cur.Status, now)
	if !force && apiequality.Semantic.DeepEqual(st, cur.Status) {
		return false, nil
	}
	becameReady := nodeReady(st) != nodeReady(cur.Status)
	if becameReady {
		n.opts.Logger.Printf("node %q is now %s", n.opts.NodeName, readyWord(st))
	}
	setHeartbeat(&st, now)
	upd := cur.DeepCopy()
	upd.Status = st
	res, err := nodes.UpdateStatus(ctx, upd, metav1.UpdateOptions{})
	if err != nil {
		return false, err
	}
	n.setObject(res)
	if becameReady {
		reason := "NodeNotReady"
		if nodeReady(st) {
			reason = "NodeReady"
		}
		n.event(v1.EventTypeNormal, reason, "Node %s status is now: %s", n.opts.NodeName, reason)
	}
	return true, nil
}

func readyWord(st v1.NodeStatus) string {
	if nodeReady(st) {
		return "Ready"
	}
	if c := findCondition(st.Conditions, v1.NodeReady); c != nil && c.Message != "" {
		return "NotReady: " + c.Message
	}
	return "NotReady"
}
