package remote

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// HostKeyProblem says why a host key was refused.
type HostKeyProblem int

const (
	// HostKeyUnknown: known_hosts does not know the host and trust on
	// first use is off.
	HostKeyUnknown HostKeyProblem = iota + 1
	// HostKeyChanged: known_hosts records another key for the host.
	HostKeyChanged
	// HostKeyPinMismatch: the key is not the one pinned in the inventory.
	HostKeyPinMismatch
	// HostKeyRevoked: known_hosts marks the key @revoked.
	HostKeyRevoked
)

// HostKeyError is a refused host key. It is never worth retrying.
type HostKeyError struct {
	Host    string
	Problem HostKeyProblem
	// Fingerprint is the SHA-256 fingerprint of the key the host presented.
	Fingerprint string
	msg         string
}

func (e *HostKeyError) Error() string { return e.msg }

// parsePin checks a pinned fingerprint and returns it in canonical form.
func parsePin(pin string) (string, error) {
	b64, ok := strings.CutPrefix(strings.TrimSpace(pin), "SHA256:")
	if raw, err := base64.RawStdEncoding.DecodeString(b64); !ok || err != nil || len(raw) != 32 {
		return "", fmt.Errorf("%q is not a SHA-256 key fingerprint: write it as `ssh-keygen -lf <key.pub>` prints it, e.g. SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s", pin)
	}
	return "SHA256:" + b64, nil
}

// hostKeyCheck verifies the key of one host; the last refusal is kept so
// Dial can return it whole instead of wrapped by the handshake.
type hostKeyCheck struct {
	t       Target
	pin     string
	path    string
	refused *HostKeyError
}

func newHostKeyCheck(t Target) (*hostKeyCheck, error) {
	c := &hostKeyCheck{t: t}
	if t.HostKey != "" {
		pin, err := parsePin(t.HostKey)
		if err != nil {
			return nil, fmt.Errorf("host %s: hostKey: %w", t.name(), err)
		}
		c.pin = pin
		return c, nil
	}
	path, err := t.knownHostsPath()
	if err != nil {
		return nil, err
	}
	c.path = path
	return c, nil
}

func (c *hostKeyCheck) refuse(p HostKeyProblem, key ssh.PublicKey, format string, args ...any) error {
	c.refused = &HostKeyError{Host: c.t.name(), Problem: p, Fingerprint: ssh.FingerprintSHA256(key), msg: fmt.Sprintf(format, args...)}
	return c.refused
}

// callback is the ssh.HostKeyCallback; hostname is the dialed host:port.
func (c *hostKeyCheck) callback(hostname string, remote net.Addr, key ssh.PublicKey) error {
	got := ssh.FingerprintSHA256(key)
	who := fmt.Sprintf("host %s (%s)", c.t.name(), hostname)
	if c.pin != "" {
		if got == c.pin {
			return nil
		}
		return c.refuse(HostKeyPinMismatch, key, "%s: HOST KEY MISMATCH: the inventory pins hostKey %s but the host presented %s %s; refusing to connect (a man-in-the-middle, or a reinstalled host: check the key on the host with `ssh-keygen -lf /etc/ssh/ssh_host_%s_key.pub`)",
			who, c.pin, key.Type(), got, keyFileKind(key))
	}
	err := checkKnownHosts(c.knownHostsFiles(), hostname, remote, key)
	if err == nil {
		return nil
	}
	var unknown *unknownHostError
	if !errors.As(err, &unknown) {
		return c.classify(who, err, key)
	}
	if !c.t.TrustNewHostKeys {
		return c.refuse(HostKeyUnknown, key, "%s: unknown host key %s %s (not in %s); refusing to connect. Check the fingerprint on the host (`ssh-keygen -lf /etc/ssh/ssh_host_%s_key.pub`), then pin it in the inventory (hostKey: %s), or add it to %s (`ssh-keyscan -p %d %s >> %s`), or run fleet with %s to trust and record it",
			who, key.Type(), got, strings.Join(c.knownHostsFiles(), " or "), keyFileKind(key), got, c.path, c.t.Port, c.t.Address, c.path, TrustNewHostKeysFlag)
	}
	recorded, err := recordHostKey(c.path, c.knownHostsFiles(), hostname, remote, key)
	if err != nil {
		if errors.Is(err, errKnownHostsWrite) {
			return fmt.Errorf("%s: %w", who, err)
		}
		return c.classify(who, err, key)
	}
	if recorded {
		fmt.Fprintf(c.t.Log, "[fleet] %s: trusting new host key %s (recorded in %s)\n", c.t.name(), got, c.path)
	}
	return nil
}

// classify turns a knownhosts error other than "unknown" into a refusal.
func (c *hostKeyCheck) classify(who string, err error, key ssh.PublicKey) error {
	var ke *knownhosts.KeyError
	var re *knownhosts.RevokedError
	switch {
	case errors.As(err, &re):
		return c.refuse(HostKeyRevoked, key, "%s: the host presented %s %s, which %s:%d marks @revoked; refusing to connect",
			who, key.Type(), ssh.FingerprintSHA256(key), re.Revoked.Filename, re.Revoked.Line)
	case errors.As(err, &ke) && len(ke.Want) > 0:
		var want []string
		for _, w := range ke.Want {
			want = append(want, fmt.Sprintf("%s %s (%s:%d)", w.Key.Type(), ssh.FingerprintSHA256(w.Key), w.Filename, w.Line))
		}
		return c.refuse(HostKeyChanged, key, "%s: HOST KEY CHANGED: the host presented %s %s but known_hosts records %s. This can be a man-in-the-middle attack, or the host was reinstalled; refusing to connect. If the change is expected, remove the old entry (`ssh-keygen -R %s -f %s`) and connect again",
			who, key.Type(), ssh.FingerprintSHA256(key), strings.Join(want, ", "), knownhosts.Normalize(c.t.addr()), ke.Want[0].Filename)
	default:
		return fmt.Errorf("%s: checking the host key against %s: %w", who, c.path, err)
	}
}

// hostKeyAlgorithms lists the key algorithms known_hosts holds for the
// host, so the server is asked for a key we can check rather than one of
// another type (which would look like a changed key). Nil means any.
func (c *hostKeyCheck) hostKeyAlgorithms(hostname string) []string {
	if c.pin != "" {
		return nil
	}
	probe, err := probeKey()
	if err != nil {
		return nil
	}
	var ke *knownhosts.KeyError
	if err := checkKnownHosts(c.knownHostsFiles(), hostname, nil, probe); !errors.As(err, &ke) {
		return nil
	}
	var algos []string
	seen := map[string]bool{}
	add := func(a ...string) {
		for _, x := range a {
			if !seen[x] {
				seen[x] = true
				algos = append(algos, x)
			}
		}
	}
	for _, w := range ke.Want {
		switch t := w.Key.Type(); t {
		case ssh.KeyAlgoRSA:
			add(ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA)
		default:
			add(t)
		}
	}
	return algos
}

var (
	probeOnce sync.Once
	probePub  ssh.PublicKey
	probeErr  error
)

// probeKey is a throw-away key that no known_hosts holds.
func probeKey() (ssh.PublicKey, error) {
	probeOnce.Do(func() {
		pub, _, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			probeErr = err
			return
		}
		probePub, probeErr = ssh.NewPublicKey(pub)
	})
	return probePub, probeErr
}

// keyFileKind names the /etc/ssh/ssh_host_<kind>_key file of a key type.
func keyFileKind(key ssh.PublicKey) string {
	switch key.Type() {
	case ssh.KeyAlgoRSA:
		return "rsa"
	case ssh.KeyAlgoED25519:
		return "ed25519"
	default:
		return "ecdsa"
	}
}

// unknownHostError: known_hosts has no key for the host.
type unknownHostError struct{}

func (unknownHostError) Error() string { return "host not in known_hosts" }

// globalKnownHosts is read besides the user's file (a variable for tests).
var globalKnownHosts = GlobalKnownHostsFile

// knownHostsFiles are the files a host key is checked against: the
// Target's and the system's.
func (c *hostKeyCheck) knownHostsFiles() []string {
	if globalKnownHosts == "" || globalKnownHosts == c.path {
		return []string{c.path}
	}
	return []string{c.path, globalKnownHosts}
}

// checkKnownHosts checks key against the files; a missing file knows no
// host.
func checkKnownHosts(paths []string, hostname string, remote net.Addr, key ssh.PublicKey) error {
	var existing []string
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			existing = append(existing, p)
		}
	}
	if len(existing) == 0 {
		return &unknownHostError{}
	}
	cb, err := knownhosts.New(existing...)
	if err != nil {
		return err
	}
	if remote == nil {
		// Only the hostname is checked when it is given; the callback
		// still wants an address to parse.
		remote = &net.TCPAddr{IP: net.IPv4zero}
	}
	err = cb(hostname, remote, key)
	var ke *knownhosts.KeyError
	if errors.As(err, &ke) && len(ke.Want) == 0 {
		return &unknownHostError{}
	}
	return err
}

var errKnownHostsWrite = errors.New("could not record the host key")

// knownHostsMu serializes the appends of this process; flock those of
// other processes (a parallel fleet run, ssh itself honours no lock but
// appends whole lines).
var knownHostsMu sync.Mutex

// recordHostKey appends one plain (not hashed, so it can be read and
// reviewed) known_hosts line for hostname, unless a concurrent dial did it
// first. It appends in place instead of rewriting the file through fsutil:
// known_hosts is the user's file (it may be a symlink, and ssh appends to it
// the same way), and a rename would lose a line appended meanwhile.
func recordHostKey(path string, check []string, hostname string, remote net.Addr, key ssh.PublicKey) (bool, error) {
	knownHostsMu.Lock()
	defer knownHostsMu.Unlock()
	if err := os.MkdirAll(filepath.Dir(path), knownHostsDirMode); err != nil {
		return false, fmt.Errorf("%w: %v", errKnownHostsWrite, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, knownHostsMode)
	if err != nil {
		return false, fmt.Errorf("%w: %v", errKnownHostsWrite, err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return false, fmt.Errorf("%w: locking %s: %v", errKnownHostsWrite, path, err)
	}
	defer syscall.Flock(int(f.Fd()), syscall.LOCK_UN)

	// Under the lock: another dial may have recorded this host meanwhile.
	err = checkKnownHosts(check, hostname, remote, key)
	if err == nil {
		return false, nil
	}
	var unknown *unknownHostError
	if !errors.As(err, &unknown) {
		return false, err
	}
	content, err := io.ReadAll(f)
	if err != nil {
		return false, fmt.Errorf("%w: reading %s: %v", errKnownHostsWrite, path, err)
	}
	var line bytes.Buffer
	if len(content) > 0 && content[len(content)-1] != '\n' {
		line.WriteByte('\n')
	}
	line.WriteString(knownhosts.Line([]string{knownhosts.Normalize(hostname)}, key))
	line.WriteByte('\n')
	if _, err := f.Write(line.Bytes()); err != nil {
		return false, fmt.Errorf("%w: writing %s: %v", errKnownHostsWrite, path, err)
	}
	if err := f.Sync(); err != nil {
		return false, fmt.Errorf("%w: syncing %s: %v", errKnownHostsWrite, path, err)
	}
	return true, nil
}
