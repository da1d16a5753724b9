package clusterobjects

import (
	"os"
	"strings"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

const (
	testToken   = "abcdef.0123456789abcdef"
	testCertKey = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
)

// upstreamText reads an upstream golden and renames the commands users
// run from kubeadm to kubeadmin.
func upstreamText(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/upstream/" + name)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.ReplaceAll(string(b), "kubeadm join ", "kubeadmin join ")
	return strings.ReplaceAll(s, `"kubeadm init phase upload-certs`, `"kubeadmin init phase upload-certs`)
}

func loadKubeconfig(t *testing.T, path string) *clientcmdapi.Config {
	t.Helper()
	c, err := clientcmd.LoadFromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSuccessBannerGolden(t *testing.T) {
	tests := []struct {
		golden, admin, cpe string
		upload, skipToken  bool
		skipKey            bool
	}{
		{golden: "banner-worker-only.txt", admin: "testdata/admin.conf"},
		{golden: "banner-cpe-upload.txt", admin: "testdata/admin-2ca.conf", cpe: "cp.example.com:6443", upload: true},
		{golden: "banner-cpe-noupload.txt", admin: "testdata/admin-2ca.conf", cpe: "cp.example.com:6443"},
		{golden: "banner-cpe-withheld.txt", admin: "testdata/admin-2ca.conf", cpe: "cp.example.com:6443", upload: true, skipToken: true, skipKey: true},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			var out strings.Builder
			err := PrintSuccessBanner(&out, BannerOptions{
				KubeConfigPath: "/etc/kubernetes/admin.conf", Admin: loadKubeconfig(t, tt.admin),
				ControlPlaneEndpoint: tt.cpe, UploadCerts: tt.upload, Tokens: []string{testToken},
				CertificateKey: testCertKey, SkipTokenPrint: tt.skipToken, SkipCertificateKeyPrint: tt.skipKey,
			})
			if err != nil {
				t.Fatal(err)
			}
			if want := upstreamText(t, tt.golden); out.String() != want {
				t.Errorf("got:\n%q\nwant:\n%q", out.String(), want)
			}
		})
	}
}

func TestBannerOncePerToken(t *testing.T) {
	var out strings.Builder
	err := PrintSuccessBanner(&out, BannerOptions{KubeConfigPath: "/etc/kubernetes/admin.conf",
		Admin: loadKubeconfig(t, "testdata/admin.conf"), Tokens: []string{testToken, "ghijkl.0123456789abcdef"}})
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), "initialized successfully"); n != 2 {
		t.Errorf("banner printed %d times, want 2", n)
	}
	if !strings.Contains(out.String(), "--token ghijkl.0123456789abcdef") {
		t.Error("second token missing")
	}
}

func TestJoinCommandControlPlaneWithoutKey(t *testing.T) {
	tests := []struct {
		golden, admin string
		skipToken     bool
		skipKey       bool
	}{
		{golden: "banner-cpe-upload-join-cp-nokey.txt", admin: "testdata/admin-2ca.conf"},
		{golden: "banner-cpe-withheld-join-cp-nokey.txt", admin: "testdata/admin-2ca.conf", skipToken: true, skipKey: true},
		{golden: "banner-worker-only-join-cp-nokey.txt", admin: "testdata/admin.conf"},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			got, err := JoinCommandFromFile(tt.admin, JoinCommandOptions{Token: testToken, ControlPlane: true,
				SkipTokenPrint: tt.skipToken, SkipCertificateKeyPrint: tt.skipKey})
			if err != nil {
				t.Fatal(err)
			}
			if want := upstreamText(t, tt.golden); got != want {
				t.Errorf("got %q, want %q", got, want)
			}
		})
	}
}

func TestJoinCommandErrors(t *testing.T) {
	good := loadKubeconfig(t, "testdata/admin.conf")
	noCA := good.DeepCopy()
	for _, c := range noCA.Clusters {
		c.CertificateAuthorityData = nil
	}
	badCtx := good.DeepCopy()
	badCtx.CurrentContext = "nope"
	badCA := good.DeepCopy()
	for _, c := range badCA.Clusters {
		c.CertificateAuthorityData = []byte("garbage")
	}
	tests := []struct {
		name string
		cfg  *clientcmdapi.Config
		want string
	}{
		{"no CA", noCA, "no CA certificates found in kubeconfig"},
		{"bad context", badCtx, `the current context "nope" is invalid`},
		{"bad CA", badCA, "failed to parse CA certificate from kubeconfig"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := JoinCommand(tt.cfg, JoinCommandOptions{Token: testToken}); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
		})
	}
	if _, err := JoinCommandFromFile("testdata/missing.conf", JoinCommandOptions{}); err == nil {
		t.Error("missing file: no error")
	}
}

func TestSingleLineJoinCommand(t *testing.T) {
	cmd, err := JoinCommandFromFile("testdata/admin.conf", JoinCommandOptions{Token: testToken, ControlPlane: true, CertificateKey: testCertKey})
	if err != nil {
		t.Fatal(err)
	}
	got := SingleLineJoinCommand(cmd)
	if strings.ContainsAny(got, "\\\n\t") || !strings.HasPrefix(got, "kubeadmin join 10.0.0.10:6443 --token "+testToken+" --discovery-token-ca-cert-hash sha256:") ||
		!strings.HasSuffix(got, " --control-plane --certificate-key "+testCertKey) {
		t.Errorf("got %q", got)
	}
}
