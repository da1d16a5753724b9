package remote

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path"
	"path/filepath"
	"strconv"
	"strings"
)

// The basics of ~/.ssh/config that fleet honours: HostName, User, Port,
// IdentityFile, ProxyJump and UserKnownHostsFile, in Host blocks, with
// Include. Our own small reader instead of a library: these six keywords
// are all fleet needs, and Match blocks (which need a shell) are skipped.

// maxSSHConfigDepth bounds Include nesting and ProxyJump chains.
const maxSSHConfigDepth = 16

// SSHConfig is what ssh_config says about one host.
type SSHConfig struct {
	HostName      string
	User          string
	Port          int
	IdentityFiles []string
	// ProxyJump is the raw value: [user@]host[:port], comma separated,
	// outermost jump first; "none" means none.
	ProxyJump      string
	KnownHostsFile string
}

// SSHConfigFile is a parsed ssh_config.
type SSHConfigFile struct {
	blocks []sshBlock
}

type sshBlock struct {
	patterns []string // nil: before any Host line, applies to all
	skip     bool     // a Match block
	options  [][2]string
	source   string
}

// LoadSSHConfig reads an ssh_config file; a missing file says nothing.
func LoadSSHConfig(file string) (*SSHConfigFile, error) {
	c := &SSHConfigFile{}
	if err := c.read(file, 0, true); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *SSHConfigFile) read(file string, depth int, top bool) error {
	if depth > maxSSHConfigDepth {
		return fmt.Errorf("%s: Include nested deeper than %d", file, maxSSHConfigDepth)
	}
	f, err := os.Open(file)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	if top || len(c.blocks) == 0 {
		c.blocks = append(c.blocks, sshBlock{source: file})
	}
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		key, args, err := splitSSHLine(sc.Text())
		if err != nil {
			return fmt.Errorf("%s:%d: %w", file, n, err)
		}
		switch key {
		case "":
			continue
		case "host":
			if len(args) == 0 {
				return fmt.Errorf("%s:%d: Host needs a pattern", file, n)
			}
			c.blocks = append(c.blocks, sshBlock{patterns: args, source: file})
		case "match":
			c.blocks = append(c.blocks, sshBlock{skip: true, source: file})
		case "include":
			// An Include inside a Host block applies only there; keep it
			// simple and honest: only top-level Includes are read.
			if c.blocks[len(c.blocks)-1].patterns != nil || c.blocks[len(c.blocks)-1].skip {
				continue
			}
			for _, pat := range args {
				pat = expandHome(pat)
				if !filepath.IsAbs(pat) {
					pat = filepath.Join(filepath.Dir(file), pat)
				}
				matches, err := filepath.Glob(pat)
				if err != nil {
					return fmt.Errorf("%s:%d: Include %s: %w", file, n, pat, err)
				}
				for _, m := range matches {
					if err := c.read(m, depth+1, false); err != nil {
						return err
					}
				}
				// Lines after the Include belong to the top level again.
				c.blocks = append(c.blocks, sshBlock{source: file})
			}
		default:
			b := &c.blocks[len(c.blocks)-1]
			b.options = append(b.options, [2]string{key, strings.Join(args, " ")})
		}
	}
	return sc.Err()
}

// splitSSHLine returns the lower-case keyword and the arguments of a line
// ("Key value", "Key=value", quoted arguments).
func splitSSHLine(line string) (string, []string, error) {
	line = strings.TrimSpace(line)
	if line == "" || line[0] == '#' {
		return "", nil, nil
	}
	i := strings.IndexAny(line, " \t=")
	if i < 0 {
		return strings.ToLower(line), nil, nil
	}
	key := strings.ToLower(line[:i])
	rest := strings.TrimLeft(line[i:], " \t")
	rest = strings.TrimPrefix(rest, "=")
	var args []string
	for rest = strings.TrimSpace(rest); rest != ""; rest = strings.TrimSpace(rest) {
		if rest[0] == '"' {
			end := strings.IndexByte(rest[1:], '"')
			if end < 0 {
				return "", nil, errors.New("unterminated quote")
			}
			args = append(args, rest[1:end+1])
			rest = rest[end+2:]
			continue
		}
		j := strings.IndexAny(rest, " \t")
		if j < 0 {
			j = len(rest)
		}
		args = append(args, rest[:j])
		rest = rest[j:]
	}
	return key, args, nil
}

// matchHost reports whether alias matches a Host line's patterns (any
// positive pattern matches and no negated one does).
func matchHost(patterns []string, alias string) bool {
	ok := false
	for _, p := range patterns {
		neg := strings.HasPrefix(p, "!")
		p = strings.TrimPrefix(p, "!")
		m, err := path.Match(strings.ToLower(p), strings.ToLower(alias))
		if err != nil || !m {
			continue
		}
		if neg {
			return false
		}
		ok = true
	}
	return ok
}

// Lookup returns the settings for alias; as in ssh, the first value of a
// keyword wins, except IdentityFile, which adds up.
func (c *SSHConfigFile) Lookup(alias string) (SSHConfig, error) {
	var r SSHConfig
	seen := map[string]bool{}
	for _, b := range c.blocks {
		if b.skip || (b.patterns != nil && !matchHost(b.patterns, alias)) {
			continue
		}
		for _, o := range b.options {
			key, val := o[0], o[1]
			if key == "identityfile" {
				r.IdentityFiles = append(r.IdentityFiles, val)
				continue
			}
			if seen[key] {
				continue
			}
			seen[key] = true
			switch key {
			case "hostname":
				r.HostName = val
			case "user":
				r.User = val
			case "port":
				p, err := strconv.Atoi(val)
				if err != nil || p < 1 || p > 65535 {
					return r, fmt.Errorf("%s: Port %q for host %s is not a port number", b.source, val, alias)
				}
				r.Port = p
			case "proxyjump":
				r.ProxyJump = val
			case "userknownhostsfile":
				r.KnownHostsFile = strings.Fields(val)[0]
			}
		}
	}
	// Tokens and ~ are expanded once everything is known.
	host := alias
	if r.HostName != "" {
		r.HostName = strings.ReplaceAll(r.HostName, "%h", alias)
		host = r.HostName
	}
	for i, f := range r.IdentityFiles {
		r.IdentityFiles[i] = expandSSHTokens(f, host, r.User, r.Port)
	}
	if r.KnownHostsFile != "" {
		r.KnownHostsFile = expandSSHTokens(r.KnownHostsFile, host, r.User, r.Port)
	}
	return r, nil
}

// Apply fills the empty fields of t from the settings for t.Address, which
// may be an alias: the inventory's own values win. Jump hosts of ProxyJump
// become t's bastions and are looked up in turn; they share t's keys, agent,
// known_hosts and timeouts unless the config says otherwise.
func (c *SSHConfigFile) Apply(t Target) (Target, error) {
	return c.apply(t, 0)
}

func (c *SSHConfigFile) apply(t Target, depth int) (Target, error) {
	if depth > maxSSHConfigDepth {
		return t, fmt.Errorf("host %s: ProxyJump chain longer than %d (a loop?)", t.name(), maxSSHConfigDepth)
	}
	alias := t.Address
	r, err := c.Lookup(alias)
	if err != nil {
		return t, err
	}
	if t.Name == "" {
		t.Name = alias
	}
	if r.HostName != "" {
		t.Address = r.HostName
	}
	if t.User == "" {
		t.User = r.User
	}
	if t.Port == 0 {
		t.Port = r.Port
	}
	if len(t.IdentityFiles) == 0 {
		t.IdentityFiles = r.IdentityFiles
	}
	if t.KnownHosts == "" {
		t.KnownHosts = r.KnownHostsFile
	}
	if t.Bastion != nil || r.ProxyJump == "" || strings.EqualFold(r.ProxyJump, "none") {
		return t, nil
	}
	var via *Target
	for _, hop := range strings.Split(r.ProxyJump, ",") {
		j := t
		// The jump host's own IdentityFile first, else the host's keys.
		j.Name, j.Address, j.User, j.Port, j.HostKey, j.Bastion, j.IdentityFiles = "", "", "", 0, "", via, nil
		hop = strings.TrimSpace(hop)
		if u, h, ok := strings.Cut(hop, "@"); ok {
			j.User, hop = u, h
		}
		if h, p, err := netSplit(hop); err == nil {
			j.Address, j.Port = h, p
		} else {
			j.Address = hop
		}
		if j.Address == "" {
			return t, fmt.Errorf("host %s: ProxyJump %q has an empty host", t.name(), r.ProxyJump)
		}
		resolved, err := c.apply(j, depth+1)
		if err != nil {
			return t, err
		}
		if len(resolved.IdentityFiles) == 0 {
			resolved.IdentityFiles = t.IdentityFiles
		}
		via = &resolved
	}
	t.Bastion = via
	return t, nil
}

func netSplit(hostport string) (string, int, error) {
	i := strings.LastIndexByte(hostport, ':')
	if i < 0 || strings.Count(hostport, ":") > 1 && !strings.HasPrefix(hostport, "[") {
		return "", 0, errors.New("no port")
	}
	p, err := strconv.Atoi(hostport[i+1:])
	if err != nil {
		return "", 0, err
	}
	return strings.Trim(hostport[:i], "[]"), p, nil
}

// expandHome replaces a leading ~/.
func expandHome(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, p[1:])
		}
	}
	return p
}

// expandSSHTokens expands ~ and the tokens %d %h %p %r %u %%.
func expandSSHTokens(s, host, remoteUser string, port int) string {
	s = expandHome(s)
	if !strings.Contains(s, "%") {
		return s
	}
	home, _ := os.UserHomeDir()
	local := ""
	if u, err := user.Current(); err == nil {
		local = u.Username
	}
	if port == 0 {
		port = DefaultPort
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		switch s[i] {
		case 'd':
			b.WriteString(home)
		case 'h':
			b.WriteString(host)
		case 'p':
			b.WriteString(strconv.Itoa(port))
		case 'r':
			b.WriteString(remoteUser)
		case 'u':
			b.WriteString(local)
		case '%':
			b.WriteByte('%')
		default:
			b.WriteByte('%')
			b.WriteByte(s[i])
		}
	}
	return b.String()
}
