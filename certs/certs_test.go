package certs_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"math"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kubeadmin/kubeadmin/certs"
	"github.com/kubeadmin/kubeadmin/internal/config"
)

// newConfig returns a defaulted configuration with the dynamic defaults a
// real init would have (node name, advertise address) and some user SANs.
func newConfig(alg config.EncryptionAlgorithm) *config.InitConfig {
	cfg := &config.InitConfig{}
	config.SetDefaultsInit(&cfg.Init)
	config.SetDefaultsCluster(&cfg.Cluster)
	cfg.Init.NodeRegistration.Name = "node1"
	cfg.Init.LocalAPIEndpoint.AdvertiseAddress = "10.0.0.10"
	cfg.Cluster.EncryptionAlgorithm = alg
	cfg.Cluster.ControlPlaneEndpoint = "cp.example.com:6443"
	cfg.Cluster.APIServer.CertSANs = []string{"Foo.Example.com", "10.0.0.5", "*.wild.example.com", "10.0.0.10", "bad_san!"}
	cfg.Cluster.Etcd.Local.ServerCertSANs = []string{"etcd.example.com"}
	cfg.Cluster.Etcd.Local.PeerCertSANs = []string{"10.0.0.20"}
	return cfg
}

// quiet swallows warnings during a test.
func quiet(t *testing.T) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	old := certs.Warnings
	certs.Warnings = &buf
	t.Cleanup(func() { certs.Warnings = old })
	return &buf
}

func mustCreateAll(t *testing.T, cfg *config.InitConfig, dir string) string {
	t.Helper()
	var out bytes.Buffer
	if err := certs.CreateAll(cfg, dir, &out); err != nil {
		t.Fatalf("CreateAll: %v\noutput:\n%s", err, out.String())
	}
	return out.String()
}

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	c, err := certs.LoadCert(path)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func ips(s ...string) []net.IP {
	var out []net.IP
	for _, x := range s {
		out = append(out, net.ParseIP(x))
	}
	return out
}

func ipStrings(in []net.IP) []string {
	var out []string
	for _, ip := range in {
		out = append(out, ip.String())
	}
	return out
}

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode().Perm()
}

// TestCreateAllMatchesKubeadmTable checks every certificate against the
// PKI table of kubeadm-reference §8.1.
func TestCreateAllMatchesKubeadmTable(t *testing.T) {
	quiet(t)
	cfg := newConfig(config.EncryptionAlgorithmECDSAP256)
	dir := t.TempDir()
	mustCreateAll(t, cfg, dir)
	start := certs.StartTime()

	client := []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	server := []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	both := []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	etcdDNS := []string{"localhost", "node1"}
	tests := []struct {
		file   string
		issuer string // file of the issuer; "" = self-signed
		cn     string
		isCA   bool
		dns    []string
		ips    []net.IP
		eku    []x509.ExtKeyUsage
	}{
		{file: "ca", cn: "kubernetes", isCA: true, dns: []string{"kubernetes"}},
		{file: "apiserver", issuer: "ca", cn: "kube-apiserver", eku: server,
			dns: []string{"*.wild.example.com", "cp.example.com", "foo.example.com", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local", "node1"},
			ips: ips("10.96.0.1", "10.0.0.10", "10.0.0.5")},
		{file: "apiserver-kubelet-client", issuer: "ca", cn: "kube-apiserver-kubelet-client", eku: client},
		{file: "front-proxy-ca", cn: "front-proxy-ca", isCA: true, dns: []string{"front-proxy-ca"}},
		{file: "front-proxy-client", issuer: "front-proxy-ca", cn: "front-proxy-client", eku: client},
		{file: "etcd/ca", cn: "etcd-ca", isCA: true, dns: []string{"etcd-ca"}},
		{file: "etcd/server", issuer: "etcd/ca", cn: "node1", eku: both,
			dns: []string{"etcd.example.com", "localhost", "node1"}, ips: ips("10.0.0.10", "127.0.0.1", "::1")},
		{file: "etcd/peer", issuer: "etcd/ca", cn: "node1", eku: both,
			dns: etcdDNS, ips: ips("10.0.0.10", "127.0.0.1", "::1", "10.0.0.20")},
		{file: "etcd/healthcheck-client", issuer: "etcd/ca", cn: "kube-etcd-healthcheck-client", eku: client},
		{file: "apiserver-etcd-client", issuer: "etcd/ca", cn: "kube-apiserver-etcd-client", eku: client},
	}
	serials := map[string]bool{}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			crt := filepath.Join(dir, tc.file+".crt")
			c := readCert(t, crt)
			if c.Subject.CommonName != tc.cn {
				t.Errorf("CN = %q, want %q", c.Subject.CommonName, tc.cn)
			}
			if len(c.Subject.Organization) != 0 {
				t.Errorf("O = %v, want none", c.Subject.Organization)
			}
			if !slices.Equal(c.DNSNames, tc.dns) {
				t.Errorf("DNS SANs = %v, want %v", c.DNSNames, tc.dns)
			}
			if !slices.Equal(ipStrings(c.IPAddresses), ipStrings(tc.ips)) {
				t.Errorf("IP SANs = %v, want %v", c.IPAddresses, tc.ips)
			}
			if !c.BasicConstraintsValid || c.IsCA != tc.isCA {
				t.Errorf("BasicConstraints valid=%v CA=%v, want CA=%v", c.BasicConstraintsValid, c.IsCA, tc.isCA)
			}
			wantKU := x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
			validity := 365 * 24 * time.Hour
			if tc.isCA {
				wantKU |= x509.KeyUsageCertSign
				validity = 10 * 365 * 24 * time.Hour
			}
			if c.KeyUsage != wantKU {
				t.Errorf("KeyUsage = %v, want %v", c.KeyUsage, wantKU)
			}
			if !slices.Equal(c.ExtKeyUsage, tc.eku) {
				t.Errorf("ExtKeyUsage = %v, want %v", c.ExtKeyUsage, tc.eku)
			}
			if want := start.Add(-5 * time.Minute).Truncate(time.Second); !c.NotBefore.Equal(want) {
				t.Errorf("NotBefore = %v, want %v", c.NotBefore, want)
			}
			if want := start.Add(validity).Truncate(time.Second); !c.NotAfter.Equal(want) {
				t.Errorf("NotAfter = %v, want %v", c.NotAfter, want)
			}
			if c.SerialNumber.Sign() <= 0 || c.SerialNumber.Cmp(big.NewInt(math.MaxInt64)) >= 0 {
				t.Errorf("serial %v outside [1, 2^63-1)", c.SerialNumber)
			}
			if serials[c.SerialNumber.String()] {
				t.Errorf("serial %v reused", c.SerialNumber)
			}
			serials[c.SerialNumber.String()] = true
			issuer := c
			if tc.issuer != "" {
				issuer = readCert(t, filepath.Join(dir, tc.issuer+".crt"))
			}
			if err := c.CheckSignatureFrom(issuer); err != nil {
				t.Errorf("not signed by %q: %v", tc.issuer, err)
			}
			if got := mode(t, crt); got != 0o644 {
				t.Errorf("cert mode = %o, want 644", got)
			}
			if got := mode(t, filepath.Join(dir, tc.file+".key")); got != 0o600 {
				t.Errorf("key mode = %o, want 600", got)
			}
			if _, _, err := certs.LoadCertAndKey(dir, tc.file); err != nil {
				t.Errorf("cert and key do not match: %v", err)
			}
		})
	}
	for path, want := range map[string]os.FileMode{"etcd": 0o755, "sa.key": 0o600, "sa.pub": 0o600} {
		if got := mode(t, filepath.Join(dir, path)); got != want {
			t.Errorf("mode of %s = %o, want %o", path, got, want)
		}
	}
	pub, err := os.ReadFile(filepath.Join(dir, "sa.pub"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(pub)
	if block == nil || block.Type != "PUBLIC KEY" {
		t.Fatalf("sa.pub is not a PEM PUBLIC KEY: %q", pub)
	}
	pk, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	saKey, err := certs.LoadKey(filepath.Join(dir, "sa.key"))
	if err != nil {
		t.Fatal(err)
	}
	if !saKey.Public().(*ecdsa.PublicKey).Equal(pk) {
		t.Error("sa.pub is not the public key of sa.key")
	}
}

func TestCreateAllOutput(t *testing.T) {
	quiet(t)
	cfg := newConfig(config.EncryptionAlgorithmECDSAP256)
	dir := t.TempDir()
	got := mustCreateAll(t, cfg, dir)
	want := `[certs] Generating "ca" certificate and key
[certs] Generating "apiserver" certificate and key
[certs] apiserver serving cert is signed for DNS names [*.wild.example.com cp.example.com foo.example.com kubernetes kubernetes.default kubernetes.default.svc kubernetes.default.svc.cluster.local node1] and IPs [10.96.0.1 10.0.0.10 10.0.0.5]
[certs] Generating "apiserver-kubelet-client" certificate and key
[certs] Generating "front-proxy-ca" certificate and key
[certs] Generating "front-proxy-client" certificate and key
[certs] Generating "etcd/ca" certificate and key
[certs] Generating "etcd/server" certificate and key
[certs] etcd/server serving cert is signed for DNS names [etcd.example.com localhost node1] and IPs [10.0.0.10 127.0.0.1 ::1]
[certs] Generating "etcd/peer" certificate and key
[certs] etcd/peer serving cert is signed for DNS names [localhost node1] and IPs [10.0.0.10 127.0.0.1 ::1 10.0.0.20]
[certs] Generating "etcd/healthcheck-client" certificate and key
[certs] Generating "apiserver-etcd-client" certificate and key
[certs] Generating "sa" key and public key
`
	if got != want {
		t.Errorf("first run output:\n%s\nwant:\n%s", got, want)
	}
	got = mustCreateAll(t, cfg, dir)
	want = `[certs] Using existing ca certificate authority
[certs] Using existing apiserver certificate and key on disk
[certs] Using existing apiserver-kubelet-client certificate and key on disk
[certs] Using existing front-proxy-ca certificate authority
[certs] Using existing front-proxy-client certificate and key on disk
[certs] Using existing etcd/ca certificate authority
[certs] Using existing etcd/server certificate and key on disk
[certs] Using existing etcd/peer certificate and key on disk
[certs] Using existing etcd/healthcheck-client certificate and key on disk
[certs] Using existing apiserver-etcd-client certificate and key on disk
[certs] Using the existing "sa" key
`
	if got != want {
		t.Errorf("second run output:\n%s\nwant:\n%s", got, want)
	}
}

func TestInvalidSANWarns(t *testing.T) {
	warn := quiet(t)
	cfg := newConfig(config.EncryptionAlgorithmECDSAP256)
	if err := certs.CreateCert("ca", cfg, t.TempDir(), &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	spec, err := certs.SpecByName(cfg, "apiserver")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := spec.AltNames(cfg); err != nil {
		t.Fatal(err)
	}
	want := "[certificates] WARNING: 'bad_san!' was not added to the 'apiserver' SAN, because it is not a valid IP or RFC-1123 compliant DNS entry\n"
	if warn.String() != want {
		t.Errorf("warnings = %q, want %q", warn.String(), want)
	}
}

// snapshot returns the contents of every file below dir.
func snapshot(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		files[p] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func sameFiles(t *testing.T, before, after map[string][]byte) {
	t.Helper()
	if len(before) != len(after) {
		t.Errorf("file count changed: %d -> %d", len(before), len(after))
	}
	for p, b := range before {
		if !bytes.Equal(b, after[p]) {
			t.Errorf("%s changed", p)
		}
	}
}

func TestReuseKeepsFilesByteIdentical(t *testing.T) {
	quiet(t)
	cfg := newConfig(config.EncryptionAlgorithmECDSAP256)
	dir := t.TempDir()
	mustCreateAll(t, cfg, dir)
	before := snapshot(t, dir)
	mustCreateAll(t, cfg, dir)
	sameFiles(t, before, snapshot(t, dir))
}

func TestExistingLeafErrors(t *testing.T) {
	quiet(t)
	tests := []struct {
		name    string
		cert    string
		mutate  func(t *testing.T, cfg *config.InitConfig, dir string)
		wantErr []string
	}{
		{
			name: "apiserver SAN not covered",
			cert: "apiserver",
			mutate: func(t *testing.T, cfg *config.InitConfig, dir string) {
				cfg.Cluster.APIServer.CertSANs = append(cfg.Cluster.APIServer.CertSANs, "10.0.0.99")
			},
			wantErr: []string{`apiserver.crt" does not cover IP 10.0.0.99 required by apiServer.certSANs`},
		},
		{
			name: "apiserver DNS from controlPlaneEndpoint not covered",
			cert: "apiserver",
			mutate: func(t *testing.T, cfg *config.InitConfig, dir string) {
				cfg.Cluster.ControlPlaneEndpoint = "lb.example.org"
			},
			wantErr: []string{"does not cover DNS lb.example.org required by controlPlaneEndpoint"},
		},
		{
			name: "etcd server SAN not covered",
			cert: "etcd-server",
			mutate: func(t *testing.T, cfg *config.InitConfig, dir string) {
				cfg.Cluster.Etcd.Local.ServerCertSANs = []string{"other.example.com"}
			},
			wantErr: []string{`etcd/server.crt" does not cover DNS other.example.com required by etcd.local.serverCertSANs`},
		},
		{
			name: "advertise address changed",
			cert: "etcd-peer",
			mutate: func(t *testing.T, cfg *config.InitConfig, dir string) {
				cfg.Init.LocalAPIEndpoint.AdvertiseAddress = "10.0.0.11"
			},
			wantErr: []string{"does not cover IP 10.0.0.11 required by localAPIEndpoint.advertiseAddress"},
		},
		{
			name: "leftover key without certificate",
			cert: "apiserver-kubelet-client",
			mutate: func(t *testing.T, cfg *config.InitConfig, dir string) {
				if err := os.Remove(filepath.Join(dir, "apiserver-kubelet-client.crt")); err != nil {
					t.Fatal(err)
				}
			},
			wantErr: []string{"apiserver-kubelet-client.key", "but not its certificate"},
		},
		{
			name: "leftover CA key without certificate",
			cert: "front-proxy-ca",
			mutate: func(t *testing.T, cfg *config.InitConfig, dir string) {
				if err := os.Remove(filepath.Join(dir, "front-proxy-ca.crt")); err != nil {
					t.Fatal(err)
				}
			},
			wantErr: []string{"front-proxy-ca.key", "but not its certificate"},
		},
		{
			name: "certificate without key",
			cert: "front-proxy-client",
			mutate: func(t *testing.T, cfg *config.InitConfig, dir string) {
				if err := os.Remove(filepath.Join(dir, "front-proxy-client.key")); err != nil {
					t.Fatal(err)
				}
			},
			wantErr: []string{"front-proxy-client.crt", "but not its private key"},
		},
		{
			name: "leaf signed by another CA",
			cert: "apiserver-etcd-client",
			mutate: func(t *testing.T, cfg *config.InitConfig, dir string) {
				for _, f := range []string{"etcd/ca.crt", "etcd/ca.key"} {
					if err := os.Remove(filepath.Join(dir, f)); err != nil {
						t.Fatal(err)
					}
				}
				if err := certs.CreateCert("etcd-ca", cfg, dir, &bytes.Buffer{}); err != nil {
					t.Fatal(err)
				}
			},
			wantErr: []string{"apiserver-etcd-client.crt\" is not signed by the etcd-ca certificate authority"},
		},
		{
			name: "CA certificate that is not a CA",
			cert: "ca",
			mutate: func(t *testing.T, cfg *config.InitConfig, dir string) {
				copyFile(t, filepath.Join(dir, "apiserver.crt"), filepath.Join(dir, "ca.crt"))
				copyFile(t, filepath.Join(dir, "apiserver.key"), filepath.Join(dir, "ca.key"))
			},
			wantErr: []string{"ca.crt\" is not a certificate authority"},
		},
		{
			name: "unparsable sa.key",
			cert: "sa",
			mutate: func(t *testing.T, cfg *config.InitConfig, dir string) {
				if err := os.WriteFile(filepath.Join(dir, "sa.key"), []byte("junk"), 0o600); err != nil {
					t.Fatal(err)
				}
			},
			wantErr: []string{"sa.key existed but it could not be loaded properly"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := newConfig(config.EncryptionAlgorithmECDSAP256)
			dir := t.TempDir()
			mustCreateAll(t, cfg, dir)
			tc.mutate(t, cfg, dir)
			before := snapshot(t, dir)
			err := certs.CreateCert(tc.cert, cfg, dir, &bytes.Buffer{})
			if err == nil {
				t.Fatal("CreateCert succeeded, want an error")
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			sameFiles(t, before, snapshot(t, dir))
		})
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestWildcardSANCoveredByCertificate(t *testing.T) {
	quiet(t)
	cfg := newConfig(config.EncryptionAlgorithmECDSAP256)
	dir := t.TempDir()
	mustCreateAll(t, cfg, dir)
	// a.wild.example.com is covered by the *.wild.example.com SAN.
	cfg.Cluster.APIServer.CertSANs = append(cfg.Cluster.APIServer.CertSANs, "a.wild.example.com")
	var out bytes.Buffer
	if err := certs.CreateCert("apiserver", cfg, dir, &out); err != nil {
		t.Fatal(err)
	}
	if want := "[certs] Using existing apiserver certificate and key on disk\n"; out.String() != want {
		t.Errorf("output = %q, want %q", out.String(), want)
	}
}

func TestExternalCA(t *testing.T) {
	quiet(t)
	cfg := newConfig(config.EncryptionAlgorithmECDSAP256)
	dir := t.TempDir()
	for _, name := range []string{"ca", "apiserver", "apiserver-kubelet-client"} {
		if err := certs.CreateCert(name, cfg, dir, &bytes.Buffer{}); err != nil {
			t.Fatal(err)
		}
	}
	if ext, err := certs.UsingExternalCA(cfg, dir); ext || err != nil {
		t.Fatalf("UsingExternalCA with ca.key = %v, %v; want false, nil", ext, err)
	}
	if err := os.Remove(filepath.Join(dir, "ca.key")); err != nil {
		t.Fatal(err)
	}
	if ext, err := certs.UsingExternalCA(cfg, dir); !ext || err != nil {
		t.Fatalf("UsingExternalCA = %v, %v; want true, nil", ext, err)
	}
	var out bytes.Buffer
	for _, name := range []string{"ca", "apiserver", "apiserver-kubelet-client", "sa"} {
		if err := certs.CreateCert(name, cfg, dir, &out); err != nil {
			t.Fatalf("CreateCert(%s): %v", name, err)
		}
	}
	want := `[certs] Using existing ca keyless certificate authority
[certs] Using existing apiserver certificate and key on disk
[certs] Using existing apiserver-kubelet-client certificate and key on disk
[certs] Using existing sa keys
`
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
	if _, err := os.Stat(filepath.Join(dir, "sa.key")); !os.IsNotExist(err) {
		t.Errorf("sa.key was written in external CA mode")
	}
	// A missing leaf cannot be signed without the CA key.
	for _, f := range []string{"apiserver.crt", "apiserver.key"} {
		if err := os.Remove(filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	err := certs.CreateCert("apiserver", cfg, dir, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "external CA mode") {
		t.Errorf("CreateCert(apiserver) = %v, want an external CA mode error", err)
	}
	if ext, err := certs.UsingExternalCA(cfg, dir); !ext || err == nil {
		t.Errorf("UsingExternalCA without apiserver = %v, %v; want true and an error", ext, err)
	}
}

func TestExternalEtcd(t *testing.T) {
	quiet(t)
	cfg := newConfig(config.EncryptionAlgorithmECDSAP256)
	cfg.Cluster.Etcd.Local = nil
	cfg.Cluster.Etcd.External = &config.ExternalEtcd{Endpoints: []string{"https://10.0.0.50:2379"}}
	var names []string
	for _, s := range certs.Specs(cfg) {
		names = append(names, s.Name)
	}
	if want := []string{"ca", "apiserver", "apiserver-kubelet-client", "front-proxy-ca", "front-proxy-client", "sa"}; !slices.Equal(names, want) {
		t.Errorf("Specs = %v, want %v", names, want)
	}
	dir := t.TempDir()
	out := mustCreateAll(t, cfg, dir)
	for _, line := range []string{
		"[certs] External etcd mode: Skipping etcd/ca certificate authority generation\n",
		"[certs] External etcd mode: Skipping etcd/server certificate generation\n",
		"[certs] External etcd mode: Skipping apiserver-etcd-client certificate generation\n",
	} {
		if !strings.Contains(out, line) {
			t.Errorf("output lacks %q:\n%s", line, out)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "etcd")); !os.IsNotExist(err) {
		t.Error("etcd directory created with an external etcd")
	}
}

func TestKeyTypes(t *testing.T) {
	quiet(t)
	tests := []struct {
		alg     config.EncryptionAlgorithm
		pemType string
		check   func(pub any) bool
		sigAlg  x509.SignatureAlgorithm
	}{
		{config.EncryptionAlgorithmRSA2048, "RSA PRIVATE KEY", rsaBits(2048), x509.SHA256WithRSA},
		{config.EncryptionAlgorithmRSA3072, "RSA PRIVATE KEY", rsaBits(3072), x509.SHA256WithRSA},
		{config.EncryptionAlgorithmRSA4096, "RSA PRIVATE KEY", rsaBits(4096), x509.SHA256WithRSA},
		{config.EncryptionAlgorithmECDSAP256, "EC PRIVATE KEY", curve(elliptic.P256()), x509.ECDSAWithSHA256},
		{config.EncryptionAlgorithmECDSAP384, "EC PRIVATE KEY", curve(elliptic.P384()), x509.ECDSAWithSHA384},
	}
	for _, tc := range tests {
		t.Run(string(tc.alg), func(t *testing.T) {
			t.Parallel()
			cfg := newConfig(tc.alg)
			dir := t.TempDir()
			for _, name := range []string{"front-proxy-ca", "front-proxy-client"} {
				if err := certs.CreateCert(name, cfg, dir, &bytes.Buffer{}); err != nil {
					t.Fatal(err)
				}
			}
			for _, base := range []string{"front-proxy-ca", "front-proxy-client"} {
				b, err := os.ReadFile(filepath.Join(dir, base+".key"))
				if err != nil {
					t.Fatal(err)
				}
				block, _ := pem.Decode(b)
				if block == nil || block.Type != tc.pemType {
					t.Errorf("%s.key PEM type = %v, want %q", base, block, tc.pemType)
				}
			}
			c := readCert(t, filepath.Join(dir, "front-proxy-client.crt"))
			if !tc.check(c.PublicKey) {
				t.Errorf("public key %T has the wrong size or curve", c.PublicKey)
			}
			if c.SignatureAlgorithm != tc.sigAlg {
				t.Errorf("signature algorithm = %v, want %v", c.SignatureAlgorithm, tc.sigAlg)
			}
		})
	}
}

func rsaBits(n int) func(any) bool {
	return func(pub any) bool {
		k, ok := pub.(*rsa.PublicKey)
		return ok && k.N.BitLen() == n
	}
}

func curve(c elliptic.Curve) func(any) bool {
	return func(pub any) bool {
		k, ok := pub.(*ecdsa.PublicKey)
		return ok && k.Curve == c
	}
}

func TestUnknownAlgorithm(t *testing.T) {
	cfg := newConfig("DSA-1024")
	err := certs.CreateCert("ca", cfg, t.TempDir(), &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), `unknown encryptionAlgorithm "DSA-1024"`) {
		t.Errorf("err = %v, want an unknown encryptionAlgorithm error", err)
	}
}

func TestSpecByNameUnknown(t *testing.T) {
	_, err := certs.SpecByName(newConfig(""), "apiserverr")
	if err == nil || !strings.Contains(err.Error(), `unknown certificate "apiserverr"`) || !strings.Contains(err.Error(), "apiserver-kubelet-client") {
		t.Errorf("err = %v", err)
	}
}

func TestValidityFromConfig(t *testing.T) {
	quiet(t)
	cfg := newConfig(config.EncryptionAlgorithmECDSAP256)
	cfg.Cluster.CertificateValidityPeriod.Duration = 48 * time.Hour
	cfg.Cluster.CACertificateValidityPeriod.Duration = 96 * time.Hour
	dir := t.TempDir()
	for _, n := range []string{"ca", "apiserver-kubelet-client"} {
		if err := certs.CreateCert(n, cfg, dir, &bytes.Buffer{}); err != nil {
			t.Fatal(err)
		}
	}
	ca := readCert(t, filepath.Join(dir, "ca.crt"))
	leaf := readCert(t, filepath.Join(dir, "apiserver-kubelet-client.crt"))
	if got := ca.NotAfter.Sub(ca.NotBefore); got != 96*time.Hour+5*time.Minute {
		t.Errorf("CA span = %v, want 96h5m", got)
	}
	if got := leaf.NotAfter.Sub(leaf.NotBefore); got != 48*time.Hour+5*time.Minute {
		t.Errorf("leaf span = %v, want 48h5m", got)
	}
}
