package network

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubeadmin/kubeadmin/internal/constants"
	"github.com/kubeadmin/kubeadmin/internal/testutil"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func TestRenderGolden(t *testing.T) {
	for name, cidr := range map[string]string{"ipv4": "10.244.1.0/24", "ipv6": "fd00:10:244:1::/64"} {
		t.Run(name, func(t *testing.T) {
			got, err := Render(cidr)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", name+".conflist")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("missing golden file (go test ./kubelet/network -update): %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("Render(%q) differs from %s:\n%s", cidr, path, got)
			}
		})
	}
}

func TestRenderRejectsBadCIDR(t *testing.T) {
	_, err := Render("10.244.1.0")
	if err == nil || !strings.Contains(err.Error(), "spec.podCIDR") {
		t.Errorf("Render of a bad CIDR: %v, want an error naming spec.podCIDR", err)
	}
}

func node(name, cidr, ip string) *v1.Node {
	n := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if cidr != "" {
		n.Spec.PodCIDR = cidr
		n.Spec.PodCIDRs = []string{cidr}
	}
	if ip != "" {
		n.Status.Addresses = []v1.NodeAddress{
			{Type: v1.NodeHostName, Address: name},
			{Type: v1.NodeExternalIP, Address: "203.0.113.9"},
			{Type: v1.NodeInternalIP, Address: ip},
		}
	}
	return n
}

func route(dst, gw string) Route {
	return Route{Dst: netip.MustParsePrefix(dst), Gateway: netip.MustParseAddr(gw)}
}

func TestDesiredRoutes(t *testing.T) {
	dual := node("dual", "10.244.4.0/24", "10.77.0.5")
	dual.Spec.PodCIDRs = []string{"10.244.4.0/24", "fd00:10:244:4::/64"}
	dual.Status.Addresses = append(dual.Status.Addresses, v1.NodeAddress{Type: v1.NodeInternalIP, Address: "fd00::5"})
	nodes := []*v1.Node{
		node("c", "10.244.2.0/24", "10.77.0.4"),
		node("self", "10.244.0.0/24", "10.77.0.2"),
		node("b", "10.244.1.0/24", "10.77.0.3"),
		node("no-cidr", "", "10.77.0.6"),
		node("no-ip", "10.244.3.0/24", ""),
		dual,
	}
	got := DesiredRoutes(nodes, "self")
	want := []Route{
		route("10.244.1.0/24", "10.77.0.3"),
		route("10.244.2.0/24", "10.77.0.4"),
		route("10.244.4.0/24", "10.77.0.5"),
		route("fd00:10:244:4::/64", "fd00::5"),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("DesiredRoutes = %v, want %v", got, want)
	}
}

func TestDiffRoutes(t *testing.T) {
	desired := []Route{
		route("10.244.1.0/24", "10.77.0.3"), // in place
		route("10.244.2.0/24", "10.77.0.9"), // gateway changed
		route("10.244.5.0/24", "10.77.0.7"), // new node
	}
	current := []Route{
		route("10.244.3.0/24", "10.77.0.5"), // node gone
		route("10.244.2.0/24", "10.77.0.4"),
		route("10.244.1.0/24", "10.77.0.3"),
	}
	add, remove := DiffRoutes(desired, current)
	if want := []Route{route("10.244.2.0/24", "10.77.0.9"), route("10.244.5.0/24", "10.77.0.7")}; !reflect.DeepEqual(add, want) {
		t.Errorf("add = %v, want %v", add, want)
	}
	if want := []Route{route("10.244.3.0/24", "10.77.0.5")}; !reflect.DeepEqual(remove, want) {
		t.Errorf("remove = %v, want %v", remove, want)
	}
	if add, remove := DiffRoutes(current, current); add != nil || remove != nil {
		t.Errorf("no change gave add %v remove %v", add, remove)
	}
	if add, remove := DiffRoutes(nil, current); add != nil || len(remove) != 3 {
		t.Errorf("no nodes gave add %v remove %v, want all removed", add, remove)
	}
}

func TestMasqueradeRules(t *testing.T) {
	got := string(MasqueradeRules("10.244.0.0/24", []string{"10.244.0.0/16", "10.244.1.0/24", "192.168.5.0/24", "fd00:10:244::/56"}))
	want := `*nat
:KUBEADMIN-POSTROUTING - [0:0]
-A KUBEADMIN-POSTROUTING -d 10.244.0.0/16 -j RETURN
-A KUBEADMIN-POSTROUTING -d 192.168.5.0/24 -j RETURN
-A KUBEADMIN-POSTROUTING -d 224.0.0.0/4 -j RETURN
-A KUBEADMIN-POSTROUTING -s 10.244.0.0/24 -j MASQUERADE
COMMIT
`
	if got != want {
		t.Errorf("MasqueradeRules =\n%s\nwant\n%s", got, want)
	}
	// Without a cluster CIDR, the node's own CIDR is still not masqueraded.
	if got := string(MasqueradeRules("10.244.0.0/24", nil)); !strings.Contains(got, "-d 10.244.0.0/24 -j RETURN") {
		t.Errorf("rules without cluster CIDRs:\n%s", got)
	}
	if got := MasqueradeRules("fd00:10:244::/64", nil); got != nil {
		t.Errorf("IPv6 pod CIDR gave rules %q, want none", got)
	}
}

// fakeRunner records commands; fail says which fail.
type fakeRunner struct {
	mu    sync.Mutex
	calls []string
	fail  func(cmd string) bool
}

func (f *fakeRunner) run(_ context.Context, stdin []byte, name string, args ...string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	cmd := strings.Join(append([]string{filepath.Base(name)}, args...), " ")
	if stdin != nil {
		cmd += " <" + strings.SplitN(string(stdin), "\n", 2)[0]
	}
	f.calls = append(f.calls, cmd)
	if f.fail != nil && f.fail(cmd) {
		return nil, errors.New("exit status 1")
	}
	return nil, nil
}

func TestIptablesApplyAddsTheJumpOnce(t *testing.T) {
	const jump = "POSTROUTING -m comment --comment kubeadmin pod network masquerade -j KUBEADMIN-POSTROUTING"
	f := &fakeRunner{fail: func(cmd string) bool { return strings.Contains(cmd, "-C "+jump) }}
	rules := MasqueradeRules("10.244.0.0/24", nil)
	if err := (iptables{run: f.run}).apply(context.Background(), rules); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"iptables-restore -w 5 --noflush <*nat",
		"iptables -w 5 -t nat -C " + jump,
		"iptables -w 5 -t nat -A " + jump,
	}
	if !reflect.DeepEqual(f.calls, want) {
		t.Errorf("calls %q, want %q", f.calls, want)
	}
	// With the jump in place, nothing is appended.
	f2 := &fakeRunner{}
	if err := (iptables{run: f2.run}).apply(context.Background(), rules); err != nil {
		t.Fatal(err)
	}
	if len(f2.calls) != 2 {
		t.Errorf("calls %q, want restore and check only", f2.calls)
	}
}

func TestIptablesCleanupWithoutChain(t *testing.T) {
	f := &fakeRunner{fail: func(cmd string) bool { return strings.Contains(cmd, "-S KUBEADMIN-POSTROUTING") }}
	if err := (iptables{run: f.run}).cleanup(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(f.calls) != 1 {
		t.Errorf("calls %q, want only the chain check", f.calls)
	}
}

// fakeDataplane records what Run asks for.
type fakeDataplane struct {
	mu         sync.Mutex
	routes     [][]Route
	rules      [][]byte
	failRoutes int
}

func (f *fakeDataplane) syncRoutes(_ context.Context, desired []Route) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.routes = append(f.routes, desired)
	if f.failRoutes > 0 {
		f.failRoutes--
		return errors.New("netlink: busy")
	}
	return nil
}

func (f *fakeDataplane) syncMasquerade(_ context.Context, rules []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = append(f.rules, rules)
	return nil
}

func (f *fakeDataplane) snapshot() (routes [][]Route, rules [][]byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([][]Route(nil), f.routes...), append([][]byte(nil), f.rules...)
}

func TestRunWritesConfAndFollowsNodes(t *testing.T) {
	dir := t.TempDir()
	other := filepath.Join(dir, "05-other.conf")
	if err := os.WriteFile(other, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	client := fake.NewSimpleClientset(node("self", "", "10.77.0.2"), node("b", "10.244.1.0/24", "10.77.0.3"))
	dp := &fakeDataplane{}
	opts := Options{Client: client, NodeName: "self", ConfDir: dir, ClusterCIDR: "10.244.0.0/16"}
	testutil.RunUntilCleanup(t, func(ctx context.Context) error { return run(ctx, opts, dp) })
	ctx := context.Background()
	conf := filepath.Join(dir, ConfFileName)

	// Routes follow the nodes at once; no CNI file or rule before the
	// node has a pod CIDR.
	testutil.Eventually(t, "the route to b", func() bool {
		r, _ := dp.snapshot()
		return len(r) > 0 && reflect.DeepEqual(r[len(r)-1], []Route{route("10.244.1.0/24", "10.77.0.3")})
	})
	if _, err := os.Stat(conf); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("conflist written before the node had a pod CIDR: %v", err)
	}
	if _, rules := dp.snapshot(); len(rules) != 0 {
		t.Fatalf("masquerade rules before the node had a pod CIDR: %q", rules)
	}

	self := node("self", "10.244.0.0/24", "10.77.0.2")
	if _, err := client.CoreV1().Nodes().Update(ctx, self, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	want, _ := Render("10.244.0.0/24")
	testutil.Eventually(t, "the conflist", func() bool {
		got, err := os.ReadFile(conf)
		return err == nil && bytes.Equal(got, want)
	})
	testutil.Eventually(t, "the masquerade rules", func() bool {
		_, rules := dp.snapshot()
		return len(rules) == 1 && bytes.Equal(rules[0], MasqueradeRules("10.244.0.0/24", []string{"10.244.0.0/16"}))
	})
	before, err := os.Stat(conf)
	if err != nil {
		t.Fatal(err)
	}

	// A new node: one more sync, the conflist is not rewritten and the
	// unchanged rules are not re-applied.
	if _, err := client.CoreV1().Nodes().Create(ctx, node("c", "10.244.2.0/24", "10.77.0.4"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, "the route to c", func() bool {
		r, _ := dp.snapshot()
		return reflect.DeepEqual(r[len(r)-1], []Route{route("10.244.1.0/24", "10.77.0.3"), route("10.244.2.0/24", "10.77.0.4")})
	})
	after, err := os.Stat(conf)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) {
		t.Error("the conflist was rewritten though its content did not change")
	}
	if _, rules := dp.snapshot(); len(rules) != 1 {
		t.Errorf("rules applied %d times, want once", len(rules))
	}

	// A deleted node loses its route.
	if err := client.CoreV1().Nodes().Delete(ctx, "b", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, "the route to b removed", func() bool {
		r, _ := dp.snapshot()
		return reflect.DeepEqual(r[len(r)-1], []Route{route("10.244.2.0/24", "10.77.0.4")})
	})
	if data, err := os.ReadFile(other); err != nil || string(data) != "{}" {
		t.Errorf("another file in the CNI directory changed: %q, %v", data, err)
	}
}

func TestRunRetriesAfterAnError(t *testing.T) {
	client := fake.NewSimpleClientset(node("self", "10.244.0.0/24", "10.77.0.2"))
	dp := &fakeDataplane{failRoutes: 1}
	opts := Options{Client: client, NodeName: "self", ConfDir: t.TempDir()}
	testutil.RunUntilCleanup(t, func(ctx context.Context) error { return run(ctx, opts, dp) })
	testutil.Eventually(t, "a second route sync after the failure", func() bool {
		r, _ := dp.snapshot()
		return len(r) >= 2
	})
}

func TestRunNeedsClientAndNode(t *testing.T) {
	if err := run(context.Background(), Options{NodeName: "x"}, &fakeDataplane{}); err == nil {
		t.Error("Run without a client succeeded")
	}
}

func TestSlimNodeKeepsWhatTheNetworkUses(t *testing.T) {
	n := node("b", "10.244.1.0/24", "10.77.0.3")
	n.Status.Images = []v1.ContainerImage{{Names: []string{"big"}}}
	n.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "x"}}
	obj, _ := slimNode(n)
	s := obj.(*v1.Node)
	if s.Status.Images != nil || s.ManagedFields != nil {
		t.Error("slimNode kept images or managed fields")
	}
	if got := DesiredRoutes([]*v1.Node{s}, "self"); len(got) != 1 {
		t.Errorf("slim node gives routes %v", got)
	}
}

func TestFromClusterConfig(t *testing.T) {
	cm := &v1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: constants.KubeSystemNamespace, Name: constants.KubeadmConfigConfigMap},
		Data: map[string]string{constants.ClusterConfigurationConfigMapKey: `apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: v1.37.2
networking:
  podSubnet: 10.244.0.0/16
  serviceSubnet: 10.96.0.0/12
`},
	}
	got, err := FromClusterConfig(context.Background(), fake.NewSimpleClientset(cm))
	if err != nil || got != "10.244.0.0/16" {
		t.Errorf("FromClusterConfig = %q, %v", got, err)
	}
	if _, err := FromClusterConfig(context.Background(), fake.NewSimpleClientset()); err == nil || !strings.Contains(err.Error(), "kubeadm-config") {
		t.Errorf("missing ConfigMap: %v", err)
	}
	cm.Data = map[string]string{}
	if _, err := FromClusterConfig(context.Background(), fake.NewSimpleClientset(cm)); err == nil || !strings.Contains(err.Error(), "ClusterConfiguration") {
		t.Errorf("missing key: %v", err)
	}
}

// TestRunWithOnlyItsOwnNodeReadable: before kubeadmin:pod-network exists
// the node may read only its own Node; the CNI file is written from it at
// once, no route is touched meanwhile, and once every Node is readable
// the routes follow them.
func TestRunWithOnlyItsOwnNodeReadable(t *testing.T) {
	defer func(d time.Duration) { ownOnlyWatch = d }(ownOnlyWatch)
	ownOnlyWatch = 50 * time.Millisecond
	dir := t.TempDir()
	client := fake.NewSimpleClientset(node("self", "10.244.0.0/24", "10.77.0.2"), node("b", "10.244.1.0/24", "10.77.0.3"))
	var allowed atomic.Bool
	forbid := func(a k8stesting.Action) (bool, runtime.Object, error) {
		var sel string
		switch act := a.(type) {
		case k8stesting.ListAction:
			sel = act.GetListRestrictions().Fields.String()
		case k8stesting.WatchAction:
			sel = act.GetWatchRestrictions().Fields.String()
		}
		if allowed.Load() || sel == "metadata.name=self" {
			return false, nil, nil
		}
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "nodes"}, "", errors.New("node 'self' cannot read all nodes, only its own Node object"))
	}
	client.PrependReactor("list", "nodes", forbid)
	client.PrependWatchReactor("nodes", func(a k8stesting.Action) (bool, watch.Interface, error) {
		if handled, _, err := forbid(a); handled {
			return true, nil, err
		}
		return false, nil, nil
	})
	dp := &fakeDataplane{}
	opts := Options{Client: client, NodeName: "self", ConfDir: dir, ClusterCIDR: "10.244.0.0/16"}
	testutil.RunUntilCleanup(t, func(ctx context.Context) error { return run(ctx, opts, dp) })
	want, _ := Render("10.244.0.0/24")
	testutil.Eventually(t, "the conflist from the node's own Node", func() bool {
		got, err := os.ReadFile(filepath.Join(dir, ConfFileName))
		return err == nil && bytes.Equal(got, want)
	})
	if r, _ := dp.snapshot(); len(r) != 0 {
		t.Fatalf("routes synced while only the own Node was known: %v", r)
	}
	allowed.Store(true)
	testutil.Eventually(t, "the route to b once every Node is readable", func() bool {
		r, _ := dp.snapshot()
		return len(r) > 0 && reflect.DeepEqual(r[len(r)-1], []Route{route("10.244.1.0/24", "10.77.0.3")})
	})
}
