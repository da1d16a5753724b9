package initphases

import (
	"fmt"

	"k8s.io/client-go/kubernetes"

	"github.com/kubeadmin/kubeadmin/certs"
	"github.com/kubeadmin/kubeadmin/internal/constants"
	"github.com/kubeadmin/kubeadmin/phases"
	"github.com/kubeadmin/kubeadmin/phases/clusterobjects"
	"github.com/kubeadmin/kubeadmin/phases/workflow"
)

func newUploadCertsPhase() workflow.Phase {
	return workflow.Phase{
		Name:         "upload-certs",
		Short:        fmt.Sprintf("Upload certificates to %s", constants.KubeadmCertsSecret),
		Long:         fmt.Sprintf("Upload control plane certificates to the %s Secret", constants.KubeadmCertsSecret),
		InheritFlags: []string{phases.FlagConfig, phases.FlagKubeconfig, phases.FlagUploadCerts, phases.FlagCertificateKey, phases.FlagSkipCertificateKeyPrint, phases.FlagDryRun},
		Run:          withClient(runUploadCerts),
	}
}

func runUploadCerts(d uploadCertsData, c kubernetes.Interface) error {
	if !d.UploadCerts() {
		fmt.Fprintf(d.Out(), "[upload-certs] Skipping phase. Please see --%s\n", phases.FlagUploadCerts)
		return nil
	}
	cfg := d.Cfg()
	if cfg.Init.CertificateKey == "" {
		key, err := certs.CreateCertificateKey()
		if err != nil {
			return err
		}
		cfg.Init.CertificateKey = key
	}
	if err := clusterobjects.UploadCerts(c, cfg, d.CertificateWriteDir(), cfg.Init.CertificateKey, d.Out()); err != nil {
		return err
	}
	if !d.SkipCertificateKeyPrint() {
		fmt.Fprintf(d.Out(), "[upload-certs] Using certificate key:\n%s\n", cfg.Init.CertificateKey)
	}
	return nil
}
