package resetphases

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/kubeadmin/kubeadmin/internal/config"
)

func TestRemoveAllPodsReportsAnUnreachableRuntime(t *testing.T) {
	_, err := removeAllPods("unix://" + filepath.Join(t.TempDir(), "none.sock"))
	if err == nil {
		t.Fatal("no error for a runtime that is not there")
	}
}

func TestCleanDirKeepsTheDirectory(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"a", "sub/b"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := cleanDir(dir, nil); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 0 {
		t.Errorf("entries %v, err %v", entries, err)
	}
	if err := cleanDir(filepath.Join(dir, "missing"), nil); err != nil {
		t.Errorf("a missing directory is an error: %v", err)
	}
}

// fakeMounts is a mount table whose Unmount fails for the paths in busy.
type fakeMounts struct {
	points    []string
	busy      map[string]bool
	unmounted []string
}

func (m *fakeMounts) MountPoints() ([]string, error) { return m.points, nil }

func (m *fakeMounts) Unmount(p string) error {
	if m.busy[p] {
		return syscall.EBUSY
	}
	m.unmounted = append(m.unmounted, p)
	return nil
}

// writeTree creates the files (relative to dir) with some content.
func writeTree(t *testing.T, dir string, files ...string) {
	t.Helper()
	for _, f := range files {
		p := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("data"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// testResetData is a forced reset of a host laid out below root.
func testResetData(root string, out *strings.Builder, node Node) *ResetData {
	return &ResetData{
		cfg:     &config.ResetConfiguration{Force: true, CertificatesDir: filepath.Join(root, "etc/kubernetes/pki")},
		out:     out,
		k8sDir:  filepath.Join(root, "etc/kubernetes"),
		kubelet: filepath.Join(root, "var/lib/kubelet"),
		criSock: "unix:///none.sock",
		node:    node,
	}
}

func TestCleanupNodeLeavesAMountItCouldNotUnmount(t *testing.T) {
	root, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	kubelet := filepath.Join(root, "var/lib/kubelet")
	pod := filepath.Join(kubelet, "pods/uid1")
	busy := filepath.Join(pod, "volumes/kubernetes.io~nfs/data")
	freed := filepath.Join(kubelet, "pods/uid2/volumes/kubernetes.io~empty-dir/cache")
	writeTree(t, kubelet, "config.yaml", "pods/uid1/etc-hosts",
		"pods/uid1/volumes/kubernetes.io~nfs/data/precious.db",
		"pods/uid2/volumes/kubernetes.io~empty-dir/cache/x")
	writeTree(t, root, "etc/kubernetes/admin.conf", "etc/kubernetes/pki/ca.key", "etc/kubernetes/manifests/etcd.yaml")
	mounts := &fakeMounts{points: []string{"/", busy, freed}, busy: map[string]bool{busy: true}}
	var out strings.Builder
	d := testResetData(root, &out, Node{
		StopAgent:  func() error { return nil },
		RemovePods: func(string) (int, error) { return 0, nil },
		Mounts:     mounts,
	})

	err = runCleanupNode(d)
	if err == nil || !strings.Contains(err.Error(), busy) {
		t.Errorf("runCleanupNode() = %v, want an error naming %s", err, busy)
	}
	if !strings.Contains(out.String(), busy) {
		t.Errorf("output does not name the mount %s:\n%s", busy, out.String())
	}
	// Nothing below the mount that stayed is touched.
	if b, err := os.ReadFile(filepath.Join(busy, "precious.db")); err != nil || string(b) != "data" {
		t.Errorf("a file below the busy mount was removed: %v", err)
	}
	// Everything else is cleaned as before.
	for _, gone := range []string{"config.yaml", "pods/uid1/etc-hosts", "pods/uid2"} {
		if _, err := os.Stat(filepath.Join(kubelet, gone)); !os.IsNotExist(err) {
			t.Errorf("%s was left behind (%v)", gone, err)
		}
	}
	for _, gone := range []string{"etc/kubernetes/admin.conf", "etc/kubernetes/pki/ca.key", "etc/kubernetes/manifests/etcd.yaml"} {
		if _, err := os.Stat(filepath.Join(root, gone)); !os.IsNotExist(err) {
			t.Errorf("%s was left behind (%v)", gone, err)
		}
	}
	if len(mounts.unmounted) != 1 || mounts.unmounted[0] != freed {
		t.Errorf("unmounted %q, want only %s", mounts.unmounted, freed)
	}
}

func TestCleanupNodeKeepsTheAgentDirWithoutAMountTable(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, "var/lib/kubelet/pods/uid1/volumes/v/file", "etc/kubernetes/admin.conf")
	var out strings.Builder
	d := testResetData(root, &out, Node{
		StopAgent:  func() error { return nil },
		RemovePods: func(string) (int, error) { return 0, nil },
		Mounts:     unreadableMounts{},
	})
	if err := runCleanupNode(d); err == nil || !strings.Contains(err.Error(), "mount table") {
		t.Errorf("runCleanupNode() = %v, want an error about the mount table", err)
	}
	if _, err := os.Stat(filepath.Join(root, "var/lib/kubelet/pods/uid1/volumes/v/file")); err != nil {
		t.Errorf("the agent's directory was cleaned without knowing its mounts: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "etc/kubernetes/admin.conf")); !os.IsNotExist(err) {
		t.Errorf("admin.conf was left behind (%v)", err)
	}
}

type unreadableMounts struct{}

func (unreadableMounts) MountPoints() ([]string, error) {
	return nil, errors.New("failed to read the mount table: permission denied")
}
func (unreadableMounts) Unmount(string) error { return nil }

func TestUnescapeMountPath(t *testing.T) {
	if got := unescapeMountPath(`/var/lib/kubelet/pods/a\040b/x\134y`); got != `/var/lib/kubelet/pods/a b/x\y` {
		t.Errorf("got %q", got)
	}
}

func TestProcMountsListsTheRoot(t *testing.T) {
	points, err := procMounts{}.MountPoints()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(points, "/") {
		t.Errorf("mount points %q lack /", points)
	}
}
