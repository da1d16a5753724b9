package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kubeadmin/kubeadmin/certs"
	"github.com/kubeadmin/kubeadmin/internal/config"
	"github.com/kubeadmin/kubeadmin/phases/kubeconfig"
)

func runCerts(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	cmd := newCmdCerts(&out)
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	err := cmd.Execute()
	return out.String(), err
}

func TestCertsCommands(t *testing.T) {
	dir := t.TempDir()
	pki := filepath.Join(dir, "pki")
	cfg := config.DefaultInitConfig()
	cfg.Cluster.EncryptionAlgorithm = config.EncryptionAlgorithmECDSAP256
	cfg.Init.NodeRegistration.Name = "node1"
	cfg.Init.LocalAPIEndpoint.AdvertiseAddress = "10.0.0.10"
	if err := certs.CreateAll(cfg, pki, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if err := kubeconfig.CreateAll(cfg, dir, pki, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	cfgFile := filepath.Join(dir, "kubeadm.yaml")
	doc := "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nencryptionAlgorithm: ECDSA-P256\ncertificatesDir: " + pki + "\n"
	if err := os.WriteFile(cfgFile, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args    []string
		want    *regexp.Regexp
		wantErr string
	}{
		{args: []string{"certificate-key"}, want: regexp.MustCompile(`^[0-9a-f]{64}\n$`)},
		{args: []string{"check-expiration", "--cert-dir", pki, "--kubeconfig-dir", dir},
			want: regexp.MustCompile(`(?s)^CERTIFICATE +EXPIRES +RESIDUAL TIME +CERTIFICATE AUTHORITY +EXTERNALLY MANAGED\nadmin.conf .* 364d .*\nCERTIFICATE AUTHORITY +EXPIRES`)},
		{args: []string{"check-expiration", "--cert-dir", pki, "--kubeconfig-dir", dir, "-o", "json"},
			want: regexp.MustCompile(`"kind": "CertificateExpirationInfo"`)},
		{args: []string{"check-expiration", "--cert-dir", pki, "-o", "xml"}, wantErr: `"xml"`},
		{args: []string{"renew", "apiserver", "--config", cfgFile, "--kubeconfig-dir", dir},
			want: regexp.MustCompile(`^certificate for serving the Kubernetes API renewed\n$`)},
		{args: []string{"renew", "scheduler.conf", "--config", cfgFile, "--kubeconfig-dir", dir},
			want: regexp.MustCompile(`^certificate embedded in the kubeconfig file for the scheduler manager to use renewed\n$`)},
		{args: []string{"renew", "all", "--config", cfgFile, "--kubeconfig-dir", dir},
			want: regexp.MustCompile(`(?s)renewed\n\nDone renewing certificates\.`)},
		{args: []string{"renew", "apiserver", "--config", filepath.Join(dir, "missing.yaml")}, wantErr: "missing.yaml"},
		{args: []string{"renew"}, wantErr: "subcommand is required"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args[:min(2, len(tc.args))], " "), func(t *testing.T) {
			out, err := runCerts(t, tc.args...)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if !tc.want.MatchString(out) {
				t.Errorf("output does not match %s:\n%s", tc.want, out)
			}
		})
	}
}
