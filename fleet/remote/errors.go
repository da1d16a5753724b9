package remote

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// CommandError is a remote command that failed: it exited non-zero, timed
// out, or lost its connection. Command and OutputTail are redacted.
type CommandError struct {
	Host    string
	Command string
	// ExitCode is the command's exit status, or -1 when there is none
	// (timeout, signal, lost connection; see Cause).
	ExitCode int
	// OutputTail is the last lines of stdout followed by the last lines of
	// stderr, at most OutputTailLines together; stderr, where failures are
	// told, gets at least half of them when it has that many.
	OutputTail string
	// Cause is why there is no exit code, if so.
	Cause error
	// Timeout is set when the command ran out of time.
	Timeout time.Duration
}

func (e *CommandError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "host %s: command %q ", e.Host, e.Command)
	switch {
	case e.Timeout > 0:
		fmt.Fprintf(&b, "timed out after %s", e.Timeout)
	case e.ExitCode >= 0:
		fmt.Fprintf(&b, "failed with exit code %d", e.ExitCode)
	case e.Cause != nil:
		fmt.Fprintf(&b, "failed: %v", e.Cause)
	default:
		b.WriteString("failed without an exit code")
	}
	if e.OutputTail == "" {
		b.WriteString(" (no output)")
		return b.String()
	}
	fmt.Fprintf(&b, "; last lines of its output:\n")
	for _, l := range strings.Split(strings.TrimRight(e.OutputTail, "\n"), "\n") {
		b.WriteString("    ")
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return strings.TrimRight(b.String(), "\n")
}

func (e *CommandError) Unwrap() error { return e.Cause }

// redactor replaces registered secrets; it is safe for concurrent use.
type redactor struct {
	mu      sync.RWMutex
	secrets []string // longest first, so a secret containing another goes whole
}

// Redact registers a secret. Empty strings are ignored.
func (r *redactor) Redact(secret string) {
	if secret == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.secrets {
		if s == secret {
			return
		}
	}
	r.secrets = append(r.secrets, secret)
	sort.Slice(r.secrets, func(i, j int) bool { return len(r.secrets[i]) > len(r.secrets[j]) })
}

// Redacted returns s with every registered secret replaced.
func (r *redactor) Redacted(s string) string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, secret := range r.secrets {
		s = strings.ReplaceAll(s, secret, RedactedText)
	}
	return s
}

// tailBuffer keeps the last tailBufferBytes written to it, from any number
// of writers (stdout and stderr).
type tailBuffer struct {
	mu        sync.Mutex
	buf       []byte
	truncated bool
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - tailBufferBytes; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
		t.truncated = true
	}
	return len(p), nil
}

// lines returns the last n lines, redacted. When the buffer was cut, its
// first (partial) line is dropped, so no piece of a cut secret shows.
func (t *tailBuffer) lines(n int, r *redactor) string {
	t.mu.Lock()
	data := r.Redacted(string(t.buf))
	truncated := t.truncated
	t.mu.Unlock()
	data = strings.TrimRight(data, "\n")
	if truncated {
		if i := strings.IndexByte(data, '\n'); i >= 0 {
			data = data[i+1:]
		} else {
			data = ""
		}
	}
	if data == "" {
		return ""
	}
	ls := strings.Split(data, "\n")
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	return strings.Join(ls, "\n")
}

// outputTail joins the tails of stdout and stderr (see CommandError).
func outputTail(stdout, stderr *tailBuffer, n int, r *redactor) string {
	o := splitLines(stdout.lines(n, r))
	e := splitLines(stderr.lines(n, r))
	if len(o)+len(e) > n {
		keepE := max(n-len(o), n/2)
		keepE = min(keepE, len(e))
		e = e[len(e)-keepE:]
		o = o[len(o)-(n-keepE):]
	}
	return strings.Join(append(o, e...), "\n")
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a session.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
