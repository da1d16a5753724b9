// Package fsutil writes files the way every kubeadmin package must: the
// content goes to a temporary file in the same directory, is synced, given
// its final mode, and renamed into place, and then the directory is synced
// so the rename itself survives a crash. A reader never sees a half-written
// file and a re-run converges the mode of an existing file.
package fsutil

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// WriteFileAtomic writes data to path with the given mode, creating parent
// directories with dirMode if they are missing.
func WriteFileAtomic(path string, data []byte, mode, dirMode os.FileMode) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return fmt.Errorf("failed to create directory %q: %w", dir, err)
	}
	// A name starting with "." is ignored by static-pod file sources.
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("failed to create a temporary file for %q: %w", path, err)
	}
	tmpName := tmp.Name()
	defer func() {
		if tmpName != "" {
			_ = os.Remove(tmpName)
		}
	}()
	if err := tmp.Chmod(mode); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("failed to set the mode of %q: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("failed to write %q: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("failed to sync %q: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("failed to close %q: %w", path, err)
	}
	if err := os.Rename(tmpName, path); err != nil {
		return fmt.Errorf("failed to move %q into place: %w", path, err)
	}
	tmpName = ""
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("failed to sync the directory of %q: %w", path, err)
	}
	return nil
}

// syncDir flushes a directory's entries to disk. File systems that cannot
// sync a directory (EINVAL) have nothing more to flush. A variable so that
// tests can watch it.
var syncDir = func(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return err
	}
	return nil
}

// Exists reports whether path exists (any type).
func Exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
