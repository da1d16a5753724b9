package phases

import (
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"

	"github.com/kubeadmin/kubeadmin/internal/constants"
)

// DryRunFiles maps each file written to the dry-run directory to the path
// a real run would write, sorted by real path.
func DryRunFiles(d *InitData) [][2]string {
	var files [][2]string
	root := d.DryRunDir()
	_ = filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		files = append(files, [2]string{p, realPath(d, rel)})
		return nil
	})
	sort.Slice(files, func(i, j int) bool { return files[i][1] < files[j][1] })
	return files
}

// realPath is where a real run writes the dry-run file rel.
func realPath(d *InitData, rel string) string {
	switch {
	case strings.HasSuffix(rel, ".crt") || strings.HasSuffix(rel, ".key") || strings.HasSuffix(rel, ".pub"):
		return filepath.Join(d.CertificateDir(), rel)
	case strings.HasSuffix(rel, ".conf"):
		return filepath.Join(d.kubeconfigDir, rel)
	case rel == constants.KubeletConfigFile || rel == constants.KubeletInstanceFile || rel == constants.KubeletFlagsEnvFile:
		return filepath.Join(constants.KubeletRunDir, rel)
	case strings.HasSuffix(rel, ".yaml"):
		return filepath.Join(d.kubeconfigDir, constants.ManifestsSubDirName, rel)
	}
	return filepath.Join("/", rel)
}

// PrintDryRunFiles lists what a dry run wrote and where a real run would.
func PrintDryRunFiles(out io.Writer, d *InitData) {
	files := DryRunFiles(d)
	fmt.Fprintf(out, "[dryrun] Wrote %d files to the %q directory; a real run writes:\n", len(files), d.DryRunDir())
	for _, f := range files {
		fmt.Fprintf(out, "[dryrun]   %s\t(from %s)\n", f[1], f[0])
	}
}
