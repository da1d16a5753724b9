package certs

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/kubeadmin/kubeadmin/internal/config"
	"github.com/kubeadmin/kubeadmin/internal/constants"
	"github.com/kubeadmin/kubeadmin/internal/fsutil"
)

// CreateCert creates the PKI entry of the given phase name in certDir, or
// reuses what is already there, printing kubeadm's lines to out:
//
//   - a CA is reused if <base>.crt exists and is a CA; without <base>.key it
//     is "keyless" (external CA mode);
//   - a leaf is reused if it chains to its CA and covers every SAN the
//     configuration requires (kubeadm's init phases skip the SAN check; here
//     a missing SAN is an error naming the file and the SAN);
//   - a key without its certificate is an error;
//   - sa.key is reused if it parses, else sa.key and sa.pub are written.
//
// Existing files are never overwritten.
func CreateCert(name string, cfg *config.InitConfig, certDir string, out io.Writer) error {
	spec, err := SpecByName(cfg, name)
	if err != nil {
		return err
	}
	if cfg.Cluster.Etcd.External != nil && isEtcdSpec(spec) {
		if spec.IsCA() {
			fmt.Fprintf(out, "[certs] External etcd mode: Skipping %s certificate authority generation\n", spec.BaseName)
		} else {
			fmt.Fprintf(out, "[certs] External etcd mode: Skipping %s certificate generation\n", spec.BaseName)
		}
		return nil
	}
	if spec.Name == NameCA {
		// The first certs phase: pre-generate the keys of the whole run.
		planKeys(cfg, certDir)
	}
	switch spec.Kind {
	case KindCA:
		return createCA(spec, cfg, certDir, out)
	case KindLeaf:
		return createLeaf(spec, cfg, certDir, out)
	default:
		return createServiceAccountKey(cfg, certDir, out)
	}
}

// CreateAll runs CreateCert for every entry in kubeadm's order, like
// `kubeadm init phase certs all` (etcd entries print their skip line with an
// external etcd). It does not print the "Using certificateDir" header.
func CreateAll(cfg *config.InitConfig, certDir string, out io.Writer) error {
	for _, s := range allSpecs(cfg) {
		if err := CreateCert(s.Name, cfg, certDir, out); err != nil {
			return err
		}
	}
	return nil
}

func createCA(s Spec, cfg *config.InitConfig, certDir string, out io.Writer) error {
	crtPath, keyPath := CertPath(certDir, s.BaseName), KeyPath(certDir, s.BaseName)
	if fsutil.Exists(crtPath) {
		cert, err := loadCA(s, certDir)
		if err != nil {
			return err
		}
		if !fsutil.Exists(keyPath) {
			fmt.Fprintf(out, "[certs] Using existing %s keyless certificate authority\n", s.BaseName)
			return nil
		}
		key, err := LoadKey(keyPath)
		if err != nil {
			return err
		}
		if err := checkKeyMatches(cert, key, crtPath, keyPath); err != nil {
			return err
		}
		fmt.Fprintf(out, "[certs] Using existing %s certificate authority\n", s.BaseName)
		return nil
	}
	if fsutil.Exists(keyPath) {
		return leftoverKeyError(s, crtPath, keyPath)
	}
	cc, err := s.CertConfig(cfg)
	if err != nil {
		return err
	}
	key, err := NewPrivateKey(cfg.Cluster.EncryptionAlgorithm)
	if err != nil {
		return err
	}
	cert, err := NewSelfSignedCA(cc, key)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "[certs] Generating %q certificate and key\n", s.BaseName)
	if err := WriteCertAndKey(certDir, s.BaseName, cert, key); err != nil {
		return fmt.Errorf("failed to write the %q certificate authority: %w", s.Name, err)
	}
	return nil
}

// loadCA loads an existing CA certificate and checks that it is a CA.
func loadCA(s Spec, certDir string) (*x509.Certificate, error) {
	crtPath := CertPath(certDir, s.BaseName)
	cert, err := LoadCert(crtPath)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("the %s certificate authority %q does not exist; run \"kubeadmin init phase certs %s\" to create it", s.Name, crtPath, s.Name)
		}
		return nil, err
	}
	warnValidity(s.BaseName, cert)
	if !cert.IsCA {
		return nil, fmt.Errorf("certificate %q is not a certificate authority (CA:TRUE is missing); remove it and %q to generate a new %s CA", crtPath, KeyPath(certDir, s.BaseName), s.Name)
	}
	return cert, nil
}

func createLeaf(s Spec, cfg *config.InitConfig, certDir string, out io.Writer) error {
	caSpec, err := SpecByName(cfg, s.CAName)
	if err != nil {
		return err
	}
	caCert, err := loadCA(caSpec, certDir)
	if err != nil {
		return fmt.Errorf("failed to create certificate %q: %w", s.Name, err)
	}
	crtPath, keyPath := CertPath(certDir, s.BaseName), KeyPath(certDir, s.BaseName)
	if fsutil.Exists(crtPath) {
		if err := checkExistingLeaf(s, caSpec, caCert, cfg, certDir); err != nil {
			return err
		}
		fmt.Fprintf(out, "[certs] Using existing %s certificate and key on disk\n", s.BaseName)
		return nil
	}
	if fsutil.Exists(keyPath) {
		return leftoverKeyError(s, crtPath, keyPath)
	}
	caKeyPath := KeyPath(certDir, caSpec.BaseName)
	if !fsutil.Exists(caKeyPath) {
		return fmt.Errorf("cannot create certificate %q: the %s certificate authority has no private key %q (external CA mode); provide %q and %q signed by that CA", s.Name, caSpec.Name, caKeyPath, crtPath, keyPath)
	}
	caKey, err := LoadKey(caKeyPath)
	if err != nil {
		return err
	}
	if err := checkKeyMatches(caCert, caKey, CertPath(certDir, caSpec.BaseName), caKeyPath); err != nil {
		return err
	}
	cc, err := s.CertConfig(cfg)
	if err != nil {
		return err
	}
	key, err := NewPrivateKey(cfg.Cluster.EncryptionAlgorithm)
	if err != nil {
		return err
	}
	cert, err := NewSignedCert(cc, key, caCert, caKey)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "[certs] Generating %q certificate and key\n", s.BaseName)
	if err := WriteCertAndKey(certDir, s.BaseName, cert, key); err != nil {
		return fmt.Errorf("failed to write certificate %q: %w", s.Name, err)
	}
	if slices.Contains(cert.ExtKeyUsage, x509.ExtKeyUsageServerAuth) {
		fmt.Fprintf(out, "[certs] %s serving cert is signed for DNS names %v and IPs %v\n", s.BaseName, cert.DNSNames, cert.IPAddresses)
	}
	return nil
}

// checkExistingLeaf validates an existing leaf for reuse: it must parse,
// chain to its CA, have a matching key and cover every required SAN.
func checkExistingLeaf(s, caSpec Spec, caCert *x509.Certificate, cfg *config.InitConfig, certDir string) error {
	crtPath, keyPath := CertPath(certDir, s.BaseName), KeyPath(certDir, s.BaseName)
	cert, inter, err := LoadCertChain(crtPath)
	if err != nil {
		return err
	}
	warnValidity(s.BaseName, cert)
	if err := VerifyChain(cert, inter, caCert); err != nil {
		return fmt.Errorf("certificate %q is not signed by the %s certificate authority %q: %w; remove the certificate and its key to generate new ones", crtPath, caSpec.Name, CertPath(certDir, caSpec.BaseName), err)
	}
	if !fsutil.Exists(keyPath) {
		return fmt.Errorf("found certificate %q but not its private key %q; provide the key, or remove the certificate to generate a new pair", crtPath, keyPath)
	}
	key, err := LoadKey(keyPath)
	if err != nil {
		return err
	}
	if err := checkKeyMatches(cert, key, crtPath, keyPath); err != nil {
		return err
	}
	alt, err := s.AltNames(cfg)
	if err != nil {
		return err
	}
	for _, n := range alt.Names {
		if !covers(cert, n) {
			return fmt.Errorf("certificate %q does not cover %s required by %s; remove %q and %q and run the command again to generate a certificate with the configured SANs", crtPath, n, n.Source, crtPath, keyPath)
		}
	}
	return nil
}

// covers reports whether cert has the SAN n (a wildcard DNS SAN in the
// certificate covers a matching name).
func covers(cert *x509.Certificate, n AltName) bool {
	if n.IP != nil {
		return slices.ContainsFunc(cert.IPAddresses, n.IP.Equal)
	}
	if slices.ContainsFunc(cert.DNSNames, func(d string) bool { return strings.EqualFold(d, n.DNS) }) {
		return true
	}
	return !strings.HasPrefix(n.DNS, "*") && cert.VerifyHostname(n.DNS) == nil
}

func leftoverKeyError(s Spec, crtPath, keyPath string) error {
	return fmt.Errorf("found the private key %q of %q but not its certificate %q; remove the key to generate a new pair, or provide the certificate", keyPath, s.Name, crtPath)
}

func createServiceAccountKey(cfg *config.InitConfig, certDir string, out io.Writer) error {
	if isKeyless(certDir, constants.CACertAndKeyBaseName) {
		fmt.Fprintf(out, "[certs] Using existing sa keys\n")
		return nil
	}
	keyPath := filepath.Join(certDir, constants.ServiceAccountPrivateKeyName)
	pubPath := filepath.Join(certDir, constants.ServiceAccountPublicKeyName)
	if fsutil.Exists(keyPath) {
		key, err := LoadKey(keyPath)
		if err != nil {
			return fmt.Errorf("file %s existed but it could not be loaded properly: %w; remove it to generate a new key pair", keyPath, err)
		}
		if !fsutil.Exists(pubPath) {
			if err := writePublicKey(pubPath, key); err != nil {
				return err
			}
		}
		fmt.Fprintf(out, "[certs] Using the existing %q key\n", constants.ServiceAccountKeyBaseName)
		return nil
	}
	key, err := NewPrivateKey(cfg.Cluster.EncryptionAlgorithm)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "[certs] Generating %q key and public key\n", constants.ServiceAccountKeyBaseName)
	keyPEM, err := EncodePrivateKeyPEM(key)
	if err != nil {
		return err
	}
	if err := fsutil.WriteFileAtomic(keyPath, keyPEM, KeyFileMode, DirMode); err != nil {
		return err
	}
	return writePublicKey(pubPath, key)
}

func writePublicKey(path string, key crypto.Signer) error {
	pubPEM, err := EncodePublicKeyPEM(key.Public())
	if err != nil {
		return err
	}
	return fsutil.WriteFileAtomic(path, pubPEM, KeyFileMode, DirMode)
}

// isKeyless reports whether the CA certificate exists without its key.
func isKeyless(certDir, caBaseName string) bool {
	return fsutil.Exists(CertPath(certDir, caBaseName)) && !fsutil.Exists(KeyPath(certDir, caBaseName))
}

// plannedDirs records the (directory, algorithm) pairs whose missing keys
// were already handed to PregenerateKeys.
var plannedDirs sync.Map

// planKeys pre-generates, once per certificate directory, one key for every
// entry that the certs phases will have to create. It runs at the "ca" phase,
// the first of a full run; a single later phase generates only its own key.
func planKeys(cfg *config.InitConfig, certDir string) {
	alg := cfg.Cluster.EncryptionAlgorithm
	if _, done := plannedDirs.LoadOrStore(certDir+"\x00"+string(alg), true); done {
		return
	}
	n := 0
	for _, s := range Specs(cfg) {
		if needsNewKey(s, cfg, certDir) {
			n++
		}
	}
	PregenerateKeys(alg, n)
}

// needsNewKey reports whether creating s will generate a private key.
func needsNewKey(s Spec, cfg *config.InitConfig, certDir string) bool {
	switch s.Kind {
	case KindServiceAccountKey:
		return !isKeyless(certDir, constants.CACertAndKeyBaseName) &&
			!fsutil.Exists(filepath.Join(certDir, constants.ServiceAccountPrivateKeyName))
	case KindLeaf:
		ca, err := SpecByName(cfg, s.CAName)
		if err != nil || isKeyless(certDir, ca.BaseName) {
			return false
		}
	}
	return !fsutil.Exists(CertPath(certDir, s.BaseName)) && !fsutil.Exists(KeyPath(certDir, s.BaseName))
}

// UsingExternalCA reports whether the Kubernetes CA is external (ca.crt
// without ca.key). In that case apiserver and apiserver-kubelet-client must
// exist and be signed by it, else the error says which is wrong. A missing
// or invalid ca.crt gives false and the error.
func UsingExternalCA(cfg *config.InitConfig, certDir string) (bool, error) {
	return usingExternal(cfg, certDir, NameCA, NameAPIServer, NameAPIServerKubeletClient)
}

// UsingExternalFrontProxyCA is UsingExternalCA for the front-proxy CA; the
// front-proxy-client certificate must then exist.
func UsingExternalFrontProxyCA(cfg *config.InitConfig, certDir string) (bool, error) {
	return usingExternal(cfg, certDir, NameFrontProxyCA, NameFrontProxyClient)
}

// UsingExternalEtcdCA is UsingExternalCA for the etcd CA; every etcd leaf
// must then exist.
func UsingExternalEtcdCA(cfg *config.InitConfig, certDir string) (bool, error) {
	return usingExternal(cfg, certDir, NameEtcdCA, NameAPIServerEtcdClient, NameEtcdServer, NameEtcdPeer, NameEtcdHealthcheckClient)
}

func usingExternal(cfg *config.InitConfig, certDir, caName string, leaves ...string) (bool, error) {
	caSpec, err := SpecByName(cfg, caName)
	if err != nil {
		return false, err
	}
	caCert, err := loadCA(caSpec, certDir)
	if err != nil {
		return false, err
	}
	if fsutil.Exists(KeyPath(certDir, caSpec.BaseName)) {
		return false, nil
	}
	for _, name := range leaves {
		if err := validateSignedBy(cfg, certDir, name, caSpec, caCert); err != nil {
			return true, err
		}
	}
	return true, nil
}

func validateSignedBy(cfg *config.InitConfig, certDir, name string, caSpec Spec, caCert *x509.Certificate) error {
	s, err := SpecByName(cfg, name)
	if err != nil {
		return err
	}
	crtPath, keyPath := CertPath(certDir, s.BaseName), KeyPath(certDir, s.BaseName)
	if _, err := LoadKey(keyPath); err != nil {
		return fmt.Errorf("external %s CA mode: %w", caSpec.Name, err)
	}
	cert, inter, err := LoadCertChain(crtPath)
	if err != nil {
		return fmt.Errorf("external %s CA mode: %w", caSpec.Name, err)
	}
	if err := VerifyChain(cert, inter, caCert); err != nil {
		return fmt.Errorf("external %s CA mode: certificate %q is not signed by %q: %w", caSpec.Name, crtPath, CertPath(certDir, caSpec.BaseName), err)
	}
	return nil
}
