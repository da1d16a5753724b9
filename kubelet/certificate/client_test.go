package certificate

import (
	"context"
	"crypto/tls"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	"k8s.io/client-go/rest"

	"github.com/kubeadmin/kubeadmin/internal/constants"
	"github.com/kubeadmin/kubeadmin/internal/statelog"
	"github.com/kubeadmin/kubeadmin/internal/testutil"
)

// fastChecks makes the agent look for a new certificate often.
func fastChecks(t *testing.T) {
	old := certCheckInterval
	certCheckInterval = 20 * time.Millisecond
	t.Cleanup(func() { certCheckInterval = old })
}

// apiServer is a TLS server that answers /who with the serial number of
// the client certificate of the connection, and holds /watch open.
func apiServer(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/who", func(w http.ResponseWriter, r *http.Request) {
		if len(r.TLS.PeerCertificates) == 0 {
			fmt.Fprint(w, "none")
			return
		}
		fmt.Fprint(w, r.TLS.PeerCertificates[0].SerialNumber.String())
	})
	mux.HandleFunc("/watch", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "open")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	srv := httptest.NewUnstartedServer(mux)
	srv.TLS = &tls.Config{ClientAuth: tls.RequestClientCert}
	srv.StartTLS()
	t.Cleanup(func() {
		// Also the watch, when a failed test leaves it open.
		srv.CloseClientConnections()
		srv.Close()
	})
	return srv
}

func serverCA(srv *httptest.Server) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
}

func who(t *testing.T, hc *http.Client, url string) string {
	t.Helper()
	resp, err := hc.Get(url + "/who")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func serialOf(t *testing.T, certPEM []byte) string {
	t.Helper()
	block, _ := pem.Decode(certPEM)
	c, err := parseCert(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c.SerialNumber.String()
}

func TestRotationSwapsTheCertificateClientsPresent(t *testing.T) {
	fastChecks(t)
	srv := apiServer(t)
	n := newNode(t)
	s := newSigner(t, n.ca)
	// A certificate of two seconds: the manager renews it at 70-90 %.
	certPEM, keyPEM := n.ca.clientPair(t, time.Now(), 2*time.Second)
	pair := writeFile(t, n.dir, "client.pem", append(certPEM, keyPEM...))
	kubeletConf(t, n.dir, srv.URL, serverCA(srv), fileUser(pair))
	o := n.options()
	o.BootstrapKubeConfig = ""
	logger, logs := newLogger()
	o.Logger = logger
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	cfg, err := ClientConfig(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	first := serialOf(t, certPEM)
	if got := who(t, hc, srv.URL); got != first {
		t.Fatalf("the client presents %q, want the kubeconfig's certificate %s", got, first)
	}
	// A long watch on the old certificate.
	resp, err := hc.Get(srv.URL + "/watch")
	if err != nil {
		t.Fatal(err)
	}
	watchEnded := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		close(watchEnded)
	}()

	var now string
	testutil.Eventually(t, "the client to present the renewed certificate", func() bool {
		now = who(t, hc, srv.URL)
		return now != first && now != "none"
	})
	select {
	case <-watchEnded:
	case <-time.After(testutil.Timeout):
		t.Fatal("the watch opened with the old certificate is still open")
	}
	reqs := s.requests()
	if len(reqs) != 1 || reqs[0].Spec.SignerName != certificatesv1.KubeAPIServerClientKubeletSignerName {
		t.Fatalf("CSRs %v", reqs)
	}
	// The renewal was asked with the current certificate (the rotating
	// config), not a token.
	s.mu.Lock()
	renewCfg := s.configs[len(s.configs)-1]
	s.mu.Unlock()
	if renewCfg.Transport == nil || renewCfg.BearerToken != "" {
		t.Errorf("the renewal CSR was not made with the current certificate")
	}
	stored, err := os.ReadFile(filepath.Join(n.pki, constants.KubeletClientCurrent))
	if err != nil {
		t.Fatal(err)
	}
	if serialOf(t, stored) != now {
		t.Errorf("kubelet-client-current.pem holds %s, the client presents %s", serialOf(t, stored), now)
	}
	if !strings.Contains(logs.String(), "client certificate rotated") {
		t.Errorf("log: %s", logs)
	}
}

func TestInitKubeconfigCertificateIsStoredAndRenewed(t *testing.T) {
	n := newNode(t)
	s := newSigner(t, n.ca)
	s.approve.Store(false)
	certPEM, keyPEM := n.ca.clientPair(t, time.Now().Add(-time.Minute), time.Hour)
	kubeletConf(t, n.dir, testServer, n.ca.pem, embeddedUser(certPEM, keyPEM))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	if _, err := ClientConfig(ctx, n.options()); err != nil {
		t.Fatal(err)
	}
	// Stored at once, so that kubelet-finalize finds the link.
	stored, err := os.ReadFile(filepath.Join(n.pki, constants.KubeletClientCurrent))
	if err != nil {
		t.Fatalf("kubelet-client-current.pem: %v", err)
	}
	if serialOf(t, stored) != serialOf(t, certPEM) {
		t.Error("kubelet-client-current.pem is not the kubeconfig's certificate")
	}
	// And replaced at once, not at 70-90 % of its life.
	testutil.Eventually(t, "a renewal CSR", func() bool { return len(s.requests()) == 1 })
	s.signExisting(t, s.requests()[0].Name)
	testutil.Eventually(t, "the renewed certificate in kubelet-client-current.pem", func() bool {
		data, err := os.ReadFile(filepath.Join(n.pki, constants.KubeletClientCurrent))
		return err == nil && serialOf(t, data) != serialOf(t, certPEM)
	})
}

func TestExpiredCertificateRenewsWithBootstrapKubeconfig(t *testing.T) {
	n := newNode(t)
	s := newSigner(t, n.ca)
	logger, logs := newLogger()
	o := n.options()
	o.Logger = logger
	current := &rest.Config{Host: "https://rotating"}
	fn := clientsetFunc(o, func() *rest.Config { return current }, statelog.New(logger.Print), func(*certificatesv1.CertificateSigningRequest) {})
	last := func() *rest.Config {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.configs[len(s.configs)-1]
	}
	if _, err := fn(&tls.Certificate{}); err != nil || last() != current {
		t.Errorf("with a certificate: %v, config %v", err, last().Host)
	}
	if _, err := fn(nil); err != nil || last().BearerToken != testToken {
		t.Errorf("expired: %v; the CSR client does not use the bootstrap kubeconfig", err)
	}
	if !strings.Contains(logs.String(), "requesting a new one with the bootstrap kubeconfig") {
		t.Errorf("log: %s", logs)
	}
	o.BootstrapKubeConfig = filepath.Join(n.dir, "gone.conf")
	fn = clientsetFunc(o, func() *rest.Config { return current }, statelog.New(logger.Print), nil)
	if _, err := fn(nil); err == nil || !strings.Contains(err.Error(), "join the node again") {
		t.Errorf("expired without a bootstrap kubeconfig: %v", err)
	}
}

func TestNoRotationWithoutRotateCertificates(t *testing.T) {
	n := newNode(t)
	newSigner(t, n.ca)
	certPEM, keyPEM := n.ca.clientPair(t, time.Now().Add(-time.Minute), time.Hour)
	kubeletConf(t, n.dir, testServer, n.ca.pem, embeddedUser(certPEM, keyPEM))
	o := n.options()
	o.Rotate = false
	cfg, err := ClientConfig(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Transport != nil || len(cfg.CertData) == 0 {
		t.Error("rotateCertificates false: want the kubeconfig as it is")
	}
	if _, err := os.Stat(n.pki); !os.IsNotExist(err) {
		t.Errorf("the certificate store was used: %v", err)
	}
}
