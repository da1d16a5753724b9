package discovery

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeadmin/kubeadmin/certs"
	"github.com/kubeadmin/kubeadmin/internal/config"
)

func TestTokenGoodPin(t *testing.T) {
	api := newFakeAPI(t)
	// cluster-info names the control-plane endpoint, which the result uses.
	const cpe = "https://cp.example:6443"
	api.always(clusterInfo(t, clusterInfoKubeconfig(t, cpe, api.caPEM()), testToken, "zzzzzz.zzzzzzzzzzzzzzzz"))
	other := certs.CAPinHash(otherCert(t))
	// Several pins, one matching, the format name in upper case.
	pins := []string{other, "SHA256:" + strings.ToUpper(strings.TrimPrefix(api.pin(), "sha256:"))}
	kc, err := fast(nil).discover(context.Background(), tokenDiscovery(api.endpoint(), pins...))
	if err != nil {
		t.Fatal(err)
	}
	checkBootstrap(t, kc, cpe, api.caPEM(), tlsToken)
	if n := api.readCount(); n != 2 {
		t.Fatalf("cluster-info read %d times, want 2 (insecure, then verified)", n)
	}
}

func TestTokenTLSTokenDefaultsToDiscoveryToken(t *testing.T) {
	api := newFakeAPI(t)
	api.always(clusterInfo(t, clusterInfoKubeconfig(t, api.srv.URL, api.caPEM()), testToken))
	d := tokenDiscovery(api.endpoint(), api.pin())
	d.TLSBootstrapToken = ""
	kc, err := fast(nil).discover(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	checkBootstrap(t, kc, api.srv.URL, api.caPEM(), testToken)
}

func TestTokenWrongPin(t *testing.T) {
	api := newFakeAPI(t)
	api.always(clusterInfo(t, clusterInfoKubeconfig(t, api.srv.URL, api.caPEM()), testToken))
	wrong := certs.CAPinHash(otherCert(t))
	_, err := fast(nil).discover(context.Background(), tokenDiscovery(api.endpoint(), wrong))
	mustFail(t, err, api.pin(), wrong, "--discovery-token-ca-cert-hash", "kubeadmin token create --print-join-command")
	if n := api.readCount(); n != 1 {
		t.Fatalf("cluster-info read %d times, want 1: no verified read after a pin mismatch", n)
	}
}

func TestTokenUnsafeSkip(t *testing.T) {
	api := newFakeAPI(t)
	api.always(clusterInfo(t, clusterInfoKubeconfig(t, api.srv.URL, api.caPEM()), testToken))
	d := tokenDiscovery(api.endpoint())
	d.BootstrapToken.UnsafeSkipCAVerification = true
	kc, err := fast(nil).discover(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	checkBootstrap(t, kc, api.srv.URL, api.caPEM(), tlsToken)
	if n := api.readCount(); n != 1 {
		t.Fatalf("cluster-info read %d times, want 1", n)
	}
}

func TestTokenNoPinsRefused(t *testing.T) {
	api := newFakeAPI(t)
	api.always(clusterInfo(t, clusterInfoKubeconfig(t, api.srv.URL, api.caPEM()), testToken))
	_, err := fast(nil).discover(context.Background(), tokenDiscovery(api.endpoint()))
	mustFail(t, err, "without caCertHashes can be unsafe", "--discovery-token-unsafe-skip-ca-verification", "--discovery-token-ca-cert-hash")
	if n := api.readCount(); n != 0 {
		t.Fatalf("cluster-info read %d times before refusing", n)
	}
}

func TestTokenBadSignature(t *testing.T) {
	api := newFakeAPI(t)
	// Signed with the right ID but another secret.
	api.always(clusterInfo(t, clusterInfoKubeconfig(t, api.srv.URL, api.caPEM()), testID+".ffffffffffffffff"))
	_, err := fast(nil).discover(context.Background(), tokenDiscovery(api.endpoint(), api.pin()))
	mustFail(t, err, "failed to verify JWS signature", testID, "kubeadmin token create --print-join-command")
}

func TestTokenUnknown(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tokens []string
		age    time.Duration // of cluster-info when the subtest starts
		grace  func(*discoverer) time.Duration
	}{
		// Creation times are a second ahead: the API keeps whole seconds.
		{"other tokens signed", []string{"zzzzzz.zzzzzzzzzzzzzzzz"}, -time.Second, func(r *discoverer) time.Duration { return r.sigGrace }},
		{"nothing signed in a new cluster-info", nil, -time.Second, func(r *discoverer) time.Duration { return r.unsignedGrace }},
		// Every token deleted: the signer had its time.
		{"nothing signed in an old cluster-info", nil, time.Hour, func(r *discoverer) time.Duration { return r.sigGrace }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := newFakeAPI(t)
			cm := clusterInfo(t, clusterInfoKubeconfig(t, api.srv.URL, api.caPEM()), tc.tokens...)
			cm.CreationTimestamp = metav1.NewTime(time.Now().Add(-tc.age))
			api.always(cm)
			r := fast(nil)
			start := time.Now()
			_, err := r.discover(context.Background(), tokenDiscovery(api.endpoint(), api.pin()))
			took := time.Since(start)
			mustFail(t, err, `token id "abcdef" is invalid for this cluster or it has expired`, "kubeadmin token create --print-join-command")
			if g := tc.grace(r); took < g || took >= r.timeout || (g == r.sigGrace && took >= r.unsignedGrace) {
				t.Fatalf("gave up after %v, want the grace %v (timeout %v)", took, g, r.timeout)
			}
			if api.readCount() < 2 {
				t.Fatalf("cluster-info read %d times, want retries within the grace", api.readCount())
			}
		})
	}
}

func TestTokenUnknownWhenTimeoutIsShorterThanGrace(t *testing.T) {
	api := newFakeAPI(t)
	api.always(clusterInfo(t, clusterInfoKubeconfig(t, api.srv.URL, api.caPEM())))
	r := fast(nil)
	r.timeout = r.unsignedGrace / 3
	_, err := r.discover(context.Background(), tokenDiscovery(api.endpoint(), api.pin()))
	mustFail(t, err, `token id "abcdef" is invalid`)
}

func TestTokenSignatureAppearsLate(t *testing.T) {
	// The ConfigMap exists before the bootstrapsigner signed it, and does
	// not exist at all on the first read.
	api := newFakeAPI(t)
	content := clusterInfoKubeconfig(t, api.srv.URL, api.caPEM())
	api.answer = func(n int) (int, *corev1.ConfigMap) {
		switch {
		case n == 1:
			return http.StatusNotFound, nil
		case n < 4:
			return http.StatusOK, clusterInfo(t, content)
		}
		return http.StatusOK, clusterInfo(t, content, testToken)
	}
	kc, err := fast(nil).discover(context.Background(), tokenDiscovery(api.endpoint(), api.pin()))
	if err != nil {
		t.Fatal(err)
	}
	checkBootstrap(t, kc, api.srv.URL, api.caPEM(), tlsToken)
}

func TestTokenUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	r := fast(nil)
	r.timeout = 300 * time.Millisecond
	start := time.Now()
	_, err = r.discover(context.Background(), tokenDiscovery(addr, certs.CAPinHash(otherCert(t))))
	took := time.Since(start)
	mustFail(t, err, "timed out after 300ms", "https://"+addr, "connection refused", "reachable from this node")
	if took < r.timeout || took > r.timeout+time.Second {
		t.Fatalf("gave up after %v, want about %v", took, r.timeout)
	}
}

func TestTokenNoClusterInfo(t *testing.T) {
	api := newFakeAPI(t) // answers 404 to every read
	r := fast(nil)
	r.timeout = 200 * time.Millisecond
	_, err := r.discover(context.Background(), tokenDiscovery(api.endpoint(), api.pin()))
	msg := mustFail(t, err, "timed out", api.srv.URL, "NotFound", "kubeadmin init phase bootstrap-token")
	if strings.Contains(msg, "reachable from this node") {
		t.Fatalf("an answer from the API server is reported as unreachable: %s", msg)
	}
	if api.readCount() < 2 {
		t.Fatalf("cluster-info read %d times, want retries", api.readCount())
	}
}

func TestTokenContentChangesBetweenReads(t *testing.T) {
	api := newFakeAPI(t)
	first := clusterInfoKubeconfig(t, api.srv.URL, api.caPEM())
	second := clusterInfoKubeconfig(t, "https://elsewhere:6443", api.caPEM())
	api.answer = func(n int) (int, *corev1.ConfigMap) {
		if n == 1 {
			return http.StatusOK, clusterInfo(t, first, testToken)
		}
		return http.StatusOK, clusterInfo(t, second, testToken)
	}
	_, err := fast(nil).discover(context.Background(), tokenDiscovery(api.endpoint(), api.pin()))
	mustFail(t, err, "differs from the one read first")
}

func TestTokenServingCertNotFromPinnedCA(t *testing.T) {
	// cluster-info names a CA (matching the pin) that did not sign the
	// serving certificate: the verified read must fail at once.
	api := newFakeAPI(t)
	other := otherCert(t)
	otherPEM := certs.EncodeCertPEM(other)
	api.always(clusterInfo(t, clusterInfoKubeconfig(t, api.srv.URL, otherPEM), testToken))
	r := fast(nil)
	start := time.Now()
	_, err := r.discover(context.Background(), tokenDiscovery(api.endpoint(), certs.CAPinHash(other)))
	mustFail(t, err, "signed by the pinned cluster CA")
	if time.Since(start) >= r.timeout {
		t.Fatal("a certificate error was retried until the timeout")
	}
}

func TestTokenBadInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*config.Discovery)
		want []string
	}{
		{"bad token", func(d *config.Discovery) { d.BootstrapToken.Token = "abcdef." + testSecret + "x" }, []string{"--token", "discovery.bootstrapToken.token"}},
		{"bad TLS token", func(d *config.Discovery) { d.TLSBootstrapToken = "abcdef:" + testSecret }, []string{"--tls-bootstrap-token", "discovery.tlsBootstrapToken"}},
		{"no endpoint", func(d *config.Discovery) { d.BootstrapToken.APIServerEndpoint = "" }, []string{"api-server-endpoint", "discovery.bootstrapToken.apiServerEndpoint"}},
		{"endpoint URL", func(d *config.Discovery) { d.BootstrapToken.APIServerEndpoint = "https://10.0.0.1:6443" }, []string{`"https://10.0.0.1:6443"`, "host:port"}},
		{"no port", func(d *config.Discovery) { d.BootstrapToken.APIServerEndpoint = "10.0.0.1" }, []string{"host:port"}},
		{"pin without format", func(d *config.Discovery) { d.BootstrapToken.CACertHashes = []string{strings.Repeat("a", 64)} }, []string{"--discovery-token-ca-cert-hash", "caCertHashes[0]"}},
		{"md5 pin", func(d *config.Discovery) {
			d.BootstrapToken.CACertHashes = []string{"sha256:" + strings.Repeat("a", 64), "md5:abc"}
		}, []string{`"md5"`, "caCertHashes[1]"}},
		{"short pin", func(d *config.Discovery) { d.BootstrapToken.CACertHashes = []string{"sha256:abcd"} }, []string{"64 hex"}},
		{"non-hex pin", func(d *config.Discovery) {
			d.BootstrapToken.CACertHashes = []string{"sha256:" + strings.Repeat("g", 64)}
		}, []string{"64 hex"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := tokenDiscovery("127.0.0.1:1", "sha256:"+strings.Repeat("a", 64))
			tc.edit(&d)
			_, err := fast(nil).discover(context.Background(), d)
			mustFail(t, err, tc.want...)
		})
	}
}

func TestParsePins(t *testing.T) {
	hex := strings.Repeat("ab", 32)
	got, err := ParsePins([]string{"SHA256:" + strings.ToUpper(hex), "sha256:" + hex})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != "sha256:"+hex || got[1] != got[0] {
		t.Fatalf("ParsePins = %v", got)
	}
}

// otherCert is a CA certificate unrelated to the test servers.
func otherCert(t *testing.T) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "other"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
