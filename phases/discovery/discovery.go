// Package discovery finds and authenticates the cluster a joining node
// talks to, the way kubeadm v1.37 join does: token discovery reads the
// kube-public/cluster-info ConfigMap, checks the token's detached JWS over
// it and the CA against the given public-key pins; file discovery loads a
// kubeconfig from disk or an https URL. The result is the TLS bootstrap
// kubeconfig. Nothing is written to disk.
package discovery

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	certutil "k8s.io/client-go/util/cert"
	bootstrapapi "k8s.io/cluster-bootstrap/token/api"
	bootstraputil "k8s.io/cluster-bootstrap/token/util"

	"github.com/kubeadmin/kubeadmin/internal/config"
	"github.com/kubeadmin/kubeadmin/internal/constants"
	"github.com/kubeadmin/kubeadmin/phases/kubeconfig"
)

// Discover runs the discovery of JoinConfiguration.discovery and returns the
// TLS bootstrap kubeconfig: cluster "kubernetes" with server and embedded CA,
// user "tls-bootstrap-token-user" with token d.TLSBootstrapToken, context
// "tls-bootstrap-token-user@kubernetes" (current). For file discovery whose
// file holds credentials, the file's own (validated, embedded) credentials are
// used when d.TLSBootstrapToken is empty (as in kubeadm, a given TLS bootstrap
// token wins); the user keeps the file's name and the context is
// "<user>@kubernetes". Warnings go to out.
func Discover(ctx context.Context, d config.Discovery, timeout time.Duration, out io.Writer) (*clientcmdapi.Config, error) {
	r := &discoverer{
		timeout:        timeout,
		interval:       constants.DiscoveryRetryInterval,
		sigInterval:    constants.DiscoverySignatureRetryInterval,
		sigGrace:       constants.DiscoverySignatureGrace,
		unsignedGrace:  constants.DiscoveryUnsignedGrace,
		out:            out,
		requestTimeout: constants.ClientHTTPTimeout,
	}
	return r.discover(ctx, d)
}

// discoverer holds the timings of one discovery; tests shorten them.
type discoverer struct {
	timeout        time.Duration
	interval       time.Duration // between reads of cluster-info after an error
	sigInterval    time.Duration // between reads while the token's signature is missing
	sigGrace       time.Duration // how long a missing signature is waited for
	unsignedGrace  time.Duration // the same when cluster-info has no signature at all
	requestTimeout time.Duration // of one HTTP request
	out            io.Writer
	// roots verifies an https discovery file URL; nil means the host's bundle.
	roots *x509.CertPool
}

func (r *discoverer) discover(ctx context.Context, d config.Discovery) (*clientcmdapi.Config, error) {
	if r.timeout <= 0 {
		r.timeout = constants.DiscoveryTimeout
	}
	if r.out == nil {
		r.out = io.Discard
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	switch {
	case d.BootstrapToken != nil && d.File != nil:
		return nil, errors.New("discovery: give either a token (--discovery-token, discovery.bootstrapToken) or a file (--discovery-file, discovery.file), not both")
	case d.BootstrapToken != nil:
		return r.token(ctx, d)
	case d.File != nil:
		return r.file(ctx, d)
	default:
		return nil, errors.New("discovery: no discovery method given; pass <api-server-endpoint> with --token and --discovery-token-ca-cert-hash, or --discovery-file (discovery.bootstrapToken or discovery.file in the config); `kubeadmin token create --print-join-command` on the control-plane node prints a complete join command")
	}
}

// bootstrapConfig is the token kubeconfig handed to the kubelet.
func bootstrapConfig(server string, ca []byte, token string) *clientcmdapi.Config {
	return kubeconfig.BuildBootstrapKubeconfig(server, ca, constants.DefaultClusterName, token)
}

// withAuth returns a kubeconfig of cluster "kubernetes" used by user.
func withAuth(server string, ca []byte, user string, auth *clientcmdapi.AuthInfo) *clientcmdapi.Config {
	kc := bootstrapConfig(server, ca, "")
	ctxName := user + "@" + constants.DefaultClusterName
	kc.AuthInfos = map[string]*clientcmdapi.AuthInfo{user: auth}
	kc.Contexts = map[string]*clientcmdapi.Context{ctxName: {Cluster: constants.DefaultClusterName, AuthInfo: user}}
	kc.CurrentContext = ctxName
	return kc
}

// checkTLSBootstrapToken validates the token the kubelet will present.
func checkTLSBootstrapToken(token string) error {
	if !bootstraputil.IsValidBootstrapToken(token) {
		return errors.New(`invalid TLS bootstrap token in --tls-bootstrap-token (or --token; discovery.tlsBootstrapToken): it must have the form "[a-z0-9]{6}.[a-z0-9]{16}"; ` + createTokenHint)
	}
	return nil
}

// createTokenHint tells how to get a valid token.
const createTokenHint = "run `kubeadmin token create --print-join-command` on the control-plane node for a valid token and join command"

// clusterOf returns the name and entry of the cluster a kubeconfig uses:
// the unnamed one (cluster-info's), the current context's, or the only one.
func clusterOf(kc *clientcmdapi.Config) (string, *clientcmdapi.Cluster, error) {
	if c := kc.Clusters[""]; c != nil {
		return "", c, nil
	}
	if ctx := kc.Contexts[kc.CurrentContext]; ctx != nil {
		if c := kc.Clusters[ctx.Cluster]; c != nil {
			return ctx.Cluster, c, nil
		}
		return "", nil, fmt.Errorf("the current context %q names cluster %q, which is not defined", kc.CurrentContext, ctx.Cluster)
	}
	if len(kc.Clusters) == 1 {
		for name, c := range kc.Clusters {
			return name, c, nil
		}
	}
	if len(kc.Clusters) == 0 {
		return "", nil, errors.New("no cluster is defined")
	}
	return "", nil, fmt.Errorf("%d clusters are defined but the current context %q does not select one", len(kc.Clusters), kc.CurrentContext)
}

// parseCAs returns the certificates of PEM CA data.
func parseCAs(data []byte) ([]*x509.Certificate, error) {
	if len(data) == 0 {
		return nil, errors.New("no certificate-authority-data")
	}
	cas, err := certutil.ParseCertsPEM(data)
	if err != nil {
		return nil, fmt.Errorf("bad certificate-authority-data: %w", err)
	}
	return cas, nil
}

// client builds a clientset for a kubeconfig without touching the disk.
func (r *discoverer) client(kc *clientcmdapi.Config) (kubernetes.Interface, error) {
	rc, err := clientcmd.NewDefaultClientConfig(*kc, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("failed to build a client for discovery: %w", err)
	}
	return r.clientFor(rc)
}

func (r *discoverer) clientFor(rc *rest.Config) (kubernetes.Interface, error) {
	rc.Timeout = r.requestTimeout
	// No client-side rate limiter: pollClusterInfo paces its reads, and a
	// limiter would turn the last read before the deadline into "rate:
	// Wait would exceed context deadline" in place of the server's answer
	// that the error must report.
	rc.QPS, rc.Burst = noRateLimit, 0
	c, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("failed to build a client for discovery: %w", err)
	}
	return c, nil
}

// noRateLimit as rest.Config.QPS gives a client without a rate limiter.
const noRateLimit = -1

// step is what a check of one cluster-info read decides.
type step struct {
	done  bool          // stop, successfully
	fatal error         // stop with this error
	wait  time.Duration // otherwise retry after wait (0: the retry interval)
	// onTimeout is returned if the deadline passes before the next read.
	onTimeout error
}

// pollClusterInfo reads cluster-info with c at once and then again after
// each retry step, until check stops it or ctx ends.
func (r *discoverer) pollClusterInfo(ctx context.Context, c kubernetes.Interface, check func(*corev1.ConfigMap, error) step) error {
	var last error
	for {
		cm, err := c.CoreV1().ConfigMaps(metav1.NamespacePublic).Get(ctx, bootstrapapi.ConfigMapClusterInfo, metav1.GetOptions{})
		if err != nil && last != nil && deadlinePassed(ctx) {
			// The deadline cut this read short; the previous failure is the one to report.
			return last
		}
		s := check(cm, err)
		switch {
		case s.done:
			return nil
		case s.fatal != nil:
			return s.fatal
		}
		last = s.onTimeout
		wait := s.wait
		if wait <= 0 {
			wait = r.interval
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			if ctx.Err() == context.Canceled || last == nil {
				return fmt.Errorf("discovery stopped: %w", ctx.Err())
			}
			return last
		case <-t.C:
		}
	}
}

// deadlinePassed reports whether ctx is done or past its deadline (on a
// busy machine a read can fail on the deadline before ctx is marked done).
func deadlinePassed(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	d, ok := ctx.Deadline()
	return ok && !time.Now().Before(d)
}

// unreachable is the error after the deadline with no usable answer. An
// answer from the API server carries its own hint in cause; otherwise the
// hint is about the address.
func (r *discoverer) unreachable(server string, cause error) error {
	hint := " Check that the address is right and that the API server is up and reachable from this node; `kubeadmin token create --print-join-command` on the control-plane node prints the join command with the right address"
	var status apierrors.APIStatus
	if errors.As(cause, &status) {
		hint = ""
	}
	return fmt.Errorf("timed out after %v reading the %s ConfigMap from the API server at %s; last error: %w.%s",
		r.timeout, bootstrapapi.ConfigMapClusterInfo, server, cause, hint)
}

// isTLSVerifyError reports whether err is a failed server certificate
// check, which retrying cannot fix.
func isTLSVerifyError(err error) bool {
	var cve *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	return errors.As(err, &cve) || errors.As(err, &ua) || errors.As(err, &he) || errors.As(err, &ci)
}
