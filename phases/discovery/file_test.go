package discovery

import (
	"bytes"
	"context"
	"crypto/x509"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubeadmin/kubeadmin/internal/config"
	"github.com/kubeadmin/kubeadmin/internal/constants"
)

// discoveryFile is a kubeconfig for server with cluster "mine" and user
// "me" (auth may be nil).
func discoveryFile(server string, ca []byte, auth *clientcmdapi.AuthInfo) *clientcmdapi.Config {
	kc := clientcmdapi.NewConfig()
	kc.Clusters["mine"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: ca}
	if auth == nil {
		auth = clientcmdapi.NewAuthInfo()
	}
	kc.AuthInfos["me"] = auth
	kc.Contexts["me@mine"] = &clientcmdapi.Context{Cluster: "mine", AuthInfo: "me"}
	kc.CurrentContext = "me@mine"
	return kc
}

func writeFile(t *testing.T, kc *clientcmdapi.Config) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "discovery.conf")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path
}

func fileDiscovery(src, token string) config.Discovery {
	return config.Discovery{File: &config.FileDiscovery{KubeConfigPath: src}, TLSBootstrapToken: token}
}

func TestFileFromPath(t *testing.T) {
	api := newFakeAPI(t)
	// cluster-info names another endpoint: only a warning.
	api.always(clusterInfo(t, clusterInfoKubeconfig(t, "https://cp.example:6443", api.caPEM()), testToken))
	path := writeFile(t, discoveryFile(api.srv.URL, api.caPEM(), nil))
	for _, src := range []string{path, "file://" + path} {
		var out bytes.Buffer
		kc, err := fast(&out).discover(context.Background(), fileDiscovery(src, tlsToken))
		if err != nil {
			t.Fatal(err)
		}
		checkBootstrap(t, kc, api.srv.URL, api.caPEM(), tlsToken)
		if !strings.Contains(out.String(), "WARNING") || !strings.Contains(out.String(), "https://cp.example:6443") {
			t.Fatalf("no warning about the differing endpoint: %q", out.String())
		}
	}
	if api.readCount() != 2 || api.auth != "" {
		t.Fatalf("cluster-info reads = %d (auth %q), want one anonymous read per discovery", api.readCount(), api.auth)
	}
}

func TestFileFromHTTPS(t *testing.T) {
	api := newFakeAPI(t)
	api.always(clusterInfo(t, clusterInfoKubeconfig(t, api.srv.URL, api.caPEM()), testToken))
	data, err := clientcmd.Write(*discoveryFile(api.srv.URL, api.caPEM(), nil))
	if err != nil {
		t.Fatal(err)
	}
	api.files["/discovery.conf"] = data
	trusted := x509.NewCertPool()
	trusted.AddCert(api.srv.Certificate())

	r := fast(nil)
	r.roots = trusted
	kc, err := r.discover(context.Background(), fileDiscovery(api.srv.URL+"/discovery.conf", tlsToken))
	if err != nil {
		t.Fatal(err)
	}
	checkBootstrap(t, kc, api.srv.URL, api.caPEM(), tlsToken)

	_, err = r.discover(context.Background(), fileDiscovery(api.srv.URL+"/missing.conf", tlsToken))
	mustFail(t, err, api.srv.URL+"/missing.conf", "404", "want 200 OK", "--discovery-file")

	// With the host's bundle the test server is not trusted.
	_, err = fast(nil).discover(context.Background(), fileDiscovery(api.srv.URL+"/discovery.conf", tlsToken))
	mustFail(t, err, api.srv.URL+"/discovery.conf", "certificate")
}

func TestFileWithCredentials(t *testing.T) {
	api := newFakeAPI(t)
	api.answer = func(int) (int, *corev1.ConfigMap) { return http.StatusForbidden, nil }
	// CA and token are files next to the kubeconfig, named relatively.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ca.crt"), api.caPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	const cred = "file-credential"
	if err := os.WriteFile(filepath.Join(dir, "token"), []byte(cred+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	kc := discoveryFile(api.srv.URL, nil, &clientcmdapi.AuthInfo{TokenFile: "token"})
	kc.Clusters["mine"].CertificateAuthority = "ca.crt"
	path := filepath.Join(dir, "discovery.conf")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}

	var out bytes.Buffer
	got, err := fast(&out).discover(context.Background(), fileDiscovery(path, ""))
	if err != nil {
		t.Fatal(err)
	}
	c := got.Clusters[constants.DefaultClusterName]
	if c == nil || c.Server != api.srv.URL || !bytes.Equal(c.CertificateAuthorityData, api.caPEM()) || c.CertificateAuthority != "" {
		t.Fatalf("clusters = %+v, want %q with the CA embedded", got.Clusters, constants.DefaultClusterName)
	}
	if a := got.AuthInfos["me"]; len(got.AuthInfos) != 1 || a == nil || a.Token != cred || a.TokenFile != "" {
		t.Fatalf("users = %+v, want the file's user with the token embedded", got.AuthInfos)
	}
	if got.CurrentContext != "me@kubernetes" || got.Contexts["me@kubernetes"] == nil {
		t.Fatalf("context = %q %+v", got.CurrentContext, got.Contexts)
	}
	if api.auth != "Bearer "+cred {
		t.Fatalf("cluster-info read with Authorization %q, want the file's token", api.auth)
	}
	if !strings.Contains(out.String(), "proceeding") {
		t.Fatalf("no warning about the forbidden cluster-info: %q", out.String())
	}

	// A TLS bootstrap token given as well wins, as in kubeadm.
	got, err = fast(nil).discover(context.Background(), fileDiscovery(path, tlsToken))
	if err != nil {
		t.Fatal(err)
	}
	checkBootstrap(t, got, api.srv.URL, api.caPEM(), tlsToken)
}

func TestFileCredentialsRejected(t *testing.T) {
	api := newFakeAPI(t)
	api.answer = func(int) (int, *corev1.ConfigMap) { return http.StatusUnauthorized, nil }
	path := writeFile(t, discoveryFile(api.srv.URL, api.caPEM(), &clientcmdapi.AuthInfo{Token: "stale"}))
	r := fast(nil)
	_, err := r.discover(context.Background(), fileDiscovery(path, ""))
	mustFail(t, err, "rejected the credentials", "--tls-bootstrap-token")
	if api.readCount() != 1 {
		t.Fatalf("cluster-info read %d times, want 1: rejected credentials are final", api.readCount())
	}
}

func TestFileWithoutCredentialsOrToken(t *testing.T) {
	api := newFakeAPI(t)
	path := writeFile(t, discoveryFile(api.srv.URL, api.caPEM(), nil))
	_, err := fast(nil).discover(context.Background(), fileDiscovery(path, ""))
	mustFail(t, err, path, "no credentials", "--tls-bootstrap-token", "discovery.tlsBootstrapToken", "kubeadmin token create")
	if api.readCount() != 0 {
		t.Fatalf("cluster-info read %d times before refusing", api.readCount())
	}
}

func TestFileWithoutCA(t *testing.T) {
	// No CA in the file: the host's bundle must trust the server, which it
	// does not for the test server.
	api := newFakeAPI(t)
	api.always(clusterInfo(t, clusterInfoKubeconfig(t, api.srv.URL, api.caPEM())))
	path := writeFile(t, discoveryFile(api.srv.URL, nil, nil))
	_, err := fast(nil).discover(context.Background(), fileDiscovery(path, tlsToken))
	mustFail(t, err, "host's CA bundle", api.srv.URL)
}

func TestFileBadInput(t *testing.T) {
	noCluster := clientcmdapi.NewConfig()
	noServer := discoveryFile("", nil, nil)
	for _, tc := range []struct {
		name, src string
		want      []string
	}{
		{"missing", "/nonexistent/discovery.conf", []string{"/nonexistent/discovery.conf", "does not exist", "--discovery-file"}},
		{"http", "http://example.com/discovery.conf", []string{`unsupported scheme "http"`, "https"}},
		{"empty", "", []string{"--discovery-file", "discovery.file.kubeConfigPath"}},
		{"no cluster", writeFile(t, noCluster), []string{"no cluster"}},
		{"no server", writeFile(t, noServer), []string{"no server"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := fast(nil).discover(context.Background(), fileDiscovery(tc.src, tlsToken))
			mustFail(t, err, tc.want...)
		})
	}
}
