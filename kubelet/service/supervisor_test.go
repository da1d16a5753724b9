package service

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kubeadmin/kubeadmin/internal/testutil"
)

// When the test binary is started as a supervisor by startSupervisor, it
// becomes one: its arguments are those of `kubeadmin supervise`.
func TestMain(m *testing.M) {
	if os.Getenv("SUPERVISOR_TEST_HELPER") == "1" {
		o := Options{}
		args := os.Args[1:]
		for i, a := range args {
			if a == "--" {
				o.Command, o.Args = args[i+1], args[i+2:]
				break
			}
			o.Name = strings.TrimPrefix(a, "--name=")
			if v, ok := strings.CutPrefix(a, "--pid-file="); ok {
				o.PIDFile = v
			}
			if v, ok := strings.CutPrefix(a, "--log-file="); ok {
				o.LogFile = v
			}
		}
		if err := Run(context.Background(), o); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestRunRestartsAChildThatExits(t *testing.T) {
	dir := t.TempDir()
	counter := filepath.Join(dir, "count")
	o := Options{
		Name: "child", PIDFile: filepath.Join(dir, "pid"), LogFile: filepath.Join(dir, "log"),
		Command: "/bin/sh", Args: []string{"-c", "echo run >> " + counter + "; exit 3"},
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- Run(ctx, o) }()
	testutil.EventuallyWithin(t, 10*time.Second, "two runs", func() bool {
		b, _ := os.ReadFile(counter)
		return strings.Count(string(b), "run") >= 2
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(o.PIDFile); !os.IsNotExist(err) {
		t.Errorf("pid file left behind: %v", err)
	}
	log, _ := os.ReadFile(o.LogFile)
	if !strings.Contains(string(log), "exited (exit status 3); restarting") {
		t.Errorf("log does not record the restart:\n%s", log)
	}
}

func TestStartDetachesAndStopStopsChild(t *testing.T) {
	dir := t.TempDir()
	childPID := filepath.Join(dir, "child.pid")
	o := Options{Name: "child", PIDFile: filepath.Join(dir, "sup.pid"), LogFile: filepath.Join(dir, "log")}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("SUPERVISOR_TEST_HELPER", "1")
	o.Command, o.Args = "/bin/sh", []string{"-c", "echo $$ > " + childPID + "; exec sleep 300"}
	if err := startSupervisor(o, self, o.supervisorArgs(), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	supPID, ok := supervisorRunning(o.PIDFile)
	if !ok {
		t.Fatal("supervisor is not running after Start")
	}
	var child int
	testutil.EventuallyWithin(t, 10*time.Second, "the child", func() bool {
		var ok bool
		child, ok = readPID(childPID)
		return ok && alive(child)
	})
	if err := stopSupervisor(o.PIDFile, 15*time.Second); err != nil {
		t.Fatal(err)
	}
	if alive(supPID) {
		t.Error("supervisor still alive after Stop")
	}
	testutil.EventuallyWithin(t, 10*time.Second, "the child to stop", func() bool { return !alive(child) })
	// Stopping again is a no-op.
	if err := stopSupervisor(o.PIDFile, time.Second); err != nil {
		t.Fatal(err)
	}
}

// startSleeper starts a process that is not a supervisor, as a PID file
// left by a dead supervisor may name once the PID is reused.
func startSleeper(t *testing.T) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sleep", "300")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-exited })
	return cmd
}

func TestStopDoesNotSignalAProcessItDidNotStart(t *testing.T) {
	stranger := startSleeper(t)
	pidFile := filepath.Join(t.TempDir(), "kubelet.pid")
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(stranger.Process.Pid)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, ok := supervisorRunning(pidFile); ok {
		t.Error("supervisorRunning() takes a process that is no supervisor for the supervisor")
	}
	if err := stopSupervisor(pidFile, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	if !alive(stranger.Process.Pid) {
		t.Fatal("stopSupervisor() killed a process that is not the supervisor of its PID file")
	}
	if _, err := os.Stat(pidFile); !os.IsNotExist(err) {
		t.Errorf("the stale PID file is still there: %v", err)
	}
}

func TestRunBoundsTheLog(t *testing.T) {
	dir := t.TempDir()
	done := filepath.Join(dir, "done")
	// Two and a half times the limit, in the small writes a logger makes.
	n := LogMaxSize * 5 / 2
	o := Options{
		Name: "child", PIDFile: filepath.Join(dir, "pid"), LogFile: filepath.Join(dir, "log"),
		Command: "/bin/sh", Args: []string{"-c", fmt.Sprintf("head -c %d /dev/zero | tr '\\0' x | fold -w 99; touch %s; exec sleep 300", n, done)},
	}
	ctx, cancel := context.WithCancel(context.Background())
	result := make(chan error)
	go func() { result <- Run(ctx, o) }()
	testutil.EventuallyWithin(t, 10*time.Second, "the child's output", func() bool { _, err := os.Stat(done); return err == nil })
	cancel()
	if err := <-result; err != nil {
		t.Fatal(err)
	}
	total := int64(0)
	for _, f := range []string{o.LogFile, o.LogFile + ".1"} {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if st.Size() > LogMaxSize {
			t.Errorf("%s is %d bytes, more than LogMaxSize (%d)", f, st.Size(), LogMaxSize)
		}
		total += st.Size()
	}
	if total < LogMaxSize {
		t.Errorf("the log and its old file hold %d bytes; the newest output is lost", total)
	}
	if matches, _ := filepath.Glob(o.LogFile + ".*"); len(matches) != 1 {
		t.Errorf("old log files %q, want one", matches)
	}
}
