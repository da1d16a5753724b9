package nodes

// The sshd side of hack/nodes (see "sshd" in hack/nodes.md): a real
// OpenSSH server in a node, its host keys and a known_hosts file for them.

import (
	"bytes"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// Host key types hack/nodes sshd makes, as `hack/nodes host-key` names them.
const (
	HostKeyED25519 = "ed25519"
	HostKeyECDSA   = "ecdsa"
	HostKeyRSA     = "rsa"
)

// HostKeyTypes lists every host key type a node's sshd has.
var HostKeyTypes = []string{HostKeyED25519, HostKeyECDSA, HostKeyRSA}

// fingerprintPrefix starts every SHA-256 key fingerprint, as ssh-keygen -l
// prints it.
const fingerprintPrefix = "SHA256:"

// SSHDOptions are the settings of a node's sshd.
type SSHDOptions struct {
	// AuthorizedKeys are public key files allowed to log in (every user).
	AuthorizedKeys []string
	// User, if set, is a host user created with passwordless sudo.
	User string
	// OnlyFrom, if set, is the one source address the sshd port accepts
	// (a host reachable only through a bastion).
	OnlyFrom string
	// Port is the listening port (0: 22).
	Port int
}

// sshdArgs is the hack/nodes command line for SSHD.
func sshdArgs(name string, o SSHDOptions) []string {
	args := []string{"sshd", name}
	for _, k := range o.AuthorizedKeys {
		args = append(args, "--authorized-key", k)
	}
	if o.User != "" {
		args = append(args, "--user", o.User)
	}
	if o.OnlyFrom != "" {
		args = append(args, "--only-from", o.OnlyFrom)
	}
	if o.Port != 0 {
		args = append(args, "--port", strconv.Itoa(o.Port))
	}
	return args
}

// SSHD starts (or reconfigures) OpenSSH's sshd in a node made by Up or
// UpBare; the node's Down stops it.
func SSHD(t testing.TB, name string, o SSHDOptions) {
	t.Helper()
	script, err := Script()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(script, sshdArgs(name, o)...)
	cmd.WaitDelay = waitDelay
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("failed to start sshd in node %q: %v\n%s", name, err, out)
	}
}

// KnownHosts returns known_hosts lines for every host key of the named
// nodes' sshd ("IP TYPE KEY").
func KnownHosts(t testing.TB, names ...string) string {
	t.Helper()
	out := runScript(t, append([]string{"known-hosts"}, names...)...)
	if err := checkKnownHosts(out); err != nil {
		t.Fatalf("hack/nodes known-hosts %v: %v", names, err)
	}
	return out
}

// HostKey returns the SHA-256 fingerprint ("SHA256:...") of one host key
// type of a node's sshd.
func HostKey(t testing.TB, name, keyType string) string {
	t.Helper()
	fp, err := parseFingerprint(runScript(t, "host-key", name, keyType))
	if err != nil {
		t.Fatalf("hack/nodes host-key %s %s: %v", name, keyType, err)
	}
	return fp
}

// runScript runs hack/nodes with args and returns its standard output.
func runScript(t testing.TB, args ...string) string {
	t.Helper()
	script, err := Script()
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(script, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = waitDelay
	if err := cmd.Run(); err != nil {
		t.Fatalf("hack/nodes %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

// parseFingerprint checks host-key's output: one SHA-256 fingerprint.
func parseFingerprint(out string) (string, error) {
	fp := strings.TrimSpace(out)
	if !strings.HasPrefix(fp, fingerprintPrefix) || len(fp) == len(fingerprintPrefix) || strings.ContainsAny(fp, " \n\t") {
		return "", fmt.Errorf("unexpected output %q: want one %s<base64> fingerprint", out, fingerprintPrefix)
	}
	return fp, nil
}

// checkKnownHosts checks known-hosts' output: at least one line, each
// "HOST TYPE KEY".
func checkKnownHosts(out string) error {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if strings.TrimSpace(out) == "" {
		return fmt.Errorf("no known_hosts line")
	}
	for _, l := range lines {
		if len(strings.Fields(l)) != 3 {
			return fmt.Errorf("unexpected line %q: want \"HOST TYPE KEY\"", l)
		}
	}
	return nil
}
