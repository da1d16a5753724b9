package discovery

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	bootstrapapi "k8s.io/cluster-bootstrap/token/api"
	"k8s.io/cluster-bootstrap/token/jws"

	"github.com/kubeadmin/kubeadmin/certs"
	"github.com/kubeadmin/kubeadmin/internal/config"
	"github.com/kubeadmin/kubeadmin/internal/constants"
)

const (
	testID     = "abcdef"
	testSecret = "0123456789abcdef"
	testToken  = testID + "." + testSecret
	// tlsToken differs from testToken so tests see which one is used.
	tlsToken = "ghijkl.ghijklmnopqrstuv"
)

const clusterInfoPath = "/api/v1/namespaces/kube-public/configmaps/cluster-info"

// fakeAPI is a TLS server that answers GETs of cluster-info with what
// answer returns for the n-th read (1-based). Other paths are in files.
type fakeAPI struct {
	srv    *httptest.Server
	mu     sync.Mutex
	reads  int
	answer func(n int) (int, *corev1.ConfigMap)
	files  map[string][]byte
	auth   string // Authorization header of the last cluster-info read
}

func newFakeAPI(t *testing.T) *fakeAPI {
	t.Helper()
	f := &fakeAPI{files: map[string][]byte{}}
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	// Tests make failed handshakes on purpose; keep them out of the output.
	f.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	f.srv.StartTLS()
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if data, ok := f.files[r.URL.Path]; ok {
		_, _ = w.Write(data)
		return
	}
	if r.URL.Path != clusterInfoPath || r.Method != http.MethodGet {
		http.NotFound(w, r)
		return
	}
	f.reads++
	f.auth = r.Header.Get("Authorization")
	code, cm := http.StatusNotFound, (*corev1.ConfigMap)(nil)
	if f.answer != nil {
		code, cm = f.answer(f.reads)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	if code == http.StatusOK {
		cm.TypeMeta = metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"}
		_ = json.NewEncoder(w).Encode(cm)
		return
	}
	reason := map[int]metav1.StatusReason{
		http.StatusNotFound:     metav1.StatusReasonNotFound,
		http.StatusForbidden:    metav1.StatusReasonForbidden,
		http.StatusUnauthorized: metav1.StatusReasonUnauthorized,
	}[code]
	_ = json.NewEncoder(w).Encode(&metav1.Status{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Status"},
		Status:   metav1.StatusFailure, Reason: reason, Code: int32(code),
		Message: "configmaps \"cluster-info\" is " + string(reason),
	})
}

func (f *fakeAPI) readCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reads
}

// always makes every read return cm.
func (f *fakeAPI) always(cm *corev1.ConfigMap) {
	f.answer = func(int) (int, *corev1.ConfigMap) { return http.StatusOK, cm.DeepCopy() }
}

func (f *fakeAPI) endpoint() string { return strings.TrimPrefix(f.srv.URL, "https://") }

func (f *fakeAPI) caPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.srv.Certificate().Raw})
}

func (f *fakeAPI) pin() string { return certs.CAPinHash(f.srv.Certificate()) }

// clusterInfoKubeconfig is the kubeconfig kubeadm puts in cluster-info.
func clusterInfoKubeconfig(t *testing.T, server string, ca []byte) string {
	t.Helper()
	kc := clientcmdapi.NewConfig()
	kc.Clusters[""] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: ca}
	data, err := clientcmd.Write(*kc)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// clusterInfo is a cluster-info ConfigMap with content signed by the tokens.
func clusterInfo(t *testing.T, content string, tokens ...string) *corev1.ConfigMap {
	t.Helper()
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: bootstrapapi.ConfigMapClusterInfo, Namespace: metav1.NamespacePublic},
		Data:       map[string]string{bootstrapapi.KubeConfigKey: content},
	}
	for _, tok := range tokens {
		id, secret, _ := strings.Cut(tok, ".")
		sig, err := jws.ComputeDetachedSignature(content, id, secret)
		if err != nil {
			t.Fatal(err)
		}
		cm.Data[bootstrapapi.JWSSignatureKeyPrefix+id] = sig
	}
	return cm
}

// fast is a discoverer with short timings.
func fast(buf *bytes.Buffer) *discoverer {
	var out io.Writer = io.Discard
	if buf != nil {
		out = buf
	}
	return &discoverer{
		timeout:        3 * time.Second,
		interval:       20 * time.Millisecond,
		sigInterval:    10 * time.Millisecond,
		sigGrace:       100 * time.Millisecond,
		unsignedGrace:  300 * time.Millisecond,
		requestTimeout: time.Second,
		out:            out,
	}
}

func tokenDiscovery(endpoint string, pins ...string) config.Discovery {
	return config.Discovery{
		BootstrapToken:    &config.BootstrapTokenDiscovery{Token: testToken, APIServerEndpoint: endpoint, CACertHashes: pins},
		TLSBootstrapToken: tlsToken,
	}
}

// checkBootstrap checks the shape of a token bootstrap kubeconfig.
func checkBootstrap(t *testing.T, kc *clientcmdapi.Config, server string, ca []byte, token string) {
	t.Helper()
	const ctxName = constants.BootstrapTokenUser + "@" + constants.DefaultClusterName
	c := kc.Clusters[constants.DefaultClusterName]
	if len(kc.Clusters) != 1 || c == nil || c.Server != server || !bytes.Equal(c.CertificateAuthorityData, ca) || c.InsecureSkipTLSVerify {
		t.Fatalf("clusters = %+v, want one %q with server %s and the CA", kc.Clusters, constants.DefaultClusterName, server)
	}
	if a := kc.AuthInfos[constants.BootstrapTokenUser]; len(kc.AuthInfos) != 1 || a == nil || a.Token != token {
		t.Fatalf("users = %+v, want %s with the token", kc.AuthInfos, constants.BootstrapTokenUser)
	}
	if x := kc.Contexts[ctxName]; kc.CurrentContext != ctxName || x == nil || x.Cluster != constants.DefaultClusterName || x.AuthInfo != constants.BootstrapTokenUser {
		t.Fatalf("context %q = %+v, want %q", kc.CurrentContext, kc.Contexts, ctxName)
	}
}

// mustFail returns err's message, failing if err is nil or leaks a secret.
func mustFail(t *testing.T, err error, want ...string) string {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	t.Logf("error: %s", msg)
	for _, s := range []string{testSecret, strings.Split(tlsToken, ".")[1]} {
		if strings.Contains(msg, s) {
			t.Fatalf("error leaks a token secret: %s", msg)
		}
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Fatalf("error %q does not contain %q", msg, w)
		}
	}
	return msg
}

func TestDiscoverNeedsAMethod(t *testing.T) {
	_, err := Discover(context.Background(), config.Discovery{}, time.Second, nil)
	mustFail(t, err, "--discovery-file", "--token", "kubeadmin token create --print-join-command")
	both := tokenDiscovery("127.0.0.1:6443")
	both.File = &config.FileDiscovery{KubeConfigPath: "/x"}
	_, err = Discover(context.Background(), both, time.Second, nil)
	mustFail(t, err, "not both")
}

func TestDeadlinePassed(t *testing.T) {
	if deadlinePassed(context.Background()) {
		t.Error("a context without deadline: passed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	if deadlinePassed(ctx) {
		t.Error("a deadline an hour away: passed")
	}
	// A deadline in the past on a context not (yet) marked done.
	past := pastDeadline{Context: context.Background(), d: time.Now().Add(-time.Millisecond)}
	if !deadlinePassed(past) {
		t.Error("a deadline in the past: not passed")
	}
	cancel()
	if !deadlinePassed(ctx) {
		t.Error("a cancelled context: not passed")
	}
}

// pastDeadline has a deadline but is never done, as a context whose timer
// has not fired yet.
type pastDeadline struct {
	context.Context
	d time.Time
}

func (p pastDeadline) Deadline() (time.Time, bool) { return p.d, true }
