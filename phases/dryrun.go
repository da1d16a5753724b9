package phases

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/kubeadmin/kubeadmin/internal/constants"
)

// dryRunDirMode is the mode of the dry-run directory.
const dryRunDirMode os.FileMode = 0o700

// MakeDryRunDir creates the dry-run directory: $env if set, else a new
// temporary directory under /etc/kubernetes/tmp (falling back to the system
// temporary directory when that cannot be created, e.g. as non-root).
func MakeDryRunDir(env, prefix string) (string, error) {
	if dir := os.Getenv(env); dir != "" {
		if err := os.MkdirAll(dir, dryRunDirMode); err != nil {
			return "", fmt.Errorf("failed to create the dry-run directory %q from $%s: %w", dir, env, err)
		}
		return dir, nil
	}
	base := filepath.Join(constants.KubernetesDir, constants.TempDirName)
	if err := os.MkdirAll(base, dryRunDirMode); err != nil {
		base = os.TempDir()
	}
	dir, err := os.MkdirTemp(base, prefix)
	if err != nil {
		return "", fmt.Errorf("failed to create a temporary directory for the dry run: %w", err)
	}
	return dir, nil
}

// DryRunFiles maps each file below the dry-run directory root to the path
// a real run would write (realPath of its relative name), sorted by the
// real path.
func DryRunFiles(root string, realPath func(rel string) string) [][2]string {
	var files [][2]string
	_ = filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		files = append(files, [2]string{p, realPath(rel)})
		return nil
	})
	sort.Slice(files, func(i, j int) bool { return files[i][1] < files[j][1] })
	return files
}

// PrintDryRunFiles lists what a dry run wrote and where a real run would.
func PrintDryRunFiles(out io.Writer, root string, realPath func(rel string) string) {
	files := DryRunFiles(root, realPath)
	fmt.Fprintf(out, "[dryrun] Wrote %d files to the %q directory; a real run writes:\n", len(files), root)
	for _, f := range files {
		fmt.Fprintf(out, "[dryrun]   %s\t(from %s)\n", f[1], f[0])
	}
}
