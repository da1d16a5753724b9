//go:build e2e

package e2e

// Helpers every end-to-end test shares: where the binaries are, how to run
// kubectl in a node, and the one way to wait for or watch a condition
// (poll, under eventually and consistently).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kubeadmin/kubeadmin/test/e2e/nodes"
)

// pollInterval is how often poll checks a condition.
const pollInterval = 500 * time.Millisecond

// settleWindow is how long a "no container restarts" check watches after
// the agent came back or its input changed: ten of its 1 s relists.
const settleWindow = 10 * time.Second

// poll calls check at once and then every pollInterval until check reports
// done or returns an error, or until timeout passes. It returns check's
// error, and timedOut when time ran out first.
func poll(timeout time.Duration, check func() (done bool, err error)) (timedOut bool, err error) {
	err = wait.PollUntilContextTimeout(context.Background(), pollInterval, timeout, true,
		func(context.Context) (bool, error) { return check() })
	if err != nil && wait.Interrupted(err) {
		return true, nil
	}
	return false, err
}

// permanentError is an error after which eventually stops waiting.
type permanentError struct{ error }

// permanent marks err as final for eventually: it fails the test at once
// instead of retrying (for an invariant checked while waiting).
func permanent(err error) error { return permanentError{err} }

// eventually waits until f returns nil, and fails the test with f's last
// error when that does not happen within timeout, or at once when f returns
// a permanent error.
func eventually(t testing.TB, what string, timeout time.Duration, f func() error) {
	t.Helper()
	var last error
	timedOut, err := poll(timeout, func() (bool, error) {
		last = f()
		var p permanentError
		if errors.As(last, &p) {
			return false, p.error
		}
		return last == nil, nil
	})
	switch {
	case err != nil:
		t.Fatalf("%s: %v", what, err)
	case timedOut:
		t.Fatalf("%s: not true after %s: %v", what, timeout, last)
	}
}

// consistently checks f over the whole window and fails the test on the
// first error: use it for "nothing changes", never a single look after a
// sleep.
func consistently(t testing.TB, what string, window time.Duration, f func() error) {
	t.Helper()
	start := time.Now()
	if _, err := poll(window, func() (bool, error) { return false, f() }); err != nil {
		t.Fatalf("%s: broken after %s of %s: %v", what, time.Since(start).Round(time.Millisecond), window, err)
	}
}

// repoRoot is the repository, two levels above this package.
func repoRoot(t testing.TB) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Clean(filepath.Join(wd, "..", ".."))
}

// kubeadminBin is the binary `make build` produced.
func kubeadminBin(t testing.TB) string {
	t.Helper()
	p := filepath.Join(repoRoot(t), "bin", "kubeadmin")
	if _, err := os.Stat(p); err != nil {
		nodes.SkipOrFail(t, "%s is missing: run make build first (%v)", p, err)
	}
	return p
}

// cacheDir is hack/images.sh's cache for this Kubernetes version.
func cacheDir() string {
	cache := os.Getenv("KUBEADMIN_CACHE")
	if cache == "" {
		cache = "/var/cache/kubeadmin"
	}
	return filepath.Join(cache, "v1.37.2")
}

// upstreamBin is an upstream binary built by hack/images.sh.
func upstreamBin(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(cacheDir(), "bin", name)
	if _, err := os.Stat(p); err != nil {
		nodes.SkipOrFail(t, "upstream %s is missing at %s: run hack/images.sh bins (%v)", name, p, err)
	}
	return p
}

// kubectl runs kubectl inside a node with the admin kubeconfig.
func kubectl(t testing.TB, node string, args ...string) (string, error) {
	t.Helper()
	out, errOut, err := nodes.Exec(t, node, append([]string{"kubectl"}, args...)...)
	if err != nil {
		return out + errOut, err
	}
	return out, nil
}

// images are the tarballs hack/images.sh build makes, as `hack/images.sh list` names them.
var images = []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy", "coredns", "pause", "etcd"}

// controlPlaneNode brings up a fresh test node (removed when the test ends)
// with every control-plane image and bin/kubeadmin; a missing image or
// binary is a missing prerequisite.
func controlPlaneNode(t testing.TB, name string) {
	t.Helper()
	kubeadminBin(t)
	for _, img := range images {
		if p := filepath.Join(cacheDir(), "images", img+".tar"); !fileExists(p) {
			nodes.SkipOrFail(t, "image %s is missing: run hack/images.sh build (make test does; ~20-40 min the first time)", p)
		}
	}
	nodes.Up(t, name)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

var controlPlane = []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"}

// containerIDs maps "pod/container" of every running container to its
// ID, as the node agent reports it.
func containerIDs(t testing.TB, node string) map[string]string {
	t.Helper()
	ids, err := agentContainers(t, node)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// agentContainers is containerIDs, with an error while the agent does not
// answer.
func agentContainers(t testing.TB, node string) (map[string]string, error) {
	t.Helper()
	out, errOut, err := nodes.Exec(t, node, "kubeadmin", "kubelet", "status", "-o", "json")
	if err != nil {
		return nil, fmt.Errorf("kubeadmin kubelet status: %v\n%s", err, errOut)
	}
	var st struct {
		Pods []struct {
			Name       string `json:"name"`
			Containers []struct {
				Name  string `json:"name"`
				ID    string `json:"id"`
				State string `json:"state"`
			} `json:"containers"`
		} `json:"pods"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		return nil, fmt.Errorf("cannot parse the agent status: %v\n%s", err, out)
	}
	ids := map[string]string{}
	for _, p := range st.Pods {
		for _, c := range p.Containers {
			if strings.EqualFold(c.State, "running") {
				ids[p.Name+"/"+c.Name] = c.ID
			}
		}
	}
	return ids, nil
}

// componentID is the running container of a control-plane component
// (by container name) among ids, "" if none.
func componentID(ids map[string]string, name string) string {
	for k, id := range ids {
		if strings.HasSuffix(k, "/"+name) && strings.HasPrefix(k, name+"-") {
			return id
		}
	}
	return ""
}

// nodeTasks lists the running tasks (sandboxes and containers) of a node's
// containerd as "ID PID STATUS" lines, sorted. It asks containerd, not the
// agent, so it also answers while the agent is down; a restarted container
// shows as a new ID or PID.
func nodeTasks(t testing.TB, node string) []string {
	t.Helper()
	out, errOut, err := nodes.Exec(t, node, "ctr", "-n", "k8s.io", "tasks", "ls")
	if err != nil {
		t.Fatalf("ctr tasks ls in node %s: %v\n%s", node, err, errOut)
	}
	var tasks []string
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) != 3 || f[0] == "TASK" {
			continue
		}
		tasks = append(tasks, strings.Join(f, " "))
	}
	sort.Strings(tasks)
	return tasks
}

// sameTasks is nil when the node's tasks are still before.
func sameTasks(t testing.TB, node string, before []string) error {
	t.Helper()
	if now := nodeTasks(t, node); strings.Join(now, "\n") != strings.Join(before, "\n") {
		return fmt.Errorf("tasks changed:\nbefore:\n%s\nnow:\n%s", strings.Join(before, "\n"), strings.Join(now, "\n"))
	}
	return nil
}

// runningTasks checks that the node runs a sandbox and a container for each
// control-plane component, and returns its tasks.
func runningTasks(t testing.TB, node string) []string {
	t.Helper()
	// The add-ons start while init ends: wait until CoreDNS and kube-proxy
	// are Ready, so that the node's tasks are settled.
	eventually(t, "CoreDNS and kube-proxy Ready", 2*time.Minute, func() error {
		for _, sel := range []string{"k8s-app=kube-dns", "k8s-app=kube-proxy"} {
			if err := allReady(t, node, "kube-system", sel); err != nil {
				return err
			}
		}
		return nil
	})
	tasks := nodeTasks(t, node)
	running := 0
	for _, task := range tasks {
		if strings.HasSuffix(task, " RUNNING") {
			running++
		}
	}
	if running < 2*len(controlPlane) {
		t.Fatalf("node %s runs %d tasks, want a sandbox and a container for each of %v:\n%s", node, running, controlPlane, strings.Join(tasks, "\n"))
	}
	return tasks
}

// hashTree summarises the files under a node directory (path, size, mtime).
func hashTree(t testing.TB, root string) string {
	t.Helper()
	var lines []string
	_ = filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			lines = append(lines, fmt.Sprintf("%s %d %d", p, info.Size(), info.ModTime().UnixNano()))
		}
		return nil
	})
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// nodeConfig writes a kubeadm config file where commands in the node can
// read it, also under systemd (whose /tmp is private): the node's state
// folder. It returns the file's path.
func nodeConfig(t testing.TB, node, yaml string) string {
	t.Helper()
	cfg := filepath.Join(filepath.Dir(nodes.Root(t, node)), "kubeadm.yaml")
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfg
}
