package initphases

import (
	"fmt"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubeadmin/kubeadmin/phases/clusterobjects"
	"github.com/kubeadmin/kubeadmin/phases/workflow"
)

func newShowJoinCommandPhase() workflow.Phase {
	return workflow.Phase{
		Name:         "show-join-command",
		Short:        "Show the join command for control-plane and worker node",
		Dependencies: []string{"bootstrap-token", "upload-certs"},
		Run:          workflow.RunAs(runShowJoinCommand),
	}
}

func runShowJoinCommand(d showJoinCommandData) error {
	admin, err := clientcmd.LoadFromFile(d.KubeConfigPath())
	if err != nil {
		return fmt.Errorf("failed to load the admin kubeconfig %q: %w", d.KubeConfigPath(), err)
	}
	cfg := d.Cfg()
	var tokens []string
	for _, t := range cfg.Init.BootstrapTokens {
		if t.Token != nil {
			tokens = append(tokens, t.Token.String())
		}
	}
	return clusterobjects.PrintSuccessBanner(d.Out(), clusterobjects.BannerOptions{
		KubeConfigPath:          d.HostKubeConfigPath(),
		Admin:                   admin,
		ControlPlaneEndpoint:    cfg.Cluster.ControlPlaneEndpoint,
		UploadCerts:             d.UploadCerts(),
		Tokens:                  tokens,
		CertificateKey:          cfg.Init.CertificateKey,
		SkipTokenPrint:          d.SkipTokenPrint(),
		SkipCertificateKeyPrint: d.SkipCertificateKeyPrint(),
	})
}
