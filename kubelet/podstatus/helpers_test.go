package podstatus

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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubeadmin/kubeadmin/internal/testutil"
	"github.com/kubeadmin/kubeadmin/kubelet/podsource"
	"github.com/kubeadmin/kubeadmin/kubelet/status"
)

// fakeProvider is a settable set of static pods and report.
type fakeProvider struct {
	mu      sync.Mutex
	pods    []*v1.Pod
	report  status.Report
	reports int // Report calls: one per status round
	gone    map[types.UID]bool
}

func (p *fakeProvider) StatusChanged() <-chan struct{} { return nil }

func (p *fakeProvider) PodGone(uid types.UID) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.gone[uid]
}

func (p *fakeProvider) setGone(uid types.UID) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.gone == nil {
		p.gone = map[types.UID]bool{}
	}
	p.gone[uid] = true
}

func (p *fakeProvider) StaticPods() []*v1.Pod {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := []*v1.Pod{}
	for _, x := range p.pods {
		out = append(out, x.DeepCopy())
	}
	return out
}

func (p *fakeProvider) Report() *status.Report {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.reports++
	r := p.report
	r.Pods = append([]status.Pod(nil), p.report.Pods...)
	return &r
}

func (p *fakeProvider) rounds() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.reports
}

func (p *fakeProvider) set(pods []*v1.Pod, rep []status.Pod) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pods, p.report.Pods = pods, rep
}

// fakeNode is a registered Node: it reads the Node object's UID from the
// fake API server.
type fakeNode struct {
	c *fake.Clientset
}

func (n fakeNode) UID() types.UID {
	node, err := n.c.CoreV1().Nodes().Get(context.Background(), "node1", metav1.GetOptions{})
	if err != nil {
		return ""
	}
	return node.UID
}

func (fakeNode) RuntimeName() string { return "containerd" }

var uidCounter, rvCounter atomic.Int64

// newClient is a fake clientset that assigns UIDs on create, as the API
// server does, holding the registered Node "node1".
func newClient(objs ...runtime.Object) *fake.Clientset {
	c := fake.NewClientset(objs...)
	c.PrependReactor("create", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		obj := a.(k8stesting.CreateAction).GetObject()
		if m, err := meta.Accessor(obj); err == nil && m.GetUID() == "" {
			m.SetUID(types.UID(fmt.Sprintf("uid-%d", uidCounter.Add(1))))
		}
		return false, nil, nil
	})
	// Every write gets a higher resourceVersion, as the API server's.
	for _, verb := range []string{"create", "update"} {
		c.PrependReactor(verb, "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
			var obj runtime.Object
			switch act := a.(type) {
			case k8stesting.CreateAction:
				obj = act.GetObject()
			case k8stesting.UpdateAction:
				obj = act.GetObject()
			}
			if m, err := meta.Accessor(obj); err == nil {
				m.SetResourceVersion(fmt.Sprint(rvCounter.Add(1)))
			}
			return false, nil, nil
		})
	}
	if _, err := c.CoreV1().Nodes().Create(context.Background(), &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node1"}}, metav1.CreateOptions{}); err != nil {
		panic(err)
	}
	return c
}

func testOptions(c *fake.Clientset) Options {
	return Options{
		NodeName: "node1", NodeIP: "10.0.0.5", Client: c,
		Logger:        log.New(io.Discard, "", 0),
		PodSyncPeriod: 10 * time.Millisecond, MirrorResyncPeriod: 30 * time.Millisecond,
	}
}

// start runs the mirror and status loop until the test ends.
func start(t *testing.T, opts Options, p Provider) {
	t.Helper()
	if opts.Pods == nil {
		api := podsource.NewAPI(opts.Client, opts.NodeName)
		testutil.RunUntilCleanup(t, func(ctx context.Context) error { api.Run(ctx); return nil })
		opts.Pods = api
	}
	testutil.RunUntilCleanup(t, func(ctx context.Context) error { return Run(ctx, opts, p, fakeNode{opts.Client.(*fake.Clientset)}) })
}
