package hostprep

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestStartScriptWithoutSystemd runs the start script against a fake
// containerd (answers once it runs, stops on SIGTERM): it must start one
// when none runs, leave a running one alone, and on restart stop its own
// and start a new one.
func TestStartScriptWithoutSystemd(t *testing.T) {
	bin := fakeBin(t)
	for _, tool := range []string{"setsid", "mkdir", "dirname", "sleep", "tail", "kill", "touch", "rm"} {
		p, err := exec.LookPath(tool)
		if err != nil {
			t.Skipf("%s not installed", tool)
		}
		_ = os.Symlink(p, filepath.Join(bin, tool))
	}
	dir := t.TempDir()
	mark := filepath.Join(dir, "answering")
	// Not exec'd: its comm stays "containerd", as the script checks.
	writeExec(t, filepath.Join(bin, "containerd"), "trap 'rm -f "+mark+"; exit 0' TERM\ntouch "+mark+"\nwhile :; do sleep 0.1; done\n")
	writeExec(t, filepath.Join(bin, "ctr"), "[ -f "+mark+" ]\n")
	sock := filepath.Join(dir, "containerd.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	pidFile := filepath.Join(dir, "run/containerd.pid")
	logFile := filepath.Join(dir, "log/containerd.log")
	l := localIn(bin)
	pid := func() int {
		b, err := os.ReadFile(pidFile)
		if err != nil {
			t.Fatalf("no pid file: %v", err)
		}
		p, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		return p
	}
	t.Cleanup(func() {
		if b, err := os.ReadFile(pidFile); err == nil {
			if p, _ := strconv.Atoi(strings.TrimSpace(string(b))); p > 0 {
				_ = syscall.Kill(p, syscall.SIGKILL)
			}
		}
	})
	run := func(restart bool) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if _, err := l.Run(ctx, "sh -s", runOpts(startScript(false, restart, sock, pidFile, logFile))); err != nil {
			t.Fatalf("start (restart %v): %v", restart, err)
		}
	}
	run(false)
	first := pid()
	if syscall.Kill(first, 0) != nil {
		t.Fatalf("containerd %d is not running", first)
	}
	run(false)
	if pid() != first {
		t.Errorf("a running containerd was started again")
	}
	run(true)
	if second := pid(); second == first || syscall.Kill(second, 0) != nil {
		t.Errorf("restart: pid %d -> %d", first, second)
	}
	for i := 0; syscall.Kill(first, 0) == nil; i++ {
		if i > 50 {
			t.Fatalf("the old containerd %d still runs after the restart", first)
		}
		time.Sleep(100 * time.Millisecond) // the old process exits asynchronously; reaped by init
	}
}
