// Package certs builds and maintains kubeadmin's public key infrastructure
// under the certificates directory (default /etc/kubernetes/pki), exactly as
// kubeadm v1.37.2 lays it out: the three CAs, the leaf certificates signed by
// them, and the service-account key pair. It also renews leaf certificates
// (including the client certificates embedded in kubeconfig files), reports
// their expiration, and provides the AES-GCM helpers that protect the
// kubeadm-certs Secret.
//
// Private keys are the main cost of `init`; they are generated on all cores
// ahead of use (see PregenerateKeys) while every line of output stays in
// kubeadm's order.
package certs

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	certutil "k8s.io/client-go/util/cert"
	"k8s.io/client-go/util/keyutil"

	"github.com/kubeadmin/kubeadmin/internal/config"
	"github.com/kubeadmin/kubeadmin/internal/constants"
	"github.com/kubeadmin/kubeadmin/internal/fsutil"
)

// File modes of the PKI (kubeadm: client-go certutil/keyutil).
const (
	// CertFileMode is the mode of every certificate file.
	CertFileMode os.FileMode = 0o644
	// KeyFileMode is the mode of every private key and of sa.pub.
	KeyFileMode os.FileMode = 0o600
	// DirMode is the mode of directories created for PKI files.
	DirMode os.FileMode = 0o755
)

// PEM block types.
const (
	CertificateBlockType = "CERTIFICATE"
	PublicKeyBlockType   = "PUBLIC KEY"
)

// startTime is the process start time: every certificate written by one run
// shares NotBefore = startTime - 5m, as kubeadm's StartTimeUTC.
var startTime = time.Now().UTC()

// StartTime returns the time all certificates of this process are dated from.
func StartTime() time.Time { return startTime }

// CertConfig is everything that goes into a certificate besides its key.
type CertConfig struct {
	CommonName   string
	Organization []string
	DNSNames     []string
	IPs          []net.IP
	Usages       []x509.ExtKeyUsage
	NotBefore    time.Time
	NotAfter     time.Time
}

// LeafValidity returns the configured leaf certificate validity period.
func LeafValidity(cfg *config.ClusterConfiguration) time.Duration {
	if cfg != nil && cfg.CertificateValidityPeriod != nil {
		return cfg.CertificateValidityPeriod.Duration
	}
	return constants.CertificateValidityPeriod
}

// CAValidity returns the configured CA certificate validity period.
func CAValidity(cfg *config.ClusterConfiguration) time.Duration {
	if cfg != nil && cfg.CACertificateValidityPeriod != nil {
		return cfg.CACertificateValidityPeriod.Duration
	}
	return constants.CACertificateValidityPeriod
}

// randomSerial returns a uniform random serial number in [1, 2^63-1).
func randomSerial() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(math.MaxInt64-1))
	if err != nil {
		return nil, fmt.Errorf("failed to generate a certificate serial number: %w", err)
	}
	return n.Add(n, big.NewInt(1)), nil
}

// NewSelfSignedCA creates a self-signed CA certificate for key: CA:TRUE,
// KeyUsage DigitalSignature|KeyEncipherment|CertSign and DNS SAN = CN.
func NewSelfSignedCA(cc CertConfig, key crypto.Signer) (*x509.Certificate, error) {
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cc.CommonName, Organization: cc.Organization},
		NotBefore:             cc.NotBefore,
		NotAfter:              cc.NotAfter,
		KeyUsage:              x509.KeyUsageKeyEncipherment | x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	if cc.CommonName != "" {
		tmpl.DNSNames = []string{cc.CommonName}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("failed to create the self-signed CA certificate %q: %w", cc.CommonName, err)
	}
	return x509.ParseCertificate(der)
}

// NewSignedCert creates a leaf certificate for key signed by the CA. A zero
// NotBefore means the CA's NotBefore (kubeadm does this for kubeconfig client
// certificates). SANs are de-duplicated: DNS names sorted, IPs in order.
func NewSignedCert(cc CertConfig, key crypto.Signer, caCert *x509.Certificate, caKey crypto.Signer) (*x509.Certificate, error) {
	if cc.CommonName == "" {
		return nil, errors.New("failed to create a certificate: the common name is empty")
	}
	if len(cc.Usages) == 0 {
		return nil, fmt.Errorf("failed to create certificate %q: no extended key usage given", cc.CommonName)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	notBefore := cc.NotBefore
	if notBefore.IsZero() {
		notBefore = caCert.NotBefore
	}
	notAfter := cc.NotAfter
	if notAfter.IsZero() {
		notAfter = notBefore.Add(constants.CertificateValidityPeriod)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cc.CommonName, Organization: cc.Organization},
		DNSNames:              sortedUnique(cc.DNSNames),
		IPAddresses:           uniqueIPs(cc.IPs),
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageKeyEncipherment | x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           cc.Usages,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, key.Public(), caKey)
	if err != nil {
		return nil, fmt.Errorf("failed to sign certificate %q: %w", cc.CommonName, err)
	}
	return x509.ParseCertificate(der)
}

// EncodeCertPEM returns the PEM encoding of cert.
func EncodeCertPEM(cert *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: CertificateBlockType, Bytes: cert.Raw})
}

// EncodePrivateKeyPEM returns the PEM encoding of key: "RSA PRIVATE KEY"
// (PKCS#1) for RSA, "EC PRIVATE KEY" for ECDSA.
func EncodePrivateKeyPEM(key crypto.Signer) ([]byte, error) {
	b, err := keyutil.MarshalPrivateKeyToPEM(key)
	if err != nil {
		return nil, fmt.Errorf("failed to encode the private key: %w", err)
	}
	return b, nil
}

// EncodePublicKeyPEM returns the PKIX "PUBLIC KEY" PEM encoding of pub.
func EncodePublicKeyPEM(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("failed to encode the public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: PublicKeyBlockType, Bytes: der}), nil
}

// CertPath returns <certDir>/<baseName>.crt.
func CertPath(certDir, baseName string) string {
	return filepath.Join(certDir, baseName+".crt")
}

// KeyPath returns <certDir>/<baseName>.key.
func KeyPath(certDir, baseName string) string {
	return filepath.Join(certDir, baseName+".key")
}

// LoadCertChain reads a PEM certificate file; the first certificate is the
// leaf, the rest are intermediates.
func LoadCertChain(path string) (*x509.Certificate, []*x509.Certificate, error) {
	certs, err := certutil.CertsFromFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("failed to load certificate %q: %w", path, err)
	}
	return certs[0], certs[1:], nil
}

// LoadCert reads the first certificate of a PEM file.
func LoadCert(path string) (*x509.Certificate, error) {
	c, _, err := LoadCertChain(path)
	return c, err
}

// LoadKey reads an RSA or ECDSA private key from a PEM file.
func LoadKey(path string) (crypto.Signer, error) {
	k, err := keyutil.PrivateKeyFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("failed to load private key %q: %w", path, err)
	}
	switch key := k.(type) {
	case *rsa.PrivateKey:
		return key, nil
	case *ecdsa.PrivateKey:
		return key, nil
	}
	return nil, fmt.Errorf("failed to load private key %q: it is neither an RSA nor an ECDSA key", path)
}

// LoadCertAndKey loads <baseName>.crt and <baseName>.key from certDir and
// checks that they belong together.
func LoadCertAndKey(certDir, baseName string) (*x509.Certificate, crypto.Signer, error) {
	cert, err := LoadCert(CertPath(certDir, baseName))
	if err != nil {
		return nil, nil, err
	}
	key, err := LoadKey(KeyPath(certDir, baseName))
	if err != nil {
		return nil, nil, err
	}
	if err := checkKeyMatches(cert, key, CertPath(certDir, baseName), KeyPath(certDir, baseName)); err != nil {
		return nil, nil, err
	}
	return cert, key, nil
}

// checkKeyMatches fails if key is not the private key of cert.
func checkKeyMatches(cert *x509.Certificate, key crypto.Signer, certPath, keyPath string) error {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	pub, ok := key.Public().(equaler)
	if !ok || !pub.Equal(cert.PublicKey) {
		return fmt.Errorf("the private key %q does not belong to the certificate %q; remove both files and run the command again, or restore the matching pair", keyPath, certPath)
	}
	return nil
}

// WriteCertAndKey writes the key (0600) and then the certificate (0644).
func WriteCertAndKey(certDir, baseName string, cert *x509.Certificate, key crypto.Signer) error {
	keyPEM, err := EncodePrivateKeyPEM(key)
	if err != nil {
		return err
	}
	if err := fsutil.WriteFileAtomic(KeyPath(certDir, baseName), keyPEM, KeyFileMode, DirMode); err != nil {
		return err
	}
	return fsutil.WriteFileAtomic(CertPath(certDir, baseName), EncodeCertPEM(cert), CertFileMode, DirMode)
}

// VerifyChain checks that cert is signed by root, directly or through the
// intermediates in chain order. Validity periods are not checked (kubeadm
// only warns about them).
func VerifyChain(cert *x509.Certificate, intermediates []*x509.Certificate, root *x509.Certificate) error {
	current := cert
	for _, inter := range intermediates {
		if current.Equal(root) {
			return nil
		}
		if err := current.CheckSignatureFrom(inter); err != nil {
			return err
		}
		current = inter
	}
	if current.Equal(root) {
		return nil
	}
	return current.CheckSignatureFrom(root)
}

// warned records the certificates whose validity was already reported.
var warned sync.Map

// warnValidity prints a warning, once per name and process as kubeadm,
// when cert is not valid now.
func warnValidity(name string, cert *x509.Certificate) {
	if _, done := warned.LoadOrStore(name, true); done {
		return
	}
	now := time.Now()
	period := fmt.Sprintf("NotBefore: %v, NotAfter: %v", cert.NotBefore, cert.NotAfter)
	switch {
	case now.Before(cert.NotBefore):
		fmt.Fprintf(Warnings, "[certs] WARNING: could not validate bounds for certificate %s: the certificate is not valid yet: %s\n", name, period)
	case now.After(cert.NotAfter):
		fmt.Fprintf(Warnings, "[certs] WARNING: could not validate bounds for certificate %s: the certificate has expired: %s\n", name, period)
	}
}
