package volume

import (
	"io/fs"
	"path/filepath"
	"syscall"

	v1 "k8s.io/api/core/v1"
)

// EmptyDirUsage is the disk space used below the emptyDir volume name of
// pod, in bytes of allocated blocks (as du counts them), staying on the
// volume's file system; hard links are counted once.
func EmptyDirUsage(rootDir string, pod *v1.Pod, name string) (int64, error) {
	dir := emptyDirPath(rootDir, pod, name)
	var root syscall.Stat_t
	if err := syscall.Lstat(dir, &root); err != nil {
		return 0, err
	}
	seen := map[uint64]bool{}
	var total int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // gone meanwhile, or unreadable: not counted
		}
		var st syscall.Stat_t
		if syscall.Lstat(p, &st) != nil {
			return nil
		}
		if st.Dev != root.Dev {
			return filepath.SkipDir
		}
		if st.Nlink > 1 && !d.IsDir() {
			if seen[st.Ino] {
				return nil
			}
			seen[st.Ino] = true
		}
		total += st.Blocks * 512
		return nil
	})
	return total, err
}
