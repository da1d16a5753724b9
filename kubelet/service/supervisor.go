// The supervisor: where no init system restarts the agent, a detached
// `kubeadmin supervise` process runs it, restarts it with back-off when it
// exits, copies its output to a bounded log file and records its own PID.
// Before it signals the PID of that file, Stop makes sure the process is a
// supervisor of that file: a PID can be reused once its process is gone.

package service

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kubeadmin/kubeadmin/internal/fsutil"
	"github.com/kubeadmin/kubeadmin/internal/procutil"
)

// Restart back-off of the supervised process.
const (
	initialBackoff = 1 * time.Second
	maxBackoff     = 10 * time.Second
	// stableAfter resets the back-off once the child ran this long.
	stableAfter = 30 * time.Second
	// stopGrace is how long a stopping child gets before SIGKILL.
	stopGrace = 10 * time.Second
	// supervisorStartTimeout bounds the wait for a new supervisor's PID file.
	supervisorStartTimeout = 10 * time.Second
	// supervisorStopTimeout bounds the wait for a supervisor to exit.
	supervisorStopTimeout = 20 * time.Second
	// startPollInterval and stopPollInterval pace those waits.
	startPollInterval = 20 * time.Millisecond
	stopPollInterval  = 50 * time.Millisecond
	// outputWaitDelay bounds the wait for the child's output pipes once it
	// exited.
	outputWaitDelay = 5 * time.Second
)

// pidFileFlag is the supervise flag that names the PID file; it also
// identifies a supervisor's process (see isSupervisorOf).
const pidFileFlag = "--pid-file"

// procDir is where procfs is mounted.
const procDir = "/proc"

// Options describe a supervised process.
type Options struct {
	// Name is used in log lines ("kubelet").
	Name string
	// PIDFile holds the supervisor's PID while it runs.
	PIDFile string
	// LogFile receives the child's stdout and stderr (appended, rotated
	// at LogMaxSize).
	LogFile string
	// Command and Args of the child.
	Command string
	Args    []string
}

// Run supervises the child in the foreground until ctx is done or a
// SIGTERM/SIGINT arrives; then it stops the child and removes the PID file.
func Run(ctx context.Context, o Options) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := fsutil.WriteFileAtomic(o.PIDFile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644, 0o755); err != nil {
		return err
	}
	defer os.Remove(o.PIDFile)
	logf, err := openLog(o.LogFile, LogMaxSize)
	if err != nil {
		return err
	}
	defer logf.Close()
	procutil.ReleaseStartupPages()

	backoff := initialBackoff
	for {
		started := time.Now()
		err := runChild(ctx, o, logf)
		if ctx.Err() != nil {
			fmt.Fprintf(logf, "supervisor: stopped %s\n", o.Name)
			return nil
		}
		if time.Since(started) > stableAfter {
			backoff = initialBackoff
		}
		fmt.Fprintf(logf, "supervisor: %s exited (%v); restarting in %s\n", o.Name, err, backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

func runChild(ctx context.Context, o Options, logf *rotatingLog) error {
	cmd := exec.Command(o.Command, o.Args...)
	// Through pipes, so the supervisor sees every byte and can rotate. A
	// process the child leaves behind holding them does not delay Wait.
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.WaitDelay = outputWaitDelay
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-done:
			return err
		case <-time.After(stopGrace):
			_ = cmd.Process.Kill()
			return <-done
		}
	}
}

// supervisorArgs are the arguments of `kubeadmin supervise` that run o.
func (o Options) supervisorArgs() []string {
	return append([]string{SuperviseCommand, "--name=" + o.Name, pidFileFlag + "=" + o.PIDFile, "--log-file=" + o.LogFile, "--", o.Command}, o.Args...)
}

// startSupervisor launches a detached supervisor (self with supervisorArgs, e.g.
// "kubeadmin supervise --pid-file ... -- kubeadmin kubelet ...") in its own
// session, replacing one that is already running, and waits until it has
// written its PID file.
func startSupervisor(o Options, self string, supervisorArgs []string, timeout time.Duration) error {
	if err := stopSupervisor(o.PIDFile, stopGrace+5*time.Second); err != nil {
		return err
	}
	// The supervisor's own output before it opens the log, and a crash,
	// go to the log file too.
	if err := os.MkdirAll(filepath.Dir(o.LogFile), logDirMode); err != nil {
		return fmt.Errorf("failed to create the log directory of %q: %w", o.LogFile, err)
	}
	logf, err := os.OpenFile(o.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, logFileMode)
	if err != nil {
		return fmt.Errorf("failed to open the log file %q: %w", o.LogFile, err)
	}
	defer logf.Close()
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return err
	}
	defer devnull.Close()
	cmd := exec.Command(self, supervisorArgs...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("failed to start the %s supervisor: %w", o.Name, err)
	}
	pid := cmd.Process.Pid
	// The supervisor outlives us; do not wait for it.
	_ = cmd.Process.Release()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if p, ok := readPID(o.PIDFile); ok && p == pid {
			return nil
		}
		if !alive(pid) {
			return fmt.Errorf("the %s supervisor exited right after it started; see %s", o.Name, o.LogFile)
		}
		time.Sleep(startPollInterval)
	}
	return fmt.Errorf("the %s supervisor did not write %s within %s; see %s", o.Name, o.PIDFile, timeout, o.LogFile)
}

// stopSupervisor terminates the supervisor recorded in pidFile (which stops
// its child) and waits for it to exit. A missing or stale PID file is fine:
// it is removed, and the process it names, if any, is left alone.
func stopSupervisor(pidFile string, timeout time.Duration) error {
	pid, ok := supervisorRunning(pidFile)
	if !ok {
		_ = os.Remove(pidFile)
		return nil
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("failed to stop process %d from %q: %w", pid, pidFile, err)
	}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if !alive(pid) {
			_ = os.Remove(pidFile)
			return nil
		}
		time.Sleep(stopPollInterval)
	}
	// Checked again: the PID may have been reused while we waited.
	if isSupervisorOf(pid, pidFile) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	_ = os.Remove(pidFile)
	return nil
}

// supervisorRunning reports the PID of the supervisor recorded in pidFile if that
// process is alive and is a supervisor of pidFile.
func supervisorRunning(pidFile string) (int, bool) {
	pid, ok := readPID(pidFile)
	if !ok || !alive(pid) || !isSupervisorOf(pid, pidFile) {
		return 0, false
	}
	return pid, true
}

// isSupervisorOf reports whether process pid runs with --pid-file=pidFile,
// the argument every supervisor gets (see supervisorArgs), so a process
// that merely reused a dead supervisor's PID is never signalled.
func isSupervisorOf(pid int, pidFile string) bool {
	b, err := os.ReadFile(filepath.Join(procDir, strconv.Itoa(pid), "cmdline"))
	if err != nil {
		return false
	}
	want := absPath(pidFile)
	for _, arg := range strings.Split(string(b), "\x00") {
		if v, ok := strings.CutPrefix(arg, pidFileFlag+"="); ok && absPath(v) == want {
			return true
		}
	}
	return false
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return filepath.Clean(p)
}

// readPID reads a PID file.
func readPID(pidFile string) (int, bool) {
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(bytes.TrimSpace(b))))
	if err != nil || pid <= 0 {
		return 0, false
	}
	return pid, true
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil {
		return false
	}
	stat, err := os.ReadFile(filepath.Join(procDir, strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	// The state follows the ")" that closes the command name.
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) {
		return stat[i+2] != 'Z'
	}
	return true
}
