package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/crypto/ssh"
)

// sudoPrefix makes a command run as root for a user that is not root; -n
// fails instead of asking for a password.
const sudoPrefix = "sudo -n -- sh -c "

// exitCodeNotFound is the shell's exit code for a missing command.
const exitCodeNotFound = 127

// The pseudo-terminal of a HangUpOnDisconnect command: a plain terminal,
// wide enough that no line of output is wrapped.
const (
	hangUpTerm = "dumb"
	hangUpRows = 50
	hangUpCols = 500
)

// Run runs cmd with the login user's shell, through `sudo -n` when the user
// is not root (unless opts.NoSudo). It waits for at most opts.Timeout (or
// the Target's CommandTimeout) and the ctx deadline.
func (h *Host) Run(ctx context.Context, cmd string, opts RunOptions) (Result, error) {
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = h.target.CommandTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	wire := cmd
	if !opts.NoSudo && !h.IsRoot() {
		wire = sudoPrefix + shellQuote(cmd)
	}
	var stdout, stderr syncBuffer
	var outTail, errTail tailBuffer
	cmdErr := func(code int, cause error) *CommandError {
		return &CommandError{
			Host: h.Name(), Command: h.Redacted(cmd), ExitCode: code, Cause: cause,
			OutputTail: outputTail(&outTail, &errTail, OutputTailLines, &h.redactor),
		}
	}
	ctxErr := func() *CommandError {
		e := cmdErr(-1, context.Cause(ctx))
		if deadline, ok := ctx.Deadline(); ok && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			e.Timeout = deadline.Sub(start).Round(time.Millisecond)
		}
		return e
	}

	select {
	case h.sem <- struct{}{}:
	case <-ctx.Done():
		return Result{}, ctxErr()
	}
	defer func() { <-h.sem }()

	sess, err := h.client.NewSession()
	if err != nil {
		if lost := h.lostErr(); lost != nil {
			err = lost
		}
		return Result{}, cmdErr(-1, fmt.Errorf("could not open an SSH session: %w", err))
	}
	defer sess.Close()
	sess.Stdout = io.MultiWriter(&stdout, &outTail)
	sess.Stderr = io.MultiWriter(&stderr, &errTail)
	sess.Stdin = opts.Stdin
	if opts.HangUpOnDisconnect {
		// No echo, and "\n" kept as is (no "\r\n") in the output.
		modes := ssh.TerminalModes{ssh.ECHO: 0, ssh.ONLCR: 0}
		if err := sess.RequestPty(hangUpTerm, hangUpRows, hangUpCols, modes); err != nil {
			return Result{}, cmdErr(-1, fmt.Errorf("could not get a pseudo-terminal for the command: %w", err))
		}
	}
	if err := sess.Start(wire); err != nil {
		return Result{}, cmdErr(-1, fmt.Errorf("could not start the command: %w", err))
	}
	done := make(chan error, 1)
	go func() { done <- sess.Wait() }()
	select {
	case err = <-done:
	case <-ctx.Done():
		// sshd forwards the signal (OpenSSH >= 7.9); closing the channel
		// hangs up on the command in any case. Wait is not awaited: it
		// may be stuck reading the caller's Stdin.
		_ = sess.Signal(ssh.SIGKILL)
		_ = sess.Close()
		return Result{Stdout: stdout.String(), Stderr: stderr.String()}, ctxErr()
	}
	res := Result{Stdout: stdout.String(), Stderr: stderr.String()}
	if err == nil {
		return res, nil
	}
	var exit *ssh.ExitError
	var missing *ssh.ExitMissingError
	switch {
	case errors.As(err, &exit) && exit.Signal() != "":
		return res, cmdErr(-1, fmt.Errorf("killed by signal %s", exit.Signal()))
	case errors.As(err, &exit):
		return res, cmdErr(exit.ExitStatus(), nil)
	case errors.As(err, &missing):
		if lost := h.lostErr(); lost != nil {
			return res, cmdErr(-1, lost)
		}
		return res, cmdErr(-1, errors.New("the session ended without an exit status (connection lost?)"))
	default:
		return res, cmdErr(-1, err)
	}
}

// CheckSudo checks that a user other than root may run commands as root
// without a password; for root it does nothing.
func (h *Host) CheckSudo(ctx context.Context) error {
	if h.IsRoot() {
		return nil
	}
	_, err := h.Run(ctx, "sudo -n true", RunOptions{NoSudo: true})
	if err == nil {
		return nil
	}
	var ce *CommandError
	if !errors.As(err, &ce) || ce.ExitCode < 0 {
		return err
	}
	u, host := h.User(), h.Name()
	if ce.ExitCode == exitCodeNotFound {
		return fmt.Errorf("user %s on host %s cannot become root: sudo is not installed; install it and give %s passwordless sudo, or use root (%s)", u, host, u, ce.OutputTail)
	}
	return fmt.Errorf("user %s on host %s needs passwordless sudo: sudo would ask for a password; add `%s ALL=(ALL) NOPASSWD: ALL` to sudoers or use root (sudo said: %s)", u, host, u, ce.OutputTail)
}

// commandTimeout is the default bound of one command (and an upload's
// stall limit).
func (h *Host) commandTimeout() time.Duration { return h.target.CommandTimeout }

// Upload copies localPath to remotePath with mode (atomically, checked by
// SHA-256), unless remotePath already has the same content.
func (h *Host) Upload(ctx context.Context, localPath, remotePath string, mode os.FileMode, progress ProgressFunc) (UploadResult, error) {
	return upload(ctx, h, localPath, remotePath, mode, progress)
}

// Fetch returns the content of remotePath (read as root).
func (h *Host) Fetch(ctx context.Context, remotePath string) ([]byte, error) {
	return fetch(ctx, h, remotePath)
}
