package kubelet

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kubeadmin/kubeadmin/internal/testutil"
)

const tmpfsPod = `apiVersion: v1
kind: Pod
metadata: {name: shm}
spec:
  hostNetwork: true
  volumes:
  - {name: shm, emptyDir: {medium: Memory, sizeLimit: 8Mi}}
  containers:
  - name: c
    image: img:1
    volumeMounts: [{name: shm, mountPath: /dev/shm}]
`

// skipUnlessMounts skips where tmpfs cannot be mounted; CI=true fails.
func skipUnlessMounts(t *testing.T) {
	t.Helper()
	why := ""
	if os.Geteuid() != 0 {
		why = "not root"
	} else {
		dir := t.TempDir()
		if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=1m"); errors.Is(err, unix.EPERM) {
			why = err.Error()
		} else if err != nil {
			t.Fatal(err)
		} else if err := unix.Unmount(dir, 0); err != nil {
			t.Fatal(err)
		}
	}
	if why == "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("this test mounts tmpfs and CI=true: %s", why)
	}
	t.Skipf("this test mounts tmpfs (run as root to include it): %s", why)
}

// syncBuffer collects the agent's log lines.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
	w  io.Writer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	s.b.Write(p)
	s.mu.Unlock()
	return s.w.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func isTmpfs(p string) bool {
	var st unix.Statfs_t
	return unix.Statfs(p, &st) == nil && st.Type == unix.TMPFS_MAGIC
}

// A removed pod's tmpfs that will not unmount (busy) keeps the pod
// directory and its content; the teardown is retried and finishes once
// the mount can go.
func TestMemoryEmptyDirTeardown(t *testing.T) {
	skipUnlessMounts(t)
	rt := newTestRuntime()
	cfg := testConfig(t)
	ta := startAgent(t, rt, cfg)
	logs := &syncBuffer{w: logWriter{t}}
	ta.log.SetOutput(logs)
	pod := decodePod(t, tmpfsPod, "/m/shm.yaml")
	dir := filepath.Join(cfg.RootDir, "pods", string(pod.UID), "volumes", "kubernetes.io~empty-dir", "shm")
	t.Cleanup(func() { _ = unix.Unmount(dir, unix.MNT_DETACH) }) // what a failure leaves
	ta.apply(snapshot(pod))
	testutil.Eventually(t, "running", func() bool { _, st := rt.find("c"); return st == runtimeapi.ContainerState_CONTAINER_RUNNING })
	if !isTmpfs(dir) {
		t.Fatalf("%s is not a tmpfs", dir)
	}
	if m := rt.lastConfig("c").Mounts; len(m) == 0 || m[0].HostPath != dir {
		t.Errorf("mounts = %v, want %s at /dev/shm", m, dir)
	}
	busy, err := os.Create(filepath.Join(dir, "open"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = busy.Close() }()

	ta.apply(snapshot())
	testutil.Eventually(t, "teardown refused", func() bool { return strings.Contains(logs.String(), "kept") })
	if c, s := rt.objects(); c != 0 || s != 0 {
		t.Errorf("%d containers, %d sandboxes left, want none", c, s)
	}
	ta.gc(t.Context())
	if !isTmpfs(dir) {
		t.Fatalf("%s is no longer a tmpfs while busy", dir)
	}
	if _, err := os.Stat(busy.Name()); err != nil {
		t.Fatalf("content of the busy tmpfs removed: %v", err)
	}
	must(t, busy.Close())
	testutil.Eventually(t, "pod directory removed", func() bool {
		_, err := os.Stat(filepath.Join(cfg.RootDir, "pods", string(pod.UID)))
		return errors.Is(err, os.ErrNotExist)
	})
	testutil.Eventually(t, "worker done", func() bool { return len(ta.knownUIDs()) == 0 })
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
