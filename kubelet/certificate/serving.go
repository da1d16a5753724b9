package certificate

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log"
	"net"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/certificate"

	"github.com/kubeadmin/kubeadmin/internal/constants"
)

// ServingOptions configure the serving certificate of serverTLSBootstrap.
type ServingOptions struct {
	// NodeName is the certificate's subject (system:node:<NodeName>) and
	// one of its DNS names.
	NodeName string
	// Hostname is another DNS name ("" or the node name: none more).
	Hostname string
	// NodeIPs are the IP SANs.
	NodeIPs []string
	// CertDir holds kubelet-server-*.pem (<root-dir>/pki).
	CertDir string
	// CertFile and KeyFile are tlsCertFile and tlsPrivateKeyFile, used
	// until the store has a certificate of its own; "" for none.
	CertFile, KeyFile string
	// Client creates the CSRs (the agent's client).
	Client kubernetes.Interface
	// Logger; nil: log.Default().
	Logger *log.Logger
}

// errNoServingCert is the TLS handshake error while the serving CSR
// awaits approval.
var errNoServingCert = errors.New("the kubelet has no serving certificate yet: its kubelet-serving certificate signing request awaits approval (kubectl get csr; kubectl certificate approve <name>)")

// StartServing starts a certificate manager that requests the node's
// serving certificate (signer kubernetes.io/kubelet-serving) and renews
// it; it stops when ctx ends. Such CSRs are not approved automatically:
// until one is approved, Current is nil and the log names the CSR.
func StartServing(ctx context.Context, o ServingOptions) (certificate.Manager, error) {
	if o.Logger == nil {
		o.Logger = log.Default()
	}
	if o.CertDir == "" {
		o.CertDir = constants.KubeletPKIDir
	}
	tmpl, err := servingTemplate(o)
	if err != nil {
		return nil, err
	}
	store, err := openStore(constants.KubeletServerCertPairName, o.CertDir, o.CertFile, o.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("failed to open the serving certificate store in %q: %w", o.CertDir, err)
	}
	created := func(r *certificatesv1.CertificateSigningRequest) {
		o.Logger.Printf("requested a serving certificate: approve the certificate signing request with \"kubectl certificate approve %s\" (signer %s is never approved automatically); the kubelet API has no certificate until it is issued",
			r.Name, r.Spec.SignerName)
	}
	mgr, err := certificate.NewManager(&certificate.Config{
		ClientsetFn: func(*tls.Certificate) (kubernetes.Interface, error) {
			return notifyCSRs(o.Client, nil, created)
		},
		Template:         tmpl,
		SignerName:       certificatesv1.KubeletServingSignerName,
		GetUsages:        certificate.DefaultKubeletServingGetUsages,
		CertificateStore: store,
		Name:             constants.KubeletServerCertPairName,
		Ctx:              &ctx,
	})
	if err != nil {
		return nil, fmt.Errorf("failed to start the serving certificate manager: %w", err)
	}
	if mgr.Current() == nil {
		o.Logger.Printf("serverTLSBootstrap: requesting a serving certificate for %v %v", tmpl.DNSNames, tmpl.IPAddresses)
	}
	go watchCurrent(ctx, mgr, func(c *tls.Certificate) {
		o.Logger.Printf("serving certificate issued (valid until %s, %s)", c.Leaf.NotAfter.UTC().Format(time.RFC3339), store.CurrentPath())
	})
	mgr.Start()
	return mgr, nil
}

// servingTemplate is the serving CSR's template: DNS names node name and
// hostname, IP SANs the node IPs.
func servingTemplate(o ServingOptions) (*x509.CertificateRequest, error) {
	tmpl := &x509.CertificateRequest{Subject: nodeSubject(o.NodeName), DNSNames: []string{o.NodeName}}
	if o.Hostname != "" && o.Hostname != o.NodeName {
		tmpl.DNSNames = append(tmpl.DNSNames, o.Hostname)
	}
	for _, s := range o.NodeIPs {
		ip := net.ParseIP(s)
		if ip == nil {
			return nil, fmt.Errorf("invalid node IP %q for the serving certificate", s)
		}
		tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
	}
	return tmpl, nil
}

// GetCertificate is a tls.Config.GetCertificate that serves m's current
// certificate, and fails the handshake while there is none.
func GetCertificate(m certificate.Manager) func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
		if c := m.Current(); c != nil {
			return c, nil
		}
		return nil, errNoServingCert
	}
}
