package resetphases

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
)

// mountsFile is the kernel's list of this process's mounts.
const mountsFile = "/proc/self/mounts"

// MountTable is the host's mount table: what is mounted where, and how to
// unmount it.
type MountTable interface {
	// MountPoints lists every mount point.
	MountPoints() ([]string, error)
	// Unmount detaches the file system mounted at path. A path that is no
	// longer a mount point is not an error.
	Unmount(path string) error
}

// procMounts is the mount table of this machine.
type procMounts struct{}

// MountPoints reads the mount points of /proc/self/mounts.
func (procMounts) MountPoints() ([]string, error) {
	b, err := os.ReadFile(mountsFile)
	if err != nil {
		return nil, fmt.Errorf("failed to read the mount table: %w", err)
	}
	var points []string
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 1 {
			points = append(points, unescapeMountPath(f[1]))
		}
	}
	return points, nil
}

// Unmount unmounts path; EINVAL means it is not (or no longer) a mount point.
func (procMounts) Unmount(path string) error {
	if err := syscall.Unmount(path, 0); err != nil && !errors.Is(err, syscall.EINVAL) {
		return err
	}
	return nil
}

// unescapeMountPath undoes the octal escapes (\040 for a space) the kernel
// writes for white space and backslashes in mount paths.
func unescapeMountPath(s string) string {
	if !strings.Contains(s, "\\") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

// cleanDir deletes the contents of dir, keeping dir itself. Paths in keep
// (mount points that are still mounted) stay with everything below them,
// and so do the directories that lead to them; a dir that is itself in
// keep is left alone.
func cleanDir(dir string, keep []string) error {
	real, err := filepath.EvalSymlinks(dir)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if slices.Contains(keep, real) {
		return nil
	}
	return removeContents(real, keep)
}

func removeContents(dir string, keep []string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		switch {
		case slices.Contains(keep, p):
			// Still mounted: what is below belongs to another file system.
		case holds(p, keep):
			errs = append(errs, removeContents(p, keep))
		default:
			if err := os.RemoveAll(p); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// holds reports whether one of paths is below dir.
func holds(dir string, paths []string) bool {
	for _, p := range paths {
		if strings.HasPrefix(p, dir+"/") {
			return true
		}
	}
	return false
}

// unmountUnder unmounts every mount point below dir, deepest first. It
// returns the mount points that are still mounted, with an error for each;
// when the mount table cannot be read it returns dir itself, since any
// part of it may be a mount.
func unmountUnder(dir string, mt MountTable) (stillMounted []string, err error) {
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil
		}
		return []string{dir}, err
	}
	all, err := mt.MountPoints()
	if err != nil {
		return []string{real}, err
	}
	var points []string
	for _, p := range all {
		if strings.HasPrefix(p, real+"/") {
			points = append(points, p)
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(points)))
	var errs []error
	for _, p := range points {
		if err := mt.Unmount(p); err != nil {
			stillMounted = append(stillMounted, p)
			errs = append(errs, fmt.Errorf("%s: %w", p, err))
		}
	}
	return stillMounted, errors.Join(errs...)
}
