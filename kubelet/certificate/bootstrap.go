// Package certificate gives the node agent its certificates: the TLS
// bootstrap of the client certificate with --bootstrap-kubeconfig, its
// rotation by client-go's certificate manager (with a rest.Config whose
// connections follow the current certificate), and, with
// serverTLSBootstrap, a serving certificate requested from the cluster.
//
// The work of asking for and storing certificates is client-go's
// (util/certificate and util/certificate/csr); this package decides when,
// with which credentials, and writes kubelet.conf.
package certificate

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/client-go/util/cert"
	"k8s.io/client-go/util/certificate"
	"k8s.io/client-go/util/certificate/csr"
	"k8s.io/client-go/util/keyutil"

	"github.com/kubeadmin/kubeadmin/internal/constants"
	"github.com/kubeadmin/kubeadmin/internal/fsutil"
	"github.com/kubeadmin/kubeadmin/internal/statelog"
)

// Names inside the kubelet.conf written after a bootstrap (the upstream
// kubelet's).
const (
	kubeconfigCluster = "default-cluster"
	kubeconfigUser    = "default-auth"
	kubeconfigContext = "default-context"
	kubeconfigNS      = "default"
)

// File modes of what the bootstrap writes.
const (
	kubeconfigMode = 0o600
	kubeconfigDir  = 0o755
	keyMode        = 0o600
	pkiDirMode     = 0o700
)

// Options say where the agent's credentials are.
type Options struct {
	// NodeName is the node's name: the certificates are for
	// system:node:<NodeName>.
	NodeName string
	// KubeConfig is --kubeconfig (kubelet.conf), written after a bootstrap.
	KubeConfig string
	// BootstrapKubeConfig is --bootstrap-kubeconfig; "" for none.
	BootstrapKubeConfig string
	// CertDir is where the certificates are kept (<root-dir>/pki).
	CertDir string
	// Rotate is rotateCertificates: renew the client certificate before
	// it expires.
	Rotate bool
	// ApprovalTimeout is how long a bootstrap CSR may stay unissued;
	// zero: constants.KubeletCSRApprovalTimeout.
	ApprovalTimeout time.Duration
	// Logger; nil: log.Default().
	Logger *log.Logger
}

func (o *Options) defaults() {
	if o.ApprovalTimeout <= 0 {
		o.ApprovalTimeout = constants.KubeletCSRApprovalTimeout
	}
	if o.CertDir == "" {
		o.CertDir = constants.KubeletPKIDir
	}
	if o.Logger == nil {
		o.Logger = log.Default()
	}
}

// retryInitial is the first wait between bootstrap attempts; tests
// shorten it.
var retryInitial = constants.TLSBootstrapRetryInterval

// newClientset builds the clients of the CSR calls; tests replace it.
var newClientset = func(c *rest.Config) (kubernetes.Interface, error) {
	return kubernetes.NewForConfig(c)
}

// Bootstrap makes sure that o.KubeConfig holds a client certificate that
// has not expired. When it does not, it asks for one with the bootstrap
// kubeconfig, blocking (and retrying while the API server cannot be
// reached) until it is issued, ctx ends, or the CSR is not issued within
// o.ApprovalTimeout. It reports whether it bootstrapped.
func Bootstrap(ctx context.Context, o Options) (bool, error) {
	o.defaults()
	reason := checkKubeconfig(o.KubeConfig, time.Now())
	if reason == "" {
		return false, nil
	}
	if o.BootstrapKubeConfig == "" || !fsutil.Exists(o.BootstrapKubeConfig) {
		return false, fmt.Errorf("the kubeconfig %q is not usable (%s) and there is no bootstrap kubeconfig %q (--bootstrap-kubeconfig) to get a client certificate with: join the node again (kubeadm reset, then kubeadm join)",
			o.KubeConfig, reason, o.BootstrapKubeConfig)
	}
	o.Logger.Printf("TLS bootstrap: the kubeconfig %q is not usable (%s); requesting a client certificate with the bootstrap kubeconfig %q", o.KubeConfig, reason, o.BootstrapKubeConfig)
	return true, bootstrap(ctx, o)
}

func bootstrap(ctx context.Context, o Options) error {
	boot, err := clientcmd.BuildConfigFromFlags("", o.BootstrapKubeConfig)
	if err != nil {
		return fmt.Errorf("failed to load the bootstrap kubeconfig %q (--bootstrap-kubeconfig): %w", o.BootstrapKubeConfig, err)
	}
	client, err := newClientset(boot)
	if err != nil {
		return fmt.Errorf("failed to create a client from the bootstrap kubeconfig %q: %w", o.BootstrapKubeConfig, err)
	}
	store, err := openStore(constants.KubeletClientCertPairName, o.CertDir, "", "")
	if err != nil {
		return fmt.Errorf("failed to open the client certificate store in %q: %w", o.CertDir, err)
	}
	keyFile := filepath.Join(o.CertDir, constants.KubeletClientPendingKeyFile)
	keyPEM, key, err := pendingKey(keyFile)
	if err != nil {
		return err
	}
	certPEM, err := requestClientCert(ctx, o, client, key)
	if errors.Is(err, errDenied) {
		// A new key next time, so that the next CSR has another name.
		_ = os.Remove(keyFile)
	}
	if err != nil {
		return err
	}
	pair, err := store.Update(certPEM, keyPEM)
	if err != nil {
		return fmt.Errorf("failed to store the issued client certificate in %q: %w", o.CertDir, err)
	}
	if err := os.Remove(keyFile); err != nil && !os.IsNotExist(err) {
		o.Logger.Printf("TLS bootstrap: could not remove the pending key %q: %v", keyFile, err)
	}
	if err := writeKubeconfig(o.KubeConfig, boot, store.CurrentPath()); err != nil {
		return err
	}
	o.Logger.Printf("TLS bootstrap done: client certificate %q valid until %s; wrote %q",
		store.CurrentPath(), pair.Leaf.NotAfter.UTC().Format(time.RFC3339), o.KubeConfig)
	return nil
}

// checkKubeconfig says why the kubeconfig at path cannot authenticate with
// a client certificate at now; "" when it can.
func checkKubeconfig(path string, now time.Time) string {
	if path == "" {
		return "no --kubeconfig given"
	}
	if _, err := os.Stat(path); err != nil {
		if os.IsNotExist(err) {
			return "it does not exist"
		}
		return err.Error()
	}
	c, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return fmt.Sprintf("it does not load: %v", err)
	}
	leaf, err := clientCert(c)
	if err != nil {
		return err.Error()
	}
	if now.After(leaf.NotAfter) {
		return fmt.Sprintf("its client certificate expired at %s", leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	return ""
}

// clientCert is the client certificate of c, checked against its key.
func clientCert(c *rest.Config) (*x509.Certificate, error) {
	certPEM, keyPEM := c.CertData, c.KeyData
	var err error
	if len(certPEM) == 0 && c.CertFile != "" {
		if certPEM, err = os.ReadFile(c.CertFile); err != nil {
			return nil, fmt.Errorf("its client certificate cannot be read: %v", err)
		}
	}
	if len(keyPEM) == 0 && c.KeyFile != "" {
		if keyPEM, err = os.ReadFile(c.KeyFile); err != nil {
			return nil, fmt.Errorf("its client key cannot be read: %v", err)
		}
	}
	if len(certPEM) == 0 || len(keyPEM) == 0 {
		return nil, errors.New("it has no client certificate and key")
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("its client certificate and key do not load: %v", err)
	}
	return x509.ParseCertificate(pair.Certificate[0])
}

// pendingKey reads the key of an earlier, unfinished bootstrap, or makes
// and keeps a new ECDSA P-256 key.
func pendingKey(path string) ([]byte, crypto.Signer, error) {
	if data, err := os.ReadFile(path); err == nil {
		if k, err := keyutil.ParsePrivateKeyPEM(data); err == nil {
			if s, ok := k.(crypto.Signer); ok {
				return data, s, nil
			}
		}
	}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("failed to generate the node's client key: %w", err)
	}
	data, err := keyutil.MarshalPrivateKeyToPEM(k)
	if err != nil {
		return nil, nil, fmt.Errorf("failed to encode the node's client key: %w", err)
	}
	if err := fsutil.WriteFileAtomic(path, data, keyMode, pkiDirMode); err != nil {
		return nil, nil, fmt.Errorf("failed to keep the pending client key: %w", err)
	}
	return data, k, nil
}

// nodeSubject is the subject of the node's certificates.
func nodeSubject(nodeName string) pkix.Name {
	return pkix.Name{CommonName: constants.NodesUserPrefix + nodeName, Organization: []string{constants.NodesGroup}}
}

// errDenied marks a CSR that was denied or failed: asking again with the
// same request cannot help.
var errDenied = errors.New("certificate signing request denied")

// requestClientCert creates the node's client CSR and waits until it is
// issued. Errors reaching the API server are retried with back-off; a CSR
// left unissued for o.ApprovalTimeout is an error naming it.
func requestClientCert(ctx context.Context, o Options, client kubernetes.Interface, key crypto.Signer) ([]byte, error) {
	subject := nodeSubject(o.NodeName)
	signer := certificatesv1.KubeAPIServerClientKubeletSignerName
	usages := certificate.DefaultKubeletClientGetUsages(key)
	csrPEM, err := cert.MakeCSR(key, &subject, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("failed to make the client certificate signing request: %w", err)
	}
	name, err := csrName(key.Public(), subject, signer, usages)
	if err != nil {
		return nil, err
	}
	states := statelog.New(o.Logger.Print)
	delay := retryInitial
	// The approval timeout runs from the first CSR the API server took,
	// across retries of the wait.
	var deadline time.Time
	for {
		var issued []byte
		reqName, uid, err := csr.RequestCertificateWithContext(ctx, client, csrPEM, name, signer, nil, usages, key)
		if err == nil {
			states.State("csr", fmt.Sprintf("TLS bootstrap: waiting for the certificate signing request %s (signer %s) to be approved and issued", reqName, signer))
			if deadline.IsZero() {
				deadline = time.Now().Add(o.ApprovalTimeout)
			}
			wctx, cancel := context.WithDeadline(ctx, deadline)
			issued, err = csr.WaitForCertificate(wctx, client, reqName, uid)
			timedOut := wctx.Err() != nil
			cancel()
			switch {
			case err == nil:
				return issued, nil
			case ctx.Err() != nil:
			case timedOut:
				return nil, fmt.Errorf("TLS bootstrap: the certificate signing request %s (signer %s) was not issued within %s: approve it with \"kubectl certificate approve %s\", or check that kube-controller-manager runs with its csrapproving and csrsigning controllers and that the bootstrap token's group is bound to the ClusterRole %s",
					reqName, signer, o.ApprovalTimeout, reqName, constants.CSRAutoApprovalClusterRole)
			case strings.Contains(err.Error(), "is denied") || strings.Contains(err.Error(), "request failed"):
				return nil, fmt.Errorf("TLS bootstrap: %w %s: %v; the agent asks again with a new key when it restarts", errDenied, reqName, err)
			}
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("TLS bootstrap stopped before the client certificate was issued: %w", ctx.Err())
		}
		states.State("retry", "TLS bootstrap: "+describe(err, o.BootstrapKubeConfig)+"; retrying")
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("TLS bootstrap stopped before the client certificate was issued: %w (last error: %v)", ctx.Err(), err)
		case <-time.After(delay):
		}
		delay = min(2*delay, constants.KubeletBootstrapRetryMax)
	}
}

// describe words a failed CSR call for the log.
func describe(err error, bootstrapKubeconfig string) string {
	switch {
	case apierrors.IsUnauthorized(err):
		return fmt.Sprintf("the API server refused the credentials of %q (%v): the bootstrap token has expired or was deleted; create a new one with \"kubeadm token create\" and join again", bootstrapKubeconfig, err)
	case apierrors.IsForbidden(err):
		return fmt.Sprintf("the bootstrap credentials may not create certificate signing requests (%v): bind the token's group to the ClusterRole %s", err, constants.NodeBootstrapperClusterRole)
	default:
		return fmt.Sprintf("requesting the client certificate failed: %v", err)
	}
}

// csrName is a stable name for a CSR of this key, subject, signer and
// usages: a retry with the same pending key finds its earlier CSR.
func csrName(pub crypto.PublicKey, subject pkix.Name, signer string, usages []certificatesv1.KeyUsage) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("failed to encode the public key: %w", err)
	}
	parts := append([]string{string(der), subject.CommonName, signer}, subject.Organization...)
	for _, u := range usages {
		parts = append(parts, string(u))
	}
	h := sha256.New()
	for _, p := range parts {
		// Length-prefixed, so that no two lists hash alike.
		fmt.Fprintf(h, "%d:%s", len(p), p)
	}
	return constants.KubeletCSRNamePrefix + base64.RawURLEncoding.EncodeToString(h.Sum(nil)), nil
}

// writeKubeconfig writes the node's kubeconfig: the cluster of the
// bootstrap kubeconfig, the client certificate and key from pemPath.
func writeKubeconfig(path string, boot *rest.Config, pemPath string) error {
	caData := boot.CAData
	if boot.CAFile != "" {
		caData = nil
	}
	kc := clientcmdapi.Config{
		Clusters: map[string]*clientcmdapi.Cluster{kubeconfigCluster: {
			Server: boot.Host, CertificateAuthority: boot.CAFile, CertificateAuthorityData: caData,
			TLSServerName: boot.ServerName, InsecureSkipTLSVerify: boot.Insecure,
		}},
		AuthInfos: map[string]*clientcmdapi.AuthInfo{kubeconfigUser: {ClientCertificate: pemPath, ClientKey: pemPath}},
		Contexts: map[string]*clientcmdapi.Context{kubeconfigContext: {
			Cluster: kubeconfigCluster, AuthInfo: kubeconfigUser, Namespace: kubeconfigNS,
		}},
		CurrentContext: kubeconfigContext,
	}
	data, err := clientcmd.Write(kc)
	if err != nil {
		return fmt.Errorf("failed to encode the kubeconfig %q: %w", path, err)
	}
	if err := fsutil.WriteFileAtomic(path, data, kubeconfigMode, kubeconfigDir); err != nil {
		return fmt.Errorf("failed to write the kubeconfig %q: %w", path, err)
	}
	return nil
}
