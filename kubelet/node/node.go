// Package node makes a node agent a node of the cluster: it registers the
// Node object, keeps its status and its Lease in kube-node-lease fresh,
// mirrors the static pods into the API server and writes their status.
//
// Every loop tolerates an API server that is not there yet or goes away:
// calls are retried at a fixed, cheap period and one line is logged per
// state change, not per retry.
package node

import (
	"context"
	"fmt"
	"log"
	"net"
	"net/url"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kubeadmin/kubeadmin/internal/constants"
	"github.com/kubeadmin/kubeadmin/kubelet/status"
)

// Default periods, as the upstream kubelet's.
const (
	// DefaultStatusUpdatePeriod is nodeStatusUpdateFrequency.
	DefaultStatusUpdatePeriod = 10 * time.Second
	// DefaultStatusReportPeriod is nodeStatusReportFrequency: an unchanged
	// status is still posted this often.
	DefaultStatusReportPeriod = 5 * time.Minute
	// DefaultLeaseDurationSeconds is nodeLeaseDurationSeconds.
	DefaultLeaseDurationSeconds = 40
	// DefaultLeaseRenewPeriod is 25 % of the lease duration.
	DefaultLeaseRenewPeriod = 10 * time.Second
	// DefaultRegisterRetry is how often registration is retried while the
	// API server does not answer.
	DefaultRegisterRetry = 500 * time.Millisecond
	// DefaultPodSyncPeriod is how often the static pods and their status
	// are compared with what was last written.
	DefaultPodSyncPeriod = time.Second
	// DefaultMirrorResyncPeriod is how often the mirror pods are listed
	// from the API server (to recreate deleted ones).
	DefaultMirrorResyncPeriod = 5 * time.Second
	// DefaultMaxPods is maxPods.
	DefaultMaxPods = 110
	// apiCallTimeout bounds each round of API calls, so that a hung
	// connection does not stall a loop.
	apiCallTimeout = 15 * time.Second
)

// Options configure Run.
type Options struct {
	// NodeName is the Node's name.
	NodeName string
	// NodeIP is the node's InternalIP. Empty: ChooseNodeIP(APIServer).
	NodeIP string
	// APIServer is the API server URL from the kubeconfig; used to choose
	// the node IP.
	APIServer string
	// Client talks to the API server as system:node:<NodeName>.
	Client kubernetes.Interface
	// Runtime answers the CRI Version and Status calls.
	Runtime Runtime
	// Labels are --node-labels; Taints are registerWithTaints. Both are
	// only applied when the Node is created.
	Labels map[string]string
	Taints []v1.Taint
	// KubeletPort is the kubelet API port (10250).
	KubeletPort int
	// RootDir is the kubelet root directory (ephemeral-storage capacity).
	RootDir string
	// MaxPods is the pods capacity (default 110).
	MaxPods int
	// Logger receives one line per state change; nil: log.Default().
	Logger *log.Logger

	// Periods; zero means the default.
	StatusUpdatePeriod   time.Duration
	StatusReportPeriod   time.Duration
	LeaseRenewPeriod     time.Duration
	LeaseDurationSeconds int32
	RegisterRetry        time.Duration
	PodSyncPeriod        time.Duration
	MirrorResyncPeriod   time.Duration

	// Host overrides the machine facts (tests); nil: ReadHostInfo.
	Host *HostInfo
	// Now is the clock (tests); nil: time.Now.
	Now func() time.Time
}

// Runtime is the part of the CRI runtime service the node side uses;
// cri.RuntimeService satisfies it.
type Runtime interface {
	Version(ctx context.Context, apiVersion string) (*runtimeapi.VersionResponse, error)
	Status(ctx context.Context, verbose bool) (*runtimeapi.StatusResponse, error)
}

// Provider is the node agent: the static pods it runs and their status.
// *kubelet.Agent satisfies it.
type Provider interface {
	StaticPods() []*v1.Pod
	Report() *status.Report
}

func (o *Options) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.StatusUpdatePeriod, DefaultStatusUpdatePeriod)
	def(&o.StatusReportPeriod, DefaultStatusReportPeriod)
	def(&o.LeaseRenewPeriod, DefaultLeaseRenewPeriod)
	def(&o.RegisterRetry, DefaultRegisterRetry)
	def(&o.PodSyncPeriod, DefaultPodSyncPeriod)
	def(&o.MirrorResyncPeriod, DefaultMirrorResyncPeriod)
	if o.LeaseDurationSeconds <= 0 {
		o.LeaseDurationSeconds = DefaultLeaseDurationSeconds
	}
	if o.KubeletPort == 0 {
		o.KubeletPort = constants.KubeletPort
	}
	if o.MaxPods <= 0 {
		o.MaxPods = DefaultMaxPods
	}
	if o.RootDir == "" {
		o.RootDir = constants.KubeletRunDir
	}
	if o.Logger == nil {
		o.Logger = log.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// node is the running node side.
type node struct {
	opts     Options
	provider Provider
	host     HostInfo

	mu      sync.Mutex
	nodeUID types.UID
	rtName  string

	// logged remembers the last line logged per topic, so that a state
	// is logged once, not per retry.
	logMu  sync.Mutex
	logged map[string]string
}

// Run registers the node and keeps its status, lease, mirror pods and pod
// statuses up to date until ctx ends. It waits patiently for the API
// server and returns nil when ctx ends.
func Run(ctx context.Context, opts Options, provider Provider) error {
	n, err := newNode(opts, provider)
	if err != nil {
		return err
	}
	if !n.register(ctx) {
		return nil
	}
	var wg sync.WaitGroup
	for _, loop := range []func(context.Context){n.statusLoop, n.leaseLoop, n.podLoop} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			loop(ctx)
		}()
	}
	wg.Wait()
	return nil
}

func newNode(opts Options, provider Provider) (*node, error) {
	if opts.NodeName == "" {
		return nil, fmt.Errorf("failed to start the node side: the node name is empty")
	}
	if opts.Client == nil {
		return nil, fmt.Errorf("failed to start the node side of %q: no API client (is --kubeconfig set?)", opts.NodeName)
	}
	opts.setDefaults()
	if opts.NodeIP == "" {
		ip, err := ChooseNodeIP(opts.APIServer)
		if err != nil {
			return nil, err
		}
		opts.NodeIP = ip
	}
	n := &node{opts: opts, provider: provider, logged: map[string]string{}}
	if opts.Host != nil {
		n.host = *opts.Host
	} else {
		n.host = ReadHostInfo(opts.RootDir)
	}
	return n, nil
}

// logState logs msg under topic unless it is what was last logged there.
func (n *node) logState(topic, msg string) {
	n.logMu.Lock()
	defer n.logMu.Unlock()
	if n.logged[topic] == msg {
		return
	}
	n.logged[topic] = msg
	n.opts.Logger.Print(msg)
}

func (n *node) uid() types.UID {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.nodeUID
}

func (n *node) setUID(uid types.UID) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.nodeUID = uid
}

// sleep waits d or until ctx ends; false when ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// ChooseNodeIP returns the local address of the interface that reaches the
// API server at apiServer (a URL or host:port): the source address of a
// UDP "connection" to it, which sends no packet. With no usable server it
// falls back to the first global unicast address of an interface that is
// up.
func ChooseNodeIP(apiServer string) (string, error) {
	if host := serverHost(apiServer); host != "" {
		port := "443"
		conn, err := net.Dial("udp", net.JoinHostPort(host, port))
		if err == nil {
			defer conn.Close()
			if a, ok := conn.LocalAddr().(*net.UDPAddr); ok && !a.IP.IsUnspecified() {
				return a.IP.String(), nil
			}
		}
	}
	if ip := firstGlobalIP(); ip != "" {
		return ip, nil
	}
	return "", fmt.Errorf("failed to choose the node IP: no interface reaches the API server %q and none has a global address; set --node-ip", apiServer)
}

// serverHost extracts the host of a URL or host:port.
func serverHost(s string) string {
	if s == "" {
		return ""
	}
	if u, err := url.Parse(s); err == nil && u.Host != "" {
		return u.Hostname()
	}
	if h, _, err := net.SplitHostPort(s); err == nil {
		return h
	}
	return s
}

func firstGlobalIP() string {
	ifaces, err := net.Interfaces()
	if err != nil {
		return ""
	}
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, _ := ifc.Addrs()
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && ipn.IP.IsGlobalUnicast() && ipn.IP.To4() != nil {
				return ipn.IP.String()
			}
		}
	}
	return ""
}
