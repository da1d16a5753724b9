package remote

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Target says how to reach one host. The fleet fills it from the inventory.
type Target struct {
	// Name is the host's name in messages; empty means Address.
	Name string
	// Address is the host name or IP sshd listens on; Port defaults to
	// DefaultPort and User to DefaultUser.
	Address string
	Port    int
	User    string
	// IdentityFiles are unencrypted private key files. A file protected by
	// a passphrase is refused unless UseAgent is set (the agent may hold it).
	IdentityFiles []string
	// UseAgent offers the keys of the ssh-agent at AgentSocket
	// (empty: $SSH_AUTH_SOCK).
	UseAgent    bool
	AgentSocket string
	// Bastion, if set, is the jump host this host is reached through;
	// bastions may have bastions.
	Bastion *Target
	// HostKey pins the host's key fingerprint ("SHA256:<base64>", as
	// ssh-keygen -lf prints it); it wins over known_hosts.
	HostKey string
	// KnownHosts is the known_hosts file; empty means ~/.ssh/known_hosts.
	KnownHosts string
	// TrustNewHostKeys accepts and records the key of a host that
	// known_hosts does not know. A changed key is refused all the same.
	TrustNewHostKeys bool
	// ConnectTimeout bounds connecting (per hop) and CommandTimeout bounds
	// a command whose caller gave none; zero means the package defaults.
	ConnectTimeout time.Duration
	CommandTimeout time.Duration
	// Log receives the lines about newly trusted host keys; nil means
	// os.Stderr. A bastion without its own Log uses its host's.
	Log io.Writer
}

// name is the host's name in messages.
func (t Target) name() string {
	if t.Name != "" {
		return t.Name
	}
	return t.Address
}

// addr is host:port for dialing and for known_hosts.
func (t Target) addr() string {
	return net.JoinHostPort(t.Address, strconv.Itoa(t.Port))
}

// withDefaults fills the empty fields.
func (t Target) withDefaults() Target {
	if t.Port == 0 {
		t.Port = DefaultPort
	}
	if t.User == "" {
		t.User = DefaultUser
	}
	if t.ConnectTimeout <= 0 {
		t.ConnectTimeout = DefaultConnectTimeout
	}
	if t.CommandTimeout <= 0 {
		t.CommandTimeout = DefaultCommandTimeout
	}
	if t.Log == nil {
		t.Log = os.Stderr
	}
	if t.AgentSocket == "" {
		t.AgentSocket = os.Getenv(SSHAuthSockEnv)
	}
	return t
}

// validate checks a defaulted Target.
func (t Target) validate() error {
	if t.Address == "" {
		return errors.New("host has no address")
	}
	if t.Port < 1 || t.Port > 65535 {
		return fmt.Errorf("host %s: port %d is out of range 1-65535", t.name(), t.Port)
	}
	if len(t.IdentityFiles) == 0 && !t.UseAgent {
		return fmt.Errorf("host %s: no SSH identity: give a private key file or use the ssh-agent", t.name())
	}
	if t.HostKey != "" {
		if _, err := parsePin(t.HostKey); err != nil {
			return fmt.Errorf("host %s: hostKey: %w", t.name(), err)
		}
	}
	return nil
}

// knownHostsPath is the known_hosts file of t.
func (t Target) knownHostsPath() (string, error) {
	if t.KnownHosts != "" {
		return expandHome(t.KnownHosts), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("host %s: no known_hosts file given and no home directory: %w", t.name(), err)
	}
	return filepath.Join(home, ".ssh", "known_hosts"), nil
}

// expandHome expands a leading "~" in a key or known_hosts path.
func expandHome(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, p[1:])
		}
	}
	return p
}
