package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// localWaitDelay is how long a killed local command may keep its output
// pipes open (a child it left behind) before Run returns anyway.
const localWaitDelay = time.Second

// LocalName is the name of the Local runner in messages.
const LocalName = "local"

// Local runs commands on this machine with sh, as the current user (no
// sudo), with the same timeouts, errors and redaction as Host. It lets the
// fleet phases be tested without SSH.
type Local struct {
	redactor
	// CommandTimeout bounds a command whose caller gave none; zero means
	// DefaultCommandTimeout.
	CommandTimeout time.Duration
	// Env, if set, is the environment of the commands.
	Env []string
}

var _ Runner = (*Local)(nil)
var _ Runner = (*Host)(nil)

// NewLocal returns a Local runner.
func NewLocal() *Local { return &Local{} }

// Name is LocalName.
func (l *Local) Name() string { return LocalName }

func (l *Local) commandTimeout() time.Duration {
	if l.CommandTimeout > 0 {
		return l.CommandTimeout
	}
	return DefaultCommandTimeout
}

// Run runs cmd with sh -c.
func (l *Local) Run(ctx context.Context, cmd string, opts RunOptions) (Result, error) {
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = l.commandTimeout()
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	c := exec.CommandContext(ctx, "sh", "-c", cmd)
	c.Env = l.Env
	c.Stdin = opts.Stdin
	// Its own process group, so a timeout kills the children too.
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	c.Cancel = func() error { return syscall.Kill(-c.Process.Pid, syscall.SIGKILL) }
	c.WaitDelay = localWaitDelay
	var stdout, stderr bytes.Buffer
	var outTail, errTail tailBuffer
	c.Stdout = io.MultiWriter(&stdout, &outTail)
	c.Stderr = io.MultiWriter(&stderr, &errTail)
	err := c.Run()
	res := Result{Stdout: stdout.String(), Stderr: stderr.String()}
	if err == nil {
		return res, nil
	}
	e := &CommandError{Host: l.Name(), Command: l.Redacted(cmd), ExitCode: -1, OutputTail: outputTail(&outTail, &errTail, OutputTailLines, &l.redactor)}
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		e.Cause = context.Cause(ctx)
		if deadline, ok := ctx.Deadline(); ok && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			e.Timeout = deadline.Sub(start).Round(time.Millisecond)
		}
	case errors.As(err, &exit) && exit.ExitCode() >= 0:
		e.ExitCode = exit.ExitCode()
	default:
		e.Cause = err
	}
	return res, e
}

// Upload copies localPath to remotePath on this machine, like Host.Upload.
func (l *Local) Upload(ctx context.Context, localPath, remotePath string, mode os.FileMode, progress ProgressFunc) (UploadResult, error) {
	return upload(ctx, l, localPath, remotePath, mode, progress)
}

// Fetch reads a file of this machine.
func (l *Local) Fetch(ctx context.Context, remotePath string) ([]byte, error) {
	b, err := os.ReadFile(remotePath)
	if err != nil {
		return nil, fmt.Errorf("host %s: %w", l.Name(), err)
	}
	return b, nil
}
