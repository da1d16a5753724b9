package remote

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"
)

func TestMain(m *testing.M) {
	// Short keepalives so a dead peer is noticed within a test's time.
	keepaliveEvery = 100 * time.Millisecond
	keepaliveMissed = 3
	// This machine's own known hosts must not play into the tests.
	globalKnownHosts = ""
	os.Exit(m.Run())
}

// fixture is a server, a client key it accepts and a known_hosts file that
// knows it.
type fixture struct {
	srv        *testServer
	dir        string
	key        string
	knownHosts string
	log        bytes.Buffer
}

func newFixture(t *testing.T, opts ...serverOption) *fixture {
	t.Helper()
	f := &fixture{dir: t.TempDir()}
	f.srv = newTestServer(t, opts...)
	var pub ssh.PublicKey
	f.key, pub = writeKey(t, f.dir, "id_ed25519", "")
	f.srv.authorize(pub)
	f.knownHosts = filepath.Join(f.dir, "known_hosts")
	writeFile(t, f.knownHosts, f.srv.knownHostsLine()+"\n")
	return f
}

func (f *fixture) target() Target {
	return Target{
		Name:           "node1",
		Address:        f.srv.addr,
		Port:           f.srv.port,
		User:           "root",
		IdentityFiles:  []string{f.key},
		KnownHosts:     f.knownHosts,
		ConnectTimeout: 5 * time.Second,
		CommandTimeout: 10 * time.Second,
		Log:            &f.log,
	}
}

func (f *fixture) dial(t *testing.T, tgt Target) *Host {
	t.Helper()
	h, err := Dial(context.Background(), tgt)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

func writeFile(t *testing.T, p, content string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestKeyAuthRunsCommandsOnOneConnection(t *testing.T) {
	f := newFixture(t)
	h := f.dial(t, f.target())
	res, err := h.Run(context.Background(), "echo out; echo err >&2", RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Stdout != "out\n" || res.Stderr != "err\n" {
		t.Fatalf("got stdout %q stderr %q", res.Stdout, res.Stderr)
	}

	// Many commands at once share the one connection and stay under
	// sshd's session limit.
	var wg sync.WaitGroup
	errs := make(chan error, 3*MaxSessions)
	for i := 0; i < 3*MaxSessions; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			res, err := h.Run(context.Background(), fmt.Sprintf("sleep 0.05; echo %d", i), RunOptions{})
			if err == nil && res.Stdout != fmt.Sprintf("%d\n", i) {
				err = fmt.Errorf("command %d printed %q", i, res.Stdout)
			}
			errs <- err
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := f.srv.conns.Load(); n != 1 {
		t.Errorf("server saw %d connections, want 1", n)
	}
	if m := f.srv.maxActive.Load(); m > MaxSessions || m < 2 {
		t.Errorf("at most %d sessions ran at once, want 2..%d", m, MaxSessions)
	}
}

func TestStdinIsFedToTheCommand(t *testing.T) {
	f := newFixture(t)
	h := f.dial(t, f.target())
	res, err := h.Run(context.Background(), "tr a-z A-Z", RunOptions{Stdin: strings.NewReader("hello")})
	if err != nil {
		t.Fatal(err)
	}
	if res.Stdout != "HELLO" {
		t.Fatalf("stdout %q", res.Stdout)
	}
}

// TestHangUpOnDisconnectAsksForARawTerminal: only such a command gets a
// pseudo-terminal (sshd hangs up on it when the connection drops), with
// echo off and newlines left alone.
func TestHangUpOnDisconnectAsksForARawTerminal(t *testing.T) {
	f := newFixture(t)
	h := f.dial(t, f.target())
	if _, err := h.Run(context.Background(), "true", RunOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Run(context.Background(), "true", RunOptions{HangUpOnDisconnect: true}); err != nil {
		t.Fatal(err)
	}
	f.srv.ptyMu.Lock()
	defer f.srv.ptyMu.Unlock()
	if got := strings.Join(f.srv.ptyModes, "; "); got != "dumb echo-off=true onlcr-off=true" {
		t.Fatalf("pseudo-terminal requests: %q, want one, raw", got)
	}
}

func TestAgentAuth(t *testing.T) {
	f := newFixture(t)
	keyring := agent.NewKeyring()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if err := keyring.Add(agent.AddedKey{PrivateKey: priv}); err != nil {
		t.Fatal(err)
	}
	pub, _ := ssh.NewPublicKey(priv.Public())
	f.srv.authorize(pub)
	sock := filepath.Join(f.dir, "agent.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { agent.ServeAgent(keyring, c); c.Close() }()
		}
	}()
	tgt := f.target()
	tgt.IdentityFiles = nil
	tgt.UseAgent = true
	tgt.AgentSocket = sock
	h := f.dial(t, tgt)
	if _, err := h.Run(context.Background(), "true", RunOptions{}); err != nil {
		t.Fatal(err)
	}

	// An agent without the key is refused with a hint.
	keyring.RemoveAll()
	_, err = Dial(context.Background(), tgt)
	if err == nil || !strings.Contains(err.Error(), "authorized_keys") {
		t.Fatalf("want an authentication error naming authorized_keys, got %v", err)
	}
}

func TestEncryptedKeyIsRefusedWithAnAgentHint(t *testing.T) {
	f := newFixture(t)
	tgt := f.target()
	p, pub := writeKey(t, f.dir, "id_locked", "passphrase")
	f.srv.authorize(pub)
	tgt.IdentityFiles = []string{p}
	_, err := Dial(context.Background(), tgt)
	if err == nil || !strings.Contains(err.Error(), "passphrase") || !strings.Contains(err.Error(), "ssh-add "+p) {
		t.Fatalf("want an error telling to ssh-add %s, got %v", p, err)
	}
}

func TestUnknownHostIsRefusedWithItsFingerprint(t *testing.T) {
	f := newFixture(t)
	tgt := f.target()
	tgt.KnownHosts = filepath.Join(f.dir, "none", "known_hosts")
	_, err := Dial(context.Background(), tgt)
	var hk *HostKeyError
	if !errors.As(err, &hk) || hk.Problem != HostKeyUnknown || hk.Fingerprint != f.srv.fingerprint() {
		t.Fatalf("want an unknown-host error, got %v", err)
	}
	for _, want := range []string{f.srv.fingerprint(), TrustNewHostKeysFlag, "hostKey: " + f.srv.fingerprint(), "ssh-keyscan"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if _, err := os.Stat(tgt.KnownHosts); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("known_hosts was created without trust on first use: %v", err)
	}
}

func TestTrustOnFirstUseRecordsOneLine(t *testing.T) {
	f := newFixture(t)
	tgt := f.target()
	tgt.KnownHosts = filepath.Join(f.dir, "new", "known_hosts")
	tgt.TrustNewHostKeys = true
	var logMu sync.Mutex
	var log bytes.Buffer
	tgt.Log = writerFunc(func(p []byte) (int, error) { logMu.Lock(); defer logMu.Unlock(); return log.Write(p) })

	const dials = 8
	var wg sync.WaitGroup
	errs := make(chan error, dials)
	for i := 0; i < dials; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h, err := Dial(context.Background(), tgt)
			if err == nil {
				h.Close()
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	content := readFile(t, tgt.KnownHosts)
	if content != f.srv.knownHostsLine()+"\n" {
		t.Fatalf("known_hosts is %q, want exactly %q", content, f.srv.knownHostsLine()+"\n")
	}
	if !strings.HasPrefix(content, fmt.Sprintf("[127.0.0.1]:%d ", f.srv.port)) {
		t.Errorf("the line does not name the host and port: %q", content)
	}
	if st, _ := os.Stat(tgt.KnownHosts); st.Mode().Perm() != knownHostsMode {
		t.Errorf("known_hosts mode %v, want %v", st.Mode().Perm(), os.FileMode(knownHostsMode))
	}
	want := fmt.Sprintf("[fleet] node1: trusting new host key %s (recorded in %s)\n", f.srv.fingerprint(), tgt.KnownHosts)
	if log.String() != want {
		t.Errorf("log %q, want once %q", log.String(), want)
	}

	// Recorded: now known without trust on first use.
	tgt.TrustNewHostKeys = false
	f.dial(t, tgt)
}

func TestConcurrentRecordsOfOneHostWriteOneLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "known_hosts")
	key := newSigner(t).PublicKey()
	const n = 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	recorded := 0
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := recordHostKey(path, []string{path}, "10.0.0.1:22", nil, key)
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				recorded++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if recorded != 1 {
		t.Errorf("%d calls recorded the key, want 1", recorded)
	}
	if got, want := readFile(t, path), knownhostsLine("10.0.0.1", key); got != want {
		t.Errorf("known_hosts %q, want %q", got, want)
	}
}

func TestTrustOnFirstUseAppendsToAFileWithoutFinalNewline(t *testing.T) {
	f := newFixture(t)
	other := newTestServer(t)
	other.authorize(mustPub(t, f.key))
	writeFile(t, f.knownHosts, strings.TrimSuffix(readFile(t, f.knownHosts), "\n"))
	tgt := f.target()
	tgt.Port = other.port
	tgt.TrustNewHostKeys = true
	f.dial(t, tgt)
	want := f.srv.knownHostsLine() + "\n" + other.knownHostsLine() + "\n"
	if got := readFile(t, f.knownHosts); got != want {
		t.Fatalf("known_hosts %q, want %q", got, want)
	}
}

func TestChangedHostKeyIsRefusedEvenWithTrustOnFirstUse(t *testing.T) {
	f := newFixture(t)
	impostor := newTestServer(t)
	impostor.authorize(mustPub(t, f.key))
	// known_hosts records the first server's key for the impostor's address.
	writeFile(t, f.knownHosts, strings.Replace(f.srv.knownHostsLine(), fmt.Sprint(f.srv.port), fmt.Sprint(impostor.port), 1)+"\n")
	before := readFile(t, f.knownHosts)
	tgt := f.target()
	tgt.Port = impostor.port
	tgt.TrustNewHostKeys = true
	_, err := Dial(context.Background(), tgt)
	var hk *HostKeyError
	if !errors.As(err, &hk) || hk.Problem != HostKeyChanged {
		t.Fatalf("want a changed-key error, got %v", err)
	}
	for _, want := range []string{"HOST KEY CHANGED", impostor.fingerprint(), f.srv.fingerprint(), "ssh-keygen -R"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if readFile(t, f.knownHosts) != before {
		t.Error("known_hosts was changed")
	}
}

func TestKnownKeyOfAnotherTypeIsAskedFor(t *testing.T) {
	// The server has an ed25519 and an ECDSA key; known_hosts only the
	// ed25519 one. The client prefers ECDSA by default; it must ask for
	// ed25519 instead of calling the ECDSA key a changed key.
	f := newFixture(t, withHostKeys(newSigner(t), newECDSASigner(t)))
	h := f.dial(t, f.target())
	if _, err := h.Run(context.Background(), "true", RunOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestSystemKnownHostsIsRead(t *testing.T) {
	f := newFixture(t)
	global := filepath.Join(f.dir, "ssh_known_hosts")
	writeFile(t, global, f.srv.knownHostsLine()+"\n")
	writeFile(t, f.knownHosts, "")
	globalKnownHosts = global
	defer func() { globalKnownHosts = "" }()
	f.dial(t, f.target())
	if readFile(t, f.knownHosts) != "" {
		t.Error("the user's known_hosts was written")
	}
}

func TestPinnedHostKey(t *testing.T) {
	f := newFixture(t)
	// known_hosts holds a wrong key: the pin wins.
	other := newSigner(t)
	writeFile(t, f.knownHosts, fmt.Sprintf("[127.0.0.1]:%d %s", f.srv.port, ssh.MarshalAuthorizedKey(other.PublicKey())))
	tgt := f.target()
	tgt.HostKey = f.srv.fingerprint()
	f.dial(t, tgt)

	tgt.HostKey = ssh.FingerprintSHA256(other.PublicKey())
	_, err := Dial(context.Background(), tgt)
	var hk *HostKeyError
	if !errors.As(err, &hk) || hk.Problem != HostKeyPinMismatch {
		t.Fatalf("want a pin mismatch, got %v", err)
	}
	if !strings.Contains(err.Error(), tgt.HostKey) || !strings.Contains(err.Error(), f.srv.fingerprint()) {
		t.Errorf("error does not name both fingerprints: %v", err)
	}

	tgt.HostKey = "MD5:16:27:ac"
	if _, err := Dial(context.Background(), tgt); err == nil || !strings.Contains(err.Error(), "ssh-keygen -lf") {
		t.Fatalf("want a format error for the pin, got %v", err)
	}
}

func TestBastionChain(t *testing.T) {
	f := newFixture(t)
	b1 := newTestServer(t, withForwarding())
	b2 := newTestServer(t, withForwarding())
	pub := mustPub(t, f.key)
	b1.authorize(pub)
	b2.authorize(pub)
	writeFile(t, f.knownHosts, f.srv.knownHostsLine()+"\n"+b1.knownHostsLine()+"\n"+b2.knownHostsLine()+"\n")
	base := f.target()
	hop := func(s *testServer, name string, via *Target) *Target {
		t := base
		t.Name, t.Port, t.User, t.Bastion = name, s.port, "jump", via
		return &t
	}
	tgt := base
	tgt.Bastion = hop(b2, "b2", hop(b1, "b1", nil))
	h := f.dial(t, tgt)
	res, err := h.Run(context.Background(), "echo through", RunOptions{})
	if err != nil || res.Stdout != "through\n" {
		t.Fatalf("got %q, %v", res.Stdout, err)
	}
	if b1.forwards.Load() != 1 || b2.forwards.Load() != 1 {
		t.Errorf("forwards: b1 %d, b2 %d, want 1 each", b1.forwards.Load(), b2.forwards.Load())
	}
	if b1.conns.Load() != 1 || b2.conns.Load() != 1 || f.srv.conns.Load() != 1 {
		t.Errorf("connections: b1 %d b2 %d host %d, want 1 each", b1.conns.Load(), b2.conns.Load(), f.srv.conns.Load())
	}
}

// TestHostsBehindOneBastionShareItsConnection: the bastion sees one
// connection for two hosts, and a dial after both are closed opens a new
// one (the last host closed it).
func TestHostsBehindOneBastionShareItsConnection(t *testing.T) {
	f := newFixture(t)
	b := newTestServer(t, withForwarding())
	other := newTestServer(t)
	pub := mustPub(t, f.key)
	b.authorize(pub)
	other.authorize(pub)
	writeFile(t, f.knownHosts, f.srv.knownHostsLine()+"\n"+b.knownHostsLine()+"\n"+other.knownHostsLine()+"\n")
	jump := f.target()
	jump.Name, jump.Port, jump.User = "jump", b.port, "jump"
	t1 := f.target()
	t1.Bastion = &jump
	t2 := f.target()
	t2.Name, t2.Port, t2.Bastion = "other", other.port, &jump
	var wg sync.WaitGroup
	hosts := make([]*Host, 2)
	for i, tg := range []Target{t1, t2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h, err := Dial(context.Background(), tg)
			if err != nil {
				t.Errorf("dial %s: %v", tg.Name, err)
				return
			}
			hosts[i] = h
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	for _, h := range hosts {
		if res, err := h.Run(context.Background(), "echo via", RunOptions{}); err != nil || res.Stdout != "via\n" {
			t.Fatalf("%s: %q, %v", h.Name(), res.Stdout, err)
		}
	}
	if b.conns.Load() != 1 || b.forwards.Load() != 2 {
		t.Errorf("bastion: %d connections and %d forwards, want 1 and 2", b.conns.Load(), b.forwards.Load())
	}
	hosts[0].Close()
	if _, err := hosts[1].Run(context.Background(), "true", RunOptions{}); err != nil {
		t.Fatalf("closing one host broke the other's bastion: %v", err)
	}
	hosts[1].Close()
	h := f.dial(t, t1)
	if _, err := h.Run(context.Background(), "true", RunOptions{}); err != nil {
		t.Fatal(err)
	}
	if b.conns.Load() != 2 {
		t.Errorf("bastion connections after both hosts closed and one dialed again: %d, want 2", b.conns.Load())
	}
}

func TestBastionWithoutForwardingSaysSo(t *testing.T) {
	f := newFixture(t)
	b := newTestServer(t)
	b.authorize(mustPub(t, f.key))
	writeFile(t, f.knownHosts, f.srv.knownHostsLine()+"\n"+b.knownHostsLine()+"\n")
	tgt := f.target()
	bt := f.target()
	bt.Name, bt.Port = "jump", b.port
	tgt.Bastion = &bt
	_, err := Dial(context.Background(), tgt)
	if err == nil || !strings.Contains(err.Error(), "AllowTcpForwarding") {
		t.Fatalf("want an error naming AllowTcpForwarding, got %v", err)
	}
}

func TestConnectTimeout(t *testing.T) {
	// A listener that accepts but never speaks SSH.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	f := newFixture(t)
	tgt := f.target()
	tgt.Port = l.Addr().(*net.TCPAddr).Port
	tgt.ConnectTimeout = 200 * time.Millisecond
	start := time.Now()
	_, err = Dial(context.Background(), tgt)
	if err == nil || !strings.Contains(err.Error(), "within 200ms") {
		t.Fatalf("want a handshake timeout, got %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Dial took %s", d)
	}
}

func TestCommandTimeout(t *testing.T) {
	f := newFixture(t)
	h := f.dial(t, f.target())
	start := time.Now()
	_, err := h.Run(context.Background(), "echo started; sleep 20", RunOptions{Timeout: 300 * time.Millisecond})
	var ce *CommandError
	if !errors.As(err, &ce) || ce.Timeout != 300*time.Millisecond || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want a timeout CommandError, got %v", err)
	}
	if !strings.Contains(err.Error(), "timed out after 300ms") {
		t.Errorf("message: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Run took %s", d)
	}
	// The connection is still good.
	if _, err := h.Run(context.Background(), "true", RunOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestCommandErrorShowsExitCodeAndTail(t *testing.T) {
	for _, r := range runners(t) {
		t.Run(r.Name(), func(t *testing.T) {
			cmd := "for i in $(seq 1 30); do echo line$i; done; echo oops >&2; exit 3"
			_, err := r.Run(context.Background(), cmd, RunOptions{})
			var ce *CommandError
			if !errors.As(err, &ce) || ce.ExitCode != 3 {
				t.Fatalf("want exit code 3, got %v", err)
			}
			lines := strings.Split(ce.OutputTail, "\n")
			if len(lines) != OutputTailLines || lines[0] != "line12" || lines[len(lines)-1] != "oops" {
				t.Errorf("tail %q", ce.OutputTail)
			}
			msg := err.Error()
			for _, want := range []string{cmd, "exit code 3", "line30", "oops"} {
				if !strings.Contains(msg, want) {
					t.Errorf("message lacks %q: %s", want, msg)
				}
			}
			if strings.Contains(msg, "line11\n") {
				t.Errorf("message shows more than the tail: %s", msg)
			}
		})
	}
}

func TestSecretsAreRedacted(t *testing.T) {
	const secret = "abcdef.0123456789abcdef"
	for _, r := range runners(t) {
		t.Run(r.Name(), func(t *testing.T) {
			r.Redact(secret)
			cmd := "echo joining with " + secret + "; echo bad token " + secret + " >&2; exit 1"
			_, err := r.Run(context.Background(), cmd, RunOptions{})
			if err == nil {
				t.Fatal("want an error")
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "0123456789abcdef") {
				t.Fatalf("the secret shows: %v", err)
			}
			if strings.Count(err.Error(), RedactedText) != 4 {
				t.Errorf("want the command and two lines redacted: %v", err)
			}
		})
	}
}

func TestTailOfCutOutputShowsNoPieceOfASecret(t *testing.T) {
	var r redactor
	secret := "s3cr3t-VALUE-0123456789"
	r.Redact(secret)
	var tb tailBuffer
	tb.Write([]byte("x " + secret + "\n"))
	tb.Write(bytes.Repeat([]byte("y"), tailBufferBytes-10)) // cuts the secret
	tb.Write([]byte("\nlast\n"))
	got := tb.lines(OutputTailLines, &r)
	if strings.Contains(got, "789") || !strings.HasSuffix(got, "\nlast") {
		t.Fatalf("tail %q...%q", got[:min(len(got), 40)], got[max(0, len(got)-40):])
	}
}

func TestOutputTailKeepsStderr(t *testing.T) {
	var r redactor
	var out, errs tailBuffer
	for i := 1; i <= 30; i++ {
		fmt.Fprintf(&out, "out%d\n", i)
		fmt.Fprintf(&errs, "err%d\n", i)
	}
	got := strings.Split(outputTail(&out, &errs, OutputTailLines, &r), "\n")
	half := OutputTailLines / 2
	if len(got) != OutputTailLines || got[0] != fmt.Sprintf("out%d", 31-half) || got[half] != fmt.Sprintf("err%d", 31-half) || got[len(got)-1] != "err30" {
		t.Fatalf("tail %q", got)
	}
}

func TestStalledUploadFails(t *testing.T) {
	// A cat that never reads: no byte moves once the pipe is full.
	bin := t.TempDir()
	writeScript(t, bin, "cat", "sleep 30")
	l := &Local{CommandTimeout: 300 * time.Millisecond, Env: []string{"PATH=" + bin + ":" + os.Getenv("PATH")}}
	dir := t.TempDir()
	src := filepath.Join(dir, "big")
	if err := os.WriteFile(src, make([]byte, 4<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := l.Upload(context.Background(), src, filepath.Join(dir, "dst"), 0o644, nil)
	if err == nil || !strings.Contains(err.Error(), "stalled: no data moved for 300ms") {
		t.Fatalf("got %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s", d)
	}
}

// A non-root user goes through sudo: commands, uploads and fetches.
func TestUploadThroughSudoThenSkip(t *testing.T) {
	bin := t.TempDir()
	sudoLog := filepath.Join(bin, "sudo.log")
	writeScript(t, bin, "sudo", `echo "$*" >> "$SUDO_LOG"; [ "$1" = -n ] || exit 9; shift; [ "$1" = -- ] && shift; exec "$@"`)
	f := newFixture(t, withPathDir(bin), withEnv("SUDO_LOG="+sudoLog))
	tgt := f.target()
	tgt.User = "alice"
	h := f.dial(t, tgt)
	if err := h.CheckSudo(context.Background()); err != nil {
		t.Fatal(err)
	}

	local := filepath.Join(f.dir, "bundle.tar")
	data := make([]byte, 3<<20+17)
	rand.Read(data)
	if err := os.WriteFile(local, data, 0o644); err != nil {
		t.Fatal(err)
	}
	remoteDir := filepath.Join(t.TempDir(), "opt", "kubeadmin")
	remote := filepath.Join(remoteDir, "bundle.tar")
	var calls [][2]int64
	progress := func(done, total int64) { calls = append(calls, [2]int64{done, total}) }

	res, err := h.Upload(context.Background(), local, remote, 0o640, progress)
	if err != nil {
		t.Fatal(err)
	}
	if res.Skipped || res.Bytes != int64(len(data)) {
		t.Fatalf("result %+v", res)
	}
	if got, _ := os.ReadFile(remote); !bytes.Equal(got, data) {
		t.Fatal("the remote copy differs")
	}
	if st, _ := os.Stat(remote); st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v", st.Mode().Perm())
	}
	if len(calls) < 3 || calls[len(calls)-1] != [2]int64{int64(len(data)), int64(len(data))} {
		t.Errorf("progress calls %v", calls)
	}
	for i := 1; i < len(calls); i++ {
		if calls[i][0] < calls[i-1][0] {
			t.Errorf("progress went back: %v", calls)
		}
	}
	if !strings.Contains(readFile(t, sudoLog), "cat >") {
		t.Error("the upload did not go through sudo")
	}

	res, err = h.Upload(context.Background(), local, remote, 0o640, nil)
	if err != nil || !res.Skipped {
		t.Fatalf("second upload: %+v, %v", res, err)
	}
	entries, _ := os.ReadDir(remoteDir)
	if len(entries) != 1 {
		t.Errorf("left files behind: %v", entries)
	}

	// Changed remotely: uploaded again.
	os.WriteFile(remote, []byte("other"), 0o600)
	res, err = h.Upload(context.Background(), local, remote, 0o640, nil)
	if err != nil || res.Skipped {
		t.Fatalf("upload over a changed file: %+v, %v", res, err)
	}
	got, err := h.Fetch(context.Background(), remote)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("Fetch: %d bytes, %v", len(got), err)
	}
}

func TestCheckSudoWithAPasswordSaysHowToFix(t *testing.T) {
	bin := t.TempDir()
	writeScript(t, bin, "sudo", `echo "sudo: a password is required" >&2; exit 1`)
	f := newFixture(t, withPathDir(bin))
	tgt := f.target()
	tgt.User = "alice"
	h := f.dial(t, tgt)
	err := h.CheckSudo(context.Background())
	want := "user alice on host node1 needs passwordless sudo: sudo would ask for a password; add `alice ALL=(ALL) NOPASSWD: ALL` to sudoers or use root"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("got %v", err)
	}
	// Root needs no sudo at all.
	root := f.dial(t, f.target())
	if err := root.CheckSudo(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestKeepaliveClosesADeadConnection(t *testing.T) {
	f := newFixture(t)
	h := f.dial(t, f.target())
	f.srv.mute.Store(true)
	select {
	case <-h.done:
	case <-time.After(5 * time.Second):
		t.Fatal("the connection was not closed")
	}
	_, err := h.Run(context.Background(), "true", RunOptions{})
	if err == nil || !strings.Contains(err.Error(), "no answer to 3 keepalives") {
		t.Fatalf("got %v", err)
	}
}

func TestKeepaliveKeepsALiveConnection(t *testing.T) {
	f := newFixture(t)
	h := f.dial(t, f.target())
	deadline := time.Now().Add(5 * time.Second)
	for f.srv.keepalives.Load() < 5 {
		if time.Now().After(deadline) {
			t.Fatal("no keepalives were sent")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := h.Run(context.Background(), "true", RunOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestLocalRunner(t *testing.T) {
	l := NewLocal()
	res, err := l.Run(context.Background(), "cat; echo e >&2", RunOptions{Stdin: strings.NewReader("in")})
	if err != nil || res.Stdout != "in" || res.Stderr != "e\n" {
		t.Fatalf("%+v %v", res, err)
	}
	_, err = l.Run(context.Background(), "sleep 20", RunOptions{Timeout: 200 * time.Millisecond})
	var ce *CommandError
	if !errors.As(err, &ce) || ce.Timeout != 200*time.Millisecond {
		t.Fatalf("want a timeout, got %v", err)
	}

	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	writeFile(t, src, "payload")
	dst := filepath.Join(dir, "a", "dst")
	if r, err := l.Upload(context.Background(), src, dst, 0o755, nil); err != nil || r.Skipped {
		t.Fatalf("%+v %v", r, err)
	}
	if r, err := l.Upload(context.Background(), src, dst, 0o700, nil); err != nil || !r.Skipped {
		t.Fatalf("%+v %v", r, err)
	}
	if st, _ := os.Stat(dst); st.Mode().Perm() != 0o700 {
		t.Errorf("a skipped upload did not fix the mode: %v", st.Mode().Perm())
	}
	if b, err := l.Fetch(context.Background(), dst); err != nil || string(b) != "payload" {
		t.Fatalf("%q %v", b, err)
	}
}

func TestTargetValidation(t *testing.T) {
	for _, tc := range []struct {
		tgt  Target
		want string
	}{
		{Target{Address: "h", UseAgent: true, Port: 70000}, "port 70000"},
		{Target{Address: "h"}, "no SSH identity"},
		{Target{UseAgent: true}, "no address"},
		{Target{Address: "h", UseAgent: true, AgentSocket: "", HostKey: "SHA256:short"}, "hostKey"},
	} {
		_, err := Dial(context.Background(), tc.tgt)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: got %v, want %q", tc.tgt, err, tc.want)
		}
	}
}

// runners is a Host and a Local.
func runners(t *testing.T) []Runner {
	f := newFixture(t)
	return []Runner{f.dial(t, f.target()), NewLocal()}
}

func writeScript(t *testing.T, dir, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
}

func mustPub(t *testing.T, keyPath string) ssh.PublicKey {
	t.Helper()
	s, err := ssh.ParsePrivateKey([]byte(readFile(t, keyPath)))
	if err != nil {
		t.Fatal(err)
	}
	return s.PublicKey()
}

func knownhostsLine(host string, key ssh.PublicKey) string {
	return knownhosts.Line([]string{host}, key) + "\n"
}

type writerFunc func([]byte) (int, error)

func (w writerFunc) Write(p []byte) (int, error) { return w(p) }
