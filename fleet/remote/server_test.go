package remote

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// testServer is an in-process sshd: it runs "exec" requests with sh on
// this machine and, if asked, forwards direct-tcpip channels (a bastion).
type testServer struct {
	t          *testing.T
	addr       string
	port       int
	hostKeys   []ssh.Signer
	authorized sync.Map // string(Marshal(pub)) -> true
	forward    bool
	env        []string

	conns       atomic.Int32
	forwards    atomic.Int32
	keepalives  atomic.Int32
	active      atomic.Int32
	maxActive   atomic.Int32
	mute        atomic.Bool // stop answering keepalives
	ptyMu       sync.Mutex
	ptyModes    []string // per pty-req: the term and whether ECHO and ONLCR are off
	lastUserMu  sync.Mutex
	lastUser    string
	listener    net.Listener
	closeConnMu sync.Mutex
	openConns   []net.Conn
}

type serverOption func(*testServer)

// withForwarding makes the server a bastion.
func withForwarding() serverOption { return func(s *testServer) { s.forward = true } }

// withHostKeys replaces the server's single ed25519 host key.
func withHostKeys(keys ...ssh.Signer) serverOption {
	return func(s *testServer) { s.hostKeys = keys }
}

// withPathDir puts dir first in the PATH of the commands.
func withPathDir(dir string) serverOption {
	return func(s *testServer) {
		s.env = append(s.env, "PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	}
}

// withEnv adds environment variables to the commands.
func withEnv(kv ...string) serverOption {
	return func(s *testServer) { s.env = append(s.env, kv...) }
}

func newTestServer(t *testing.T, opts ...serverOption) *testServer {
	t.Helper()
	s := &testServer{t: t, hostKeys: []ssh.Signer{newSigner(t)}}
	for _, o := range opts {
		o(s)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.listener = l
	s.addr = "127.0.0.1"
	s.port = l.Addr().(*net.TCPAddr).Port
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(meta ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if _, ok := s.authorized.Load(string(key.Marshal())); ok {
				s.lastUserMu.Lock()
				s.lastUser = meta.User()
				s.lastUserMu.Unlock()
				return &ssh.Permissions{}, nil
			}
			return nil, errors.New("key not authorized")
		},
	}
	for _, k := range s.hostKeys {
		cfg.AddHostKey(k)
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s.closeConnMu.Lock()
			s.openConns = append(s.openConns, c)
			s.closeConnMu.Unlock()
			go s.serveConn(c, cfg)
		}
	}()
	t.Cleanup(func() {
		l.Close()
		s.closeConnMu.Lock()
		for _, c := range s.openConns {
			c.Close()
		}
		s.closeConnMu.Unlock()
	})
	return s
}

// authorize lets key log in.
func (s *testServer) authorize(key ssh.PublicKey) { s.authorized.Store(string(key.Marshal()), true) }

// hostPort is the address a client dials.
func (s *testServer) hostPort() string { return net.JoinHostPort(s.addr, strconv.Itoa(s.port)) }

// knownHostsLine is the known_hosts line of the server's first key.
func (s *testServer) knownHostsLine() string {
	return knownhosts.Line([]string{knownhosts.Normalize(s.hostPort())}, s.hostKeys[0].PublicKey())
}

func (s *testServer) fingerprint() string { return ssh.FingerprintSHA256(s.hostKeys[0].PublicKey()) }

func (s *testServer) serveConn(c net.Conn, cfg *ssh.ServerConfig) {
	sc, chans, reqs, err := ssh.NewServerConn(c, cfg)
	if err != nil {
		c.Close()
		return
	}
	defer sc.Close()
	s.conns.Add(1)
	go func() {
		for r := range reqs {
			if r.Type == keepaliveRequest {
				s.keepalives.Add(1)
				if s.mute.Load() {
					continue
				}
			}
			r.Reply(false, nil)
		}
	}()
	for nc := range chans {
		switch {
		case nc.ChannelType() == "session":
			go s.serveSession(nc)
		case nc.ChannelType() == "direct-tcpip" && s.forward:
			go s.serveForward(nc)
		default:
			nc.Reject(ssh.Prohibited, "not allowed")
		}
	}
}

func (s *testServer) serveForward(nc ssh.NewChannel) {
	var p struct {
		Host     string
		Port     uint32
		OrigHost string
		OrigPort uint32
	}
	if err := ssh.Unmarshal(nc.ExtraData(), &p); err != nil {
		nc.Reject(ssh.ConnectionFailed, err.Error())
		return
	}
	c, err := net.Dial("tcp", net.JoinHostPort(p.Host, strconv.Itoa(int(p.Port))))
	if err != nil {
		nc.Reject(ssh.ConnectionFailed, err.Error())
		return
	}
	ch, reqs, err := nc.Accept()
	if err != nil {
		c.Close()
		return
	}
	s.forwards.Add(1)
	go ssh.DiscardRequests(reqs)
	go func() { io.Copy(ch, c); ch.CloseWrite() }()
	io.Copy(c, ch)
	c.Close()
	ch.Close()
}

func (s *testServer) serveSession(nc ssh.NewChannel) {
	ch, reqs, err := nc.Accept()
	if err != nil {
		return
	}
	var cmd *exec.Cmd
	var once sync.Once
	kill := func() {
		if cmd != nil && cmd.Process != nil {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	}
	started := make(chan struct{})
	for r := range reqs {
		switch r.Type {
		case "exec":
			var p struct{ Command string }
			if err := ssh.Unmarshal(r.Payload, &p); err != nil {
				r.Reply(false, nil)
				continue
			}
			once.Do(func() {
				cmd = exec.Command("sh", "-c", p.Command)
				cmd.Env = append(os.Environ(), s.env...)
				cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
				cmd.Stdout = ch
				cmd.Stderr = ch.Stderr()
				cmd.WaitDelay = time.Second
				stdin, _ := cmd.StdinPipe()
				if err := cmd.Start(); err != nil {
					r.Reply(false, nil)
					ch.Close()
					return
				}
				close(started)
				r.Reply(true, nil)
				go func() { io.Copy(stdin, ch); stdin.Close() }()
				go func() {
					n := s.active.Add(1)
					for {
						m := s.maxActive.Load()
						if n <= m || s.maxActive.CompareAndSwap(m, n) {
							break
						}
					}
					err := cmd.Wait()
					s.active.Add(-1)
					code := 0
					var ee *exec.ExitError
					if errors.As(err, &ee) {
						code = ee.ExitCode()
						if code < 0 {
							code = 255
						}
					}
					ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{uint32(code)}))
					ch.Close()
				}()
			})
		case "pty-req":
			var p struct {
				Term             string
				Cols, Rows, W, H uint32
				Modes            string
			}
			ok := ssh.Unmarshal(r.Payload, &p) == nil
			if ok {
				s.ptyMu.Lock()
				s.ptyModes = append(s.ptyModes, fmt.Sprintf("%s echo-off=%v onlcr-off=%v", p.Term, hasMode(p.Modes, ssh.ECHO, 0), hasMode(p.Modes, ssh.ONLCR, 0)))
				s.ptyMu.Unlock()
			}
			r.Reply(ok, nil)
		case "signal":
			select {
			case <-started:
				kill()
			default:
			}
		default:
			if r.WantReply {
				r.Reply(false, nil)
			}
		}
	}
	// The client closed the channel: hang up on the command.
	select {
	case <-started:
		kill()
	default:
	}
}

// hasMode reports whether the encoded terminal modes set op to v.
func hasMode(modes string, op uint8, v uint32) bool {
	b := []byte(modes)
	for len(b) >= 5 && b[0] != 0 {
		if b[0] == op && uint32(b[1])<<24|uint32(b[2])<<16|uint32(b[3])<<8|uint32(b[4]) == v {
			return true
		}
		b = b[5:]
	}
	return false
}

// newSigner is a fresh ed25519 key.
func newSigner(t *testing.T) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// newECDSASigner is a fresh ECDSA P-256 key.
func newECDSASigner(t *testing.T) ssh.Signer {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// writeKey writes a new client key to dir and returns its path and public
// key; a non-empty passphrase encrypts it.
func writeKey(t *testing.T, dir, name, passphrase string) (string, ssh.PublicKey) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var block *pem.Block
	if passphrase == "" {
		block, err = ssh.MarshalPrivateKey(priv, "")
	} else {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(priv, "", []byte(passphrase))
	}
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	pub, err := ssh.NewPublicKey(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	return p, pub
}
