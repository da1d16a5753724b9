// Package kubeconfig writes the kubeconfig files of a control-plane node
// (admin.conf, super-admin.conf, kubelet.conf, controller-manager.conf,
// scheduler.conf) with client certificates signed by the cluster CA, exactly
// as kubeadm v1.37.2 does, and builds the token-based bootstrap kubeconfig
// used by join.
package kubeconfig

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	certutil "k8s.io/client-go/util/cert"
	netutils "k8s.io/utils/net"

	"github.com/kubeadmin/kubeadmin/certs"
	"github.com/kubeadmin/kubeadmin/internal/config"
	"github.com/kubeadmin/kubeadmin/internal/constants"
	"github.com/kubeadmin/kubeadmin/internal/fsutil"
)

// FileMode is the mode of every kubeconfig file.
const FileMode os.FileMode = 0o600

// dirMode is the mode of a kubeconfig directory created on write.
const dirMode os.FileMode = 0o755

// Spec describes one kubeconfig file: whose identity it carries and which
// API server it talks to.
type Spec struct {
	// FileName is the file name below the kubeconfig directory.
	FileName string
	// ClientName is the user name and the client certificate's CN.
	ClientName string
	// Organizations are the client certificate's O (groups).
	Organizations []string
	// Server is the API server URL.
	Server string
}

// Specs returns the kubeconfig files of `kubeadm init phase kubeconfig`, in
// its order: admin.conf and super-admin.conf talk to the controlPlaneEndpoint
// (or the local endpoint when it is unset); kubelet.conf, controller-manager.conf
// and scheduler.conf talk to the local API server.
func Specs(cfg *config.InitConfig) ([]Spec, error) {
	cpe, err := ControlPlaneEndpointURL(cfg)
	if err != nil {
		return nil, err
	}
	local, err := LocalEndpointURL(&cfg.Init.LocalAPIEndpoint)
	if err != nil {
		return nil, err
	}
	return []Spec{
		{FileName: constants.AdminKubeConfigFile, ClientName: constants.AdminUser, Organizations: []string{constants.ClusterAdminsGroupAndCRB}, Server: cpe},
		{FileName: constants.SuperAdminKubeConfigFile, ClientName: constants.SuperAdminUser, Organizations: []string{constants.SystemPrivilegedGroup}, Server: cpe},
		// kubeadm blanks controlPlaneEndpoint for kubelet.conf during init.
		{FileName: constants.KubeletKubeConfigFile, ClientName: constants.NodesUserPrefix + cfg.Init.NodeRegistration.Name, Organizations: []string{constants.NodesGroup}, Server: local},
		{FileName: constants.ControllerManagerKubeConfigFile, ClientName: constants.ControllerManagerUser, Server: local},
		{FileName: constants.SchedulerKubeConfigFile, ClientName: constants.SchedulerUser, Server: local},
	}, nil
}

// SpecByName returns the spec of a file name ("admin.conf") or of a phase
// name ("admin").
func SpecByName(cfg *config.InitConfig, name string) (Spec, error) {
	specs, err := Specs(cfg)
	if err != nil {
		return Spec{}, err
	}
	names := make([]string, 0, len(specs))
	for _, s := range specs {
		if s.FileName == name || strings.TrimSuffix(s.FileName, ".conf") == name {
			return s, nil
		}
		names = append(names, s.FileName)
	}
	return Spec{}, fmt.Errorf("unknown kubeconfig file %q; use one of %s", name, strings.Join(names, ", "))
}

// LocalEndpointURL returns https://<advertiseAddress>:<bindPort>.
func LocalEndpointURL(ep *config.APIEndpoint) (string, error) {
	ip := netutils.ParseIPSloppy(ep.AdvertiseAddress)
	if ip == nil {
		return "", fmt.Errorf("localAPIEndpoint.advertiseAddress %q is not a valid IP address; set it to this node's IP", ep.AdvertiseAddress)
	}
	if ep.BindPort < 1 || ep.BindPort > 65535 {
		return "", fmt.Errorf("localAPIEndpoint.bindPort %d is not a valid port; use a number between 1 and 65535", ep.BindPort)
	}
	return formatURL(ip.String(), strconv.Itoa(int(ep.BindPort))), nil
}

// ControlPlaneEndpointURL returns the controlPlaneEndpoint as a URL (with the
// bind port when it has none), or the local endpoint when it is unset.
func ControlPlaneEndpointURL(cfg *config.InitConfig) (string, error) {
	local, err := LocalEndpointURL(&cfg.Init.LocalAPIEndpoint)
	if err != nil {
		return "", err
	}
	cpe := cfg.Cluster.ControlPlaneEndpoint
	if cpe == "" {
		return local, nil
	}
	host, port, err := certs.ParseHostPort(cpe)
	if err != nil {
		return "", fmt.Errorf("controlPlaneEndpoint %q is invalid: %w", cpe, err)
	}
	if port == "" {
		port = strconv.Itoa(int(cfg.Init.LocalAPIEndpoint.BindPort))
	}
	return formatURL(host, port), nil
}

func formatURL(host, port string) string {
	return (&url.URL{Scheme: "https", Host: net.JoinHostPort(host, port)}).String()
}

// CreateKubeConfigFile writes one kubeconfig file (by file or phase name) in
// kubeconfigDir with a client certificate signed by <certDir>/ca, printing
// kubeadm's lines. An existing file is reused when its current cluster trusts
// the same CA (a different server URL only warns); a different CA is an
// error. In external CA mode (ca.key absent) the file must already exist.
func CreateKubeConfigFile(name string, cfg *config.InitConfig, kubeconfigDir, certDir string, out io.Writer) error {
	spec, err := SpecByName(cfg, name)
	if err != nil {
		return err
	}
	path := filepath.Join(kubeconfigDir, spec.FileName)
	caChain, err := loadCAChain(certDir)
	if err != nil {
		return err
	}
	caKeyPath := certs.KeyPath(certDir, constants.CACertAndKeyBaseName)
	if !fsutil.Exists(caKeyPath) {
		fmt.Fprintf(out, "[kubeconfig] External CA mode: Using user provided %s\n", spec.FileName)
		return validateExisting(path, caChain, caPath(certDir), spec.Server)
	}
	if fsutil.Exists(path) {
		if err := validateExisting(path, caChain, caPath(certDir), spec.Server); err != nil {
			return err
		}
		fmt.Fprintf(out, "[kubeconfig] Using existing kubeconfig file: %q\n", path)
		return nil
	}
	caCert, caKey, err := certs.LoadCertAndKey(certDir, constants.CACertAndKeyBaseName)
	if err != nil {
		return err
	}
	if spec.FileName == constants.AdminKubeConfigFile {
		// The first kubeconfig phase: pre-generate the keys of the whole run.
		planKeys(cfg, kubeconfigDir)
	}
	notAfter := certs.StartTime().Add(certs.LeafValidity(&cfg.Cluster))
	kc, err := Build(spec, cfg.Cluster.ClusterName, caCert, caKey, cfg.Cluster.EncryptionAlgorithm, notAfter)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "[kubeconfig] Writing %q kubeconfig file\n", spec.FileName)
	if err := WriteKubeconfig(path, kc); err != nil {
		return fmt.Errorf("failed to save kubeconfig file %q on disk: %w", path, err)
	}
	return nil
}

// CreateAll runs CreateKubeConfigFile for every file of Specs, in order. It
// does not print the "Using kubeconfig folder" header.
func CreateAll(cfg *config.InitConfig, kubeconfigDir, certDir string, out io.Writer) error {
	specs, err := Specs(cfg)
	if err != nil {
		return err
	}
	for _, s := range specs {
		if err := CreateKubeConfigFile(s.FileName, cfg, kubeconfigDir, certDir, out); err != nil {
			return err
		}
	}
	return nil
}

// Build creates the kubeconfig of spec with a new client certificate signed
// by the CA: ClientAuth, NotBefore = the CA's NotBefore (as kubeadm),
// NotAfter as given, a key of the given algorithm.
func Build(spec Spec, clusterName string, caCert *x509.Certificate, caKey crypto.Signer, alg config.EncryptionAlgorithm, notAfter time.Time) (*clientcmdapi.Config, error) {
	key, err := certs.NewPrivateKey(alg)
	if err != nil {
		return nil, err
	}
	cert, err := certs.NewSignedCert(certs.CertConfig{
		CommonName:   spec.ClientName,
		Organization: spec.Organizations,
		Usages:       []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		NotAfter:     notAfter,
	}, key, caCert, caKey)
	if err != nil {
		return nil, fmt.Errorf("failed to create the %s client certificate: %w", spec.ClientName, err)
	}
	keyPEM, err := certs.EncodePrivateKeyPEM(key)
	if err != nil {
		return nil, err
	}
	kc := basic(spec.Server, clusterName, spec.ClientName, certs.EncodeCertPEM(caCert))
	kc.AuthInfos[spec.ClientName] = &clientcmdapi.AuthInfo{
		ClientCertificateData: certs.EncodeCertPEM(cert),
		ClientKeyData:         keyPEM,
	}
	return kc, nil
}

// BuildBootstrapKubeconfig returns the token kubeconfig of a joining node:
// user tls-bootstrap-token-user, context tls-bootstrap-token-user@<cluster>.
func BuildBootstrapKubeconfig(server string, caPEM []byte, clusterName, token string) *clientcmdapi.Config {
	kc := basic(server, clusterName, constants.BootstrapTokenUser, caPEM)
	kc.AuthInfos[constants.BootstrapTokenUser] = &clientcmdapi.AuthInfo{Token: token}
	return kc
}

// basic returns a kubeconfig with one cluster and one context <user>@<cluster>.
func basic(server, clusterName, user string, caPEM []byte) *clientcmdapi.Config {
	ctx := user + "@" + clusterName
	return &clientcmdapi.Config{
		Clusters:       map[string]*clientcmdapi.Cluster{clusterName: {Server: server, CertificateAuthorityData: caPEM}},
		Contexts:       map[string]*clientcmdapi.Context{ctx: {Cluster: clusterName, AuthInfo: user}},
		AuthInfos:      map[string]*clientcmdapi.AuthInfo{},
		CurrentContext: ctx,
	}
}

// Encode serializes a kubeconfig as kubeadm writes it.
func Encode(kc *clientcmdapi.Config) ([]byte, error) {
	data, err := clientcmd.Write(*kc)
	if err != nil {
		return nil, fmt.Errorf("failed to encode kubeconfig: %w", err)
	}
	return data, nil
}

// WriteKubeconfig writes kc to path atomically with mode 0600.
func WriteKubeconfig(path string, kc *clientcmdapi.Config) error {
	data, err := Encode(kc)
	if err != nil {
		return err
	}
	return fsutil.WriteFileAtomic(path, data, FileMode, dirMode)
}

// ValidateForExternalCA checks, as kubeadm does before an init with an
// external CA, that every kubeconfig file exists and trusts <certDir>/ca.crt.
func ValidateForExternalCA(cfg *config.InitConfig, kubeconfigDir, certDir string) error {
	caChain, err := loadCAChain(certDir)
	if err != nil {
		return err
	}
	specs, err := Specs(cfg)
	if err != nil {
		return err
	}
	for _, s := range specs {
		if err := validateExisting(filepath.Join(kubeconfigDir, s.FileName), caChain, caPath(certDir), s.Server); err != nil {
			return fmt.Errorf("the %s file does not exist or is not valid: %w", s.FileName, err)
		}
	}
	return nil
}

func caPath(certDir string) string {
	return certs.CertPath(certDir, constants.CACertAndKeyBaseName)
}

func loadCAChain(certDir string) ([]*x509.Certificate, error) {
	path := caPath(certDir)
	if !fsutil.Exists(path) {
		return nil, fmt.Errorf("the CA certificate %q does not exist; run \"kubeadmin init phase certs ca\" to create it", path)
	}
	cert, inter, err := certs.LoadCertChain(path)
	if err != nil {
		return nil, fmt.Errorf("failed to create a kubeconfig: the CA files could not be loaded: %w", err)
	}
	return append([]*x509.Certificate{cert}, inter...), nil
}

// validateExisting checks that the kubeconfig at path exists and that its
// current context's cluster trusts one of caChain; a different server URL
// only warns.
func validateExisting(path string, caChain []*x509.Certificate, caPath, server string) error {
	if !fsutil.Exists(path) {
		return fmt.Errorf("kubeconfig file %q does not exist; with an external CA (no ca.key) it must be provided", path)
	}
	kc, err := clientcmd.LoadFromFile(path)
	if err != nil {
		return fmt.Errorf("failed to load kubeconfig file %q that already exists on disk: %w", path, err)
	}
	ctx, ok := kc.Contexts[kc.CurrentContext]
	if !ok {
		return fmt.Errorf("kubeconfig file %q has no context %q (its current-context); fix or remove the file", path, kc.CurrentContext)
	}
	cluster, ok := kc.Clusters[ctx.Cluster]
	if !ok {
		return fmt.Errorf("kubeconfig file %q has no cluster %q (used by its current context); fix or remove the file", path, ctx.Cluster)
	}
	caData := bytes.TrimSpace(cluster.CertificateAuthorityData)
	if len(caData) == 0 && cluster.CertificateAuthority != "" {
		if b, err := os.ReadFile(cluster.CertificateAuthority); err == nil {
			caData = bytes.TrimSpace(b)
		}
	}
	current, err := certutil.ParseCertsPEM(caData)
	if err != nil {
		return fmt.Errorf("kubeconfig file %q contains an invalid CA certificate: %w; remove the file to generate a new one", path, err)
	}
	trusted := false
	for _, c := range caChain {
		if c.Equal(current[0]) {
			trusted = true
		}
	}
	if !trusted {
		return fmt.Errorf("kubeconfig file %q exists but its cluster %q does not trust the CA in %q; remove the file to generate a new one, or restore the matching CA", path, ctx.Cluster, caPath)
	}
	if cluster.Server != server {
		fmt.Fprintf(certs.Warnings, "[kubeconfig] WARNING: a kubeconfig file %q exists already but has an unexpected API Server URL: expected: %s, got: %s\n", path, server, cluster.Server)
	}
	return nil
}

var plannedDirs sync.Map

// planKeys pre-generates one key for every kubeconfig file still missing in
// dir (once per directory and algorithm).
func planKeys(cfg *config.InitConfig, dir string) {
	alg := cfg.Cluster.EncryptionAlgorithm
	if _, done := plannedDirs.LoadOrStore(dir+"\x00"+string(alg), true); done {
		return
	}
	specs, err := Specs(cfg)
	if err != nil {
		return
	}
	n := 0
	for _, s := range specs {
		if !fsutil.Exists(filepath.Join(dir, s.FileName)) {
			n++
		}
	}
	certs.PregenerateKeys(alg, n)
}
