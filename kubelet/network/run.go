package network

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/kubeadmin/kubeadmin/internal/fsutil"
)

// Timing of the sync loop.
const (
	// resyncPeriod re-applies routes and rules even without a Node change,
	// repairing what someone else removed.
	resyncPeriod = time.Minute
	retryMin     = time.Second
	retryMax     = 30 * time.Second
)

// ownOnlyWatch bounds a watch of this node alone, after which the list of
// every Node is tried again (a variable for tests).
var ownOnlyWatch = 5 * time.Second

// Options configure Run.
type Options struct {
	Client   kubernetes.Interface
	NodeName string
	// ConfDir is the CNI configuration directory (default DefaultConfDir).
	ConfDir string
	// ClusterCIDR is the cluster's podSubnet, read by the caller from the
	// kubeadm-config ConfigMap (FromClusterConfig); "" derives the cluster
	// from the nodes' pod CIDRs.
	ClusterCIDR string
	// Logger receives one line per change and per error (default: discard).
	Logger *log.Logger
}

// dataplane is what Run changes on the host; tests replace it.
type dataplane interface {
	syncRoutes(ctx context.Context, desired []Route) error
	syncMasquerade(ctx context.Context, rules []byte) error
}

// Run keeps this node's CNI configuration, the routes to the other nodes'
// pod CIDRs and the masquerade rule in step with the Node objects until
// ctx ends. It must run as root in the node's network namespace. Errors
// are logged and retried with back-off; what is in place stays.
func Run(ctx context.Context, opts Options) error {
	return run(ctx, opts, &hostDataplane{ipt: iptables{run: execRunner}, logger: opts.logger()})
}

func (o Options) logger() *log.Logger {
	if o.Logger != nil {
		return o.Logger
	}
	return log.New(io.Discard, "", 0)
}

func (o Options) confPath() string {
	dir := o.ConfDir
	if dir == "" {
		dir = DefaultConfDir
	}
	return filepath.Join(dir, ConfFileName)
}

func run(ctx context.Context, opts Options, dp dataplane) error {
	if opts.Client == nil || opts.NodeName == "" {
		return errors.New("pod network: a client and the node name are needed")
	}
	kick := make(chan struct{}, 1)
	poke := func() {
		select {
		case kick <- struct{}{}:
		default:
		}
	}
	nodes := opts.Client.CoreV1().Nodes()
	// Until kubeadmin:pod-network lets this node read every Node (init
	// creates it late, in the addon phase), the Node authorizer lets it
	// read its own: that is enough for the CNI configuration, so it is
	// watched alone meanwhile, with short watches so that the full list
	// is tried again soon.
	var ownOnly atomic.Bool
	own := fields.OneTermEqualSelector("metadata.name", opts.NodeName).String()
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			list, err := nodes.List(ctx, o)
			if !apierrors.IsForbidden(err) {
				if err == nil && ownOnly.Swap(false) {
					poke() // routes may follow now
				}
				return list, err
			}
			ownOnly.Store(true)
			o.FieldSelector = own
			return nodes.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			if !ownOnly.Load() {
				w, err := nodes.Watch(ctx, o)
				if !apierrors.IsForbidden(err) {
					return w, err
				}
				ownOnly.Store(true)
			}
			// Every Node readable now? A 410 makes the reflector list again,
			// this time all of them.
			if _, err := nodes.List(ctx, metav1.ListOptions{Limit: 1}); err == nil {
				ownOnly.Store(false)
				return nil, apierrors.NewResourceExpired("every Node is readable now")
			}
			o.FieldSelector = own
			w, err := nodes.Watch(ctx, o)
			if err == nil {
				time.AfterFunc(ownOnlyWatch, w.Stop)
			}
			return w, err
		},
	}
	// A plain store of trimmed Nodes rather than a shared informer and
	// lister: nothing else shares it, and it keeps the binary smaller.
	store, ctrl := cache.NewInformerWithOptions(cache.InformerOptions{
		ListerWatcher: cache.ToListWatcherWithWatchListSemantics(lw, opts.Client),
		ObjectType:    &v1.Node{},
		Handler: cache.ResourceEventHandlerFuncs{
			AddFunc:    func(any) { poke() },
			DeleteFunc: func(any) { poke() },
			UpdateFunc: func(old, cur any) {
				if !sameNetwork(old, cur) {
					poke()
				}
			},
		},
		Transform: slimNode,
	})
	go ctrl.RunWithContext(ctx)
	if !cache.WaitForCacheSync(ctx.Done(), ctrl.HasSynced) {
		return nil // ctx ended
	}
	s := &syncer{opts: opts, store: store, dp: dp, log: opts.logger(), partial: ownOnly.Load}
	timer := time.NewTimer(0)
	defer timer.Stop()
	backoff := retryMin
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-kick:
		case <-timer.C:
			s.lastRules = nil // re-apply the rules on every resync
		}
		if err := s.sync(ctx); err != nil {
			s.log.Printf("pod network: %v (retrying in %s)", err, backoff)
			timer.Reset(backoff)
			backoff = min(2*backoff, retryMax)
			continue
		}
		backoff = retryMin
		timer.Reset(resyncPeriod)
	}
}

// syncer holds the state of one Run.
type syncer struct {
	opts      Options
	store     cache.Store
	dp        dataplane
	log       *log.Logger
	lastRules []byte // rules applied last, so that unchanged rules are not re-applied
	// partial reports that the store holds only this node's Node: routes
	// (and, without the cluster's CIDR, the masquerade rule) wait.
	partial func() bool
}

// sync brings the host in line with the cached Nodes. Each part is tried
// even when another fails; the errors are joined.
func (s *syncer) sync(ctx context.Context) error {
	var nodes []*v1.Node
	var self *v1.Node
	for _, obj := range s.store.List() {
		if n, ok := obj.(*v1.Node); ok {
			nodes = append(nodes, n)
			if n.Name == s.opts.NodeName {
				self = n
			}
		}
	}
	var errs []error
	podCIDR := ""
	if self != nil {
		podCIDR = self.Spec.PodCIDR
	}
	if podCIDR != "" {
		if err := s.writeConf(podCIDR); err != nil {
			errs = append(errs, err)
		}
	}
	partial := s.partial != nil && s.partial()
	if partial {
		// The other nodes are not known: removing their routes would
		// break what works.
		s.log.Printf("pod network: only this node's Node is readable yet (RBAC %q missing?); routes wait", "kubeadmin:pod-network")
	} else if err := s.dp.syncRoutes(ctx, DesiredRoutes(nodes, s.opts.NodeName)); err != nil {
		errs = append(errs, err)
	}
	if partial && s.opts.ClusterCIDR == "" {
		return errors.Join(errs...)
	}
	if rules := MasqueradeRules(podCIDR, s.clusterCIDRs(nodes)); rules != nil && !bytes.Equal(rules, s.lastRules) {
		if err := s.dp.syncMasquerade(ctx, rules); err != nil {
			errs = append(errs, err)
		} else {
			s.lastRules = rules
		}
	}
	return errors.Join(errs...)
}

// clusterCIDRs are the destinations that are not masqueraded: the
// cluster's pod subnet when known, and every node's pod CIDR.
func (s *syncer) clusterCIDRs(nodes []*v1.Node) []string {
	var out []string
	if s.opts.ClusterCIDR != "" {
		out = append(out, strings.Split(s.opts.ClusterCIDR, ",")...)
	}
	for _, n := range nodes {
		for _, c := range nodeCIDRs(n) {
			out = append(out, c.String())
		}
	}
	return out
}

// writeConf writes the conflist when its content differs from the file.
func (s *syncer) writeConf(podCIDR string) error {
	data, err := Render(podCIDR)
	if err != nil {
		return err
	}
	path := s.opts.confPath()
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return nil
	}
	if err := fsutil.WriteFileAtomic(path, data, confMode, confDirMode); err != nil {
		return fmt.Errorf("failed to write the CNI configuration: %w", err)
	}
	s.log.Printf("pod network: wrote %s for pod CIDR %s", path, podCIDR)
	return nil
}

// slimNode keeps only what the network needs of a Node, so that the
// informer's cache stays small (a Node's status lists every image).
func slimNode(obj any) (any, error) {
	n, ok := obj.(*v1.Node)
	if !ok {
		return obj, nil
	}
	return &v1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: n.Name, UID: n.UID, ResourceVersion: n.ResourceVersion},
		Spec:       v1.NodeSpec{PodCIDR: n.Spec.PodCIDR, PodCIDRs: n.Spec.PodCIDRs},
		Status:     v1.NodeStatus{Addresses: n.Status.Addresses},
	}, nil
}

// sameNetwork reports whether an update changed nothing the network uses.
func sameNetwork(old, cur any) bool {
	a, ok1 := old.(*v1.Node)
	b, ok2 := cur.(*v1.Node)
	return ok1 && ok2 && reflect.DeepEqual(a.Spec, b.Spec) && reflect.DeepEqual(a.Status.Addresses, b.Status.Addresses)
}

// hostDataplane changes the routes and iptables of this network
// namespace.
type hostDataplane struct {
	ipt    iptables
	logger *log.Logger
}

func (h *hostDataplane) syncRoutes(_ context.Context, desired []Route) error {
	var errs []error
	for _, fam := range []uint8{afInet, afInet6} {
		var want []Route
		for _, r := range desired {
			if family(r.Dst) == fam {
				want = append(want, r)
			}
		}
		ours, others, err := mainRoutes(fam)
		if err != nil {
			errs = append(errs, err)
			continue // never remove on a failed listing
		}
		add, remove := DiffRoutes(want, ours)
		for _, r := range add {
			if others[r.Dst] {
				errs = append(errs, fmt.Errorf("route %s not added: the host already has another route to %s", r, r.Dst))
				continue
			}
			if err := replaceRoute(r); err != nil {
				errs = append(errs, err)
				continue
			}
			h.logger.Printf("pod network: added route %s", r)
		}
		for _, r := range remove {
			if err := deleteRoute(r); err != nil {
				errs = append(errs, err)
				continue
			}
			h.logger.Printf("pod network: removed route %s", r)
		}
	}
	return errors.Join(errs...)
}

func (h *hostDataplane) syncMasquerade(ctx context.Context, rules []byte) error {
	if err := h.ipt.apply(ctx, rules); err != nil {
		return fmt.Errorf("failed to apply the masquerade rules: %w", err)
	}
	return nil
}
