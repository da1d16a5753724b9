package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestEnsureServingCert(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	now := time.Now()
	certFile, keyFile, err := EnsureServingCert(dir, "node1", "10.0.0.5", now)
	if err != nil {
		t.Fatal(err)
	}
	for file, mode := range map[string]os.FileMode{certFile: 0o644, keyFile: 0o600} {
		st, err := os.Stat(file)
		if err != nil || st.Mode().Perm() != mode {
			t.Errorf("%s: %v mode %v, want %v", file, err, st.Mode().Perm(), mode)
		}
	}
	first, _ := os.ReadFile(certFile)
	if !usableCert(certFile, keyFile, "node1", "10.0.0.5", now) {
		t.Fatal("the new pair is not usable")
	}
	if _, _, err := EnsureServingCert(dir, "node1", "10.0.0.5", now); err != nil {
		t.Fatal(err)
	}
	again, _ := os.ReadFile(certFile)
	if !bytes.Equal(first, again) {
		t.Errorf("a usable pair was not reused")
	}
	// The node IP changed: the certificate must name the new one.
	if _, _, err := EnsureServingCert(dir, "node1", "10.0.0.6", now); err != nil {
		t.Fatal(err)
	}
	if c := readCert(t, certFile); c.VerifyHostname("10.0.0.6") != nil || c.VerifyHostname("node1") != nil {
		t.Errorf("after an IP change the certificate names %v %v, want 10.0.0.6 and node1", c.IPAddresses, c.DNSNames)
	}
	// So must a renamed node.
	if _, _, err := EnsureServingCert(dir, "node2", "10.0.0.6", now); err != nil {
		t.Fatal(err)
	}
	if c := readCert(t, certFile); c.VerifyHostname("node2") != nil {
		t.Errorf("after a rename the certificate names %v, want node2", c.DNSNames)
	}
	current, _ := os.ReadFile(certFile)
	if _, _, err := EnsureServingCert(dir, "node2", "10.0.0.6", now.Add(2*servingValidity)); err != nil {
		t.Fatal(err)
	}
	renewed, _ := os.ReadFile(certFile)
	if bytes.Equal(current, renewed) {
		t.Errorf("an expired pair was reused")
	}
}

// readCert parses the first certificate of a PEM file.
func readCert(t *testing.T, file string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatalf("%s: no PEM block", file)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestListenServesGetCertificate(t *testing.T) {
	dir := t.TempDir()
	var current atomic.Pointer[tls.Certificate]
	pairFor := func(name string) *tls.Certificate {
		certPEM, keyPEM, err := SelfSignedCert(name, "127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		return &pair
	}
	current.Store(pairFor("issued-1"))
	l, err := Listen(Options{NodeName: "node1", Address: "127.0.0.1", Port: 0, CertDir: dir, Logger: log.New(io.Discard, "", 0),
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return current.Load(), nil },
	}, &fakeProvider{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = l.Serve(ctx) }()
	presented := func() string {
		conn, err := tls.Dial("tcp", l.Addr(), &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].Subject.CommonName
	}
	if got := presented(); !strings.HasPrefix(got, "issued-1@") {
		t.Errorf("serves %q, want the certificate of GetCertificate", got)
	}
	current.Store(pairFor("issued-2"))
	if got := presented(); !strings.HasPrefix(got, "issued-2@") {
		t.Errorf("after rotation serves %q, want issued-2", got)
	}
	if _, err := os.Stat(filepath.Join(dir, ServingCertFile)); !os.IsNotExist(err) {
		t.Errorf("a self-signed pair was written though GetCertificate is set: %v", err)
	}
}
