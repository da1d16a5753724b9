package server

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kubeadmin/kubeadmin/kubelet/status"
)

type fakeProvider struct{ report status.Report }

func (p *fakeProvider) Pods() []*v1.Pod {
	return []*v1.Pod{{ObjectMeta: metav1.ObjectMeta{Name: "etcd-node1", Namespace: "kube-system"}}}
}
func (p *fakeProvider) Report() *status.Report { r := p.report; return &r }

type fakeStreamer struct {
	url  string
	mu   sync.Mutex
	exec *runtimeapi.ExecRequest
}

func (f *fakeStreamer) Exec(_ context.Context, in *runtimeapi.ExecRequest) (*runtimeapi.ExecResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.exec = in
	return &runtimeapi.ExecResponse{Url: f.url}, nil
}

func (f *fakeStreamer) Attach(context.Context, *runtimeapi.AttachRequest) (*runtimeapi.AttachResponse, error) {
	return &runtimeapi.AttachResponse{Url: f.url}, nil
}

func (f *fakeStreamer) PortForward(context.Context, *runtimeapi.PortForwardRequest) (*runtimeapi.PortForwardResponse, error) {
	return &runtimeapi.PortForwardResponse{Url: f.url}, nil
}

// testPKI is a CA with a client certificate.
type testPKI struct {
	caFile string
	client tls.Certificate
}

func newPKI(t *testing.T, dir, clientCN string) testPKI {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "kubernetes"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	cliKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	cliTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: clientCN, Organization: []string{"kubeadm:cluster-admins"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	cliDER, err := x509.CreateCertificate(rand.Reader, cliTmpl, ca, &cliKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(dir, "ca.crt")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o644); err != nil {
		t.Fatal(err)
	}
	return testPKI{caFile: caFile, client: tls.Certificate{Certificate: [][]byte{cliDER}, PrivateKey: cliKey}}
}

// env is a running kubelet API with a fake API client.
type env struct {
	url      string
	client   *fake.Clientset
	pki      testPKI
	logDir   string
	streamer *fakeStreamer
	sars     []*authzv1.SubjectAccessReview
	failures []string
	mu       sync.Mutex
}

func newEnv(t *testing.T, allow bool, mods ...func(*Options)) *env {
	t.Helper()
	dir := t.TempDir()
	e := &env{client: fake.NewClientset(), pki: newPKI(t, dir, "kube-apiserver-kubelet-client"), logDir: filepath.Join(dir, "pods"), streamer: &fakeStreamer{}}
	e.client.PrependReactor("create", "subjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		sar := a.(k8stesting.CreateAction).GetObject().(*authzv1.SubjectAccessReview)
		e.mu.Lock()
		e.sars = append(e.sars, sar)
		e.mu.Unlock()
		out := sar.DeepCopy()
		out.Status.Allowed = allow
		return true, out, nil
	})
	e.client.PrependReactor("create", "tokenreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		tr := a.(k8stesting.CreateAction).GetObject().(*authnv1.TokenReview).DeepCopy()
		if tr.Spec.Token == "good" {
			tr.Status.Authenticated = true
			tr.Status.User = authnv1.UserInfo{Username: "token-user", Groups: []string{"g"}}
		}
		return true, tr, nil
	})
	started := time.Now()
	prov := &fakeProvider{report: status.Report{Pods: []status.Pod{{
		Name: "etcd-node1", Namespace: "kube-system", UID: "u1", SandboxID: "sb1",
		Containers: []status.Container{{Name: "etcd", ID: "cid1", State: status.StateRunning, RestartCount: 1, StartedAt: &started}},
	}}}}
	opts := Options{NodeName: "node1", ClientCAFile: e.pki.caFile, WebhookAuthentication: true, Client: e.client, PodLogsDir: e.logDir,
		Logger: log.New(io.Discard, "", 0), Failures: func() []string {
			e.mu.Lock()
			defer e.mu.Unlock()
			return e.failures
		}}
	for _, m := range mods {
		m(&opts)
	}
	s := New(opts, prov, e.streamer)
	certPEM, keyPEM, err := SelfSignedCert("node1", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, "kubelet.crt"), filepath.Join(dir, "kubelet.key")
	_ = os.WriteFile(certFile, certPEM, 0o644)
	_ = os.WriteFile(keyFile, keyPEM, 0o600)
	tlsCfg, err := s.TLSConfig(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(s.Handler())
	ts.TLS = tlsCfg
	ts.StartTLS()
	t.Cleanup(ts.Close)
	e.url = ts.URL
	return e
}

func (e *env) httpClient(withCert bool) *http.Client {
	cfg := &tls.Config{InsecureSkipVerify: true}
	if withCert {
		cfg.Certificates = []tls.Certificate{e.pki.client}
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}, Timeout: 10 * time.Second}
}

func (e *env) get(t *testing.T, c *http.Client, path string, header map[string]string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.url+path, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func writeLog(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

const criLog = "2026-01-01T00:00:01.000000001Z stdout F one\n" +
	"2026-01-01T00:00:02Z stderr P tw\n" +
	"2026-01-01T00:00:02.5Z stderr F o\n" +
	"2026-01-01T00:00:03Z stdout F three\n"

// The kubelet API's /healthz reports the agent's failed parts as the
// agent's own health endpoint does.
func TestHealthzShowsFailedParts(t *testing.T) {
	e := newEnv(t, true)
	c := e.httpClient(true)
	if code, body := e.get(t, c, "/healthz", nil); code != http.StatusOK || body != "ok" {
		t.Fatalf("/healthz while healthy = %d %q, want 200 ok", code, body)
	}
	e.mu.Lock()
	e.failures = []string{"node loop failed: lease client broke"}
	e.mu.Unlock()
	code, body := e.get(t, c, "/healthz", nil)
	if code != http.StatusInternalServerError || !strings.Contains(body, "[-]node loop failed: lease client broke") {
		t.Errorf("/healthz with a failed part = %d %q, want 500 naming it", code, body)
	}
}

func TestAuth(t *testing.T) {
	tests := []struct {
		name     string
		allow    bool
		cert     bool
		header   map[string]string
		path     string
		want     int
		wantBody string
	}{
		{"no credentials", true, false, nil, "/healthz", http.StatusUnauthorized, "Unauthorized"},
		{"bad token", true, false, map[string]string{"Authorization": "Bearer bad"}, "/healthz", http.StatusUnauthorized, "Unauthorized"},
		{"good token", true, false, map[string]string{"Authorization": "Bearer good"}, "/healthz", http.StatusOK, "ok"},
		{"client cert, allowed", true, true, nil, "/healthz", http.StatusOK, "ok"},
		{"client cert, denied", false, true, nil, "/containerLogs/kube-system/etcd-node1/etcd", http.StatusForbidden,
			"Forbidden (user=kube-apiserver-kubelet-client, verb=get, resource=nodes, subresource(s)=[proxy])"},
		{"token, denied pods", false, false, map[string]string{"Authorization": "Bearer good"}, "/pods", http.StatusForbidden,
			"Forbidden (user=token-user, verb=get, resource=nodes, subresource(s)=[pods proxy])"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.allow)
			code, body := e.get(t, e.httpClient(tt.cert), tt.path, tt.header)
			if code != tt.want || !strings.Contains(body, tt.wantBody) {
				t.Errorf("got %d %q, want %d containing %q", code, body, tt.want, tt.wantBody)
			}
		})
	}
}

func TestSubjectAccessReviewAttributes(t *testing.T) {
	e := newEnv(t, true)
	if code, _ := e.get(t, e.httpClient(true), "/pods", nil); code != http.StatusOK {
		t.Fatalf("GET /pods = %d", code)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.sars) != 1 {
		t.Fatalf("reviews = %d, want 1", len(e.sars))
	}
	s := e.sars[0].Spec
	ra := s.ResourceAttributes
	if s.User != "kube-apiserver-kubelet-client" || ra.Resource != "nodes" || ra.Subresource != "pods" || ra.Name != "node1" || ra.Verb != "get" || ra.Version != "v1" {
		t.Errorf("review = %+v %+v", s, ra)
	}
}

func TestContainerLogs(t *testing.T) {
	e := newEnv(t, true)
	dir := filepath.Join(e.logDir, "kube-system_etcd-node1_u1", "etcd")
	writeLog(t, dir, "0.log", "2026-01-01T00:00:00Z stdout F previous\n")
	writeLog(t, dir, "1.log", criLog)
	c := e.httpClient(true)
	tests := []struct {
		query string
		want  string
		code  int
	}{
		{"", "one\ntwo\nthree\n", 200},
		{"?tailLines=2", "two\nthree\n", 200},
		{"?tailLines=1&timestamps=true", "2026-01-01T00:00:03.000000000Z three\n", 200},
		{"?previous=true", "previous\n", 200},
		{"?limitBytes=5", "one\nt", 200},
		{"?tailLines=x", "invalid query parameter tailLines", 400},
	}
	for _, tt := range tests {
		code, body := e.get(t, c, "/containerLogs/kube-system/etcd-node1/etcd"+tt.query, nil)
		if code != tt.code || !strings.Contains(body, tt.want) || (code == 200 && body != tt.want) {
			t.Errorf("logs%s = %d %q, want %d %q", tt.query, code, body, tt.code, tt.want)
		}
	}
	if code, _ := e.get(t, c, "/containerLogs/kube-system/nope/etcd", nil); code != http.StatusNotFound {
		t.Errorf("unknown pod: %d, want 404", code)
	}
}

func TestExecIsProxiedToTheStreamingServer(t *testing.T) {
	e := newEnv(t, true)
	var gotPath, gotUpgrade, gotProto string
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotPath, gotUpgrade, gotProto = r.URL.Path, r.Header.Get("Upgrade"), r.Header.Get("X-Stream-Protocol-Version")
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		_, _ = buf.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\n\r\n")
		_ = buf.Flush()
		line, _ := buf.ReadString('\n')
		_, _ = conn.Write([]byte("echo:" + line))
	}))
	defer backend.Close()
	e.streamer.url = backend.URL + "/exec/token123"

	req, _ := http.NewRequest(http.MethodPost, e.url+"/exec/kube-system/etcd-node1/etcd?command=ls&command=-l&output=1&error=1&tty=1", nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "SPDY/3.1")
	req.Header.Set("X-Stream-Protocol-Version", "v4.channel.k8s.io")
	c := e.httpClient(true)
	c.Timeout = 0
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("status = %d %s, want 101", resp.StatusCode, b)
	}
	rw := resp.Body.(io.ReadWriter)
	if _, err := rw.Write([]byte("hi\n")); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(rw).ReadString('\n')
	if line != "echo:hi\n" {
		t.Errorf("stream = %q, want echo:hi", line)
	}
	if gotPath != "/exec/token123" || gotUpgrade != "SPDY/3.1" || gotProto != "v4.channel.k8s.io" {
		t.Errorf("backend saw path %q upgrade %q protocol %q", gotPath, gotUpgrade, gotProto)
	}
	e.streamer.mu.Lock()
	ex := e.streamer.exec
	e.streamer.mu.Unlock()
	if ex == nil || ex.ContainerId != "cid1" || strings.Join(ex.Cmd, " ") != "ls -l" || !ex.Stdout || !ex.Stderr || ex.Stdin || !ex.Tty {
		t.Errorf("CRI exec request = %+v", ex)
	}
}

func TestExecNeedsCommand(t *testing.T) {
	e := newEnv(t, true)
	req, _ := http.NewRequest(http.MethodPost, e.url+"/exec/kube-system/etcd-node1/etcd", nil)
	resp, err := e.httpClient(true).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("status = %d, want 400", resp.StatusCode)
	}
}

// TestAuthAnswersAreCached: the second request with the same token asks
// the API server neither TokenReview nor SubjectAccessReview again.
func TestAuthAnswersAreCached(t *testing.T) {
	e := newEnv(t, true)
	c := e.httpClient(false)
	for i := 0; i < 3; i++ {
		if code, body := e.get(t, c, "/pods", map[string]string{"Authorization": "Bearer good"}); code != http.StatusOK {
			t.Fatalf("GET /pods = %d %q", code, body)
		}
	}
	reviews := 0
	for _, a := range e.client.Actions() {
		if a.GetVerb() == "create" && a.GetResource().Resource == "tokenreviews" {
			reviews++
		}
	}
	e.mu.Lock()
	sars := len(e.sars)
	e.mu.Unlock()
	if reviews != 1 || sars != 1 {
		t.Errorf("token reviews %d, access reviews %d; want 1 each", reviews, sars)
	}
}
