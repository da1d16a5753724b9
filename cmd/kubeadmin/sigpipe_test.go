package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"testing"
	"time"
)

const sigpipeChildEnv = "KUBEADMIN_TEST_SIGPIPE_CHILD"

// The agent outlives a supervisor that was killed: writing its log to the
// supervisor's closed pipe must not end it.
func TestAgentSurvivesAClosedLogPipe(t *testing.T) {
	if os.Getenv(sigpipeChildEnv) == "1" {
		// Start from the default disposition even if the test runs under
		// a shell that ignores SIGPIPE.
		signal.Reset(syscall.SIGPIPE)
		keepRunningWithoutLogReader()
		// Wait until the parent closed its end, then write: without the
		// fix the runtime ends the process with SIGPIPE here.
		time.Sleep(200 * time.Millisecond)
		for range 3 {
			fmt.Fprintln(os.Stderr, "log line")
		}
		os.Exit(0)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestAgentSurvivesAClosedLogPipe$")
	cmd.Env = append(os.Environ(), sigpipeChildEnv+"=1")
	cmd.Stderr = w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	r.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the agent process ended on a closed log pipe: %v", err)
	}
}
