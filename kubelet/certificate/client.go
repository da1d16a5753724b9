package certificate

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/certificate"
	"k8s.io/client-go/util/connrotation"

	"github.com/kubeadmin/kubeadmin/internal/constants"
	"github.com/kubeadmin/kubeadmin/internal/fsutil"
	"github.com/kubeadmin/kubeadmin/internal/statelog"
)

// ErrStandalone is returned by ClientConfig when the node has no
// kubeconfig and nothing to bootstrap one with: the agent then runs its
// static pods only.
var ErrStandalone = errors.New("no API server credentials")

// Transport settings of the rotating client (client-go's defaults).
const (
	dialTimeout         = 30 * time.Second
	dialKeepAlive       = 30 * time.Second
	tlsHandshakeTimeout = 10 * time.Second
	maxIdleConnsPerHost = 25
)

// certCheckInterval is how often a new certificate is looked for; tests
// shorten it.
var certCheckInterval = constants.KubeletCertCheckInterval

// ClientConfig is the agent's API server configuration, in place of
// clientcmd.BuildConfigFromFlags: it bootstraps kubelet.conf first when
// needed (Bootstrap), and with o.Rotate the returned config presents the
// current certificate of a client certificate manager, which renews it at
// 70-90 % of its lifetime; when the certificate changes, open connections
// (long watches included) are closed so that they reconnect with it. The
// manager stops when ctx ends. Without a kubeconfig and a bootstrap
// kubeconfig the error is ErrStandalone.
func ClientConfig(ctx context.Context, o Options) (*rest.Config, error) {
	o.defaults()
	if o.KubeConfig == "" && o.BootstrapKubeConfig != "" {
		return nil, fmt.Errorf("--bootstrap-kubeconfig %q needs --kubeconfig: the file the agent writes its kubeconfig to after the TLS bootstrap (kubeadm uses /etc/kubernetes/kubelet.conf)", o.BootstrapKubeConfig)
	}
	hasBootstrap := o.BootstrapKubeConfig != "" && fsutil.Exists(o.BootstrapKubeConfig)
	if reason := checkKubeconfig(o.KubeConfig, time.Now()); reason != "" {
		switch {
		case hasBootstrap:
			if _, err := Bootstrap(ctx, o); err != nil {
				return nil, err
			}
		case !fsutil.Exists(o.KubeConfig):
			return nil, fmt.Errorf("%w: no --kubeconfig %q and no --bootstrap-kubeconfig %q", ErrStandalone, o.KubeConfig, o.BootstrapKubeConfig)
		default:
			// A token kubeconfig, or a certificate nothing can renew here:
			// use it as it is.
			o.Logger.Printf("the kubeconfig %q: %s; there is no bootstrap kubeconfig %q to get a new client certificate with", o.KubeConfig, reason, o.BootstrapKubeConfig)
		}
	}
	base, err := clientcmd.BuildConfigFromFlags("", o.KubeConfig)
	if err != nil {
		return nil, fmt.Errorf("failed to load the kubeconfig %q: %w", o.KubeConfig, err)
	}
	if !o.Rotate {
		return base, nil
	}
	if len(base.CertData) == 0 && base.CertFile == "" {
		o.Logger.Printf("the kubeconfig %q has no client certificate: rotateCertificates does not apply", o.KubeConfig)
		return base, nil
	}
	return rotatingClient(ctx, o, base)
}

// rotatingClient starts the client certificate manager for base and
// returns a config that follows it.
func rotatingClient(ctx context.Context, o Options, base *rest.Config) (*rest.Config, error) {
	store, err := openStore(constants.KubeletClientCertPairName, o.CertDir, base.CertFile, base.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("failed to open the client certificate store in %q: %w", o.CertDir, err)
	}
	cfg := rest.AnonymousClientConfig(base)
	// The manager's own clients; a copy, as the caller may tune cfg.
	var csrCfg *rest.Config
	states := statelog.New(o.Logger.Print)
	created := func(r *certificatesv1.CertificateSigningRequest) {
		o.Logger.Printf("requested a new client certificate: certificate signing request %s (signer %s)", r.Name, r.Spec.SignerName)
	}
	clientsetFn := clientsetFunc(o, func() *rest.Config { return csrCfg }, states, created)
	subject := nodeSubject(o.NodeName)
	mgr, err := certificate.NewManager(&certificate.Config{
		ClientsetFn: clientsetFn,
		Template:    &x509.CertificateRequest{Subject: subject},
		SignerName:  certificatesv1.KubeAPIServerClientKubeletSignerName,
		GetUsages:   certificate.DefaultKubeletClientGetUsages,
		// kubeadm init's kubelet.conf embeds a certificate: the manager
		// stores it and replaces it at once.
		BootstrapCertificatePEM: base.CertData,
		BootstrapKeyPEM:         base.KeyData,
		CertificateStore:        store,
		Name:                    constants.KubeletClientCertPairName,
		Ctx:                     &ctx,
	})
	if err != nil {
		return nil, fmt.Errorf("failed to start the client certificate manager for %q: %w", o.KubeConfig, err)
	}
	if err := followCertificate(ctx, cfg, mgr, func(c *tls.Certificate) {
		o.Logger.Printf("client certificate rotated (valid until %s, %s): closing the API server connections so that they reconnect with it",
			c.Leaf.NotAfter.UTC().Format(time.RFC3339), store.CurrentPath())
	}); err != nil {
		return nil, err
	}
	csrCfg = rest.CopyConfig(cfg)
	mgr.Start()
	if c := mgr.Current(); c != nil {
		o.Logger.Printf("client certificate rotation is on: %q, valid until %s, is renewed at 70-90 %% of its lifetime",
			store.CurrentPath(), c.Leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	return cfg, nil
}

// clientsetFunc gives the manager its clients: with the current
// certificate while there is one (the renewal is then approved as the
// node's own, selfnodeclient), else with the bootstrap kubeconfig, read
// anew each time, if there is one.
func clientsetFunc(o Options, current func() *rest.Config, states *statelog.Log, created func(*certificatesv1.CertificateSigningRequest)) certificate.ClientsetFunc {
	return func(cert *tls.Certificate) (kubernetes.Interface, error) {
		if cert != nil {
			states.State("client", "requesting client certificates with the current one")
			c, err := newClientset(current())
			return notifyCSRs(c, err, created)
		}
		if o.BootstrapKubeConfig == "" || !fsutil.Exists(o.BootstrapKubeConfig) {
			err := fmt.Errorf("the client certificate has expired and there is no bootstrap kubeconfig %q to request a new one with: join the node again (kubeadm reset, then kubeadm join)", o.BootstrapKubeConfig)
			states.State("client", err.Error())
			return nil, err
		}
		states.State("client", fmt.Sprintf("the client certificate has expired: requesting a new one with the bootstrap kubeconfig %q", o.BootstrapKubeConfig))
		boot, err := clientcmd.BuildConfigFromFlags("", o.BootstrapKubeConfig)
		if err != nil {
			return nil, fmt.Errorf("failed to load the bootstrap kubeconfig %q: %w", o.BootstrapKubeConfig, err)
		}
		c, err := newClientset(boot)
		return notifyCSRs(c, err, created)
	}
}

// followCertificate gives cfg a transport whose TLS client certificate is
// m.Current() at each handshake, and closes its connections (calling
// rotated first) whenever m has a new certificate, until ctx ends.
func followCertificate(ctx context.Context, cfg *rest.Config, m certificate.Manager, rotated func(*tls.Certificate)) error {
	if cfg.Transport != nil || cfg.Dial != nil {
		return errors.New("the client configuration already has a transport")
	}
	tlsCfg, err := rest.TLSConfigFor(cfg)
	if err != nil {
		return fmt.Errorf("failed to set up TLS for the API server client: %w", err)
	}
	if tlsCfg == nil {
		tlsCfg = &tls.Config{}
	}
	tlsCfg.Certificates = nil
	tlsCfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
		if c := m.Current(); c != nil {
			return c, nil
		}
		// None (yet, or expired): the handshake goes on without one.
		return &tls.Certificate{}, nil
	}
	d := connrotation.NewDialer((&net.Dialer{Timeout: dialTimeout, KeepAlive: dialKeepAlive}).DialContext)
	cfg.Transport = utilnet.SetTransportDefaults(&http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		TLSHandshakeTimeout: tlsHandshakeTimeout,
		TLSClientConfig:     tlsCfg,
		MaxIdleConnsPerHost: maxIdleConnsPerHost,
		DialContext:         d.DialContext,
	})
	// The transport carries the TLS settings now; rest refuses both.
	cfg.TLSClientConfig = rest.TLSClientConfig{}
	go watchCurrent(ctx, m, func(c *tls.Certificate) {
		rotated(c)
		d.CloseAll()
	})
	return nil
}

// watchCurrent calls changed with m's certificate each time it is a new
// one, until ctx ends.
func watchCurrent(ctx context.Context, m certificate.Manager, changed func(*tls.Certificate)) {
	last := m.Current()
	t := time.NewTicker(certCheckInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		c := m.Current()
		if c == nil || c == last {
			continue
		}
		last = c
		changed(c)
	}
}
