package remote

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// Host is one SSH connection to a host, reused by every command; it is
// safe for concurrent use and runs at most MaxSessions sessions at once.
type Host struct {
	redactor
	target Target
	client *ssh.Client
	unhop  func() // releases the bastion connection the host is reached through
	sem    chan struct{}

	closeOnce sync.Once
	done      chan struct{}
	mu        sync.Mutex
	lost      error // why the keepalive closed the connection
}

// keepaliveEvery and keepaliveMissed are variables so that tests can
// shorten them.
var (
	keepaliveEvery  = KeepaliveInterval
	keepaliveMissed = KeepaliveMaxMissed
)

// Dial connects to t, through its bastions if any, and verifies every
// hop's host key.
func Dial(ctx context.Context, t Target) (*Host, error) {
	t = t.withDefaults()
	client, unhop, err := dialHop(ctx, t)
	if err != nil {
		return nil, err
	}
	h := &Host{
		target: t,
		client: client,
		unhop:  unhop,
		sem:    make(chan struct{}, MaxSessions),
		done:   make(chan struct{}),
	}
	go h.keepalive(keepaliveEvery, keepaliveMissed)
	return h, nil
}

// dialHop connects to t, through its bastion's shared connection if it
// has one, and returns its client and the func that releases the bastion.
func dialHop(ctx context.Context, t Target) (*ssh.Client, func(), error) {
	if err := t.validate(); err != nil {
		return nil, nil, err
	}
	unhop := func() {}
	var conn net.Conn
	var err error
	if t.Bastion != nil {
		b := *t.Bastion
		if b.Log == nil {
			b.Log = t.Log
		}
		b = b.withDefaults()
		bc, release, err := acquireHop(ctx, b)
		if err != nil {
			return nil, nil, fmt.Errorf("host %s: through bastion %s: %w", t.name(), b.name(), err)
		}
		unhop = release
		dctx, cancel := context.WithTimeout(ctx, t.ConnectTimeout)
		conn, err = bc.DialContext(dctx, "tcp", t.addr())
		cancel()
		if err != nil {
			unhop()
			return nil, nil, fmt.Errorf("host %s: bastion %s could not open a connection to %s (is AllowTcpForwarding on in the bastion's sshd, and is the address right?): %w", t.name(), b.name(), t.addr(), err)
		}
	} else {
		d := net.Dialer{Timeout: t.ConnectTimeout}
		conn, err = d.DialContext(ctx, "tcp", t.addr())
		if err != nil {
			return nil, nil, fmt.Errorf("host %s: cannot connect to %s: %w", t.name(), t.addr(), err)
		}
	}
	client, err := handshake(ctx, conn, t)
	if err != nil {
		unhop()
		return nil, nil, err
	}
	return client, unhop, nil
}

// A bastion's SSH connection is shared by every host reached through it:
// one connection per bastion, however many hosts are behind it (dialing
// it once per host would meet sshd's MaxStartups throttle on a large
// fleet behind one jump host).
type sharedHop struct {
	ready   chan struct{} // closed once dialed (or failed)
	err     error
	client  *ssh.Client
	unhop   func() // releases the bastion's own bastion
	holders int
}

var (
	hopsMu sync.Mutex
	hops   = map[string]*sharedHop{} // by hopKey
)

// hopKey identifies a bastion connection: its user, address and the
// bastions it is reached through.
func (t Target) hopKey() string {
	k := t.User + "@" + t.addr()
	if t.Bastion != nil {
		k += " via " + t.Bastion.withDefaults().hopKey()
	}
	return k
}

// acquireHop returns the shared connection to bastion b, dialing it if no
// host holds it (concurrent callers wait for one dial), and the func that
// releases it: the last release closes it.
func acquireHop(ctx context.Context, b Target) (*ssh.Client, func(), error) {
	key := b.hopKey()
	hopsMu.Lock()
	s := hops[key]
	if s == nil {
		s = &sharedHop{ready: make(chan struct{}), holders: 1}
		hops[key] = s
		hopsMu.Unlock()
		s.client, s.unhop, s.err = dialHop(ctx, b)
		if s.err != nil {
			hopsMu.Lock()
			if hops[key] == s {
				delete(hops, key)
			}
			hopsMu.Unlock()
		}
		close(s.ready)
	} else {
		s.holders++
		hopsMu.Unlock()
		select {
		case <-s.ready:
		case <-ctx.Done():
			// The dialer still holds it: this is never the last holder.
			hopsMu.Lock()
			s.holders--
			hopsMu.Unlock()
			return nil, nil, ctx.Err()
		}
	}
	if s.err != nil {
		return nil, nil, s.err
	}
	var once sync.Once
	release := func() {
		once.Do(func() {
			hopsMu.Lock()
			s.holders--
			last := s.holders == 0
			if last && hops[key] == s {
				delete(hops, key)
			}
			hopsMu.Unlock()
			if last {
				s.client.Close()
				s.unhop()
			}
		})
	}
	return s.client, release, nil
}

// handshake runs the SSH handshake on conn within t.ConnectTimeout.
func handshake(ctx context.Context, conn net.Conn, t Target) (*ssh.Client, error) {
	check, err := newHostKeyCheck(t)
	if err != nil {
		conn.Close()
		return nil, err
	}
	auth, authDesc, cleanup, err := authMethod(t)
	if err != nil {
		conn.Close()
		return nil, err
	}
	defer cleanup()
	cfg := &ssh.ClientConfig{
		User:              t.User,
		Auth:              []ssh.AuthMethod{auth},
		HostKeyCallback:   check.callback,
		HostKeyAlgorithms: check.hostKeyAlgorithms(t.addr()),
		Timeout:           t.ConnectTimeout,
	}

	type result struct {
		c     ssh.Conn
		chans <-chan ssh.NewChannel
		reqs  <-chan *ssh.Request
		err   error
	}
	ch := make(chan result, 1)
	go func() {
		c, chans, reqs, err := ssh.NewClientConn(conn, t.addr(), cfg)
		ch <- result{c, chans, reqs, err}
	}()
	timer := time.NewTimer(t.ConnectTimeout)
	defer timer.Stop()
	var r result
	select {
	case r = <-ch:
	case <-timer.C:
		conn.Close()
		<-ch
		return nil, fmt.Errorf("host %s: no SSH handshake with %s within %s", t.name(), t.addr(), t.ConnectTimeout)
	case <-ctx.Done():
		conn.Close()
		<-ch
		return nil, fmt.Errorf("host %s: SSH handshake with %s: %w", t.name(), t.addr(), ctx.Err())
	}
	if r.err != nil {
		conn.Close()
		if check.refused != nil {
			return nil, check.refused
		}
		if strings.Contains(r.err.Error(), "unable to authenticate") {
			return nil, fmt.Errorf("host %s: sshd at %s refused user %s with %s: is the public key in ~%s/.ssh/authorized_keys on the host? (%v)",
				t.name(), t.addr(), t.User, authDesc, t.User, r.err)
		}
		return nil, fmt.Errorf("host %s: SSH handshake with %s: %w", t.name(), t.addr(), r.err)
	}
	return ssh.NewClient(r.c, r.chans, r.reqs), nil
}

// authMethod gathers the keys of t into one public-key method (the client
// tries each method kind once, so key files and agent share one).
func authMethod(t Target) (ssh.AuthMethod, string, func(), error) {
	var signers []ssh.Signer
	var desc []string
	cleanup := func() {}
	for _, path := range t.IdentityFiles {
		path = expandHome(path)
		pem, err := os.ReadFile(path)
		if err != nil {
			return nil, "", nil, fmt.Errorf("host %s: identity file: %w", t.name(), err)
		}
		s, err := ssh.ParsePrivateKey(pem)
		var pp *ssh.PassphraseMissingError
		if errors.As(err, &pp) {
			if t.UseAgent {
				continue // the agent may hold it
			}
			return nil, "", nil, fmt.Errorf("host %s: identity file %s is protected by a passphrase, which fleet does not ask for: load it into ssh-agent (`ssh-add %s`) and use the agent instead", t.name(), path, path)
		}
		if err != nil {
			return nil, "", nil, fmt.Errorf("host %s: identity file %s is not a private key: %w", t.name(), path, err)
		}
		signers = append(signers, s)
		desc = append(desc, "key "+path)
	}
	var agentSigners func() ([]ssh.Signer, error)
	if t.UseAgent {
		if t.AgentSocket == "" {
			return nil, "", nil, fmt.Errorf("host %s: the ssh-agent is to be used but %s is not set: start ssh-agent and add your key (`ssh-add`)", t.name(), SSHAuthSockEnv)
		}
		conn, err := net.DialTimeout("unix", t.AgentSocket, t.ConnectTimeout)
		if err != nil {
			return nil, "", nil, fmt.Errorf("host %s: cannot reach the ssh-agent at %s: %w", t.name(), t.AgentSocket, err)
		}
		cleanup = func() { conn.Close() }
		agentSigners = agent.NewClient(conn).Signers
		desc = append(desc, "the keys of the ssh-agent")
	}
	cb := func() ([]ssh.Signer, error) {
		all := append([]ssh.Signer(nil), signers...)
		if agentSigners != nil {
			as, err := agentSigners()
			if err != nil {
				return nil, fmt.Errorf("listing the ssh-agent's keys: %w", err)
			}
			all = append(all, as...)
		}
		return all, nil
	}
	return ssh.PublicKeysCallback(cb), strings.Join(desc, " and "), cleanup, nil
}

// keepalive asks the peer for an answer every interval and closes the
// connection after missed unanswered requests or a failed one, so that
// commands on a dead connection fail instead of hanging.
func (h *Host) keepalive(interval time.Duration, missed int) {
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	reply := make(chan error, 1)
	pending := false
	count := 0
	for {
		select {
		case <-h.done:
			return
		case err := <-reply:
			pending = false
			count = 0
			if err != nil {
				h.fail(fmt.Errorf("the connection to %s broke: %w", h.Name(), err))
				return
			}
		case <-ticker.C:
			if pending {
				count++
				if count >= missed {
					h.fail(fmt.Errorf("the connection to %s is dead: no answer to %d keepalives sent every %s", h.Name(), count, interval))
					return
				}
				continue
			}
			pending = true
			go func() {
				_, _, err := h.client.SendRequest(keepaliveRequest, true, nil)
				reply <- err
			}()
		}
	}
}

// fail closes the connection and remembers why.
func (h *Host) fail(err error) {
	h.mu.Lock()
	if h.lost == nil {
		h.lost = err
	}
	h.mu.Unlock()
	h.Close()
}

// lostErr is why the keepalive closed the connection, or nil.
func (h *Host) lostErr() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.lost
}

// Close closes the connection and releases its bastion.
func (h *Host) Close() error {
	var err error
	h.closeOnce.Do(func() {
		close(h.done)
		err = h.client.Close()
		h.unhop()
	})
	return err
}

// Name is the host's name in messages.
func (h *Host) Name() string { return h.target.name() }

// User is the SSH login user.
func (h *Host) User() string { return h.target.User }

// IsRoot reports whether commands run as root without sudo.
func (h *Host) IsRoot() bool { return h.target.User == "root" }
