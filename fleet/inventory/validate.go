package inventory

import (
	"encoding/base64"
	"fmt"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kubeadmin/kubeadmin/internal/config"
)

// maxJumps bounds a bastion chain; a longer one is taken for a loop.
const maxJumps = 8

// problems collects validation messages, each located at the line of its
// field (or of the closest parent the file has).
type problems struct {
	raw  []byte
	list []problem
}

type problem struct {
	line int
	msg  string
}

// sorted returns the messages ordered by line.
func (p *problems) sorted() []string {
	sort.SliceStable(p.list, func(i, j int) bool { return p.list[i].line < p.list[j].line })
	out := make([]string, len(p.list))
	for i, x := range p.list {
		out[i] = x.msg
	}
	return out
}

func (p *problems) add(path, format string, args ...any) {
	p.addAt(path, path, format, args...)
}

// addAt names the field path but takes the line of linePath.
func (p *problems) addAt(linePath, path, format string, args ...any) {
	msg := path + ": " + fmt.Sprintf(format, args...)
	l := p.line(linePath)
	if l > 0 {
		msg = fmt.Sprintf("line %d: %s", l, msg)
	}
	p.list = append(p.list, problem{l, msg})
}

// line finds path, or else its closest parent, in the file.
func (p *problems) line(path string) int {
	for path != "" {
		if l := config.FieldLine(p.raw, path); l > 0 {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			return 0
		}
		path = path[:i]
	}
	return 0
}

func hostPath(i int) string { return fmt.Sprintf("spec.hosts[%d]", i) }

// validate returns every problem of a decoded inventory.
func (c *Cluster) validate() []string {
	p := &problems{raw: c.raw}
	if c.Metadata.Name != "" {
		for _, msg := range validation.IsDNS1123Subdomain(c.Metadata.Name) {
			p.add("metadata.name", "invalid value %q: %s", c.Metadata.Name, msg)
		}
	}
	c.validateSSH(p)
	c.validateHosts(p)
	c.validateConcurrency(p)
	c.validateKubernetes(p)
	return p.sorted()
}

func (c *Cluster) validateSSH(p *problems) {
	s := &c.Spec.SSH
	validatePort(p, "spec.ssh.port", s.Port)
	validateUser(p, "spec.ssh.user", s.User)
	validateIdentityFiles(p, "spec.ssh.identityFiles", s.IdentityFiles)
	for _, d := range []struct {
		name string
		d    *metav1.Duration
	}{{"connectTimeout", s.ConnectTimeout}, {"commandTimeout", s.CommandTimeout}} {
		if d.d != nil && d.d.Duration <= 0 {
			p.add("spec.ssh."+d.name, "invalid value %q: must be positive, for example \"30s\"; leave it out for the default", d.d.Duration)
		}
	}
}

func (c *Cluster) validateHosts(p *problems) {
	hosts := c.Spec.Hosts
	if len(hosts) == 0 {
		p.add("spec.hosts", "no host is listed; add the control plane and the workers, for example \"- {address: 10.0.0.10, role: control-plane}\"")
		return
	}
	var controlPlanes []int
	allReset := true
	byAddress := map[string]int{}
	byName := map[string]int{}
	for i := range hosts {
		h := &hosts[i]
		hp := hostPath(i)
		if h.Address == "" {
			p.add(hp+".address", "required; give the host name, IP address or ~/.ssh/config alias the host is reached at")
		} else {
			validateAddress(p, hp+".address", h.Address)
			key := net.JoinHostPort(h.Address, strconv.Itoa(int(orDefault(h.Port, orDefault(c.Spec.SSH.Port, DefaultSSHPort)))))
			if j, ok := byAddress[key]; ok {
				p.add(hp+".address", "%s is also %s.address; list every host once (a host on another SSH port needs its own port)", key, hostPath(j))
			} else {
				byAddress[key] = i
			}
		}
		validatePort(p, hp+".port", h.Port)
		validateUser(p, hp+".user", h.User)
		validateIdentityFiles(p, hp+".identityFiles", h.IdentityFiles)
		validateHostKey(p, hp+".hostKey", h.HostKey)
		switch h.Role {
		case RoleControlPlane:
			controlPlanes = append(controlPlanes, i)
		case RoleWorker:
		case "":
			p.add(hp+".role", "required; give %s or %s", RoleControlPlane, RoleWorker)
		default:
			p.add(hp+".role", "unsupported value %q; give %s or %s", h.Role, RoleControlPlane, RoleWorker)
		}
		if h.NodeName != "" {
			if msgs := validation.IsDNS1123Subdomain(h.NodeName); len(msgs) > 0 {
				p.add(hp+".nodeName", "invalid value %q: %s", h.NodeName, strings.Join(msgs, "; "))
			}
			if j, ok := byName[h.NodeName]; ok {
				p.add(hp+".nodeName", "%q is also %s.nodeName; node names must be unique", h.NodeName, hostPath(j))
			} else {
				byName[h.NodeName] = i
			}
		}
		validateLabels(p, hp+".labels", h.Labels)
		if !h.Reset {
			allReset = false
		}
	}
	switch {
	case len(controlPlanes) == 0:
		p.add("spec.hosts", "no host has role %s; give exactly one host role: %s", RoleControlPlane, RoleControlPlane)
	case len(controlPlanes) > 1:
		for _, i := range controlPlanes[1:] {
			p.add(hostPath(i)+".role", "a second control plane (%s is one): joining more control planes is not supported yet; keep one host with role: %s and make the others role: %s",
				hostPath(controlPlanes[0]), RoleControlPlane, RoleWorker)
		}
	default:
		if cp := controlPlanes[0]; hosts[cp].Reset && !allReset {
			p.add(hostPath(cp)+".reset", "the control plane cannot be reset while workers stay: mark every host reset: true to take the whole cluster down (or run kubeadmin fleet reset), or remove reset from the control plane")
		}
	}
	for i := range hosts {
		if b := hosts[i].Bastion; b != nil {
			c.validateBastion(p, i, b)
		}
	}
	c.validateBastionChains(p)
}

func (c *Cluster) validateBastion(p *problems, i int, b *Bastion) {
	bp := hostPath(i) + ".bastion"
	switch {
	case b.Host != "" && b.Address != "":
		p.add(bp, "give either host (a host of spec.hosts) or address (a jump host outside the cluster), not both")
	case b.Host != "":
		j := c.hostIndex(b.Host)
		switch {
		case j < 0:
			p.add(bp+".host", "%q is no host of spec.hosts; give the nodeName or address of one, or give the jump host's address instead of host", b.Host)
		case j == i:
			p.add(bp+".host", "%q is this host itself; a host cannot be its own bastion", b.Host)
		}
		for _, f := range []struct {
			name string
			set  bool
		}{{"port", b.Port != 0}, {"user", b.User != ""}, {"identityFiles", b.IdentityFiles != nil}, {"useAgent", b.UseAgent != nil}, {"hostKey", b.HostKey != ""}} {
			if f.set {
				p.add(bp+"."+f.name, "not allowed with bastion.host: that host is reached with its own settings; set %s on it", f.name)
			}
		}
	case b.Address != "":
		validateAddress(p, bp+".address", b.Address)
		validatePort(p, bp+".port", b.Port)
		validateUser(p, bp+".user", b.User)
		validateIdentityFiles(p, bp+".identityFiles", b.IdentityFiles)
		validateHostKey(p, bp+".hostKey", b.HostKey)
	default:
		p.add(bp, "give host (the nodeName or address of a host of spec.hosts) or address (a jump host outside the cluster)")
	}
}

// validateBastionChains refuses bastion references that loop or run too
// long.
func (c *Cluster) validateBastionChains(p *problems) {
	for i := range c.Spec.Hosts {
		seen := []int{i}
		for j := i; ; {
			b := c.Spec.Hosts[j].Bastion
			if b == nil || b.Host == "" {
				break
			}
			next := c.hostIndex(b.Host)
			if next < 0 || next == j {
				break // reported by validateBastion
			}
			if contains(seen, next) {
				if i == slices.Min(seen) { // report a loop once
					p.add(hostPath(i)+".bastion.host", "the bastions loop (%s); make one of them reachable directly", chainNames(c, append(seen, next)))
				}
				break
			}
			seen = append(seen, next)
			if len(seen) > maxJumps+1 {
				p.add(hostPath(i)+".bastion.host", "the bastion chain is longer than %d hops; shorten it", maxJumps)
				break
			}
			j = next
		}
	}
}

func chainNames(c *Cluster, idx []int) string {
	names := make([]string, len(idx))
	for k, i := range idx {
		names[k] = c.Spec.Hosts[i].Name()
	}
	return strings.Join(names, " -> ")
}

// name is how a host is referred to: its node name, else its address.
// Name is how messages name the host: its node name, else its address.
func (h *Host) Name() string {
	if h.NodeName != "" {
		return h.NodeName
	}
	return h.Address
}

// hostIndex finds a host by node name first, then by address; -1 if none.
func (c *Cluster) hostIndex(ref string) int {
	for i := range c.Spec.Hosts {
		if c.Spec.Hosts[i].NodeName == ref {
			return i
		}
	}
	for i := range c.Spec.Hosts {
		if c.Spec.Hosts[i].Address == ref {
			return i
		}
	}
	return -1
}

func (c *Cluster) validateConcurrency(p *problems) {
	for _, v := range []struct {
		name string
		v    *int32
	}{{"hosts", c.Spec.Concurrency.Hosts}, {"uploads", c.Spec.Concurrency.Uploads}} {
		if v.v != nil && *v.v < 1 {
			p.add("spec.concurrency."+v.name, "invalid value %d: must be at least 1; leave it out for the default", *v.v)
		}
	}
}

func validateAddress(p *problems, path, addr string) {
	switch {
	case strings.ContainsAny(addr, " \t\n"):
		p.add(path, "invalid value %q: an address has no spaces", addr)
	case strings.Contains(addr, "@"):
		p.add(path, "invalid value %q: give the user in the user field, not in the address", addr)
	case strings.HasPrefix(addr, "["):
		p.add(path, "invalid value %q: give an IPv6 address without brackets, and the port in the port field", addr)
	case strings.Contains(addr, ":") && net.ParseIP(addr) == nil:
		p.add(path, "invalid value %q: give the port in the port field, not in the address", addr)
	}
}

func validatePort(p *problems, path string, port int32) {
	if port < 0 || port > 65535 {
		p.add(path, "invalid value %d: a port is between 1 and 65535; leave it out for %d", port, DefaultSSHPort)
	}
}

func validateUser(p *problems, path, user string) {
	if strings.ContainsAny(user, " \t\n@:") {
		p.add(path, "invalid value %q: a user name has no spaces, \"@\" or \":\"", user)
	}
}

func validateIdentityFiles(p *problems, path string, files []string) {
	for i, f := range files {
		if strings.TrimSpace(f) == "" {
			p.add(fmt.Sprintf("%s[%d]", path, i), "empty path; give the path of a private key, for example ~/.ssh/id_ed25519")
		}
	}
}

// fingerprintPrefix starts a SHA-256 host key fingerprint.
const fingerprintPrefix = "SHA256:"

// validateHostKey checks a pinned fingerprint: "SHA256:" and the unpadded
// base64 of 32 bytes, as ssh-keygen -lf prints it.
func validateHostKey(p *problems, path, fp string) {
	if fp == "" {
		return
	}
	const how = "give the SHA-256 fingerprint as `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` prints it on the host, for example \"SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8\""
	b64, ok := strings.CutPrefix(fp, fingerprintPrefix)
	if !ok {
		p.add(path, "invalid value %q: not a SHA256 fingerprint; %s", fp, how)
		return
	}
	sum, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(b64, "="))
	if err != nil || len(sum) != 32 {
		p.add(path, "invalid value %q: the part after SHA256: must be 43 base64 characters; %s", fp, how)
	}
}

func validateLabels(p *problems, path string, labels map[string]string) {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		kp := fmt.Sprintf("%s[%q]", path, k)
		if msgs := validation.IsQualifiedName(k); len(msgs) > 0 {
			p.addAt(path, kp, "invalid label key: %s", strings.Join(msgs, "; "))
		}
		if msgs := validation.IsValidLabelValue(labels[k]); len(msgs) > 0 {
			p.addAt(path, kp, "invalid label value %q: %s", labels[k], strings.Join(msgs, "; "))
		}
	}
}

func orDefault(v, def int32) int32 {
	if v != 0 {
		return v
	}
	return def
}

func contains[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
