package service

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// When the test binary is started as a supervisor by Start, it becomes one.
func TestMain(m *testing.M) {
	if os.Getenv("SUPERVISOR_TEST_HELPER") == "1" {
		args := os.Args[1:]
		o := Options{Name: "child", PIDFile: args[0], LogFile: args[1], Command: args[2], Args: args[3:]}
		if err := Run(context.Background(), o); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
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
	waitFor(t, "two runs", func() bool {
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
	args := []string{o.PIDFile, o.LogFile, "/bin/sh", "-c", "echo $$ > " + childPID + "; exec sleep 300"}
	if err := startSupervisor(o, self, args, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	supPID, ok := Running(o.PIDFile)
	if !ok {
		t.Fatal("supervisor is not running after Start")
	}
	var child int
	waitFor(t, "the child", func() bool {
		var ok bool
		child, ok = ReadPID(childPID)
		return ok && alive(child)
	})
	if err := stopSupervisor(o.PIDFile, 15*time.Second); err != nil {
		t.Fatal(err)
	}
	if alive(supPID) {
		t.Error("supervisor still alive after Stop")
	}
	waitFor(t, "the child to stop", func() bool { return !alive(child) })
	// Stopping again is a no-op.
	if err := stopSupervisor(o.PIDFile, time.Second); err != nil {
		t.Fatal(err)
	}
}
