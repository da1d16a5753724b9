package volume

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// needMounts skips a test that mounts tmpfs where it cannot (not root, or
// no CAP_SYS_ADMIN in a container); under CI=true it fails instead, so
// that CI never passes without running it.
func needMounts(t *testing.T) {
	t.Helper()
	why := ""
	if os.Geteuid() != 0 {
		why = "not root"
	} else {
		dir := t.TempDir()
		err := unix.Mount(fsTmpfs, dir, fsTmpfs, tmpfsFlags, "size=1m")
		switch {
		case errors.Is(err, unix.EPERM):
			why = "mount(2) refused: " + err.Error()
		case err != nil:
			t.Fatalf("probe mount of tmpfs on %q: %v", dir, err)
		default:
			must(t, unix.Unmount(dir, 0))
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

// cleanupMounts unmounts whatever a failed test left below dir, so that
// t.TempDir's removal does not fail on a busy mount.
func cleanupMounts(t *testing.T, dir string) {
	t.Cleanup(func() {
		ms, err := readMounts()
		if err != nil {
			return
		}
		for _, m := range mountsBelow(ms, dir) {
			_ = unix.Unmount(m.path, unix.MNT_DETACH)
		}
	})
}

func memoryPod(limit string, containerLimits ...string) *v1.Pod {
	pod := testPod()
	ed := &v1.EmptyDirVolumeSource{Medium: v1.StorageMediumMemory}
	if limit != "" {
		q := resource.MustParse(limit)
		ed.SizeLimit = &q
	}
	pod.Spec.Volumes = []v1.Volume{{Name: "shm", VolumeSource: v1.VolumeSource{EmptyDir: ed}}}
	for i, l := range containerLimits {
		c := v1.Container{Name: "c" + string(rune('0'+i))}
		if l != "" {
			c.Resources.Limits = v1.ResourceList{v1.ResourceMemory: resource.MustParse(l)}
		}
		pod.Spec.Containers = append(pod.Spec.Containers, c)
	}
	return pod
}

func TestMemoryMediumSize(t *testing.T) {
	tests := []struct {
		name       string
		sizeLimit  string
		containers []string
		want       int64 // 0: no size option
	}{
		{"neither", "", []string{""}, 0},
		{"size limit only", "64Mi", []string{""}, 64 << 20},
		{"pod limit only", "", []string{"100Mi", "28Mi"}, 128 << 20},
		{"size limit below pod limit", "64Mi", []string{"100Mi", "28Mi"}, 64 << 20},
		{"pod limit below size limit", "1Gi", []string{"100Mi", "28Mi"}, 128 << 20},
		{"a container without a limit: no pod limit", "", []string{"100Mi", ""}, 0},
		{"a container without a limit, size limit", "1Gi", []string{"100Mi", ""}, 1 << 30},
		{"zero size limit means none", "0", []string{"32Mi"}, 32 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := memoryPod(tt.sizeLimit, tt.containers...)
			got, ok := MemoryMediumSize(pod, pod.Spec.Volumes[0].EmptyDir)
			if tt.want == 0 {
				if ok {
					t.Errorf("size = %d, want no size option", got)
				}
				return
			}
			if !ok || got != tt.want {
				t.Errorf("size = %d (ok %v), want %d", got, ok, tt.want)
			}
		})
	}
}

// A Memory emptyDir is a tmpfs with the size option, nosuid and nodev;
// preparing it again (every container start, an agent restart) keeps the
// same mount and its content.
func TestMemoryEmptyDirIsOneTmpfs(t *testing.T) {
	needMounts(t)
	root := t.TempDir()
	cleanupMounts(t, root)
	pod := memoryPod("8Mi", "1Gi")
	paths, err := Prepare(context.Background(), pod, root, Env{})
	if err != nil {
		t.Fatal(err)
	}
	dir := paths["shm"]
	if want := emptyDirPath(root, pod, "shm"); dir != want {
		t.Fatalf("volume path = %q, want %q", dir, want)
	}
	first := tmpfsAt(t, dir)
	if !strings.Contains(","+first.options+",", ",size=8192k,") {
		t.Errorf("tmpfs options %q lack size=8192k", first.options)
	}
	var sfs unix.Statfs_t
	must(t, unix.Statfs(dir, &sfs))
	if sfs.Flags&unix.ST_NOSUID == 0 || sfs.Flags&unix.ST_NODEV == 0 {
		t.Errorf("mount flags %#x lack nosuid or nodev", sfs.Flags)
	}
	if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != emptyDirMode {
		t.Errorf("mode = %v (%v), want %o", st.Mode().Perm(), err, emptyDirMode)
	}
	must(t, os.WriteFile(filepath.Join(dir, "data"), []byte("kept"), 0o644))

	if _, err := Prepare(context.Background(), pod, root, Env{}); err != nil {
		t.Fatal(err)
	}
	if again := tmpfsAt(t, dir); again.id != first.id {
		t.Errorf("second setup mounted again: mount ID %d, was %d", again.id, first.id)
	}
	ms, err := readMounts()
	must(t, err)
	if n := len(mountsBelow(ms, dir)); n != 1 {
		t.Errorf("%d mounts on %q, want 1", n, dir)
	}
	if data, err := os.ReadFile(filepath.Join(dir, "data")); err != nil || string(data) != "kept" {
		t.Errorf("content after the second setup = %q, %v", data, err)
	}
}

// Teardown unmounts the pod's tmpfs, then removes the directory.
func TestTeardownPodDirUnmountsThenRemoves(t *testing.T) {
	needMounts(t)
	root := t.TempDir()
	cleanupMounts(t, root)
	pod := memoryPod("", "16Mi")
	paths, err := Prepare(context.Background(), pod, root, Env{})
	if err != nil {
		t.Fatal(err)
	}
	must(t, os.WriteFile(filepath.Join(paths["shm"], "data"), []byte("x"), 0o644))
	// A mount below the tmpfs must go first.
	nested := filepath.Join(paths["shm"], "nested")
	must(t, os.Mkdir(nested, 0o755))
	must(t, unix.Mount(fsTmpfs, nested, fsTmpfs, tmpfsFlags, "size=1m"))

	podDir := PodDir(root, pod)
	if err := TeardownPodDir(podDir); err != nil {
		t.Fatal(err)
	}
	ms, err := readMounts()
	must(t, err)
	if left := mountsBelow(ms, podDir); len(left) > 0 {
		t.Errorf("still mounted: %v", left)
	}
	if _, err := os.Stat(podDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pod directory still there: %v", err)
	}
	if err := TeardownPodDir(podDir); err != nil {
		t.Errorf("teardown of a gone directory: %v", err)
	}
}

// When an unmount fails, nothing is removed: not the directory, and not
// the content of the tmpfs through its mount point.
func TestTeardownPodDirKeepsDirWhenUnmountFails(t *testing.T) {
	needMounts(t)
	root := t.TempDir()
	cleanupMounts(t, root)
	pod := memoryPod("4Mi")
	paths, err := Prepare(context.Background(), pod, root, Env{})
	if err != nil {
		t.Fatal(err)
	}
	dir := paths["shm"]
	must(t, os.WriteFile(filepath.Join(dir, "data"), []byte("x"), 0o644))
	id := tmpfsAt(t, dir).id

	busy := errors.New("injected: device or resource busy")
	orig := unmount
	unmount = func(string) error { return busy }
	defer func() { unmount = orig }()
	err = TeardownPodDir(PodDir(root, pod))
	if !errors.Is(err, busy) || !strings.Contains(err.Error(), dir) {
		t.Errorf("error = %v, want the unmount failure naming %q", err, dir)
	}
	if m := tmpfsAt(t, dir); m.id != id {
		t.Errorf("mount changed: ID %d, was %d", m.id, id)
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); err != nil {
		t.Errorf("content of the tmpfs removed: %v", err)
	}

	unmount = orig // the next pass succeeds
	if err := TeardownPodDir(PodDir(root, pod)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(PodDir(root, pod)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pod directory still there after the retry: %v", err)
	}
}

// removeSameDevice never removes through a mount point that teardown did
// not see (one mounted after mountinfo was read).
func TestRemoveSameDeviceStopsAtMountPoints(t *testing.T) {
	needMounts(t)
	dir := t.TempDir()
	cleanupMounts(t, dir)
	mnt := filepath.Join(dir, "a", "mnt")
	must(t, os.MkdirAll(mnt, 0o755))
	must(t, unix.Mount(fsTmpfs, mnt, fsTmpfs, tmpfsFlags, "size=1m"))
	must(t, os.WriteFile(filepath.Join(mnt, "data"), nil, 0o644))
	st, err := os.Lstat(dir)
	must(t, err)
	if err := removeSameDevice(dir, deviceOf(st)); err == nil || !strings.Contains(err.Error(), "mount point") {
		t.Errorf("error = %v, want a refusal at the mount point", err)
	}
	if _, err := os.Stat(filepath.Join(mnt, "data")); err != nil {
		t.Errorf("file on the mount removed: %v", err)
	}
}

func tmpfsAt(t *testing.T, dir string) mountPoint {
	t.Helper()
	ms, err := readMounts()
	must(t, err)
	m, ok := mountAt(ms, dir)
	if !ok || m.fsType != fsTmpfs {
		t.Fatalf("%q is not a tmpfs mount (%+v, found %v)", dir, m, ok)
	}
	return m
}

func TestParseMountsUnescapes(t *testing.T) {
	in := "36 35 0:30 / /var/lib/kubelet/pods/u/volumes/kubernetes.io~empty-dir/a\\040b rw,nosuid,nodev shared:1 - tmpfs tmpfs rw,size=1024k,mode=777\n"
	ms, err := parseMounts(strings.NewReader(in))
	must(t, err)
	want := mountPoint{id: 36, path: "/var/lib/kubelet/pods/u/volumes/kubernetes.io~empty-dir/a b", fsType: "tmpfs", options: "rw,size=1024k,mode=777"}
	if len(ms) != 1 || ms[0] != want {
		t.Errorf("parsed %+v, want %+v", ms, want)
	}
	if _, err := parseMounts(strings.NewReader("garbage\n")); err == nil {
		t.Error("a malformed line is accepted")
	}
}

// mountinfo names real paths: a root dir behind a symbolic link must not
// make every setup mount again.
func TestMemoryEmptyDirBehindSymlink(t *testing.T) {
	needMounts(t)
	real := t.TempDir()
	cleanupMounts(t, real)
	root := filepath.Join(t.TempDir(), "link")
	must(t, os.Symlink(real, root))
	pod := memoryPod("4Mi")
	for range 2 {
		if _, err := Prepare(context.Background(), pod, root, Env{}); err != nil {
			t.Fatal(err)
		}
	}
	ms, err := readMounts()
	must(t, err)
	if n := len(mountsBelow(ms, real)); n != 1 {
		t.Errorf("%d mounts below %q, want 1", n, real)
	}
	if err := TeardownPodDir(PodDir(root, pod)); err != nil {
		t.Fatal(err)
	}
	if ms, _ = readMounts(); len(mountsBelow(ms, real)) != 0 {
		t.Error("tmpfs left mounted")
	}
}
