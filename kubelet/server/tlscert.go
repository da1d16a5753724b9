package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"path/filepath"
	"time"

	"k8s.io/client-go/util/cert"

	"github.com/kubeadmin/kubeadmin/internal/fsutil"
)

// Self-signed serving certificate file names in the certificate directory,
// as the upstream kubelet's.
const (
	ServingCertFile = "kubelet.crt"
	ServingKeyFile  = "kubelet.key"
	servingValidity = 365 * 24 * time.Hour
	// The serving certificate always names these too.
	localhostName = "localhost"
	loopbackIP    = "127.0.0.1"
)

// EnsureServingCert returns the paths of the kubelet's serving certificate
// and key in certDir, creating a self-signed pair for nodeName and nodeIP
// (SelfSignedCert) unless a pair is there that is valid at now and names
// nodeName and nodeIP (a node whose IP changed gets a new one).
func EnsureServingCert(certDir, nodeName, nodeIP string, now time.Time) (certFile, keyFile string, err error) {
	certFile = filepath.Join(certDir, ServingCertFile)
	keyFile = filepath.Join(certDir, ServingKeyFile)
	if usableCert(certFile, keyFile, nodeName, nodeIP, now) {
		return certFile, keyFile, nil
	}
	certPEM, keyPEM, err := SelfSignedCert(nodeName, nodeIP)
	if err != nil {
		return "", "", err
	}
	if err := fsutil.WriteFileAtomic(keyFile, keyPEM, 0o600, 0o700); err != nil {
		return "", "", fmt.Errorf("failed to write the kubelet serving key %q: %w", keyFile, err)
	}
	if err := fsutil.WriteFileAtomic(certFile, certPEM, 0o644, 0o700); err != nil {
		return "", "", fmt.Errorf("failed to write the kubelet serving certificate %q: %w", certFile, err)
	}
	return certFile, keyFile, nil
}

// usableCert reports whether the pair loads and the certificate is valid
// at now for nodeName and nodeIP.
func usableCert(certFile, keyFile, nodeName, nodeIP string, now time.Time) bool {
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil || len(pair.Certificate) == 0 {
		return false
	}
	c, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil || now.Before(c.NotBefore) || now.After(c.NotAfter) || c.VerifyHostname(nodeName) != nil {
		return false
	}
	return nodeIP == "" || c.VerifyHostname(nodeIP) == nil
}

// SelfSignedCert renders a one-year self-signed serving certificate for
// nodeName, localhost, nodeIP and 127.0.0.1, and its key, in PEM. The key
// is ECDSA P-256: the upstream kubelet makes two RSA-2048 keys here (a
// throw-away CA and the leaf), which costs a joining node hundreds of
// milliseconds on a small machine, and nobody verifies this certificate
// against a CA (the API server does not check kubelet serving certificates
// unless --kubelet-certificate-authority is set; then use
// serverTLSBootstrap).
func SelfSignedCert(nodeName, nodeIP string) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("failed to create the kubelet serving key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, nil, fmt.Errorf("failed to create the kubelet serving certificate: %w", err)
	}
	loopback := net.ParseIP(loopbackIP)
	ips := []net.IP{loopback}
	if ip := net.ParseIP(nodeIP); ip != nil && !ip.Equal(loopback) {
		ips = []net.IP{ip, loopback}
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: fmt.Sprintf("%s@%d", nodeName, now.Unix())},
		NotBefore:    now.Add(-time.Minute), NotAfter: now.Add(servingValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              []string{nodeName, localhostName},
		IPAddresses:           ips,
	}
	if ip := net.ParseIP(nodeName); ip != nil {
		tmpl.DNSNames, tmpl.IPAddresses = []string{localhostName}, append(ips, ip)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, fmt.Errorf("failed to create the kubelet serving certificate: %w", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("failed to encode the kubelet serving key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), nil
}

// loadClientCAs reads the PEM bundle of authentication.x509.clientCAFile.
func loadClientCAs(file string) (*x509.CertPool, error) {
	pool, err := cert.NewPool(file)
	if err != nil {
		return nil, fmt.Errorf("invalid client CA file %q (authentication.x509.clientCAFile): %w", file, err)
	}
	return pool, nil
}
