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
	"os"
	"path/filepath"
	"time"

	"github.com/kubeadmin/kubeadmin/internal/fsutil"
)

// Self-signed serving certificate file names in the certificate directory,
// as the upstream kubelet's.
const (
	ServingCertFile = "kubelet.crt"
	ServingKeyFile  = "kubelet.key"
	servingValidity = 365 * 24 * time.Hour
)

// EnsureServingCert returns the paths of the kubelet's serving certificate
// and key in certDir, creating a self-signed ECDSA P-256 pair for nodeName
// and nodeIP (valid one year) unless a pair is there that is valid at now
// and names nodeName and nodeIP (a node whose IP changed gets a new one).
func EnsureServingCert(certDir, nodeName, nodeIP string, now time.Time) (certFile, keyFile string, err error) {
	certFile = filepath.Join(certDir, ServingCertFile)
	keyFile = filepath.Join(certDir, ServingKeyFile)
	if usableCert(certFile, keyFile, nodeName, nodeIP, now) {
		return certFile, keyFile, nil
	}
	certPEM, keyPEM, err := SelfSignedCert(nodeName, nodeIP, now)
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

// SelfSignedCert renders a self-signed serving certificate and its key
// (PEM) with SANs nodeName, localhost, nodeIP and 127.0.0.1.
func SelfSignedCert(nodeName, nodeIP string, now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("failed to generate the kubelet serving key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, nil, fmt.Errorf("failed to generate a serial number: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: fmt.Sprintf("%s@%d", nodeName, now.Unix())},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(servingValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{nodeName, "localhost"},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
	}
	if ip := net.ParseIP(nodeIP); ip != nil && !ip.Equal(tmpl.IPAddresses[0]) {
		tmpl.IPAddresses = append([]net.IP{ip}, tmpl.IPAddresses...)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
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
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("failed to read the client CA file %q (authentication.x509.clientCAFile): %w", file, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("invalid client CA file %q (authentication.x509.clientCAFile): no PEM certificate found", file)
	}
	return pool, nil
}
