package volume

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kubeadmin/kubeadmin/internal/fsutil"
)

// The layout of a volume written from API objects, as upstream: the files
// live in a timestamped directory, ..data links to it, and each top-level
// name is a link into ..data. A change is a new directory and one rename
// of the ..data link, so a reader sees the old set or the new, never a mix.
const (
	dataDirName    = "..data"
	newDataDirName = "..data_tmp"
	// tsDirPattern names the timestamped directories (UTC), followed by
	// random digits.
	tsDirPattern = "..2006_01_02_15_04_05."
	tsDirMode    = 0o755
	// maxPathLength and maxNameLength bound payload paths, as the kernel.
	maxPathLength = 4096
	maxNameLength = 255
)

// projFile is one file of a volume.
type projFile struct {
	data []byte
	mode os.FileMode
	uid  *int64 // owner, when set
}

// payload is a volume's files by relative path.
type payload map[string]projFile

// ownership is what the whole volume gets after a write: group gid and
// group read (and search) permission, as upstream does for an fsGroup.
type ownership struct {
	fsGroup *int64
}

// checkPayloadPath refuses a path that could leave the volume or clash
// with the writer's own names.
func checkPayloadPath(p string) error {
	switch {
	case p == "":
		return errors.New("invalid path: must not be empty")
	case filepath.IsAbs(p):
		return fmt.Errorf("invalid path %q: must be relative", p)
	case len(p) > maxPathLength:
		return fmt.Errorf("invalid path %q: longer than %d characters", p, maxPathLength)
	}
	parts := strings.Split(p, "/")
	for _, part := range parts {
		if part == ".." {
			return fmt.Errorf("invalid path %q: must not contain '..'", p)
		}
		if len(part) > maxNameLength {
			return fmt.Errorf("invalid path %q: a name is longer than %d characters", p, maxNameLength)
		}
	}
	if strings.HasPrefix(parts[0], "..") {
		return fmt.Errorf("invalid path %q: must not start with '..'", p)
	}
	return nil
}

// writeAtomic makes dir (which exists) hold exactly files. It writes only
// when a file's content differs or a file is added or removed, and reports
// whether it did.
func writeAtomic(dir string, files payload, own ownership) (bool, error) {
	clean := payload{}
	for p, f := range files {
		if err := checkPayloadPath(p); err != nil {
			return false, err
		}
		clean[filepath.Clean(p)] = f
	}
	dataLink := filepath.Join(dir, dataDirName)
	oldTs, err := os.Readlink(dataLink)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return false, err
	}
	var stale []string
	write := true
	if oldTs != "" {
		if stale, err = stalePaths(clean, filepath.Join(dir, oldTs)); err != nil {
			return false, err
		}
		differs, err := contentDiffers(clean, filepath.Join(dir, oldTs))
		if err != nil {
			return false, err
		}
		write = differs || len(stale) > 0
	}
	if write {
		if err := swapData(dir, clean, own); err != nil {
			return false, err
		}
	}
	if err := linkVisible(dir, clean); err != nil {
		return false, err
	}
	for _, p := range stale {
		if !strings.Contains(p, "/") {
			if err := os.Remove(filepath.Join(dir, p)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return false, err
			}
		}
	}
	if write {
		if err := removeOldTsDirs(dir); err != nil {
			return false, err
		}
	}
	return write, nil
}

// swapData writes files into a new timestamped directory and points
// ..data at it.
func swapData(dir string, files payload, own ownership) error {
	ts, err := os.MkdirTemp(dir, time.Now().UTC().Format(tsDirPattern))
	if err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			_ = os.RemoveAll(ts)
		}
	}()
	if err := os.Chmod(ts, tsDirMode); err != nil {
		return err
	}
	for p, f := range files {
		full := filepath.Join(ts, p)
		if err := mkdirAllMode(ts, filepath.Dir(p)); err != nil {
			return err
		}
		if err := fsutil.WriteFileAtomic(full, f.data, f.mode, tsDirMode); err != nil {
			return err
		}
		if f.uid != nil {
			if err := os.Lchown(full, int(*f.uid), -1); err != nil {
				return fmt.Errorf("failed to set the owner of %q: %w", full, err)
			}
		}
	}
	if own.fsGroup != nil {
		if err := applyFSGroup(dir, *own.fsGroup); err != nil {
			return err
		}
	}
	tmpLink := filepath.Join(dir, newDataDirName)
	if err := os.Remove(tmpLink); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := os.Symlink(filepath.Base(ts), tmpLink); err != nil {
		return err
	}
	if err := os.Rename(tmpLink, filepath.Join(dir, dataDirName)); err != nil {
		_ = os.Remove(tmpLink)
		return err
	}
	ok = true
	return syncDir(dir)
}

// mkdirAllMode creates rel below base, each new directory tsDirMode
// whatever the umask.
func mkdirAllMode(base, rel string) error {
	if rel == "." {
		return nil
	}
	cur := base
	for _, part := range strings.Split(rel, "/") {
		cur = filepath.Join(cur, part)
		if err := os.Mkdir(cur, tsDirMode); err != nil {
			if errors.Is(err, os.ErrExist) {
				continue
			}
			return err
		}
		if err := os.Chmod(cur, tsDirMode); err != nil {
			return err
		}
	}
	return nil
}

// contentDiffers reports whether a file of files is missing from oldTs or
// has other content (or cannot be read). Modes are not compared: they only change with the
// pod's spec, and an fsGroup changes them on purpose.
func contentDiffers(files payload, oldTs string) (bool, error) {
	for p, f := range files {
		old, err := os.ReadFile(filepath.Join(oldTs, p))
		if err != nil {
			// Missing, or not a file (a directory where a file now goes):
			// write anew, which reports a real failure.
			return true, nil
		}
		if !bytes.Equal(old, f.data) {
			return true, nil
		}
	}
	return false, nil
}

// stalePaths are the paths in oldTs that files no longer has (neither as
// a file nor as a parent directory of one).
func stalePaths(files payload, oldTs string) ([]string, error) {
	keep := map[string]bool{}
	for p := range files {
		for d := p; d != "." && d != "/"; d = filepath.Dir(d) {
			keep[d] = true
		}
	}
	var out []string
	err := filepath.WalkDir(oldTs, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(oldTs, p)
		if rel != "." && !keep[rel] {
			out = append(out, rel)
		}
		return nil
	})
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	sort.Strings(out)
	return out, err
}

// linkVisible creates the link ..data/<name> for each top-level name of
// files that has none, owned as its file when that has an owner.
func linkVisible(dir string, files payload) error {
	for p, f := range files {
		top, _, _ := strings.Cut(p, "/")
		link := filepath.Join(dir, top)
		if _, err := os.Lstat(link); err == nil {
			continue
		} else if !errors.Is(err, os.ErrNotExist) {
			return err
		}
		if err := os.Symlink(filepath.Join(dataDirName, top), link); err != nil {
			return err
		}
		if f.uid != nil {
			if err := os.Lchown(link, int(*f.uid), -1); err != nil {
				return fmt.Errorf("failed to set the owner of %q: %w", link, err)
			}
		}
	}
	return nil
}

// removeOldTsDirs removes every timestamped directory that ..data does
// not point to: the one just replaced, and any a crash left behind.
func removeOldTsDirs(dir string) error {
	cur, err := os.Readlink(filepath.Join(dir, dataDirName))
	if err != nil {
		return err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		n := e.Name()
		if !e.IsDir() || n == cur || !strings.HasPrefix(n, "..") || n == dataDirName {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, n)); err != nil {
			return err
		}
	}
	return nil
}

// syncDir flushes dir's entries (the renamed link) to disk; file systems
// that cannot sync a directory have nothing to flush.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer func() { _ = d.Close() }()
	if err := d.Sync(); err != nil && !errors.Is(err, unix.EINVAL) {
		return err
	}
	return nil
}
