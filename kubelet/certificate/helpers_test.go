package certificate

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"log"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/util/keyutil"
)

const testToken = "abcdef.0123456789abcdef"

// testCA signs certificates for the tests.
type testCA struct {
	cert *x509.Certificate
	key  crypto.Signer
	pem  []byte
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test-ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return &testCA{cert: c, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

var serial atomic.Int64

// issue signs a certificate for pub valid from notBefore for lifetime.
func (ca *testCA) issue(t testing.TB, pub crypto.PublicKey, tmpl *x509.Certificate, notBefore time.Time, lifetime time.Duration) []byte {
	t.Helper()
	tmpl.SerialNumber = big.NewInt(1000 + serial.Add(1))
	tmpl.NotBefore, tmpl.NotAfter = notBefore, notBefore.Add(lifetime)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, pub, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// clientPair is a client certificate and key for system:node:node1.
func (ca *testCA) clientPair(t *testing.T, notBefore time.Time, lifetime time.Duration) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, _ = keyutil.MarshalPrivateKeyToPEM(key)
	certPEM = ca.issue(t, key.Public(), &x509.Certificate{Subject: nodeSubject("node1"), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}, notBefore, lifetime)
	return certPEM, keyPEM
}

// signer plays kube-controller-manager's CSR approver and signer on a
// fake clientset: with approve set, each CSR is approved and issued as it
// is created.
type signer struct {
	t        testing.TB
	ca       *testCA
	client   *fake.Clientset
	approve  atomic.Bool
	lifetime time.Duration
	// failCreates makes that many creates fail as if the API server were
	// unreachable.
	failCreates atomic.Int32
	n           atomic.Int32
	mu          sync.Mutex
	created     []*certificatesv1.CertificateSigningRequest
	configs     []*rest.Config
}

func newSigner(t *testing.T, ca *testCA) *signer {
	s := &signer{t: t, ca: ca, client: fake.NewClientset(), lifetime: time.Hour}
	s.approve.Store(true)
	s.client.PrependReactor("create", "certificatesigningrequests", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if s.failCreates.Load() > 0 {
			s.failCreates.Add(-1)
			return true, nil, fmt.Errorf("dial tcp 10.0.0.1:6443: connect: connection refused")
		}
		req := a.(k8stesting.CreateAction).GetObject().(*certificatesv1.CertificateSigningRequest)
		if req.Name == "" {
			req.Name = fmt.Sprintf("%s%d", req.GenerateName, s.n.Add(1))
		}
		req.UID = types.UID("uid-" + req.Name)
		s.mu.Lock()
		s.created = append(s.created, req.DeepCopy())
		s.mu.Unlock()
		if s.approve.Load() {
			s.sign(req)
		}
		return false, nil, nil
	})
	old := newClientset
	newClientset = func(c *rest.Config) (kubernetes.Interface, error) {
		s.mu.Lock()
		s.configs = append(s.configs, c)
		s.mu.Unlock()
		return s.client, nil
	}
	t.Cleanup(func() { newClientset = old })
	return s
}

// sign approves and issues req in place.
func (s *signer) sign(req *certificatesv1.CertificateSigningRequest) {
	block, _ := pem.Decode(req.Spec.Request)
	cr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		s.t.Errorf("bad CSR %s: %v", req.Name, err)
		return
	}
	tmpl := &x509.Certificate{Subject: cr.Subject, DNSNames: cr.DNSNames, IPAddresses: cr.IPAddresses}
	for _, u := range req.Spec.Usages {
		switch u {
		case certificatesv1.UsageClientAuth:
			tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageClientAuth)
		case certificatesv1.UsageServerAuth:
			tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageServerAuth)
		}
	}
	req.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{{
		Type: certificatesv1.CertificateApproved, Status: v1.ConditionTrue, Reason: "AutoApproved",
	}}
	req.Status.Certificate = s.ca.issue(s.t, cr.PublicKey, tmpl, time.Now(), s.lifetime)
}

// signExisting approves and issues the CSR name already stored.
func (s *signer) signExisting(t *testing.T, name string) {
	t.Helper()
	csrs := s.client.CertificatesV1().CertificateSigningRequests()
	req, err := csrs.Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.sign(req)
	if _, err := csrs.UpdateStatus(t.Context(), req, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func (s *signer) requests() []*certificatesv1.CertificateSigningRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*certificatesv1.CertificateSigningRequest(nil), s.created...)
}

// syncBuffer is a log destination the tests read while the code writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func newLogger() (*log.Logger, *syncBuffer) {
	b := &syncBuffer{}
	return log.New(b, "", 0), b
}

// writeFile writes data to dir/name and returns the path.
func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// bootstrapKubeconfig is a kubeadm-style bootstrap kubeconfig with a token.
func bootstrapKubeconfig(t *testing.T, dir, server string, caPEM []byte) string {
	t.Helper()
	return writeFile(t, dir, "bootstrap-kubelet.conf", fmt.Appendf(nil, `apiVersion: v1
kind: Config
clusters:
- name: kubernetes
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: tls-bootstrap-token-user
  user:
    token: %s
contexts:
- name: tls-bootstrap-token-user@kubernetes
  context:
    cluster: kubernetes
    user: tls-bootstrap-token-user
current-context: tls-bootstrap-token-user@kubernetes
`, server, b64(caPEM), testToken))
}

// kubeletConf is a kubelet.conf with the client pair in files (certFile
// and keyFile) or embedded (certPEM and keyPEM).
func kubeletConf(t *testing.T, dir, server string, caPEM []byte, user string) string {
	t.Helper()
	return writeFile(t, dir, "kubelet.conf", fmt.Appendf(nil, `apiVersion: v1
kind: Config
clusters:
- name: kubernetes
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: system:node:node1
  user:
%s
contexts:
- name: system:node:node1@kubernetes
  context:
    cluster: kubernetes
    user: system:node:node1
current-context: system:node:node1@kubernetes
`, server, b64(caPEM), user))
}

func embeddedUser(certPEM, keyPEM []byte) string {
	return fmt.Sprintf("    client-certificate-data: %s\n    client-key-data: %s", b64(certPEM), b64(keyPEM))
}

func fileUser(pemPath string) string {
	return fmt.Sprintf("    client-certificate: %s\n    client-key: %s", pemPath, pemPath)
}

func parseCert(der []byte) (*x509.Certificate, error) { return x509.ParseCertificate(der) }
