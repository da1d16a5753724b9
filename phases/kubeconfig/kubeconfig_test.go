package kubeconfig_test

import (
	"bytes"
	"crypto/x509"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	certutil "k8s.io/client-go/util/cert"

	"github.com/kubeadmin/kubeadmin/certs"
	"github.com/kubeadmin/kubeadmin/internal/config"
	"github.com/kubeadmin/kubeadmin/phases/kubeconfig"
)

func newConfig(cpe string) *config.InitConfig {
	cfg := &config.InitConfig{}
	config.SetDefaultsInit(&cfg.Init)
	config.SetDefaultsCluster(&cfg.Cluster)
	cfg.Init.NodeRegistration.Name = "node1"
	cfg.Init.LocalAPIEndpoint.AdvertiseAddress = "10.0.0.10"
	cfg.Cluster.EncryptionAlgorithm = config.EncryptionAlgorithmECDSAP256
	cfg.Cluster.ControlPlaneEndpoint = cpe
	return cfg
}

func quiet(t *testing.T) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	old := certs.Warnings
	certs.Warnings = &buf
	t.Cleanup(func() { certs.Warnings = old })
	return &buf
}

// setup creates the CA in <dir>/pki and all kubeconfig files in dir.
func setup(t *testing.T, cfg *config.InitConfig) (dir, pki, output string) {
	t.Helper()
	dir = t.TempDir()
	pki = filepath.Join(dir, "pki")
	if err := certs.CreateCert("ca", cfg, pki, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := kubeconfig.CreateAll(cfg, dir, pki, &out); err != nil {
		t.Fatalf("CreateAll: %v\n%s", err, out.String())
	}
	return dir, pki, out.String()
}

func load(t *testing.T, path string) (*clientcmdapi.Config, *x509.Certificate) {
	t.Helper()
	kc, err := clientcmd.LoadFromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := kc.Contexts[kc.CurrentContext]
	if ctx == nil {
		t.Fatalf("%s: no current context %q", path, kc.CurrentContext)
	}
	user := kc.AuthInfos[ctx.AuthInfo]
	if user == nil {
		t.Fatalf("%s: no user %q", path, ctx.AuthInfo)
	}
	cs, err := certutil.ParseCertsPEM(user.ClientCertificateData)
	if err != nil {
		t.Fatal(err)
	}
	return kc, cs[0]
}

func TestKubeconfigIdentitiesAndServers(t *testing.T) {
	quiet(t)
	tests := []struct {
		name, cpe, adminServer string
	}{
		{"no controlPlaneEndpoint", "", "https://10.0.0.10:6443"},
		{"DNS controlPlaneEndpoint without port", "lb.example.com", "https://lb.example.com:6443"},
		{"IP controlPlaneEndpoint with port", "10.0.0.100:8443", "https://10.0.0.100:8443"},
		{"IPv6 controlPlaneEndpoint", "[fd00::1]:6443", "https://[fd00::1]:6443"},
	}
	files := []struct {
		file, user string
		orgs       []string
		cpe        bool
	}{
		{"admin.conf", "kubernetes-admin", []string{"kubeadm:cluster-admins"}, true},
		{"super-admin.conf", "kubernetes-super-admin", []string{"system:masters"}, true},
		{"kubelet.conf", "system:node:node1", []string{"system:nodes"}, false},
		{"controller-manager.conf", "system:kube-controller-manager", nil, false},
		{"scheduler.conf", "system:kube-scheduler", nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := newConfig(tc.cpe)
			dir, pki, out := setup(t, cfg)
			wantOut := `[kubeconfig] Writing "admin.conf" kubeconfig file
[kubeconfig] Writing "super-admin.conf" kubeconfig file
[kubeconfig] Writing "kubelet.conf" kubeconfig file
[kubeconfig] Writing "controller-manager.conf" kubeconfig file
[kubeconfig] Writing "scheduler.conf" kubeconfig file
`
			if out != wantOut {
				t.Errorf("output:\n%s\nwant:\n%s", out, wantOut)
			}
			ca, err := certs.LoadCert(filepath.Join(pki, "ca.crt"))
			if err != nil {
				t.Fatal(err)
			}
			caPEM, err := os.ReadFile(filepath.Join(pki, "ca.crt"))
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range files {
				path := filepath.Join(dir, f.file)
				kc, cert := load(t, path)
				wantServer := "https://10.0.0.10:6443"
				if f.cpe {
					wantServer = tc.adminServer
				}
				ctxName := f.user + "@kubernetes"
				if kc.CurrentContext != ctxName || kc.Contexts[ctxName].Cluster != "kubernetes" || kc.Contexts[ctxName].AuthInfo != f.user {
					t.Errorf("%s: context %q = %+v", f.file, kc.CurrentContext, kc.Contexts[kc.CurrentContext])
				}
				cluster := kc.Clusters["kubernetes"]
				if cluster == nil || cluster.Server != wantServer {
					t.Errorf("%s: cluster = %+v, want server %s", f.file, cluster, wantServer)
				} else if !bytes.Equal(cluster.CertificateAuthorityData, caPEM) {
					t.Errorf("%s: embedded CA differs from ca.crt", f.file)
				}
				if cert.Subject.CommonName != f.user || !slices.Equal(cert.Subject.Organization, f.orgs) {
					t.Errorf("%s: subject CN=%q O=%v, want %q %v", f.file, cert.Subject.CommonName, cert.Subject.Organization, f.user, f.orgs)
				}
				if !slices.Equal(cert.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}) || cert.IsCA {
					t.Errorf("%s: ExtKeyUsage %v CA %v", f.file, cert.ExtKeyUsage, cert.IsCA)
				}
				if err := cert.CheckSignatureFrom(ca); err != nil {
					t.Errorf("%s: client cert not signed by the CA: %v", f.file, err)
				}
				if !cert.NotBefore.Equal(ca.NotBefore) {
					t.Errorf("%s: NotBefore %v, want the CA's %v", f.file, cert.NotBefore, ca.NotBefore)
				}
				if want := certs.StartTime().Add(365 * 24 * time.Hour).Truncate(time.Second); !cert.NotAfter.Equal(want) {
					t.Errorf("%s: NotAfter %v, want %v", f.file, cert.NotAfter, want)
				}
				st, err := os.Stat(path)
				if err != nil {
					t.Fatal(err)
				}
				if st.Mode().Perm() != 0o600 {
					t.Errorf("%s: mode %o, want 600", f.file, st.Mode().Perm())
				}
			}
		})
	}
}

func TestReuseAndMismatch(t *testing.T) {
	cfg := newConfig("")
	warn := quiet(t)
	dir, pki, _ := setup(t, cfg)
	before, err := os.ReadFile(filepath.Join(dir, "admin.conf"))
	if err != nil {
		t.Fatal(err)
	}

	// Second run: everything reused, byte-identical.
	var out bytes.Buffer
	if err := kubeconfig.CreateAll(cfg, dir, pki, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `[kubeconfig] Using existing kubeconfig file: "`+filepath.Join(dir, "admin.conf")+`"`) {
		t.Errorf("output lacks the reuse line:\n%s", out.String())
	}
	after, _ := os.ReadFile(filepath.Join(dir, "admin.conf"))
	if !bytes.Equal(before, after) {
		t.Error("admin.conf changed on reuse")
	}
	if warn.Len() != 0 {
		t.Errorf("unexpected warnings: %s", warn.String())
	}

	// A different server URL only warns.
	cfg.Cluster.ControlPlaneEndpoint = "lb.example.com"
	if err := kubeconfig.CreateKubeConfigFile("admin", cfg, dir, pki, &bytes.Buffer{}); err != nil {
		t.Fatalf("server mismatch must only warn: %v", err)
	}
	if !strings.Contains(warn.String(), "unexpected API Server URL: expected: https://lb.example.com:6443, got: https://10.0.0.10:6443") {
		t.Errorf("warnings = %q", warn.String())
	}

	// A different CA is an error naming the file.
	for _, f := range []string{"ca.crt", "ca.key"} {
		if err := os.Remove(filepath.Join(pki, f)); err != nil {
			t.Fatal(err)
		}
	}
	if err := certs.CreateCert("ca", cfg, pki, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	err = kubeconfig.CreateKubeConfigFile("scheduler.conf", cfg, dir, pki, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "scheduler.conf")) || !strings.Contains(err.Error(), "does not trust the CA") {
		t.Errorf("err = %v, want a CA mismatch error naming scheduler.conf", err)
	}
}

func TestExternalCA(t *testing.T) {
	quiet(t)
	cfg := newConfig("")
	dir, pki, _ := setup(t, cfg)
	if err := os.Remove(filepath.Join(pki, "ca.key")); err != nil {
		t.Fatal(err)
	}
	if err := kubeconfig.ValidateForExternalCA(cfg, dir, pki); err != nil {
		t.Fatalf("ValidateForExternalCA: %v", err)
	}
	var out bytes.Buffer
	if err := kubeconfig.CreateKubeConfigFile("admin.conf", cfg, dir, pki, &out); err != nil {
		t.Fatal(err)
	}
	if want := "[kubeconfig] External CA mode: Using user provided admin.conf\n"; out.String() != want {
		t.Errorf("output = %q, want %q", out.String(), want)
	}
	if err := os.Remove(filepath.Join(dir, "kubelet.conf")); err != nil {
		t.Fatal(err)
	}
	if err := kubeconfig.CreateKubeConfigFile("kubelet", cfg, dir, pki, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "kubelet.conf") {
		t.Errorf("missing kubelet.conf in external CA mode: err = %v", err)
	}
	if err := kubeconfig.ValidateForExternalCA(cfg, dir, pki); err == nil || !strings.Contains(err.Error(), "kubelet.conf") {
		t.Errorf("ValidateForExternalCA without kubelet.conf: err = %v", err)
	}
}

func TestMissingCA(t *testing.T) {
	dir := t.TempDir()
	err := kubeconfig.CreateKubeConfigFile("admin.conf", newConfig(""), dir, filepath.Join(dir, "pki"), &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "kubeadmin init phase certs ca") {
		t.Errorf("err = %v, want a hint to create the CA", err)
	}
}

func TestBadEndpoints(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(cfg *config.InitConfig)
		want   string
	}{
		{"bad advertise address", func(c *config.InitConfig) { c.Init.LocalAPIEndpoint.AdvertiseAddress = "10.0.0" }, "localAPIEndpoint.advertiseAddress"},
		{"bad bind port", func(c *config.InitConfig) { c.Init.LocalAPIEndpoint.BindPort = 70000 }, "localAPIEndpoint.bindPort"},
		{"bad controlPlaneEndpoint", func(c *config.InitConfig) { c.Cluster.ControlPlaneEndpoint = "bad_host:6443" }, "controlPlaneEndpoint"},
		{"bad controlPlaneEndpoint port", func(c *config.InitConfig) { c.Cluster.ControlPlaneEndpoint = "lb:0" }, "port 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := newConfig("")
			tc.mutate(cfg)
			if _, err := kubeconfig.Specs(cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestBootstrapKubeconfig(t *testing.T) {
	kc := kubeconfig.BuildBootstrapKubeconfig("https://10.0.0.10:6443", []byte("CA"), "kubernetes", "abcdef.0123456789abcdef")
	if kc.CurrentContext != "tls-bootstrap-token-user@kubernetes" {
		t.Errorf("current context = %q", kc.CurrentContext)
	}
	ctx := kc.Contexts[kc.CurrentContext]
	if ctx == nil || ctx.Cluster != "kubernetes" || ctx.AuthInfo != "tls-bootstrap-token-user" {
		t.Fatalf("context = %+v", ctx)
	}
	if c := kc.Clusters["kubernetes"]; c == nil || c.Server != "https://10.0.0.10:6443" || string(c.CertificateAuthorityData) != "CA" {
		t.Errorf("cluster = %+v", c)
	}
	if u := kc.AuthInfos["tls-bootstrap-token-user"]; u == nil || u.Token != "abcdef.0123456789abcdef" {
		t.Errorf("user = %+v", u)
	}
	path := filepath.Join(t.TempDir(), "sub", "bootstrap-kubelet.conf")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := kubeconfig.WriteKubeconfig(path, kc); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode = %o, want 600 even over an existing 0644 file", st.Mode().Perm())
	}
	back, err := clientcmd.LoadFromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if back.AuthInfos["tls-bootstrap-token-user"].Token != "abcdef.0123456789abcdef" {
		t.Error("token lost in the round trip")
	}
}
