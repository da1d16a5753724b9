package app

import (
	"context"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/kubeadmin/kubeadmin/internal/constants"
	"github.com/kubeadmin/kubeadmin/kubelet/certificate"
	"github.com/kubeadmin/kubeadmin/kubelet/options"
	"github.com/kubeadmin/kubeadmin/kubelet/server"
)

// certDir is where the agent keeps its certificates (<root-dir>/pki).
func certDir(cfg *options.Config) string {
	return filepath.Join(cfg.RootDir, constants.KubeletPKIDirName)
}

// clientCertOptions are the TLS bootstrap's and client rotation's options.
func clientCertOptions(cfg *options.Config, logger *log.Logger) certificate.Options {
	return certificate.Options{
		NodeName: cfg.NodeName, KubeConfig: cfg.KubeConfig, BootstrapKubeConfig: cfg.BootstrapKubeConfig,
		CertDir: certDir(cfg), Rotate: cfg.RotateCertificates, Logger: logger,
	}
}

// servingCertificate switches the kubelet API to a serving certificate
// requested from the cluster with serverTLSBootstrap; without it the
// server keeps its self-signed pair (or tlsCertFile).
func (cs *clusterSide) servingCertificate(ctx context.Context, so *server.Options) error {
	if !cs.cfg.ServerTLSBootstrap {
		return nil
	}
	host, _ := os.Hostname()
	m, err := certificate.StartServing(ctx, certificate.ServingOptions{
		NodeName: cs.cfg.NodeName, Hostname: strings.ToLower(host), NodeIPs: []string{cs.nodeIP},
		CertDir: certDir(cs.cfg), CertFile: cs.cfg.Kubelet.TLSCertFile, KeyFile: cs.cfg.Kubelet.TLSPrivateKeyFile,
		Client: cs.client, Logger: cs.logger,
	})
	if err != nil {
		return err
	}
	so.GetCertificate = certificate.GetCertificate(m)
	return nil
}
