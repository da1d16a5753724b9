package certs

import (
	"crypto"
	"crypto/x509"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	certutil "k8s.io/client-go/util/cert"

	"github.com/kubeadmin/kubeadmin/internal/config"
	"github.com/kubeadmin/kubeadmin/internal/constants"
	"github.com/kubeadmin/kubeadmin/internal/fsutil"
)

// KubeconfigFileMode is the mode of kubeconfig files.
const KubeconfigFileMode = 0o600

// RenewTarget is one certificate that `certs renew` and `certs
// check-expiration` handle: a leaf of the PKI or the client certificate
// embedded in a kubeconfig file.
type RenewTarget struct {
	// Name is the renew subcommand: a PKI phase name or a kubeconfig file name.
	Name string
	// LongName is kubeadm's description, printed by renew.
	LongName string
	// CAName is the signing CA's name ("ca", "etcd-ca", "front-proxy-ca").
	CAName string
	// CABaseName is the signing CA's base file name ("etcd/ca" for etcd).
	CABaseName string
	// BaseName is the PKI base file name; empty for kubeconfig files.
	BaseName string
	// KubeconfigFile is the kubeconfig file name; empty for PKI files.
	KubeconfigFile string
}

// renewableKubeconfigs are the kubeconfig files whose client certificates
// kubeadm renews (kubelet.conf is rotated by the kubelet itself).
var renewableKubeconfigs = []struct{ file, longName string }{
	{constants.AdminKubeConfigFile, "certificate embedded in the kubeconfig file for the admin to use and for kubeadm itself"},
	{constants.SuperAdminKubeConfigFile, "certificate embedded in the kubeconfig file for the super-admin"},
	{constants.ControllerManagerKubeConfigFile, "certificate embedded in the kubeconfig file for the controller manager to use"},
	{constants.SchedulerKubeConfigFile, "certificate embedded in the kubeconfig file for the scheduler manager to use"},
}

// RenewTargets returns the renewable certificates sorted by name, as
// kubeadm lists them. With an external etcd the etcd leaves are left out.
func RenewTargets(cfg *config.InitConfig) []RenewTarget {
	var out []RenewTarget
	specs := Specs(cfg)
	for _, s := range specs {
		if s.Kind != KindLeaf {
			continue
		}
		ca, _ := SpecByName(cfg, s.CAName)
		out = append(out, RenewTarget{Name: s.Name, LongName: s.LongName, CAName: ca.Name, CABaseName: ca.BaseName, BaseName: s.BaseName})
	}
	for _, k := range renewableKubeconfigs {
		out = append(out, RenewTarget{Name: k.file, LongName: k.longName, CAName: NameCA, CABaseName: constants.CACertAndKeyBaseName, KubeconfigFile: k.file})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// RenewTargetByName returns the target with the given name.
func RenewTargetByName(cfg *config.InitConfig, name string) (RenewTarget, error) {
	targets := RenewTargets(cfg)
	names := make([]string, 0, len(targets))
	for _, t := range targets {
		if t.Name == name {
			return t, nil
		}
		names = append(names, t.Name)
	}
	return RenewTarget{}, fmt.Errorf("%s is not a valid certificate for this cluster; use one of %s", name, strings.Join(names, ", "))
}

// path returns the file holding the target's certificate.
func (t RenewTarget) path(certDir, kubeconfigDir string) string {
	if t.KubeconfigFile != "" {
		return filepath.Join(kubeconfigDir, t.KubeconfigFile)
	}
	return CertPath(certDir, t.BaseName)
}

// Renew renews one certificate unconditionally, as `kubeadm certs renew
// <name>`: a fresh key of the configured algorithm, the old certificate's CN,
// O, SANs and extended key usages, NotBefore = start - 5m and NotAfter =
// start + certificateValidityPeriod, signed by the local CA. A missing
// certificate prints "MISSING! <long name>"; an external CA (no CA key)
// prints that it can't be renewed.
func Renew(name string, cfg *config.InitConfig, certDir, kubeconfigDir string, out io.Writer) error {
	t, err := RenewTargetByName(cfg, name)
	if err != nil {
		return err
	}
	return renew(t, cfg, certDir, kubeconfigDir, out)
}

// RenewAll renews every target in name order and prints kubeadm's closing
// message. Keys are generated on all cores ahead of use.
func RenewAll(cfg *config.InitConfig, certDir, kubeconfigDir string, out io.Writer) error {
	targets := RenewTargets(cfg)
	n := 0
	for _, t := range targets {
		if fsutil.Exists(t.path(certDir, kubeconfigDir)) && !isKeyless(certDir, t.CABaseName) {
			n++
		}
	}
	PregenerateKeys(cfg.Cluster.EncryptionAlgorithm, n)
	for _, t := range targets {
		if err := renew(t, cfg, certDir, kubeconfigDir, out); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "\nDone renewing certificates. You must restart the kube-apiserver, kube-controller-manager, kube-scheduler and etcd, so that they can use the new certificates.\n")
	return nil
}

func renew(t RenewTarget, cfg *config.InitConfig, certDir, kubeconfigDir string, out io.Writer) error {
	if !fsutil.Exists(t.path(certDir, kubeconfigDir)) {
		fmt.Fprintf(out, "MISSING! %s\n", t.LongName)
		return nil
	}
	if isKeyless(certDir, t.CABaseName) {
		fmt.Fprintf(out, "Detected external %s, %s can't be renewed\n", t.CABaseName, t.LongName)
		return nil
	}
	var (
		old *x509.Certificate
		kc  *clientcmdapi.Config
		err error
	)
	if t.KubeconfigFile != "" {
		kc, old, err = readKubeconfigClientCert(t.path(certDir, kubeconfigDir))
	} else {
		old, err = LoadCert(t.path(certDir, kubeconfigDir))
	}
	if err != nil {
		return err
	}
	caCert, caKey, err := LoadCertAndKey(certDir, t.CABaseName)
	if err != nil {
		return fmt.Errorf("failed to load the %s certificate authority: %w", t.CAName, err)
	}
	cert, key, err := renewedCert(old, cfg, caCert, caKey)
	if err != nil {
		return fmt.Errorf("failed to renew certificate %s: %w", t.Name, err)
	}
	if t.KubeconfigFile != "" {
		err = writeKubeconfigClientCert(t.path(certDir, kubeconfigDir), kc, caCert, cert, key)
	} else {
		err = WriteCertAndKey(certDir, t.BaseName, cert, key)
	}
	if err != nil {
		return fmt.Errorf("failed to write the renewed certificate %s: %w", t.Name, err)
	}
	fmt.Fprintf(out, "%s renewed\n", t.LongName)
	return nil
}

// renewedCert signs a copy of old with a new key and a new validity period.
func renewedCert(old *x509.Certificate, cfg *config.InitConfig, caCert *x509.Certificate, caKey crypto.Signer) (*x509.Certificate, crypto.Signer, error) {
	key, err := NewPrivateKey(cfg.Cluster.EncryptionAlgorithm)
	if err != nil {
		return nil, nil, err
	}
	cc := CertConfig{
		CommonName:   old.Subject.CommonName,
		Organization: old.Subject.Organization,
		DNSNames:     old.DNSNames,
		IPs:          old.IPAddresses,
		Usages:       old.ExtKeyUsage,
		NotBefore:    startTime.Add(-constants.CertificateBackdate),
		NotAfter:     startTime.Add(LeafValidity(&cfg.Cluster)),
	}
	cert, err := NewSignedCert(cc, key, caCert, caKey)
	if err != nil {
		return nil, nil, err
	}
	return cert, key, nil
}

// readKubeconfigClientCert loads a kubeconfig and the client certificate
// embedded in its current context's user.
func readKubeconfigClientCert(path string) (*clientcmdapi.Config, *x509.Certificate, error) {
	kc, err := clientcmd.LoadFromFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("failed to load kubeconfig file %q: %w", path, err)
	}
	ctx, ok := kc.Contexts[kc.CurrentContext]
	if !ok {
		return nil, nil, fmt.Errorf("invalid kubeconfig file %q: missing context %q", path, kc.CurrentContext)
	}
	if _, ok := kc.Clusters[ctx.Cluster]; !ok {
		return nil, nil, fmt.Errorf("invalid kubeconfig file %q: missing cluster %q", path, ctx.Cluster)
	}
	user, ok := kc.AuthInfos[ctx.AuthInfo]
	if !ok {
		return nil, nil, fmt.Errorf("invalid kubeconfig file %q: missing user %q", path, ctx.AuthInfo)
	}
	if len(user.ClientCertificateData) == 0 {
		return nil, nil, fmt.Errorf("kubeconfig file %q does not have an embedded client certificate", path)
	}
	certs, err := certutil.ParseCertsPEM(user.ClientCertificateData)
	if err != nil {
		return nil, nil, fmt.Errorf("kubeconfig file %q does not contain a valid client certificate: %w", path, err)
	}
	return kc, certs[0], nil
}

// writeKubeconfigClientCert replaces the current user's client certificate
// and key, and the current cluster's CA, keeping everything else.
func writeKubeconfigClientCert(path string, kc *clientcmdapi.Config, caCert, cert *x509.Certificate, key crypto.Signer) error {
	keyPEM, err := EncodePrivateKeyPEM(key)
	if err != nil {
		return err
	}
	nc := kc.DeepCopy()
	ctx := nc.Contexts[nc.CurrentContext]
	nc.Clusters[ctx.Cluster].CertificateAuthorityData = EncodeCertPEM(caCert)
	nc.AuthInfos[ctx.AuthInfo].ClientCertificateData = EncodeCertPEM(cert)
	nc.AuthInfos[ctx.AuthInfo].ClientKeyData = keyPEM
	data, err := clientcmd.Write(*nc)
	if err != nil {
		return fmt.Errorf("failed to encode kubeconfig file %q: %w", path, err)
	}
	return fsutil.WriteFileAtomic(path, data, KubeconfigFileMode, DirMode)
}
