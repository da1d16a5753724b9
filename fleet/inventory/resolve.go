package inventory

import (
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ResolveOptions say where the local SSH settings are.
type ResolveOptions struct {
	// SSHConfig is the ssh config file read for HostName, User, Port,
	// IdentityFile and ProxyJump: "" for ~/.ssh/config, NoSSHConfig for
	// none. A missing file is fine.
	SSHConfig string
	// Home is the home directory for "~" and the default paths (default
	// os.UserHomeDir).
	Home string
	// LocalUser is the local user name for "%u" (default the current
	// user).
	LocalUser string
}

// Endpoint is one SSH server to connect to, every setting resolved.
type Endpoint struct {
	// Name is how messages name the server: its address in the inventory
	// or in ProxyJump.
	Name string
	// HostName and Port are what is dialed (HostName after ~/.ssh/config).
	HostName string
	Port     int
	User     string
	// IdentityFiles are private keys to offer, in order. With
	// DefaultIdentityFiles they are the built-in defaults, and those that
	// do not exist are skipped quietly.
	IdentityFiles        []string
	DefaultIdentityFiles bool
	// UseAgent offers the keys of the ssh-agent at $SSH_AUTH_SOCK.
	UseAgent bool
	// HostKey is the pinned fingerprint ("SHA256:..."), checked instead of
	// KnownHosts; "" when none is pinned.
	HostKey        string
	KnownHosts     string
	ConnectTimeout time.Duration
}

// Addr is "host:port" to dial.
func (e *Endpoint) Addr() string { return net.JoinHostPort(e.HostName, strconv.Itoa(e.Port)) }

// String names the endpoint as user@host:port.
func (e *Endpoint) String() string { return e.User + "@" + e.Addr() }

// Resolved is a host as the SSH layer and the phases use it.
type Resolved struct {
	Endpoint
	// Index is the host's position in spec.hosts.
	Index int
	// Host is the inventory's entry (labels, taints, CRI socket...).
	Host     *Host
	Role     Role
	NodeName string // "" when the Node takes the host's hostname
	Reset    bool
	// Jumps are the bastions, in dialing order: Jumps[0] is dialed
	// directly, each next one through the previous, and the host through
	// the last.
	Jumps          []Endpoint
	CommandTimeout time.Duration
}

// String names the host for messages: "spec.hosts[1] (worker-1)".
func (r *Resolved) String() string {
	return fmt.Sprintf("%s (%s)", hostPath(r.Index), r.Host.Name())
}

// Hosts are the resolved hosts, in inventory order.
type Hosts []*Resolved

// ControlPlane is the control-plane host.
func (hs Hosts) ControlPlane() *Resolved {
	for _, h := range hs {
		if h.Role == RoleControlPlane {
			return h
		}
	}
	return nil
}

// Workers are the workers to have in the cluster: those not marked reset.
func (hs Hosts) Workers() Hosts {
	var out Hosts
	for _, h := range hs {
		if h.Role == RoleWorker && !h.Reset {
			out = append(out, h)
		}
	}
	return out
}

// ToReset are the hosts marked reset: true, workers first (the control
// plane is among them only when every host is).
func (hs Hosts) ToReset() Hosts {
	var workers, controlPlanes Hosts
	for _, h := range hs {
		switch {
		case !h.Reset:
		case h.Role == RoleControlPlane:
			controlPlanes = append(controlPlanes, h)
		default:
			workers = append(workers, h)
		}
	}
	return append(workers, controlPlanes...)
}

// sshSettings are what the ssh config file says for one alias.
type sshSettings struct {
	hostName, user, proxyJump string
	port                      int
	identityFiles             []string
}

// resolver resolves hosts with one ssh config file.
type resolver struct {
	c         *Cluster
	home      string
	localUser string
	ssh       sshLookup
	sshPath   string
}

// Resolve applies the defaults to every host: a host's own field first,
// then the ssh config file, then spec.ssh, then the built-in defaults.
func (c *Cluster) Resolve(opts ResolveOptions) (Hosts, error) {
	r := &resolver{c: c, home: opts.Home, localUser: opts.LocalUser}
	if r.home == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return nil, fmt.Errorf("failed to find the home directory for ~/.ssh: %w", err)
		}
		r.home = h
	}
	if r.localUser == "" {
		if u, err := user.Current(); err == nil {
			r.localUser = u.Username
		}
	}
	r.sshPath = opts.SSHConfig
	if r.sshPath == "" {
		r.sshPath = filepath.Join(r.home, DefaultSSHConfig)
	}
	if r.sshPath != NoSSHConfig {
		l, err := loadSSHConfig(r.sshPath)
		if err != nil {
			return nil, err
		}
		r.ssh = l
	}
	out := make(Hosts, len(c.Spec.Hosts))
	for i := range c.Spec.Hosts {
		h, err := r.host(i, nil)
		if err != nil {
			return nil, err
		}
		out[i] = h
	}
	seen := map[string]int{}
	for i, h := range out {
		if j, ok := seen[h.Addr()]; ok {
			via := ""
			if r.ssh != nil {
				via = " (after " + r.sshPath + ")"
			}
			return nil, fmt.Errorf("%s and %s both reach %s%s; list every host once", hostPath(j), hostPath(i), h.Addr(), via)
		}
		seen[h.Addr()] = i
	}
	return out, nil
}

// override holds the settings given in the inventory for one endpoint,
// which come before the ssh config file.
type override struct {
	port    int32
	user    string
	ids     []string
	agent   *bool
	hostKey string
}

// host resolves spec.hosts[i]; via lists the hosts whose bastion it is.
func (r *resolver) host(i int, via []int) (*Resolved, error) {
	if contains(via, i) || len(via) > maxJumps {
		return nil, fmt.Errorf("%s: the bastions loop or chain more than %d hops; make one of them reachable directly", hostPath(via[0]), maxJumps)
	}
	h := &r.c.Spec.Hosts[i]
	e, proxyJump := r.endpoint(h.Address, override{port: h.Port, user: h.User, ids: h.IdentityFiles, agent: h.UseAgent, hostKey: h.HostKey})
	res := &Resolved{Endpoint: e, Index: i, Host: h, Role: h.Role, NodeName: h.NodeName, Reset: h.Reset, CommandTimeout: DefaultCommandTimeout}
	if d := r.c.Spec.SSH.CommandTimeout; d != nil {
		res.CommandTimeout = d.Duration
	}
	var err error
	switch b := h.Bastion; {
	case b != nil && b.Host != "":
		j := r.c.hostIndex(b.Host)
		if j < 0 {
			return nil, fmt.Errorf("%s.bastion.host: %q is no host of spec.hosts", hostPath(i), b.Host)
		}
		bh, err := r.host(j, append(via, i))
		if err != nil {
			return nil, err
		}
		res.Jumps = append(append([]Endpoint{}, bh.Jumps...), bh.Endpoint)
	case b != nil:
		be, bpj := r.endpoint(b.Address, override{port: b.Port, user: b.User, ids: b.IdentityFiles, agent: b.UseAgent, hostKey: b.HostKey})
		res.Jumps, err = r.proxyJump(bpj, b.Address, 0)
		res.Jumps = append(res.Jumps, be)
	default:
		res.Jumps, err = r.proxyJump(proxyJump, h.Address, 0)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", hostPath(i), err)
	}
	if len(res.Jumps) > maxJumps {
		return nil, fmt.Errorf("%s: the bastion chain has %d hops, more than %d; shorten it", hostPath(i), len(res.Jumps), maxJumps)
	}
	return res, nil
}

// endpoint resolves one SSH server by its alias, returning the ProxyJump
// the ssh config file gives it.
func (r *resolver) endpoint(alias string, ov override) (Endpoint, string) {
	var sc sshSettings
	if r.ssh != nil {
		sc = r.ssh.lookup(alias)
	}
	s := &r.c.Spec.SSH
	e := Endpoint{Name: alias, HostName: alias, HostKey: ov.hostKey}
	if sc.hostName != "" {
		e.HostName = expandTokens(sc.hostName, map[byte]string{'h': alias, 'n': alias})
	}
	e.Port = int(firstNonZero(ov.port, int32(sc.port), s.Port, DefaultSSHPort))
	e.User = firstNonEmpty(ov.user, sc.user, s.User, DefaultSSHUser)
	tokens := map[byte]string{'h': e.HostName, 'n': alias, 'p': strconv.Itoa(e.Port), 'r': e.User, 'u': r.localUser, 'd': r.home}
	switch {
	case len(ov.ids) > 0:
		e.IdentityFiles = r.inventoryPaths(ov.ids)
	case len(sc.identityFiles) > 0:
		for _, f := range sc.identityFiles {
			e.IdentityFiles = append(e.IdentityFiles, r.homePath(expandTokens(f, tokens)))
		}
	case len(s.IdentityFiles) > 0:
		e.IdentityFiles = r.inventoryPaths(s.IdentityFiles)
	default:
		for _, f := range DefaultIdentityFiles {
			e.IdentityFiles = append(e.IdentityFiles, filepath.Join(r.home, f))
		}
		e.DefaultIdentityFiles = true
	}
	e.UseAgent = true
	if ov.agent != nil {
		e.UseAgent = *ov.agent
	} else if s.UseAgent != nil {
		e.UseAgent = *s.UseAgent
	}
	e.KnownHosts = filepath.Join(r.home, DefaultKnownHosts)
	if s.KnownHosts != "" {
		e.KnownHosts = r.c.localPath(s.KnownHosts, r.home)
	}
	e.ConnectTimeout = DefaultConnectTimeout
	if d := s.ConnectTimeout; d != nil {
		e.ConnectTimeout = d.Duration
	}
	return e, sc.proxyJump
}

// proxyJump resolves a ProxyJump value ("[user@]host[:port],..." or
// "none") given for name; each hop is looked up in the ssh config file,
// and the first hop's own ProxyJump is followed.
func (r *resolver) proxyJump(spec, name string, depth int) ([]Endpoint, error) {
	if spec == "" || strings.EqualFold(spec, "none") {
		return nil, nil
	}
	if depth > maxJumps {
		return nil, fmt.Errorf("the ProxyJump chain from %s loops or has more than %d hops; check %s", r.sshPath, maxJumps, name)
	}
	var out []Endpoint
	for k, hop := range strings.Split(spec, ",") {
		user, host, port, err := parseJump(strings.TrimSpace(hop))
		if err != nil {
			return nil, fmt.Errorf("ProxyJump %q for %s in %s: %w", spec, name, r.sshPath, err)
		}
		e, next := r.endpoint(host, override{port: port, user: user})
		if k == 0 {
			chain, err := r.proxyJump(next, host, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, chain...)
		}
		out = append(out, e)
	}
	return out, nil
}

// parseJump splits one ProxyJump hop: [ssh://][user@]host[:port], with
// an IPv6 host in brackets.
func parseJump(hop string) (user, host string, port int32, err error) {
	hop = strings.TrimPrefix(hop, "ssh://")
	if at := strings.LastIndex(hop, "@"); at >= 0 {
		user, hop = hop[:at], hop[at+1:]
	}
	host = hop
	if h, p, splitErr := net.SplitHostPort(hop); splitErr == nil {
		n, convErr := strconv.ParseUint(p, 10, 16)
		if convErr != nil || n == 0 {
			return "", "", 0, fmt.Errorf("invalid port %q", p)
		}
		host, port = h, int32(n)
	} else if strings.HasPrefix(hop, "[") && strings.HasSuffix(hop, "]") {
		host = hop[1 : len(hop)-1]
	}
	if host == "" {
		return "", "", 0, fmt.Errorf("a hop has no host")
	}
	return user, host, port, nil
}

// expandTokens replaces OpenSSH's %-tokens that tokens knows, and %%.
func expandTokens(s string, tokens map[byte]string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		if s[i] == '%' {
			b.WriteByte('%')
		} else if v, ok := tokens[s[i]]; ok {
			b.WriteString(v)
		} else {
			b.WriteByte('%')
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// inventoryPaths makes the inventory's paths absolute.
func (r *resolver) inventoryPaths(paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = r.c.localPath(p, r.home)
	}
	return out
}

// homePath expands "~/" in a path of the ssh config file (relative paths
// stay as OpenSSH leaves them).
func (r *resolver) homePath(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		return filepath.Join(r.home, strings.TrimPrefix(p, "~"))
	}
	return p
}

func firstNonZero(vals ...int32) int32 {
	for _, v := range vals {
		if v != 0 {
			return v
		}
	}
	return 0
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
