// Package node makes a node agent a node of the cluster: it registers the
// Node object and keeps its status and its Lease in kube-node-lease fresh.
// It also holds the host facts the whole agent uses (memory, CPUs, the
// node IP). Mirror pods and pod status are package podstatus.
//
// Every loop tolerates an API server that is not there yet or goes away.
// Registration and status are retried at a fixed, cheap period and log
// one line per state change, not per retry; the Lease is renewed by
// component-helpers' lease controller, which backs off and logs its
// failures through klog.
package node

import (
	"context"
	"fmt"
	"log"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kubeadmin/kubeadmin/internal/constants"
	"github.com/kubeadmin/kubeadmin/internal/statelog"
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
	// DefaultMaxPods is maxPods.
	DefaultMaxPods = constants.KubeletDefaultMaxPods
	// apiCallTimeout bounds each round of API calls, so that a hung
	// connection does not stall a loop.
	apiCallTimeout = 15 * time.Second
)

// Options configure Run.
type Options struct {
	// NodeName is the Node's name.
	NodeName string
	// NodeIP is the node's InternalIP. Empty: ChooseNodeIP("", APIServer).
	NodeIP string
	// APIServer is the API server URL from the kubeconfig; used to choose
	// the node IP.
	APIServer string
	// Client talks to the API server as system:node:<NodeName>.
	Client kubernetes.Interface
	// Runtime answers the CRI Version and Status calls.
	Runtime Runtime
	// Labels are --node-labels; Taints are --register-with-taints (else
	// registerWithTaints). Both are only applied when the Node is created.
	Labels map[string]string
	Taints []v1.Taint
	// KubeletPort is the kubelet API port (10250).
	KubeletPort int
	// RootDir is the kubelet root directory (ephemeral-storage capacity).
	RootDir string
	// MaxPods is the pods capacity and allocatable (--max-pods, maxPods;
	// default 110).
	MaxPods int
	// Logger receives one line per state change; nil: log.Default().
	Logger *log.Logger
	// Recorder records the node's events (Starting, NodeReady, ...); nil
	// records none.
	Recorder Recorder

	// Periods; zero means the default.
	StatusUpdatePeriod   time.Duration
	StatusReportPeriod   time.Duration
	LeaseRenewPeriod     time.Duration
	LeaseDurationSeconds int32
	RegisterRetry        time.Duration

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

// Node is the node side of one agent.
type Node struct {
	opts Options
	host HostInfo

	mu      sync.Mutex
	nodeUID types.UID
	rtName  string
	// object is the Node as last read or written.
	object *v1.Node

	states *statelog.Log
}

// Run is New followed by Node.Run.
func Run(ctx context.Context, opts Options) error {
	n, err := New(opts)
	if err != nil {
		return err
	}
	return n.Run(ctx)
}

// Run registers the node and keeps its status and lease up to date until
// ctx ends. It waits patiently for the API server and returns nil when
// ctx ends.
func (n *Node) Run(ctx context.Context) error {
	if !n.register(ctx) {
		return nil
	}
	n.event(v1.EventTypeNormal, "Starting", "Starting kubelet.")
	var wg sync.WaitGroup
	for _, loop := range []func(context.Context){n.statusLoop, n.leaseLoop} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			loop(ctx)
		}()
	}
	wg.Wait()
	return nil
}

// New checks opts and reads the host facts; Run starts the node side.
func New(opts Options) (*Node, error) {
	if opts.NodeName == "" {
		return nil, fmt.Errorf("failed to start the node side: the node name is empty")
	}
	if opts.Client == nil {
		return nil, fmt.Errorf("failed to start the node side of %q: no API client (is --kubeconfig set?)", opts.NodeName)
	}
	opts.setDefaults()
	if opts.NodeIP == "" {
		ip, err := ChooseNodeIP("", opts.APIServer)
		if err != nil {
			return nil, err
		}
		opts.NodeIP = ip
	}
	n := &Node{opts: opts, states: statelog.New(opts.Logger.Print)}
	if opts.Host != nil {
		n.host = *opts.Host
	} else {
		n.host = ReadHostInfo(opts.RootDir)
	}
	return n, nil
}

// logState logs msg under topic unless it is what was last logged there.
func (n *Node) logState(topic, msg string) { n.states.State(topic, msg) }

// UID is the Node object's UID, "" until it is registered.
func (n *Node) UID() types.UID {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.nodeUID
}

func (n *Node) setUID(uid types.UID) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.nodeUID = uid
}

// IP is the node's InternalIP.
func (n *Node) IP() string { return n.opts.NodeIP }

// RuntimeName is the container ID scheme, e.g. "containerd".
// Object is the Node as the agent last read or wrote it (nil before
// registration); callers must not modify it.
func (n *Node) Object() *v1.Node {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.object
}

func (n *Node) setObject(o *v1.Node) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.object = o
}

// Recorder records events; client-go's record.EventRecorder satisfies it.
type Recorder interface {
	Eventf(object runtime.Object, eventtype, reason, messageFmt string, args ...any)
}

// event records an event of the node, referenced as the upstream kubelet
// does (the node name as UID).
func (n *Node) event(eventtype, reason, format string, args ...any) {
	if n.opts.Recorder == nil {
		return
	}
	ref := &v1.ObjectReference{Kind: "Node", Name: n.opts.NodeName, UID: types.UID(n.opts.NodeName)}
	n.opts.Recorder.Eventf(ref, eventtype, reason, format, args...)
}

func (n *Node) RuntimeName() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.rtName == "" {
		return "containerd"
	}
	return n.rtName
}

func (n *Node) setRuntimeName(version string) {
	name, _, ok := strings.Cut(version, "://")
	if !ok || name == "" {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.rtName = name
}

// ChooseNodeIP is the one node-IP choice of the agent, as the upstream
// kubelet makes it: flagIP (--node-ip) when set; else the local address
// used to reach the API server at apiServer (a URL or host:port: the
// source address of a UDP "connection", which sends no packet); else the
// first global unicast address (IPv4 before IPv6) of an interface that is
// up. A standalone agent (apiServer "") falls back to 127.0.0.1; an agent
// with an API server and no usable address gets an error.
func ChooseNodeIP(flagIP, apiServer string) (string, error) {
	if flagIP != "" {
		return flagIP, nil
	}
	if host := serverHost(apiServer); host != "" {
		conn, err := net.Dial("udp", net.JoinHostPort(host, "443"))
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
	if apiServer == "" {
		return "127.0.0.1", nil
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

// firstGlobalIP is the first global unicast IPv4 address of an interface
// that is up, else the first such IPv6 address, else "".
func firstGlobalIP() string {
	ifaces, err := net.Interfaces()
	if err != nil {
		return ""
	}
	var v6 string
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, _ := ifc.Addrs()
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok || !ipn.IP.IsGlobalUnicast() {
				continue
			}
			if ipn.IP.To4() != nil {
				return ipn.IP.String()
			}
			if v6 == "" {
				v6 = ipn.IP.String()
			}
		}
	}
	return v6
}
