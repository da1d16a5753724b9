// Package remote runs commands on the hosts of a fleet: over SSH (Host) or on
// this machine (Local), behind one small interface. Every command has a
// timeout, a failure carries the command, its exit code and the tail of its
// output, and registered secrets are replaced by "<redacted>" in everything
// this package formats. Host keys are always verified: against a pinned
// fingerprint or known_hosts, and a new host is trusted only when asked.
package remote

import (
	"context"
	"io"
	"os"
	"time"
)

// Timeouts, limits and names of this package.
const (
	// DefaultPort is the SSH port used when a Target names none.
	DefaultPort = 22
	// DefaultUser is the SSH user used when a Target names none.
	DefaultUser = "root"
	// DefaultConnectTimeout bounds the TCP connect and the SSH handshake of
	// one hop.
	DefaultConnectTimeout = 15 * time.Second
	// DefaultCommandTimeout bounds a command whose caller gave no timeout.
	// An upload instead fails when no byte moved for this long.
	DefaultCommandTimeout = 10 * time.Minute
	// MaxSessions is how many sessions one connection runs at once; sshd's
	// default MaxSessions is 10.
	MaxSessions = 8
	// KeepaliveInterval is how often an open connection asks the peer for
	// an answer; KeepaliveMaxMissed unanswered requests close it.
	KeepaliveInterval  = 15 * time.Second
	KeepaliveMaxMissed = 3
	// OutputTailLines is how many lines of output a CommandError shows.
	OutputTailLines = 20
	// RedactedText replaces every registered secret.
	RedactedText = "<redacted>"
	// TrustNewHostKeysFlag is the fleet flag that turns on trust on first use.
	TrustNewHostKeysFlag = "--trust-new-host-keys"
	// GlobalKnownHostsFile is the system's known_hosts, read besides the
	// user's (new keys are recorded in the user's only).
	GlobalKnownHostsFile = "/etc/ssh/ssh_known_hosts"
	// SSHAuthSockEnv names the ssh-agent socket.
	SSHAuthSockEnv = "SSH_AUTH_SOCK"
	// keepaliveRequest is the global request OpenSSH answers (with failure,
	// which is still an answer).
	keepaliveRequest = "keepalive@openssh.com"
	// tailBufferBytes is how much of the combined output is kept for the
	// tail of an error.
	tailBufferBytes = 64 << 10
	// knownHostsMode and knownHostsDirMode are used when known_hosts or its
	// directory has to be created.
	knownHostsMode    = 0o600
	knownHostsDirMode = 0o700
)

// Runner is what the fleet phases need from a host.
type Runner interface {
	// Name is the host's name in messages.
	Name() string
	// Run runs a shell command; as root when the login user is not root.
	Run(ctx context.Context, cmd string, opts RunOptions) (Result, error)
	// Upload copies a local file to remotePath unless the same content is
	// already there.
	Upload(ctx context.Context, localPath, remotePath string, mode os.FileMode, progress ProgressFunc) (UploadResult, error)
	// Fetch returns the content of a remote file.
	Fetch(ctx context.Context, remotePath string) ([]byte, error)
	// Redact registers a secret that must never appear in what this
	// package prints or returns as an error.
	Redact(secret string)
	// Redacted returns s with the registered secrets replaced.
	Redacted(s string) string
}

// RunOptions tunes one command.
type RunOptions struct {
	// Stdin is fed to the command, which then sees EOF.
	Stdin io.Reader
	// Timeout bounds the command; zero means the Target's CommandTimeout.
	Timeout time.Duration
	// NoSudo runs the command as the login user even when it is not root.
	NoSudo bool
	// HangUpOnDisconnect runs the command on a pseudo-terminal, so that
	// it is hung up (SIGHUP) if the connection drops, instead of running
	// on unseen while a later run works on the same host. Its stderr then
	// arrives with its stdout, in Result.Stdout. Local runs ignore it.
	HangUpOnDisconnect bool
}

// Result is a finished command's output. It is not redacted: the caller may
// need a value it just created (a token); use Redacted before printing it.
type Result struct {
	Stdout string
	Stderr string
}

// ProgressFunc is told how many bytes of an upload are done. It is called
// at most every percent or every progressInterval, and once at the end.
type ProgressFunc func(done, total int64)

// UploadResult says what Upload did.
type UploadResult struct {
	// Skipped is true when the remote file already had the content.
	Skipped bool
	// Bytes is the size of the file.
	Bytes int64
	// SHA256 is the hex SHA-256 of the file.
	SHA256 string
}
