// Package nodes gives e2e tests test nodes on this machine: each node is a
// network namespace on a bridge plus a private mount and UTS namespace with
// its own /etc/kubernetes, /var/lib/kubelet, containerd and so on, made by
// the repository's hack/nodes script (see hack/nodes.md).
//
//	func TestJoin(t *testing.T) {
//		nodes.Up(t, "cp1", "w1") // skips unless root; Down runs on cleanup
//		out, _, err := nodes.Exec(t, "cp1", "kubeadmin", "init")
//		...
//	}
package nodes

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// ScriptEnv overrides the path of the hack/nodes script.
const ScriptEnv = "KUBEADMIN_NODES_SCRIPT"

// DirEnv overrides where hack/nodes keeps node state (as the script does).
const DirEnv = "KUBEADMIN_NODES_DIR"

// defaultDir is hack/nodes' default state folder.
const defaultDir = "/var/lib/kubeadmin-nodes"

// scriptRelPath is the script's path relative to the repository root.
const scriptRelPath = "hack/nodes"

// waitDelay bounds how long Exec waits for its output pipes after the
// command exits: a daemon started by the command (the node agent, say) may
// keep them open forever.
const waitDelay = 3 * time.Second

// CIEnv is the variable CI systems (and .ci/run) set to "true". Where it
// is, every test must really run: a missing prerequisite is a failure.
const CIEnv = "CI"

// logTailLines is how much of each node log is printed when a test fails.
const logTailLines = 40

// Script returns the path of hack/nodes: $KUBEADMIN_NODES_SCRIPT, or the
// first hack/nodes found walking up from the working directory.
func Script() (string, error) {
	if p := os.Getenv(ScriptEnv); p != "" {
		return p, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("failed to get the working directory: %w", err)
	}
	return findScript(wd)
}

// findScript walks up from dir to the first folder holding hack/nodes.
func findScript(dir string) (string, error) {
	for d := dir; ; d = filepath.Dir(d) {
		p := filepath.Join(d, scriptRelPath)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("failed to find %q above %q: run the test inside the repository or set %s", scriptRelPath, dir, ScriptEnv)
		}
	}
}

// Up creates the named nodes afresh (removing what an interrupted earlier
// run left under the same names) and registers a cleanup that removes them
// again, also when the test fails. It skips the test when not run as root
// (fails it under CI=true), and fails it when the nodes cannot be made.
func Up(t testing.TB, names ...string) {
	t.Helper()
	up(t, false, names)
}

// UpBare is Up for bare nodes (hack/nodes up --bare): no kubeadmin, kubectl,
// images or containerd running, as close to a fresh host as a test node
// gets, for the fleet tests that provision nodes over SSH.
func UpBare(t testing.TB, names ...string) {
	t.Helper()
	up(t, true, names)
}

// upArgs is the hack/nodes command line that brings up names.
func upArgs(bare bool, names []string) []string {
	args := []string{"up"}
	if bare {
		args = append(args, "--bare")
	}
	return append(args, names...)
}

func up(t testing.TB, bare bool, names []string) {
	t.Helper()
	if os.Geteuid() != 0 {
		SkipOrFail(t, "test nodes need root (network and mount namespaces): run the e2e tests as root")
	}
	script, err := Script()
	if err != nil {
		t.Fatal(err)
	}
	if err := Down(names...); err != nil {
		t.Fatalf("failed to remove leftovers of earlier test nodes %v: %v", names, err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, n := range names {
				logNodeLogs(t, n)
			}
		}
		if err := Down(names...); err != nil {
			t.Errorf("failed to remove test nodes %v: %v", names, err)
		}
	})
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(script, upArgs(bare, names)...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = waitDelay
	if err := cmd.Run(); err != nil {
		t.Fatalf("failed to bring up test nodes %v: %v\n%s", names, err, stderr.String())
	}
	got, err := parseUp(stdout.String())
	if err != nil {
		t.Fatalf("failed to read the output of %q: %v", script+" up", err)
	}
	for _, n := range names {
		if got[n] == "" {
			t.Fatalf("hack/nodes up printed no address for node %q; output:\n%s", n, stdout.String())
		}
	}
}

// SkipOrFail reports a missing prerequisite (root, containerd, a built
// binary or image): it skips the test, but under CI=true it fails it, so
// that CI never passes on tests that did not run.
func SkipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv(CIEnv) == "true" {
		t.Fatalf("missing prerequisite (not skipped because %s=true): %s", CIEnv, msg)
		return
	}
	t.Skip(msg)
}

// Systemd boots systemd as the init of a node made by Up; from then on Exec
// runs commands beside it, so that systemctl reaches it. The node's Down
// removes it with the node.
func Systemd(t testing.TB, name string) {
	t.Helper()
	script, err := Script()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(script, "systemd", name)
	cmd.WaitDelay = waitDelay
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("failed to boot systemd in node %q: %v\n%s", name, err, out)
	}
}

// parseUp reads hack/nodes up's "NAME IP" lines into a map.
func parseUp(out string) (map[string]string, error) {
	m := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 || net.ParseIP(f[1]) == nil {
			return nil, fmt.Errorf("unexpected line %q: want \"NAME IP\"", line)
		}
		m[f[0]] = f[1]
	}
	return m, sc.Err()
}

// Command returns the command that runs args inside the node (network, mount
// and UTS namespaces; PATH has kubeadmin and kubectl, KUBECONFIG is
// /etc/kubernetes/admin.conf). Use it for stdin, streaming or background
// runs; Exec covers the common case.
func Command(t testing.TB, name string, args ...string) *exec.Cmd {
	t.Helper()
	script, err := Script()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(script, append([]string{"exec", name, "--"}, args...)...)
	cmd.WaitDelay = waitDelay
	return cmd
}

// Exec runs args inside the node and returns its output. err is an
// *exec.ExitError when the command ran and failed. A command that leaves a
// daemon holding its output open is not an error.
func Exec(t testing.TB, name string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := Command(t, name, args...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	if errors.Is(err, exec.ErrWaitDelay) {
		err = nil
	}
	return out.String(), errOut.String(), err
}

// IP returns the node's address on the test bridge.
func IP(t testing.TB, name string) string {
	t.Helper()
	script, err := Script()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(script, "ip", name).Output()
	if err != nil {
		t.Fatalf("failed to get the address of node %q: %v", name, stderrOf(err))
	}
	return strings.TrimSpace(string(out))
}

// Root returns the host folder that holds the node's private copies of the
// host paths: Root(t, "n1")+"/etc/kubernetes" is n1's /etc/kubernetes.
func Root(t testing.TB, name string) string {
	t.Helper()
	return filepath.Join(stateDir(), name, "root")
}

// Down removes the named nodes (idempotent; a missing node is not an error).
func Down(names ...string) error {
	if len(names) == 0 {
		return nil
	}
	script, err := Script()
	if err != nil {
		return err
	}
	cmd := exec.Command(script, append([]string{"down"}, names...)...)
	cmd.WaitDelay = waitDelay
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("failed to run %q: %w\n%s", script+" down", err, out)
	}
	return nil
}

func stateDir() string {
	if d := os.Getenv(DirEnv); d != "" {
		return d
	}
	return defaultDir
}

func stderrOf(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) && len(ee.Stderr) > 0 {
		return fmt.Sprintf("%v: %s", err, bytes.TrimSpace(ee.Stderr))
	}
	return err.Error()
}

// logNodeLogs prints the tail of the node's containerd and agent logs.
func logNodeLogs(t testing.TB, name string) {
	t.Helper()
	dir := filepath.Join(Root(t, name), "var/log/kubeadmin")
	files, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		t.Logf("node %s: last lines of %s:\n%s", name, f, tail(string(data), logTailLines))
	}
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
