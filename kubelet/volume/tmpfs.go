package volume

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
	v1 "k8s.io/api/core/v1"
)

// mountInfoFile lists the mounts of the agent's mount namespace.
const mountInfoFile = "/proc/self/mountinfo"

// fsTmpfs is the file system type of a Memory emptyDir.
const fsTmpfs = "tmpfs"

// emptyDirMode is the mode of every emptyDir, as upstream (containers may
// run as any user).
const emptyDirMode = 0o777

// tmpfsFlags are the mount flags of a Memory emptyDir.
const tmpfsFlags = unix.MS_NOSUID | unix.MS_NODEV

// Mount operations; tests replace unmount to make it fail.
var (
	mount   = unix.Mount
	unmount = func(target string) error { return unix.Unmount(target, 0) }
)

// mountPoint is one line of mountinfo, the fields the agent needs.
type mountPoint struct {
	id      int
	path    string
	fsType  string
	options string // per-superblock options, where tmpfs shows size=
}

// readMounts parses mountinfo (proc(5)). It is a few lines, so no
// library: moby/sys/mountinfo would be a new dependency for this alone.
func readMounts() ([]mountPoint, error) {
	f, err := os.Open(mountInfoFile)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	return parseMounts(f)
}

func parseMounts(r io.Reader) ([]mountPoint, error) {
	var out []mountPoint
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		pre, post, ok := strings.Cut(line, " - ")
		fields, tail := strings.Fields(pre), strings.Fields(post)
		if !ok || len(fields) < 5 || len(tail) < 3 {
			return nil, fmt.Errorf("%s: malformed line %q", mountInfoFile, line)
		}
		id, err := strconv.Atoi(fields[0])
		if err != nil {
			return nil, fmt.Errorf("%s: malformed mount ID in %q", mountInfoFile, line)
		}
		out = append(out, mountPoint{id: id, path: unescapeOctal(fields[4]), fsType: tail[0], options: tail[2]})
	}
	return out, sc.Err()
}

// unescapeOctal undoes the \ooo escapes of mountinfo paths (space, tab,
// newline, backslash).
func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// mountAt is the topmost mount on path p, if any.
func mountAt(mounts []mountPoint, p string) (mountPoint, bool) {
	var top mountPoint
	found := false
	for _, m := range mounts {
		if m.path == p {
			top, found = m, true // later lines are mounted on top
		}
	}
	return top, found
}

// MemoryMediumSize is the size of the tmpfs of a Memory emptyDir of pod:
// the smaller of its sizeLimit and the pod's memory limit when both
// exist, else whichever exists; ok is false for neither (no size option,
// the kernel's default of half the RAM). The pod's memory limit is the
// sum of its containers' limits, and there is none if a container has
// none. Upstream also caps by the node's allocatable memory and counts
// init containers and overhead; this agent keeps to the simple case.
func MemoryMediumSize(pod *v1.Pod, ed *v1.EmptyDirVolumeSource) (size int64, ok bool) {
	var podLimit int64
	hasPodLimit := len(pod.Spec.Containers) > 0
	for _, c := range pod.Spec.Containers {
		q, has := c.Resources.Limits[v1.ResourceMemory]
		if !has {
			hasPodLimit = false
			break
		}
		podLimit += q.Value()
	}
	hasPodLimit = hasPodLimit && podLimit > 0
	var limit int64
	hasLimit := ed.SizeLimit != nil && ed.SizeLimit.Sign() > 0
	if hasLimit {
		limit = ed.SizeLimit.Value()
	}
	switch {
	case hasLimit && hasPodLimit:
		return min(limit, podLimit), true
	case hasLimit:
		return limit, true
	case hasPodLimit:
		return podLimit, true
	}
	return 0, false
}

// setupTmpfs makes dir (which exists) a tmpfs of size bytes (none when
// !sized). A dir that is already a tmpfs is kept as it is: it is the
// volume of a running pod, adopted after an agent restart.
func setupTmpfs(dir string, size int64, sized bool) error {
	data := fmt.Sprintf("mode=%o", emptyDirMode)
	if sized {
		data += ",size=" + strconv.FormatInt(size, 10)
	}
	return tmpfsOnce(dir, data, 0)
}

// tmpfsOnce mounts a tmpfs with options data on dir unless dir is one
// already. Before mounting, it gives dir mode premode (none when 0).
func tmpfsOnce(dir, data string, premode os.FileMode) error {
	// mountinfo names real paths: the root dir may be a symbolic link.
	dir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return err
	}
	mounts, err := readMounts()
	if err != nil {
		return err
	}
	if m, ok := mountAt(mounts, dir); ok {
		if m.fsType != fsTmpfs {
			return fmt.Errorf("%q is already a %s mount, not a tmpfs; unmount it", dir, m.fsType)
		}
		return nil
	}
	if premode != 0 {
		if err := os.Chmod(dir, premode); err != nil {
			return err
		}
	}
	if err := mount(fsTmpfs, dir, fsTmpfs, tmpfsFlags, data); err != nil {
		return fmt.Errorf("failed to mount a tmpfs on %q (%s): %w", dir, data, err)
	}
	return nil
}

// TeardownPodDir removes a pod's directory: it first unmounts every
// mount at or below dir, deepest first, and removes nothing if one fails
// (the caller retries later). Removal never crosses into another file
// system, so a mount that appears meanwhile is left alone, with an error.
func TeardownPodDir(dir string) error {
	dir, err := filepath.EvalSymlinks(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	mounts, err := readMounts()
	if err != nil {
		return err
	}
	below := mountsBelow(mounts, dir)
	var errs []error
	for _, m := range below {
		if err := unmount(m.path); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, fmt.Errorf("failed to unmount %q: %w", m.path, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("pod directory %q kept: %w", dir, err)
	}
	if len(below) > 0 {
		if mounts, err = readMounts(); err != nil {
			return err
		}
		if left := mountsBelow(mounts, dir); len(left) > 0 {
			return fmt.Errorf("pod directory %q kept: %q is still mounted", dir, left[0].path)
		}
	}
	st, err := os.Lstat(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := removeSameDevice(dir, deviceOf(st)); err != nil {
		return fmt.Errorf("failed to remove the pod directory %q: %w", dir, err)
	}
	return nil
}

// mountsBelow are the mounts at or below dir, deepest first and, on one
// path, topmost first.
func mountsBelow(mounts []mountPoint, dir string) []mountPoint {
	var out []mountPoint
	for i := len(mounts) - 1; i >= 0; i-- {
		m := mounts[i]
		if m.path == dir || strings.HasPrefix(m.path, dir+"/") {
			out = append(out, m)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		return strings.Count(out[i].path, "/") > strings.Count(out[j].path, "/")
	})
	return out
}

func deviceOf(fi os.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Dev) //nolint:unconvert // Dev is not uint64 on every platform
	}
	return 0
}

// removeSameDevice is os.RemoveAll that refuses to descend into a
// directory on another device than dev (a mount point).
func removeSameDevice(p string, dev uint64) error {
	fi, err := os.Lstat(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.IsDir() {
		if deviceOf(fi) != dev {
			return fmt.Errorf("%q is a mount point; not removing through it", p)
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if err := removeSameDevice(filepath.Join(p, e.Name()), dev); err != nil {
				return err
			}
		}
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
