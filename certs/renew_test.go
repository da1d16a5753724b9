package certs_test

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	certutil "k8s.io/client-go/util/cert"
	"sigs.k8s.io/yaml"

	"github.com/kubeadmin/kubeadmin/certs"
	"github.com/kubeadmin/kubeadmin/internal/config"
	"github.com/kubeadmin/kubeadmin/phases/kubeconfig"
)

// cluster creates the whole PKI in <dir>/pki and the kubeconfigs in dir.
func cluster(t *testing.T, cfg *config.InitConfig) (dir, pki string) {
	t.Helper()
	dir = t.TempDir()
	pki = filepath.Join(dir, "pki")
	mustCreateAll(t, cfg, pki)
	if err := kubeconfig.CreateAll(cfg, dir, pki, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	return dir, pki
}

func kubeconfigCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	kc, err := clientcmd.LoadFromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	user := kc.AuthInfos[kc.Contexts[kc.CurrentContext].AuthInfo]
	cs, err := certutil.ParseCertsPEM(user.ClientCertificateData)
	if err != nil {
		t.Fatal(err)
	}
	return cs[0]
}

func TestRenewKeepsIdentityAndChangesKey(t *testing.T) {
	quiet(t)
	cfg := newConfig(config.EncryptionAlgorithmECDSAP256)
	dir, pki := cluster(t, cfg)
	// Renewal uses the configured validity, not the old certificate's.
	cfg.Cluster.CertificateValidityPeriod.Duration = 30 * 24 * time.Hour
	tests := []struct {
		name, path string
		read       func(t *testing.T, path string) *x509.Certificate
		line       string
	}{
		{"apiserver", filepath.Join(pki, "apiserver.crt"), readCert, "certificate for serving the Kubernetes API renewed\n"},
		{"etcd-peer", filepath.Join(pki, "etcd/peer.crt"), readCert, "certificate for etcd nodes to communicate with each other renewed\n"},
		{"admin.conf", filepath.Join(dir, "admin.conf"), kubeconfigCert, "certificate embedded in the kubeconfig file for the admin to use and for kubeadm itself renewed\n"},
		{"scheduler.conf", filepath.Join(dir, "scheduler.conf"), kubeconfigCert, "certificate embedded in the kubeconfig file for the scheduler manager to use renewed\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			old := tc.read(t, tc.path)
			var out bytes.Buffer
			if err := certs.Renew(tc.name, cfg, pki, dir, &out); err != nil {
				t.Fatal(err)
			}
			if out.String() != tc.line {
				t.Errorf("output = %q, want %q", out.String(), tc.line)
			}
			renewed := tc.read(t, tc.path)
			if renewed.Subject.CommonName != old.Subject.CommonName || !slices.Equal(renewed.Subject.Organization, old.Subject.Organization) {
				t.Errorf("subject changed: %v -> %v", old.Subject, renewed.Subject)
			}
			if !slices.Equal(renewed.DNSNames, old.DNSNames) || !slices.Equal(ipStrings(renewed.IPAddresses), ipStrings(old.IPAddresses)) {
				t.Errorf("SANs changed: %v %v -> %v %v", old.DNSNames, old.IPAddresses, renewed.DNSNames, renewed.IPAddresses)
			}
			if !slices.Equal(renewed.ExtKeyUsage, old.ExtKeyUsage) {
				t.Errorf("ExtKeyUsage changed: %v -> %v", old.ExtKeyUsage, renewed.ExtKeyUsage)
			}
			if bytes.Equal(renewed.RawSubjectPublicKeyInfo, old.RawSubjectPublicKeyInfo) {
				t.Error("the key was not changed")
			}
			if renewed.SerialNumber.Cmp(old.SerialNumber) == 0 {
				t.Error("the serial was not changed")
			}
			if got := renewed.NotAfter.Sub(renewed.NotBefore); got != 30*24*time.Hour+5*time.Minute {
				t.Errorf("validity span = %v, want 720h5m", got)
			}
		})
	}
	// The renewed kubeconfig still works with its new key.
	kc, err := clientcmd.LoadFromFile(filepath.Join(dir, "admin.conf"))
	if err != nil {
		t.Fatal(err)
	}
	user := kc.AuthInfos[kc.Contexts[kc.CurrentContext].AuthInfo]
	if _, err := certutilPair(user.ClientCertificateData, user.ClientKeyData); err != nil {
		t.Errorf("admin.conf cert and key do not match: %v", err)
	}
	if _, _, err := certs.LoadCertAndKey(pki, "apiserver"); err != nil {
		t.Errorf("apiserver cert and key do not match: %v", err)
	}
}

func certutilPair(certPEM, keyPEM []byte) (bool, error) {
	dir, err := os.MkdirTemp("", "pair")
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "x.crt"), certPEM, 0o600); err != nil {
		return false, err
	}
	if err := os.WriteFile(filepath.Join(dir, "x.key"), keyPEM, 0o600); err != nil {
		return false, err
	}
	_, _, err = certs.LoadCertAndKey(dir, "x")
	return err == nil, err
}

func TestRenewAllAndSpecialCases(t *testing.T) {
	quiet(t)
	cfg := newConfig(config.EncryptionAlgorithmECDSAP256)
	dir, pki := cluster(t, cfg)
	if err := os.Remove(filepath.Join(dir, "super-admin.conf")); err != nil {
		t.Fatal(err)
	}
	// External front-proxy CA: its client can't be renewed.
	if err := os.Remove(filepath.Join(pki, "front-proxy-ca.key")); err != nil {
		t.Fatal(err)
	}
	fpBefore, _ := os.ReadFile(filepath.Join(pki, "front-proxy-client.crt"))
	var out bytes.Buffer
	if err := certs.RenewAll(cfg, pki, dir, &out); err != nil {
		t.Fatal(err)
	}
	want := `certificate embedded in the kubeconfig file for the admin to use and for kubeadm itself renewed
certificate for serving the Kubernetes API renewed
certificate the apiserver uses to access etcd renewed
certificate for the API server to connect to kubelet renewed
certificate embedded in the kubeconfig file for the controller manager to use renewed
certificate for liveness probes to healthcheck etcd renewed
certificate for etcd nodes to communicate with each other renewed
certificate for serving etcd renewed
Detected external front-proxy-ca, certificate for the front proxy client can't be renewed
certificate embedded in the kubeconfig file for the scheduler manager to use renewed
MISSING! certificate embedded in the kubeconfig file for the super-admin

Done renewing certificates. You must restart the kube-apiserver, kube-controller-manager, kube-scheduler and etcd, so that they can use the new certificates.
`
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
	fpAfter, _ := os.ReadFile(filepath.Join(pki, "front-proxy-client.crt"))
	if !bytes.Equal(fpBefore, fpAfter) {
		t.Error("front-proxy-client was rewritten with an external CA")
	}
	if err := certs.Renew("kubelet.conf", cfg, pki, dir, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "kubelet.conf is not a valid certificate") {
		t.Errorf("renew kubelet.conf: err = %v", err)
	}
}

func TestCheckExpiration(t *testing.T) {
	quiet(t)
	cfg := newConfig(config.EncryptionAlgorithmECDSAP256)
	dir, pki := cluster(t, cfg)
	if err := os.Remove(filepath.Join(dir, "super-admin.conf")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(pki, "etcd/ca.key")); err != nil {
		t.Fatal(err)
	}
	now := certs.StartTime().Truncate(time.Second).Add(24 * time.Hour)
	info, err := certs.CheckExpiration(cfg, pki, dir, now)
	if err != nil {
		t.Fatal(err)
	}
	leafDate := certs.StartTime().Add(365 * 24 * time.Hour).Format("Jan 02, 2006 15:04 MST")
	caDate := certs.StartTime().Add(3650 * 24 * time.Hour).Format("Jan 02, 2006 15:04 MST")

	t.Run("text", func(t *testing.T) {
		var buf bytes.Buffer
		if err := certs.PrintExpiration(&buf, info, "text"); err != nil {
			t.Fatal(err)
		}
		golden, err := os.ReadFile("testdata/check-expiration.txt")
		if err != nil {
			t.Fatal(err)
		}
		want := strings.NewReplacer("LEAF_DATE_____________", leafDate, "CA_DATE_______________", caDate).Replace(string(golden))
		if buf.String() != want {
			t.Errorf("text output:\n%s\nwant:\n%s", buf.String(), want)
		}
	})

	t.Run("json", func(t *testing.T) {
		var buf bytes.Buffer
		if err := certs.PrintExpiration(&buf, info, "json"); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(buf.String(), "{\n    \"kind\": \"CertificateExpirationInfo\",\n    \"apiVersion\": \"output.kubeadm.k8s.io/v1alpha3\",\n") {
			t.Errorf("JSON header:\n%s", buf.String())
		}
		checkDecoded(t, buf.Bytes(), json.Unmarshal)
	})

	t.Run("yaml", func(t *testing.T) {
		var buf bytes.Buffer
		if err := certs.PrintExpiration(&buf, info, "yaml"); err != nil {
			t.Fatal(err)
		}
		for _, line := range []string{"apiVersion: output.kubeadm.k8s.io/v1alpha3\n", "kind: CertificateExpirationInfo\n", "- caName: ca\n"} {
			if !strings.Contains(buf.String(), line) {
				t.Errorf("YAML lacks %q:\n%s", line, buf.String())
			}
		}
		checkDecoded(t, buf.Bytes(), func(b []byte, v any) error { return yaml.Unmarshal(b, v) })
	})

	t.Run("unknown format", func(t *testing.T) {
		if err := certs.PrintExpiration(&bytes.Buffer{}, info, "xml"); err == nil || !strings.Contains(err.Error(), `"xml"`) {
			t.Errorf("err = %v", err)
		}
	})
}

// checkDecoded decodes structured output independently and checks it.
func checkDecoded(t *testing.T, data []byte, unmarshal func([]byte, any) error) {
	t.Helper()
	var got struct {
		APIVersion   string `json:"apiVersion"`
		Kind         string `json:"kind"`
		Certificates []struct {
			Name           string `json:"name"`
			ExpirationDate string `json:"expirationDate"`
			Residual       int64  `json:"residualTime"`
			External       bool   `json:"externallyManaged"`
			CAName         string `json:"caName"`
			Missing        bool   `json:"missing"`
		} `json:"certificates"`
		CAs []struct {
			Name     string `json:"name"`
			External bool   `json:"externallyManaged"`
			Residual int64  `json:"residualTime"`
		} `json:"certificateAuthorities"`
	}
	if err := unmarshal(data, &got); err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	if got.APIVersion != "output.kubeadm.k8s.io/v1alpha3" || got.Kind != "CertificateExpirationInfo" {
		t.Errorf("type = %s %s", got.APIVersion, got.Kind)
	}
	var names []string
	for _, c := range got.Certificates {
		names = append(names, c.Name)
		switch c.Name {
		case "super-admin.conf":
			if !c.Missing {
				t.Error("super-admin.conf not missing")
			}
		case "apiserver":
			if c.Residual != 364*24*3600 || c.CAName != "ca" || c.External {
				t.Errorf("apiserver = %+v", c)
			}
			want := certs.StartTime().Add(365 * 24 * time.Hour).Truncate(time.Second).UTC().Format(time.RFC3339)
			if c.ExpirationDate != want {
				t.Errorf("apiserver expirationDate = %s, want %s", c.ExpirationDate, want)
			}
		case "etcd-server":
			if !c.External || c.CAName != "etcd-ca" {
				t.Errorf("etcd-server = %+v, want externally managed by etcd-ca", c)
			}
		}
	}
	wantNames := []string{"admin.conf", "apiserver", "apiserver-etcd-client", "apiserver-kubelet-client", "controller-manager.conf",
		"etcd-healthcheck-client", "etcd-peer", "etcd-server", "front-proxy-client", "scheduler.conf", "super-admin.conf"}
	if !slices.Equal(names, wantNames) {
		t.Errorf("certificates = %v, want %v", names, wantNames)
	}
	if len(got.CAs) != 3 || got.CAs[0].Name != "ca" || got.CAs[1].Name != "etcd-ca" || !got.CAs[1].External || got.CAs[2].Name != "front-proxy-ca" {
		t.Errorf("CAs = %+v", got.CAs)
	}
}

func TestKubeletClientExpiration(t *testing.T) {
	quiet(t)
	cfg := newConfig(config.EncryptionAlgorithmECDSAP256)
	dir, _ := cluster(t, cfg)
	now := certs.StartTime().Add(24 * time.Hour)
	kubeletConf := filepath.Join(dir, "kubelet.conf")
	embedded, err := certs.KubeletClientExpiration(kubeletConf, now)
	if err != nil || embedded == nil {
		t.Fatalf("embedded certificate: %v %v", embedded, err)
	}
	// Once the agent rotates, kubelet.conf names the current pem instead.
	kc, err := clientcmd.LoadFromFile(kubeletConf)
	if err != nil {
		t.Fatal(err)
	}
	user := kc.AuthInfos[kc.Contexts[kc.CurrentContext].AuthInfo]
	pem := filepath.Join(dir, "kubelet-client-current.pem")
	if err := os.WriteFile(pem, append(user.ClientCertificateData, user.ClientKeyData...), 0o600); err != nil {
		t.Fatal(err)
	}
	user.ClientCertificateData, user.ClientKeyData, user.ClientCertificate, user.ClientKey = nil, nil, pem, pem
	if err := clientcmd.WriteToFile(*kc, kubeletConf); err != nil {
		t.Fatal(err)
	}
	rotated, err := certs.KubeletClientExpiration(kubeletConf, now)
	if err != nil || rotated == nil || !rotated.ExpirationDate.Equal(&embedded.ExpirationDate) {
		t.Fatalf("certificate from the file kubelet.conf names: %v %v (embedded: %v)", rotated, err, embedded)
	}
	var buf bytes.Buffer
	if err := certs.PrintExpiration(&buf, &certs.CertificateExpirationInfo{KubeletClient: rotated}, "text"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "KUBELET CLIENT CERTIFICATE") || !strings.Contains(buf.String(), "kubelet.conf ") {
		t.Errorf("text output has no kubelet client table:\n%s", buf.String())
	}
	if missing, err := certs.KubeletClientExpiration(filepath.Join(dir, "nope.conf"), now); missing != nil || err != nil {
		t.Errorf("missing kubelet.conf: %v %v", missing, err)
	}
}
