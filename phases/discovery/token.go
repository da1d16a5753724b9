package discovery

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	bootstrapapi "k8s.io/cluster-bootstrap/token/api"
	"k8s.io/cluster-bootstrap/token/jws"
	bootstraputil "k8s.io/cluster-bootstrap/token/util"

	"k8s.io/client-go/kubernetes"

	"github.com/kubeadmin/kubeadmin/internal/config"
	"github.com/kubeadmin/kubeadmin/internal/constants"
)

// token runs token discovery against d.BootstrapToken.APIServerEndpoint.
func (r *discoverer) token(ctx context.Context, d config.Discovery) (*clientcmdapi.Config, error) {
	bt := d.BootstrapToken
	server, err := endpointURL(bt.APIServerEndpoint)
	if err != nil {
		return nil, err
	}
	if !bootstraputil.IsValidBootstrapToken(bt.Token) {
		return nil, errors.New(`invalid discovery token in --token or --discovery-token (discovery.bootstrapToken.token): it must have the form "[a-z0-9]{6}.[a-z0-9]{16}"; ` + createTokenHint)
	}
	id, secret, _ := strings.Cut(bt.Token, ".")
	pins, err := ParsePins(bt.CACertHashes)
	if err != nil {
		return nil, err
	}
	if len(pins) == 0 && !bt.UnsafeSkipCAVerification {
		return nil, errors.New("using token-based discovery without caCertHashes can be unsafe. Set unsafeSkipCAVerification as true in your kubeadm config file or pass --discovery-token-unsafe-skip-ca-verification flag to continue; better, pass --discovery-token-ca-cert-hash sha256:<hash>, which `kubeadmin token create --print-join-command` on the control-plane node prints")
	}
	tlsToken := d.TLSBootstrapToken
	if tlsToken == "" {
		tlsToken = bt.Token
	}
	if err := checkTLSBootstrapToken(tlsToken); err != nil {
		return nil, err
	}

	insecure := withAuth(server, nil, constants.TokenBootstrapDiscoveryUser, clientcmdapi.NewAuthInfo())
	insecure.Clusters[constants.DefaultClusterName].InsecureSkipTLSVerify = true
	c, err := r.client(insecure)
	if err != nil {
		return nil, err
	}
	cm, err := r.readSigned(ctx, c, server, id)
	if err != nil {
		return nil, err
	}
	content := cm.Data[bootstrapapi.KubeConfigKey]
	if content == "" {
		return nil, fmt.Errorf("the %s ConfigMap at %s has no %q key, so this API server is not set up for token discovery; run `kubeadmin init phase bootstrap-token` on the control-plane node",
			bootstrapapi.ConfigMapClusterInfo, server, bootstrapapi.KubeConfigKey)
	}
	if !jws.DetachedTokenIsValid(cm.Data[bootstrapapi.JWSSignatureKeyPrefix+id], content, id, secret) {
		return nil, fmt.Errorf("failed to verify JWS signature of received cluster info object, can't trust this API Server: the signature for token ID %q at %s does not match the token's secret. Check the token; %s",
			id, server, createTokenHint)
	}
	kc, err := clientcmd.Load([]byte(content))
	if err != nil {
		return nil, fmt.Errorf("couldn't parse the kubeconfig in the %s ConfigMap at %s: %w", bootstrapapi.ConfigMapClusterInfo, server, err)
	}
	_, cluster, err := clusterOf(kc)
	if err != nil {
		return nil, fmt.Errorf("malformed kubeconfig in the %s ConfigMap at %s: %w", bootstrapapi.ConfigMapClusterInfo, server, err)
	}
	cas, err := parseCAs(cluster.CertificateAuthorityData)
	if err != nil {
		return nil, fmt.Errorf("the kubeconfig in the %s ConfigMap at %s holds no usable CA: %w", bootstrapapi.ConfigMapClusterInfo, server, err)
	}
	if cluster.Server == "" {
		return nil, fmt.Errorf("the kubeconfig in the %s ConfigMap at %s names no server", bootstrapapi.ConfigMapClusterInfo, server)
	}
	if len(pins) == 0 {
		return bootstrapConfig(cluster.Server, cluster.CertificateAuthorityData, tlsToken), nil
	}

	if ok, seen := matchPins(cas, pins); !ok {
		return nil, fmt.Errorf("the cluster CA presented by %s has public key hash %s, which matches none of the hashes given with --discovery-token-ca-cert-hash (discovery.bootstrapToken.caCertHashes): %s. Compare with the hash that `kubeadmin token create --print-join-command` prints on the control-plane node; if they differ, this is not your cluster",
			server, strings.Join(seen, ", "), strings.Join(pins, ", "))
	}
	sc, err := r.client(withAuth(server, cluster.CertificateAuthorityData, constants.TokenBootstrapDiscoveryUser, clientcmdapi.NewAuthInfo()))
	if err != nil {
		return nil, err
	}
	var again string
	err = r.pollClusterInfo(ctx, sc, func(cm *corev1.ConfigMap, err error) step {
		switch {
		case err == nil:
			again = cm.Data[bootstrapapi.KubeConfigKey]
			return step{done: true}
		case isTLSVerifyError(err):
			return step{fatal: fmt.Errorf("the API server at %s does not present a serving certificate valid for this address and signed by the pinned cluster CA: %w. If the address is right, check the names and issuer of the API server's certificate on the control-plane node (openssl x509 -noout -text -in /etc/kubernetes/pki/apiserver.crt)", server, err)}
		default:
			return step{onTimeout: r.unreachable(server, err)}
		}
	})
	if err != nil {
		return nil, err
	}
	if again != content {
		return nil, fmt.Errorf("the kubeconfig in the %s ConfigMap read from %s over TLS verified with the pinned CA differs from the one read first; it changed in between or something in the network path altered it. Try again; if it persists, check what answers at %s",
			bootstrapapi.ConfigMapClusterInfo, server, server)
	}
	return bootstrapConfig(cluster.Server, bytes.Clone(cluster.CertificateAuthorityData), tlsToken), nil
}

// readSigned reads cluster-info until it holds the signature of token id.
// Once cluster-info was read without it, it is read again only for the
// grace period (the longer one while cluster-info is new and signed for no
// token), then the token is reported unknown or expired.
func (r *discoverer) readSigned(ctx context.Context, c kubernetes.Interface, server, id string) (*corev1.ConfigMap, error) {
	key := bootstrapapi.JWSSignatureKeyPrefix + id
	var got *corev1.ConfigMap
	var missingSince time.Time
	var grace time.Duration
	err := r.pollClusterInfo(ctx, c, func(cm *corev1.ConfigMap, err error) step {
		if err != nil {
			return step{onTimeout: r.unreachable(server, explainRead(err))}
		}
		if _, ok := cm.Data[key]; ok {
			got = cm
			return step{done: true}
		}
		now := time.Now()
		if missingSince.IsZero() {
			// Right after init the signer may not have run yet; later, a
			// cluster-info signed for no token means every token was
			// deleted. Decided once, at the first read without the
			// signature: the creation time has whole seconds only.
			missingSince = now
			grace = r.sigGrace
			if !hasSignature(cm) && now.Sub(cm.CreationTimestamp.Time) < r.unsignedGrace {
				grace = r.unsignedGrace
			}
		}
		unknown := fmt.Errorf("token id %q is invalid for this cluster or it has expired: the %s ConfigMap at %s holds no signature for it (a token also needs the \"signing\" usage). Use `kubeadmin token create --print-join-command` on the control-plane node to create a new valid token",
			id, bootstrapapi.ConfigMapClusterInfo, server)
		if now.Sub(missingSince) >= grace {
			return step{fatal: unknown}
		}
		return step{wait: min(r.sigInterval, r.interval), onTimeout: unknown}
	})
	return got, err
}

// hasSignature reports whether cluster-info is signed for any token.
func hasSignature(cm *corev1.ConfigMap) bool {
	for k := range cm.Data {
		if strings.HasPrefix(k, bootstrapapi.JWSSignatureKeyPrefix) {
			return true
		}
	}
	return false
}

// explainRead adds what an API error of the anonymous read means.
func explainRead(err error) error {
	switch {
	case apierrors.IsNotFound(err):
		return fmt.Errorf("%w (the control plane has no %s ConfigMap yet; `kubeadmin init phase bootstrap-token` on the control-plane node makes it)", err, bootstrapapi.ConfigMapClusterInfo)
	case apierrors.IsForbidden(err), apierrors.IsUnauthorized(err):
		return fmt.Errorf("%w (anonymous reads of %s are not allowed; `kubeadmin init phase bootstrap-token` on the control-plane node allows them)", err, bootstrapapi.ConfigMapClusterInfo)
	}
	return err
}

// endpointURL checks the API server endpoint host:port and returns its URL.
func endpointURL(endpoint string) (string, error) {
	const where = "the api-server-endpoint argument of `kubeadmin join` (discovery.bootstrapToken.apiServerEndpoint)"
	if endpoint == "" {
		return "", fmt.Errorf("token discovery needs the API server's address: give it as %s, e.g. `kubeadmin join 10.0.0.10:6443 --token ...`", where)
	}
	host, port, err := net.SplitHostPort(endpoint)
	if err != nil || host == "" || port == "" {
		return "", fmt.Errorf("invalid API server endpoint %q in %s: give host:port, e.g. 10.0.0.10:6443 or [fd00::10]:6443, without https://", endpoint, where)
	}
	return "https://" + net.JoinHostPort(host, port), nil
}
