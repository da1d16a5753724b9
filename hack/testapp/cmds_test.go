package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testCLI is a cli with captured output; env is its whole environment.
func testCLI(env map[string]string) (*cli, *bytes.Buffer, *bytes.Buffer) {
	var out, errOut bytes.Buffer
	c := &cli{
		stdin:  strings.NewReader(""),
		stdout: &out,
		stderr: &errOut,
		getenv: func(k string) string { return env[k] },
		environ: func() []string {
			var kv []string
			for k, v := range env {
				kv = append(kv, k+"="+v)
			}
			return kv
		},
		lookupHost: net.DefaultResolver.LookupHost,
		hostname:   func() (string, error) { return "web-0", nil },
		hostsFile:  filepath.Join(os.TempDir(), "no-such-hosts-file"),
	}
	return c, &out, &errOut
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// checkRun runs a subcommand and checks its exit code, stdout and stderr.
func checkRun(t *testing.T, c *cli, out, errOut *bytes.Buffer, args []string, wantCode int, wantOut, wantErr string) {
	t.Helper()
	code := runCommand(args[0], args[1:], c)
	if code != wantCode {
		t.Errorf("testapp %v exit code = %d, want %d (stderr %q)", args, code, wantCode, errOut.String())
	}
	if out.String() != wantOut {
		t.Errorf("testapp %v stdout = %q, want %q", args, out.String(), wantOut)
	}
	if !strings.Contains(errOut.String(), wantErr) {
		t.Errorf("testapp %v stderr = %q, want containing %q", args, errOut.String(), wantErr)
	}
}

func TestUnknownSubcommand(t *testing.T) {
	c, out, errOut := testCLI(nil)
	checkRun(t, c, out, errOut, []string{"serve"}, 2, "", `unknown subcommand "serve": want one of api, cat, echo, env, get, hostname, lookup`)
}

func TestGet(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing" {
			http.Error(w, "nothing here", http.StatusNotFound)
			return
		}
		fmt.Fprintf(w, "path %s\n", r.URL.Path)
	}))
	defer srv.Close()
	tests := []struct {
		name, url        string
		wantCode         int
		wantOut, wantErr string
	}{
		{name: "ok", url: srv.URL + "/a", wantOut: "path /a\n"},
		{name: "404", url: srv.URL + "/missing", wantCode: 1, wantOut: "nothing here\n", wantErr: "status 404 Not Found"},
		{name: "refused", url: "http://127.0.0.1:1/", wantCode: 1, wantErr: "GET http://127.0.0.1:1/:"},
		{name: "bad url", url: "://x", wantCode: 1, wantErr: `invalid URL "://x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, out, errOut := testCLI(nil)
			checkRun(t, c, out, errOut, []string{"get", tt.url}, tt.wantCode, tt.wantOut, tt.wantErr)
		})
	}
	c, out, errOut := testCLI(nil)
	checkRun(t, c, out, errOut, []string{"get"}, 2, "", "usage: testapp get URL")
}

func TestCat(t *testing.T) {
	a := writeFile(t, "a", "one\n")
	b := writeFile(t, "b", "two\n")
	missing := filepath.Join(t.TempDir(), "missing")

	c, out, errOut := testCLI(nil)
	checkRun(t, c, out, errOut, []string{"cat", a, b}, 0, "one\ntwo\n", "")

	c, out, errOut = testCLI(nil)
	checkRun(t, c, out, errOut, []string{"cat", a, missing, b}, 1, "one\ntwo\n", "testapp cat: open "+missing)

	c, out, errOut = testCLI(nil)
	checkRun(t, c, out, errOut, []string{"cat"}, 2, "", "usage: testapp cat FILE...")
}

func TestLookupLocalhost(t *testing.T) {
	c, out, errOut := testCLI(nil)
	if code := runCommand("lookup", []string{"localhost"}, c); code != 0 {
		t.Fatalf("lookup localhost exit code = %d, stderr %q", code, errOut.String())
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	found := false
	for i, l := range lines {
		ip := net.ParseIP(l)
		if ip == nil || !ip.IsLoopback() {
			t.Errorf("lookup localhost line %d = %q, want a loopback address", i, l)
		}
		found = found || l == "127.0.0.1"
		if i > 0 && lines[i-1] > l {
			t.Errorf("lookup localhost output not sorted: %q", lines)
		}
	}
	if !found {
		t.Errorf("lookup localhost = %q, want 127.0.0.1 among them", lines)
	}
}

func TestLookupFake(t *testing.T) {
	tests := []struct {
		name             string
		addrs            []string
		err              error
		wantCode         int
		wantOut, wantErr string
	}{
		{name: "sorted", addrs: []string{"10.96.0.20", "10.244.1.3", "fd00::1"}, wantOut: "10.244.1.3\n10.96.0.20\nfd00::1\n"},
		{name: "none", wantCode: 1, wantErr: "web: no addresses"},
		{name: "error", err: errors.New("no such host"), wantCode: 1, wantErr: "web: no such host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, out, errOut := testCLI(nil)
			var asked string
			c.lookupHost = func(_ context.Context, name string) ([]string, error) {
				asked = name
				return tt.addrs, tt.err
			}
			checkRun(t, c, out, errOut, []string{"lookup", "web"}, tt.wantCode, tt.wantOut, tt.wantErr)
			if asked != "web" {
				t.Errorf("resolver asked for %q, want the name as given, web", asked)
			}
		})
	}
}

func TestEnv(t *testing.T) {
	c, out, errOut := testCLI(map[string]string{"B": "2", "A": "1=x", "C": ""})
	checkRun(t, c, out, errOut, []string{"env"}, 0, "A=1=x\nB=2\nC=\n", "")
	c, out, errOut = testCLI(nil)
	checkRun(t, c, out, errOut, []string{"env", "x"}, 2, "", "usage: testapp env")
}

func TestAPI(t *testing.T) {
	var gotAuth, gotURI string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth, gotURI = r.Header.Get("Authorization"), r.URL.RequestURI()
		if r.URL.Path == "/api/v1/secrets" {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		fmt.Fprint(w, `{"kind":"APIVersions"}`)
	}))
	defer srv.Close()
	host, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{envServiceHost: host, envServicePort: port}
	ca := writeFile(t, "ca.crt", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})))
	token := writeFile(t, "token", "s3cret\n")
	notPEM := writeFile(t, "bad.crt", "not a certificate")
	flags := []string{"--token-file=" + token, "--ca-file=" + ca}

	t.Run("ok", func(t *testing.T) {
		c, out, errOut := testCLI(env)
		checkRun(t, c, out, errOut, append(append([]string{"api"}, flags...), "/api?timeout=1s"), 0, `{"kind":"APIVersions"}`, "")
		if gotAuth != "Bearer s3cret" || gotURI != "/api?timeout=1s" {
			t.Errorf("server saw Authorization %q URI %q, want %q %q", gotAuth, gotURI, "Bearer s3cret", "/api?timeout=1s")
		}
	})
	t.Run("path without slash", func(t *testing.T) {
		c, out, errOut := testCLI(env)
		checkRun(t, c, out, errOut, append(append([]string{"api"}, flags...), "version"), 0, `{"kind":"APIVersions"}`, "")
		if gotURI != "/version" {
			t.Errorf("server saw URI %q, want /version", gotURI)
		}
	})
	t.Run("forbidden", func(t *testing.T) {
		c, out, errOut := testCLI(env)
		checkRun(t, c, out, errOut, append(append([]string{"api"}, flags...), "api/v1/secrets"), 1, "forbidden\n", "status 403 Forbidden")
	})
	t.Run("no env", func(t *testing.T) {
		c, out, errOut := testCLI(nil)
		checkRun(t, c, out, errOut, append(append([]string{"api"}, flags...), "api"), 1, "", "$KUBERNETES_SERVICE_HOST and $KUBERNETES_SERVICE_PORT must be set")
	})
	t.Run("missing token", func(t *testing.T) {
		c, out, errOut := testCLI(env)
		checkRun(t, c, out, errOut, []string{"api", "--token-file=/nonexistent/token", "--ca-file=" + ca, "api"}, 1, "", "reading the token (--token-file): open /nonexistent/token")
	})
	t.Run("default paths", func(t *testing.T) {
		if _, err := os.Stat(defaultTokenFile); err == nil {
			t.Skip("running in a pod: the default token exists")
		}
		c, out, errOut := testCLI(env)
		checkRun(t, c, out, errOut, []string{"api", "api"}, 1, "", "open "+defaultTokenFile)
	})
	t.Run("not PEM", func(t *testing.T) {
		c, out, errOut := testCLI(env)
		checkRun(t, c, out, errOut, []string{"api", "--token-file=" + token, "--ca-file=" + notPEM, "api"}, 1, "", notPEM+" (--ca-file) holds no PEM certificate")
	})
	t.Run("usage", func(t *testing.T) {
		c, out, errOut := testCLI(env)
		checkRun(t, c, out, errOut, []string{"api"}, 2, "", "usage: testapp api [--token-file FILE] [--ca-file FILE] PATH")
	})
}

// TestAPIUntrustedServer: a server whose certificate the CA did not sign is
// refused, so the CA file is really used.
func TestAPIUntrustedServer(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "secret") }))
	defer srv.Close()
	host, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	ca := writeFile(t, "ca.crt", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})))
	token := writeFile(t, "token", "t")
	c, out, errOut := testCLI(map[string]string{envServiceHost: host, envServicePort: port})
	// Sanity: trusted works.
	checkRun(t, c, out, errOut, []string{"api", "--token-file=" + token, "--ca-file=" + ca, "x"}, 0, "secret", "")
	// Untrusted: only an unrelated self-signed certificate in the pool.
	bad := writeFile(t, "bad.crt", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: selfSigned(t)})))
	c, out, errOut = testCLI(map[string]string{envServiceHost: host, envServicePort: port})
	checkRun(t, c, out, errOut, []string{"api", "--token-file=" + token, "--ca-file=" + bad, "x"}, 1, "", "certificate")
}

// selfSigned returns the DER of a fresh self-signed CA certificate.
func selfSigned(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "unrelated-ca"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestRootAnswersPodAndVersion(t *testing.T) {
	t.Setenv(envPodName, "web-1")
	t.Setenv(envVersion, "v2")
	srv := httptest.NewServer((&app{opts: &options{message: "hi"}}).handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := "hi pod=web-1 version=v2\n"; string(body) != want {
		t.Errorf("GET / = %q, want %q", body, want)
	}
}

func TestEcho(t *testing.T) {
	tests := []struct{ name, in string }{
		{name: "lines", in: "one\ntwo\n"},
		{name: "partial last line", in: "one\ntwo"},
		{name: "empty", in: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, out, errOut := testCLI(nil)
			c.stdin = strings.NewReader(tt.in)
			checkRun(t, c, out, errOut, []string{"echo"}, 0, tt.in, "")
		})
	}
}

// TestEchoLineByLine: each line reaches stdout before the next is read.
func TestEchoLineByLine(t *testing.T) {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	c, _, _ := testCLI(nil)
	c.stdin, c.stdout = inR, outW
	code := make(chan int, 1)
	go func() { code <- runCommand("echo", nil, c); outW.Close() }()
	buf := make([]byte, 64)
	for _, l := range []string{"first\n", "second\n"} {
		go func() { _, _ = io.WriteString(inW, l) }()
		n, err := io.ReadAtLeast(outR, buf, len(l))
		if err != nil || string(buf[:n]) != l {
			t.Fatalf("echo wrote %q (%v), want %q before more input", buf[:n], err, l)
		}
	}
	inW.Close()
	if c := waitCode(t, code); c != 0 {
		t.Errorf("echo exit code at EOF = %d, want 0", c)
	}
}

func TestHostname(t *testing.T) {
	hosts := "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n" +
		"10.244.1.5\tweb-0.web.default.svc.cluster.local\tweb-0 # the pod\n10.244.1.5\tweb-0\n"
	tests := []struct {
		name, hosts, host string
		wantCode          int
		wantOut, wantErr  string
	}{
		{name: "stateful", hosts: hosts, host: "web-0", wantOut: "web-0\n10.244.1.5 web-0.web.default.svc.cluster.local web-0\n"},
		{name: "no line", hosts: hosts, host: "web-1", wantCode: 1, wantOut: "web-1\n", wantErr: `names "web-1"`},
		{name: "IP is not a name", hosts: "web-2 10.0.0.1\n", host: "web-2", wantCode: 1, wantOut: "web-2\n", wantErr: `names "web-2"`},
		{name: "commented out", hosts: "# 10.0.0.1 web-3\n", host: "web-3", wantCode: 1, wantOut: "web-3\n", wantErr: `names "web-3"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, out, errOut := testCLI(nil)
			c.hostsFile = writeFile(t, "hosts", tt.hosts)
			c.hostname = func() (string, error) { return tt.host, nil }
			checkRun(t, c, out, errOut, []string{"hostname"}, tt.wantCode, tt.wantOut, tt.wantErr)
		})
	}
	c, out, errOut := testCLI(nil)
	checkRun(t, c, out, errOut, []string{"hostname"}, 1, "web-0\n", "no-such-hosts-file")
}

func TestPodNameAndVersion(t *testing.T) {
	host := func() (string, error) { return "web-7d9", nil }
	noHost := func() (string, error) { return "", errors.New("no") }
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	if got := podName(env(map[string]string{envPodName: "p"}), host); got != "p" {
		t.Errorf("podName with $POD_NAME = %q, want p", got)
	}
	if got := podName(env(nil), host); got != "web-7d9" {
		t.Errorf("podName without $POD_NAME = %q, want the hostname", got)
	}
	if got := podName(env(nil), noHost); got != "unknown" {
		t.Errorf("podName without either = %q, want unknown", got)
	}
	if got := version(env(map[string]string{envVersion: "v2"})); got != "v2" {
		t.Errorf("version with $VERSION = %q, want v2", got)
	}
	if got := version(env(nil)); got != "v1" {
		t.Errorf("version without $VERSION = %q, want v1", got)
	}
}
