package node

import (
	"context"
	"fmt"
	"io"
	"log"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kubeadmin/kubeadmin/internal/testutil"
)

// fakeRuntime answers Version and Status.
type fakeRuntime struct {
	mu           sync.Mutex
	networkReady bool
}

func (f *fakeRuntime) Version(context.Context, string) (*runtimeapi.VersionResponse, error) {
	return &runtimeapi.VersionResponse{RuntimeName: "containerd", RuntimeVersion: "1.6.20"}, nil
}

func (f *fakeRuntime) Status(context.Context, bool) (*runtimeapi.StatusResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return &runtimeapi.StatusResponse{Status: &runtimeapi.RuntimeStatus{Conditions: []*runtimeapi.RuntimeCondition{
		{Type: runtimeapi.RuntimeReady, Status: true},
		{Type: runtimeapi.NetworkReady, Status: f.networkReady, Reason: "NetworkPluginNotReady", Message: "Network plugin returns error: cni plugin not initialized"},
	}}}, nil
}

func (f *fakeRuntime) setNetwork(ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.networkReady = ok
}

var uidCounter atomic.Int64

// newClient is a fake clientset that assigns UIDs on create, as the API
// server does.
func newClient(objs ...runtime.Object) *fake.Clientset {
	c := fake.NewClientset(objs...)
	c.PrependReactor("create", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		obj := a.(k8stesting.CreateAction).GetObject()
		if m, err := meta.Accessor(obj); err == nil && m.GetUID() == "" {
			m.SetUID(types.UID(fmt.Sprintf("uid-%d", uidCounter.Add(1))))
		}
		return false, nil, nil
	})
	return c
}

func testOptions(c *fake.Clientset, rt Runtime) Options {
	return Options{
		NodeName: "node1", NodeIP: "10.0.0.5", Client: c, Runtime: rt,
		Labels: map[string]string{"extra": "yes"},
		Taints: []v1.Taint{{Key: "node-role.kubernetes.io/control-plane", Effect: v1.TaintEffectNoSchedule}},
		Logger: log.New(io.Discard, "", 0),
		Host: &HostInfo{MachineID: "mid", SystemUUID: "suuid", BootID: "bid", KernelVersion: "6.1.0", OSImage: "Debian GNU/Linux 12 (bookworm)",
			CPUs: 2, MemoryBytes: 4 << 30, EphemeralBytes: 100 << 30},
		StatusUpdatePeriod: 20 * time.Millisecond, LeaseRenewPeriod: 20 * time.Millisecond,
		RegisterRetry: 10 * time.Millisecond,
	}
}

// start runs the node side until the test ends.
func start(t *testing.T, opts Options) {
	t.Helper()
	testutil.RunUntilCleanup(t, func(ctx context.Context) error { return Run(ctx, opts) })
}
