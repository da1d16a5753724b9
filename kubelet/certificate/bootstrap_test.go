package certificate

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/keyutil"

	"github.com/kubeadmin/kubeadmin/internal/constants"
	"github.com/kubeadmin/kubeadmin/internal/testutil"
)

const testServer = "https://10.0.0.1:6443"

func b64(data []byte) string { return base64.StdEncoding.EncodeToString(data) }

// node is one node's files for a bootstrap.
type node struct {
	dir, pki, kubeconfig, bootstrap string
	ca                              *testCA
}

func newNode(t *testing.T) *node {
	t.Helper()
	dir := t.TempDir()
	ca := newTestCA(t)
	return &node{dir: dir, pki: filepath.Join(dir, "pki"), kubeconfig: filepath.Join(dir, "kubelet.conf"),
		bootstrap: bootstrapKubeconfig(t, dir, testServer, ca.pem), ca: ca}
}

func (n *node) options() Options {
	return Options{NodeName: "node1", KubeConfig: n.kubeconfig, BootstrapKubeConfig: n.bootstrap, CertDir: n.pki, Rotate: true}
}

// currentCert is the certificate kubelet-client-current.pem holds.
func (n *node) currentCert(t *testing.T) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(n.pki, constants.KubeletClientCurrent))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestBootstrapWritesCertificateAndKubeconfig(t *testing.T) {
	n := newNode(t)
	s := newSigner(t, n.ca)
	o := n.options()
	logger, logs := newLogger()
	o.Logger = logger
	done, err := Bootstrap(t.Context(), o)
	if err != nil || !done {
		t.Fatalf("Bootstrap = %v, %v", done, err)
	}

	// The CSR is the node's client CSR.
	reqs := s.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d CSRs, want 1", len(reqs))
	}
	req := reqs[0]
	if req.Spec.SignerName != certificatesv1.KubeAPIServerClientKubeletSignerName {
		t.Errorf("signer %q", req.Spec.SignerName)
	}
	if want := []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth}; !reflect.DeepEqual(req.Spec.Usages, want) {
		t.Errorf("usages %v, want %v (ECDSA key: no key encipherment)", req.Spec.Usages, want)
	}
	if !strings.HasPrefix(req.Name, constants.KubeletCSRNamePrefix) {
		t.Errorf("CSR name %q", req.Name)
	}
	block, _ := pem.Decode(req.Spec.Request)
	cr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if cr.Subject.CommonName != "system:node:node1" || !reflect.DeepEqual(cr.Subject.Organization, []string{"system:nodes"}) {
		t.Errorf("subject %v", cr.Subject)
	}
	// It was asked with the bootstrap token.
	if cfgs := s.configs; len(cfgs) == 0 || cfgs[0].BearerToken != testToken {
		t.Errorf("the CSR client does not use the bootstrap token")
	}

	// The dated pem, the link, no pending key.
	current := filepath.Join(n.pki, constants.KubeletClientCurrent)
	target, err := os.Readlink(current)
	if err != nil {
		t.Fatalf("%s is not a link: %v", current, err)
	}
	if base := filepath.Base(target); !strings.HasPrefix(base, "kubelet-client-") || base == constants.KubeletClientCurrent || !strings.HasSuffix(base, ".pem") {
		t.Errorf("link target %q", target)
	}
	if st, err := os.Stat(target); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("%s: %v, mode %v", target, err, st.Mode().Perm())
	}
	if n.currentCert(t).Subject.CommonName != "system:node:node1" {
		t.Errorf("stored certificate is for %v", n.currentCert(t).Subject)
	}
	if _, err := os.Stat(filepath.Join(n.pki, constants.KubeletClientPendingKeyFile)); !os.IsNotExist(err) {
		t.Errorf("the pending key is still there: %v", err)
	}

	// kubelet.conf: 0600, the bootstrap cluster, the current pem.
	st, err := os.Stat(n.kubeconfig)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("kubelet.conf: %v, mode %v", err, st.Mode().Perm())
	}
	kc, err := clientcmd.LoadFromFile(n.kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	ctx := kc.Contexts[kc.CurrentContext]
	cluster, user := kc.Clusters[ctx.Cluster], kc.AuthInfos[ctx.AuthInfo]
	if cluster.Server != testServer || !bytes.Equal(cluster.CertificateAuthorityData, n.ca.pem) {
		t.Errorf("cluster %q, CA data %d bytes", cluster.Server, len(cluster.CertificateAuthorityData))
	}
	if user.ClientCertificate != current || user.ClientKey != current || user.Token != "" {
		t.Errorf("user: certificate %q, key %q, token set %v; want both %q", user.ClientCertificate, user.ClientKey, user.Token != "", current)
	}
	if r := checkKubeconfig(n.kubeconfig, time.Now()); r != "" {
		t.Errorf("the written kubeconfig is not usable: %s", r)
	}
	out := logs.String()
	if !strings.Contains(out, "TLS bootstrap done") {
		t.Errorf("log: %s", out)
	}
	if strings.Contains(out, testToken) || strings.Contains(out, "PRIVATE KEY") {
		t.Errorf("the log shows a secret: %s", out)
	}
}

func TestBootstrapKeepsUsableKubeconfig(t *testing.T) {
	n := newNode(t)
	s := newSigner(t, n.ca)
	certPEM, keyPEM := n.ca.clientPair(t, time.Now().Add(-time.Minute), time.Hour)
	kubeletConf(t, n.dir, testServer, n.ca.pem, embeddedUser(certPEM, keyPEM))
	before, _ := os.ReadFile(n.kubeconfig)
	done, err := Bootstrap(t.Context(), n.options())
	if err != nil || done {
		t.Fatalf("Bootstrap = %v, %v; want nothing done", done, err)
	}
	if got := len(s.client.Actions()); got != 0 {
		t.Errorf("%d API calls, want none", got)
	}
	if after, _ := os.ReadFile(n.kubeconfig); !bytes.Equal(before, after) {
		t.Error("kubelet.conf was rewritten")
	}
	if _, err := os.Stat(n.pki); !os.IsNotExist(err) {
		t.Errorf("the pki directory was touched: %v", err)
	}
}

func TestExpiredCertificateBootstrapsAgain(t *testing.T) {
	n := newNode(t)
	s := newSigner(t, n.ca)
	if err := os.MkdirAll(n.pki, 0o700); err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM := n.ca.clientPair(t, time.Now().Add(-2*time.Hour), time.Hour)
	old := writeFile(t, n.pki, "kubelet-client-2020-01-01-00-00-00.pem", append(certPEM, keyPEM...))
	if err := os.Symlink(old, filepath.Join(n.pki, constants.KubeletClientCurrent)); err != nil {
		t.Fatal(err)
	}
	kubeletConf(t, n.dir, testServer, n.ca.pem, fileUser(filepath.Join(n.pki, constants.KubeletClientCurrent)))
	if r := checkKubeconfig(n.kubeconfig, time.Now()); !strings.Contains(r, "expired") {
		t.Fatalf("checkKubeconfig = %q, want expired", r)
	}
	o := n.options()
	o.Rotate = false
	if _, err := ClientConfig(t.Context(), o); err != nil {
		t.Fatal(err)
	}
	if len(s.requests()) != 1 {
		t.Fatalf("%d CSRs, want 1", len(s.requests()))
	}
	if c := n.currentCert(t); time.Now().After(c.NotAfter) {
		t.Errorf("kubelet-client-current.pem still expired (%s)", c.NotAfter)
	}
	if r := checkKubeconfig(n.kubeconfig, time.Now()); r != "" {
		t.Errorf("kubelet.conf after the bootstrap: %s", r)
	}
}

func TestBootstrapTimeoutNamesTheCSR(t *testing.T) {
	n := newNode(t)
	s := newSigner(t, n.ca)
	s.approve.Store(false)
	o := n.options()
	o.ApprovalTimeout = 200 * time.Millisecond
	_, err := Bootstrap(t.Context(), o)
	if err == nil {
		t.Fatal("no error though the CSR was never approved")
	}
	reqs := s.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d CSRs, want 1", len(reqs))
	}
	for _, want := range []string{reqs[0].Name, "kubectl certificate approve " + reqs[0].Name, "200ms"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if _, err := os.Stat(n.kubeconfig); !os.IsNotExist(err) {
		t.Errorf("kubelet.conf written though the bootstrap failed: %v", err)
	}
}

func TestBootstrapReusesPendingKey(t *testing.T) {
	n := newNode(t)
	s := newSigner(t, n.ca)
	s.approve.Store(false)
	o := n.options()
	o.ApprovalTimeout = 100 * time.Millisecond
	if _, err := Bootstrap(t.Context(), o); err == nil {
		t.Fatal("first attempt: want a timeout")
	}
	keyPEM, err := os.ReadFile(filepath.Join(n.pki, constants.KubeletClientPendingKeyFile))
	if err != nil {
		t.Fatalf("no pending key after a failed attempt: %v", err)
	}
	if st, _ := os.Stat(filepath.Join(n.pki, constants.KubeletClientPendingKeyFile)); st.Mode().Perm() != 0o600 {
		t.Errorf("pending key mode %v", st.Mode().Perm())
	}
	first := s.requests()[0].Name
	// Approved meanwhile (kubectl certificate approve).
	s.signExisting(t, first)

	o.ApprovalTimeout = 5 * time.Second
	if _, err := Bootstrap(t.Context(), o); err != nil {
		t.Fatalf("second attempt: %v", err)
	}
	for _, r := range s.requests() {
		if r.Name != first {
			t.Errorf("a second CSR %q, want only %q", r.Name, first)
		}
	}
	key, err := keyutil.ParsePrivateKeyPEM(keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	pub := key.(crypto.Signer).Public()
	if got := n.currentCert(t).PublicKey; !reflect.DeepEqual(got, pub) {
		t.Error("the stored certificate is not for the pending key")
	}
}

func TestBootstrapRetriesUnreachableAPIServer(t *testing.T) {
	old := retryInitial
	retryInitial = 10 * time.Millisecond
	t.Cleanup(func() { retryInitial = old })
	n := newNode(t)
	s := newSigner(t, n.ca)
	s.failCreates.Store(3)
	o := n.options()
	logger, logs := newLogger()
	o.Logger = logger
	if _, err := Bootstrap(t.Context(), o); err != nil {
		t.Fatal(err)
	}
	if s.failCreates.Load() != 0 {
		t.Errorf("%d failures left: no retries", s.failCreates.Load())
	}
	if got := strings.Count(logs.String(), "connection refused"); got != 1 {
		t.Errorf("the unreachable API server is logged %d times, want once:\n%s", got, logs)
	}
}

func TestBootstrapStopsWithContext(t *testing.T) {
	n := newNode(t)
	s := newSigner(t, n.ca)
	s.failCreates.Store(1 << 30)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	errs := make(chan error, 1)
	go func() { _, err := Bootstrap(ctx, n.options()); errs <- err }()
	testutil.Eventually(t, "a first attempt", func() bool { return s.failCreates.Load() < 1<<30 })
	cancel()
	select {
	case err := <-errs:
		if err == nil || !strings.Contains(err.Error(), "stopped") {
			t.Errorf("error %v", err)
		}
	case <-time.After(testutil.Timeout):
		t.Fatal("Bootstrap did not return after its context ended")
	}
}

func TestMissingBootstrapKubeconfig(t *testing.T) {
	n := newNode(t)
	newSigner(t, n.ca)
	o := n.options()
	o.BootstrapKubeConfig = filepath.Join(n.dir, "none.conf")
	if _, err := ClientConfig(t.Context(), o); !errors.Is(err, ErrStandalone) {
		t.Errorf("neither file: %v, want ErrStandalone", err)
	}
	o.KubeConfig = ""
	if _, err := ClientConfig(t.Context(), o); err == nil || !strings.Contains(err.Error(), "--kubeconfig") {
		t.Errorf("no --kubeconfig: %v", err)
	}
}
