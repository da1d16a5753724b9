package initphases

import (
	"io"
	"path/filepath"
	"strings"

	"github.com/kubeadmin/kubeadmin/internal/constants"
	"github.com/kubeadmin/kubeadmin/phases"
)

// realPath is where a real run writes the dry-run file rel.
func (d *InitData) realPath(rel string) string {
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

// PrintDryRunFiles lists what a dry run of init wrote and where a real run
// would.
func PrintDryRunFiles(out io.Writer, d *InitData) {
	phases.PrintDryRunFiles(out, d.DryRunDir(), d.realPath)
}
