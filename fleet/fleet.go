// Package fleet provisions a whole cluster from one inventory file over
// SSH: `kubeadmin fleet apply|plan|status|kubeconfig|reset`. Each workflow
// is a literal, ordered list of phases (package phase) fanned out over the
// hosts; a phase calls hostprep to make a bare host ready and runs
// `kubeadmin init|join|reset` on it, so a fleet and a single host share one
// code path. The package never imports phases or kubelet.
package fleet

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	certutil "k8s.io/client-go/util/cert"

	"github.com/kubeadmin/kubeadmin/fleet/hostprep"
	"github.com/kubeadmin/kubeadmin/fleet/inventory"
	"github.com/kubeadmin/kubeadmin/fleet/phase"
	"github.com/kubeadmin/kubeadmin/fleet/remote"
	"github.com/kubeadmin/kubeadmin/internal/config"
	"github.com/kubeadmin/kubeadmin/internal/constants"
)

// Options are the flags every fleet command shares.
type Options struct {
	// File is the inventory (-f).
	File string
	// TrustNewHostKeys accepts and records unknown host keys
	// (--trust-new-host-keys); a changed key is refused all the same.
	TrustNewHostKeys bool
	// SSHConfig is the ssh config file read for host defaults ("" means
	// ~/.ssh/config, inventory.NoSSHConfig none).
	SSHConfig string
	// Out receives progress and the summary.
	Out io.Writer
}

// Remote paths of what the fleet puts on a host.
const (
	remoteStateDir   = "/var/lib/kubeadmin"
	remoteInitConfig = remoteStateDir + "/fleet-init.yaml"
	remoteJoinConfig = remoteStateDir + "/fleet-join.yaml"
	// remoteDiscoveryConfig is the kubeconfig a worker discovers the
	// cluster from (discoveryConfig).
	remoteDiscoveryConfig = remoteStateDir + "/fleet-discovery.conf"
	remoteAdminConf       = constants.KubernetesDir + "/" + constants.AdminKubeConfigFile
	// apiWait bounds waiting for the API server of an initialized control plane.
	apiWait = 2 * time.Minute
	// joinAttempts is how often a worker's join is tried.
	joinAttempts = 2
)

// fleet is the state of one command run.
type fleet struct {
	opts  Options
	inv   *inventory.Cluster
	hosts inventory.Hosts
	out   io.Writer

	mu      sync.Mutex
	conns   map[string]*remote.Host
	facts   map[string]*hostprep.Facts
	changed map[string][]string // what each host got, for the summary
	nodes   map[string]string   // host name → its Node's name
	byName  map[string]*inventory.Resolved

	// The cluster, once the control plane is initialized.
	admin  *clientcmdapi.Config
	client kubernetes.Interface
	token  string
}

// open loads and resolves the inventory.
func open(opts Options) (*fleet, error) {
	if opts.File == "" {
		return nil, errors.New("no inventory: give the cluster file with -f (see `kubeadmin fleet apply --help` for an example)")
	}
	if opts.Out == nil {
		opts.Out = os.Stdout
	}
	inv, err := inventory.Load(opts.File)
	if err != nil {
		return nil, err
	}
	hosts, err := inv.Resolve(inventory.ResolveOptions{SSHConfig: opts.SSHConfig})
	if err != nil {
		return nil, err
	}
	f := &fleet{
		opts: opts, inv: inv, hosts: hosts, out: opts.Out,
		conns: map[string]*remote.Host{}, facts: map[string]*hostprep.Facts{},
		changed: map[string][]string{}, byName: map[string]*inventory.Resolved{}, nodes: map[string]string{},
	}
	for _, h := range hosts {
		f.byName[hostName(h)] = h
	}
	return f, nil
}

// hostName is how the run names a host: its node name, else its address.
func hostName(h *inventory.Resolved) string { return h.Host.Name() }

// names are the hosts' names, in inventory order.
func names(hs inventory.Hosts) []string {
	out := make([]string, 0, len(hs))
	for _, h := range hs {
		out = append(out, hostName(h))
	}
	return out
}

// target is how remote reaches h: through its bastions, last hop first.
func (f *fleet) target(h *inventory.Resolved) remote.Target {
	t := endpointTarget(h.Endpoint, f.opts.TrustNewHostKeys, f.out)
	t.Name = hostName(h)
	t.CommandTimeout = h.CommandTimeout
	var via *remote.Target
	for _, j := range h.Jumps {
		jt := endpointTarget(j, f.opts.TrustNewHostKeys, f.out)
		jt.Bastion = via
		via = &jt
	}
	t.Bastion = via
	return t
}

func endpointTarget(e inventory.Endpoint, trust bool, log io.Writer) remote.Target {
	return remote.Target{
		Name: e.Name, Address: e.HostName, Port: e.Port, User: e.User,
		IdentityFiles: e.IdentityFiles, UseAgent: e.UseAgent,
		HostKey: e.HostKey, KnownHosts: e.KnownHosts, TrustNewHostKeys: trust,
		ConnectTimeout: e.ConnectTimeout, Log: log,
	}
}

// conn is the open connection to the named host.
func (f *fleet) conn(name string) *remote.Host {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.conns[name]
}

// fact is the named host's facts.
func (f *fleet) fact(name string) *hostprep.Facts {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.facts[name]
}

// note records a change made on a host.
func (f *fleet) note(name, what string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.changed[name] = append(f.changed[name], what)
}

// connect dials the host and checks that it can run commands as root.
func (f *fleet) connect(ctx context.Context, name string) error {
	h, err := remote.Dial(ctx, f.target(f.byName[name]))
	if err != nil {
		return err
	}
	if err := h.CheckSudo(ctx); err != nil {
		h.Close()
		return err
	}
	if f.token != "" {
		h.Redact(f.token)
	}
	f.mu.Lock()
	f.conns[name] = h
	f.mu.Unlock()
	return nil
}

// gatherFacts reads what is on the host.
func (f *fleet) gatherFacts(ctx context.Context, name string) error {
	facts, err := hostprep.GatherFacts(ctx, f.conn(name))
	if err != nil {
		return err
	}
	node := f.byName[name].NodeName
	if node == "" {
		node = strings.ToLower(facts.Hostname)
	}
	f.mu.Lock()
	f.facts[name], f.nodes[name] = facts, node
	f.mu.Unlock()
	return nil
}

// nodeName is the name the host's Node has (or will have).
func (f *fleet) nodeName(name string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.nodes[name]
}

// close closes every connection.
func (f *fleet) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, h := range f.conns {
		h.Close()
	}
}

// runner is the phase runner with the inventory's concurrency.
func (f *fleet) runner() *phase.Runner {
	return &phase.Runner{Limit: f.inv.HostsParallel(), Out: f.out}
}

// kubeadmin runs `kubeadmin args...` on the host.
func (f *fleet) kubeadmin(ctx context.Context, name string, stdin io.Reader, args ...string) (remote.Result, error) {
	cmd := hostprep.RemoteKubeadmin + " " + strings.Join(args, " ")
	// Hung up if this run dies: a kubeadmin init, join or reset left
	// running would race the next apply's on the same host.
	return f.conn(name).Run(ctx, cmd, remote.RunOptions{Stdin: stdin, HangUpOnDisconnect: true})
}

// writeFile writes data to path on the host (0600) through stdin, so a
// secret in it never appears in a command line.
func (f *fleet) writeFile(ctx context.Context, name, path string, data []byte) error {
	cmd := fmt.Sprintf("mkdir -p %s && umask 077 && cat > %s.tmp && mv %s.tmp %s", remoteStateDir, path, path, path)
	_, err := f.conn(name).Run(ctx, cmd, remote.RunOptions{Stdin: strings.NewReader(string(data))})
	return err
}

// controlPlane is the control-plane host's name.
func (f *fleet) controlPlane() string { return hostName(f.hosts.ControlPlane()) }

// loadAdmin fetches admin.conf from the control plane and builds a client
// that reaches the API server at the inventory's endpoint.
func (f *fleet) loadAdmin(ctx context.Context) error {
	data, err := f.conn(f.controlPlane()).Fetch(ctx, remoteAdminConf)
	if err != nil {
		return fmt.Errorf("failed to read %s from the control plane: %w", remoteAdminConf, err)
	}
	kc, err := clientcmd.Load(data)
	if err != nil {
		return fmt.Errorf("the control plane's %s is not a kubeconfig: %w", remoteAdminConf, err)
	}
	server := "https://" + f.inv.APIServerEndpoint(f.hosts.ControlPlane())
	for _, c := range kc.Clusters {
		c.Server = server
	}
	rc, err := clientcmd.NewDefaultClientConfig(*kc, nil).ClientConfig()
	if err != nil {
		return fmt.Errorf("the control plane's %s: %w", remoteAdminConf, err)
	}
	rc.Timeout = constants.KubernetesAPICallTimeout
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return err
	}
	if cas, err := certutil.ParseCertsPEM(rc.CAData); err != nil || len(cas) == 0 {
		return fmt.Errorf("the control plane's %s holds no CA certificate: %v", remoteAdminConf, err)
	}
	f.admin, f.client = kc, client
	return nil
}

// sandboxImage is the pause image of the inventory's cluster settings.
func (f *fleet) sandboxImage() string {
	cc := config.ClusterConfiguration{}
	if f.inv.Spec.Kubernetes.ClusterConfiguration != nil {
		cc = *f.inv.Spec.Kubernetes.ClusterConfiguration // defaults only fill empty fields
	}
	config.SetDefaultsCluster(&cc)
	return config.ImageFor(&cc, constants.Pause)
}

// sortedChanged lists the hosts that changed, sorted.
func (f *fleet) sortedChanged() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var hs []string
	for h := range f.changed {
		hs = append(hs, h)
	}
	sort.Strings(hs)
	return hs
}

// fileSHA256 is the hex SHA-256 of a local file.
func fileSHA256(path string) (string, error) {
	file, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer file.Close()
	h := sha256.New()
	if _, err := io.Copy(h, file); err != nil {
		return "", fmt.Errorf("failed to read %q: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
