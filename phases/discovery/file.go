package discovery

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	bootstrapapi "k8s.io/cluster-bootstrap/token/api"

	"github.com/kubeadmin/kubeadmin/internal/config"
	"github.com/kubeadmin/kubeadmin/internal/constants"
)

// fileWhere names where a discovery file comes from, for errors.
const fileWhere = "--discovery-file (discovery.file.kubeConfigPath)"

// file runs file discovery from d.File.KubeConfigPath.
func (r *discoverer) file(ctx context.Context, d config.Discovery) (*clientcmdapi.Config, error) {
	src := d.File.KubeConfigPath
	kc, err := r.loadFile(ctx, src)
	if err != nil {
		return nil, err
	}
	name, cluster, err := clusterOf(kc)
	if err != nil {
		return nil, fmt.Errorf("the discovery file %s given with %s is not usable: %w", src, fileWhere, err)
	}
	if err := clientcmd.Validate(*kc); err != nil {
		return nil, fmt.Errorf("the discovery file %s given with %s is invalid: %w", src, fileWhere, err)
	}
	if cluster.Server == "" {
		return nil, fmt.Errorf("the discovery file %s given with %s names no server for cluster %q", src, fileWhere, name)
	}
	if err := embedCA(cluster); err != nil {
		return nil, fmt.Errorf("the discovery file %s given with %s: %w", src, fileWhere, err)
	}
	user, auth := authOf(kc)
	hasCreds := hasCredentials(auth)
	if hasCreds {
		if err := embedCredentials(auth); err != nil {
			return nil, fmt.Errorf("the discovery file %s given with %s: %w", src, fileWhere, err)
		}
	}
	useToken := d.TLSBootstrapToken != ""
	switch {
	case useToken:
		if err := checkTLSBootstrapToken(d.TLSBootstrapToken); err != nil {
			return nil, err
		}
	case !hasCreds:
		return nil, fmt.Errorf("the discovery file %s given with %s holds no credentials for the TLS bootstrap; pass a bootstrap token with --tls-bootstrap-token or --token (discovery.tlsBootstrapToken), made by `kubeadmin token create` on the control-plane node, or use a file with embedded credentials", src, fileWhere)
	}

	if err := r.refresh(ctx, cluster, auth, hasCreds && !useToken); err != nil {
		return nil, err
	}
	if _, err := parseCAs(cluster.CertificateAuthorityData); err != nil {
		return nil, fmt.Errorf("the discovery file %s given with %s gives no CA for cluster %q and cluster-info did not provide one: %w", src, fileWhere, name, err)
	}
	if useToken {
		return bootstrapConfig(cluster.Server, cluster.CertificateAuthorityData, d.TLSBootstrapToken), nil
	}
	if user == "" {
		user = constants.BootstrapTokenUser
	}
	return withAuth(cluster.Server, cluster.CertificateAuthorityData, user, auth), nil
}

// loadFile reads a discovery kubeconfig from a path, a file:// URL or an
// https URL.
func (r *discoverer) loadFile(ctx context.Context, src string) (*clientcmdapi.Config, error) {
	if src == "" {
		return nil, fmt.Errorf("file discovery needs a kubeconfig: give a path or https URL with %s", fileWhere)
	}
	u, err := url.Parse(src)
	if err == nil && u.Scheme == "https" {
		data, err := r.fetch(ctx, src)
		if err != nil {
			return nil, err
		}
		kc, err := clientcmd.Load(data)
		if err != nil {
			return nil, fmt.Errorf("the discovery file at %s given with %s is not a kubeconfig: %w", src, fileWhere, err)
		}
		return kc, nil
	}
	path := src
	if err == nil && u.Scheme == "file" {
		path = u.Path
	} else if err == nil && u.Scheme != "" {
		return nil, fmt.Errorf("the discovery file %q given with %s has the unsupported scheme %q; give a local path or an https URL", src, fileWhere, u.Scheme)
	}
	kc, err := clientcmd.LoadFromFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("the discovery file %s given with %s does not exist", path, fileWhere)
		}
		return nil, fmt.Errorf("failed to load the discovery file %s given with %s: %w", path, fileWhere, err)
	}
	// Relative file references are relative to the kubeconfig, as for kubectl.
	if err := clientcmd.ResolveLocalPaths(kc); err != nil {
		return nil, fmt.Errorf("failed to resolve the file references of the discovery file %s: %w", path, err)
	}
	return kc, nil
}

// fetch downloads a discovery kubeconfig over https, verified with the
// host's CA bundle (or r.roots), and requires 200 OK.
func (r *discoverer) fetch(ctx context.Context, src string) ([]byte, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: r.roots, MinVersion: tls.VersionTLS12}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: r.requestTimeout}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
	if err != nil {
		return nil, fmt.Errorf("invalid discovery file URL %q given with %s: %w", src, fileWhere, err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("failed to fetch the discovery file from %s given with %s: %w", src, fileWhere, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("failed to fetch the discovery file from %s given with %s: the server answered %s, want 200 OK", src, fileWhere, resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, constants.DiscoveryFileMaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("failed to read the discovery file from %s: %w", src, err)
	}
	if len(data) > constants.DiscoveryFileMaxBytes {
		return nil, fmt.Errorf("the discovery file at %s is larger than %d bytes; a kubeconfig is much smaller", src, constants.DiscoveryFileMaxBytes)
	}
	return data, nil
}

// refresh reads cluster-info with the file's own settings, which proves
// the file's CA (or the host's bundle) trusts the server, and takes the CA
// from it when the file has none. authUsed says the file's credentials will
// be the bootstrap credentials, so their rejection is an error.
func (r *discoverer) refresh(ctx context.Context, cluster *clientcmdapi.Cluster, auth *clientcmdapi.AuthInfo, authUsed bool) error {
	c, err := r.client(withAuth(cluster.Server, cluster.CertificateAuthorityData, constants.TokenBootstrapDiscoveryUser, auth))
	if err != nil {
		return err
	}
	server := cluster.Server
	var cm *corev1.ConfigMap
	err = r.pollClusterInfo(ctx, c, func(got *corev1.ConfigMap, err error) step {
		switch {
		case err == nil:
			cm = got
			return step{done: true}
		case apierrors.IsUnauthorized(err) && authUsed:
			return step{fatal: fmt.Errorf("the API server at %s rejected the credentials of the discovery file given with %s: %w; make a new discovery file, or pass --tls-bootstrap-token with a token from `kubeadmin token create` on the control-plane node", server, fileWhere, err)}
		case apierrors.IsForbidden(err), apierrors.IsNotFound(err), apierrors.IsUnauthorized(err):
			// The server answered over verified TLS; it just does not share cluster-info.
			fmt.Fprintf(r.out, "[discovery] WARNING: could not read the %s ConfigMap from %s (%v), but the TLS certificate is valid, so proceeding\n", bootstrapapi.ConfigMapClusterInfo, server, err)
			return step{done: true}
		case isTLSVerifyError(err):
			hint := "the discovery file's CA"
			if len(cluster.CertificateAuthorityData) == 0 {
				hint = "the host's CA bundle (the discovery file has no CA)"
			}
			return step{fatal: fmt.Errorf("the API server at %s presents a certificate that %s does not trust for that address: %w; make the discovery file again from the control plane's admin.conf or cluster-info", server, hint, err)}
		default:
			return step{onTimeout: r.unreachable(server, err)}
		}
	})
	if err != nil || cm == nil {
		return err
	}
	content := cm.Data[bootstrapapi.KubeConfigKey]
	if content == "" {
		return nil
	}
	fresh, err := clientcmd.Load([]byte(content))
	if err != nil {
		fmt.Fprintf(r.out, "[discovery] WARNING: the %s ConfigMap at %s holds no valid kubeconfig (%v); using the discovery file as it is\n", bootstrapapi.ConfigMapClusterInfo, server, err)
		return nil
	}
	_, fc, err := clusterOf(fresh)
	if err != nil {
		return nil
	}
	if fc.Server != "" && strings.TrimSuffix(fc.Server, "/") != strings.TrimSuffix(server, "/") {
		fmt.Fprintf(r.out, "[discovery] WARNING: the API server endpoint %q in use differs from the endpoint %q in the %s ConfigMap\n", server, fc.Server, bootstrapapi.ConfigMapClusterInfo)
	}
	if len(cluster.CertificateAuthorityData) == 0 && len(fc.CertificateAuthorityData) > 0 {
		cluster.CertificateAuthorityData = bytes.Clone(fc.CertificateAuthorityData)
	}
	return nil
}

// authOf returns the current context's user and its entry (never nil).
func authOf(kc *clientcmdapi.Config) (string, *clientcmdapi.AuthInfo) {
	if ctx := kc.Contexts[kc.CurrentContext]; ctx != nil {
		if a := kc.AuthInfos[ctx.AuthInfo]; a != nil {
			return ctx.AuthInfo, a
		}
	}
	return "", clientcmdapi.NewAuthInfo()
}

// hasCredentials reports whether a user entry can authenticate: a token,
// basic auth, a client certificate with key, an exec plugin or an auth
// provider.
func hasCredentials(a *clientcmdapi.AuthInfo) bool {
	switch {
	case a.Token != "" || a.TokenFile != "":
	case a.Username != "" && a.Password != "":
	case (a.ClientCertificate != "" || len(a.ClientCertificateData) > 0) && (a.ClientKey != "" || len(a.ClientKeyData) > 0):
	case a.Exec != nil && a.Exec.Command != "":
	case a.AuthProvider != nil && a.AuthProvider.Name != "":
	default:
		return false
	}
	return true
}

// embedCA replaces a CA file reference by its content.
func embedCA(c *clientcmdapi.Cluster) error {
	if len(c.CertificateAuthorityData) > 0 || c.CertificateAuthority == "" {
		c.CertificateAuthority = ""
		return nil
	}
	data, err := os.ReadFile(c.CertificateAuthority)
	if err != nil {
		return fmt.Errorf("failed to read the CA file it names: %w", err)
	}
	c.CertificateAuthorityData, c.CertificateAuthority = data, ""
	return nil
}

// embedCredentials replaces file references of the client certificate, key
// and token by their content, so the bootstrap kubeconfig stands alone.
func embedCredentials(a *clientcmdapi.AuthInfo) error {
	read := func(path, what string) ([]byte, error) {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("failed to read the %s file it names: %w", what, err)
		}
		return data, nil
	}
	if len(a.ClientCertificateData) == 0 && a.ClientCertificate != "" {
		data, err := read(a.ClientCertificate, "client certificate")
		if err != nil {
			return err
		}
		a.ClientCertificateData = data
	}
	if len(a.ClientKeyData) == 0 && a.ClientKey != "" {
		data, err := read(a.ClientKey, "client key")
		if err != nil {
			return err
		}
		a.ClientKeyData = data
	}
	if a.Token == "" && a.TokenFile != "" {
		data, err := read(a.TokenFile, "token")
		if err != nil {
			return err
		}
		a.Token = strings.TrimSpace(string(data))
	}
	a.ClientCertificate, a.ClientKey, a.TokenFile = "", "", ""
	return nil
}
