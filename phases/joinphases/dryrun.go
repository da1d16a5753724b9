package joinphases

import (
	"io"
	"path/filepath"
	"strings"

	"github.com/kubeadmin/kubeadmin/phases"
)

// realPath is where a real run writes the dry-run file rel.
func (d *JoinData) realPath(rel string) string {
	switch {
	case rel == filepath.Base(d.cfg.CACertPath):
		return d.cfg.CACertPath
	case strings.HasSuffix(rel, ".conf"):
		return filepath.Join(d.k8sDir, rel)
	}
	return filepath.Join(d.kubeletDir, rel)
}

// PrintDryRunFiles lists what a dry run of join wrote and where a real run
// would.
func PrintDryRunFiles(out io.Writer, d *JoinData) {
	phases.PrintDryRunFiles(out, d.DryRunDir(), d.realPath)
}
