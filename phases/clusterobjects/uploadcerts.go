package clusterobjects

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/keyutil"
	bootstraputil "k8s.io/cluster-bootstrap/token/util"

	"github.com/kubeadmin/kubeadmin/certs"
	"github.com/kubeadmin/kubeadmin/internal/config"
	"github.com/kubeadmin/kubeadmin/internal/constants"
	"github.com/kubeadmin/kubeadmin/internal/fsutil"
)

// Secret keys of the external etcd client files in kubeadm-certs.
const (
	externalEtcdCAKey   = "external-etcd-ca.crt"
	externalEtcdCertKey = "external-etcd.crt"
	externalEtcdKeyKey  = "external-etcd.key"
)

// CertsToTransfer maps each kubeadm-certs Secret key to the file it holds:
// the cluster CA, front-proxy CA and service-account key pairs under
// certDir, plus the etcd CA pair (local etcd) or the external etcd client
// files at their configured paths. cluster may be nil (local etcd).
func CertsToTransfer(cluster *config.ClusterConfiguration, certDir string) map[string]string {
	files := map[string]string{}
	add := func(rel string) {
		files[strings.ReplaceAll(rel, "/", "-")] = filepath.Join(certDir, rel)
	}
	for _, base := range []string{constants.CACertAndKeyBaseName, constants.FrontProxyCACertAndKeyBaseName} {
		add(base + ".crt")
		add(base + ".key")
	}
	add(constants.ServiceAccountPublicKeyName)
	add(constants.ServiceAccountPrivateKeyName)
	if cluster != nil && cluster.Etcd.External != nil {
		ext := cluster.Etcd.External
		files[externalEtcdCAKey] = ext.CAFile
		files[externalEtcdCertKey] = ext.CertFile
		files[externalEtcdKeyKey] = ext.KeyFile
		return files
	}
	add(constants.EtcdCACertAndKeyBaseName + ".crt")
	add(constants.EtcdCACertAndKeyBaseName + ".key")
	return files
}

// decodeCertificateKey turns the hex certificate key into AES key bytes.
func decodeCertificateKey(key string) ([]byte, error) {
	b, err := hex.DecodeString(key)
	if err != nil {
		return nil, fmt.Errorf("invalid certificate key: it must be hex encoded (64 characters, see `kubeadmin certs certificate-key`): %w", err)
	}
	// kubeadm generates 32-byte keys but, through AES, accepts 16 and 24.
	if n := len(b); n != 16 && n != 24 && n != constants.CertificateKeySize {
		return nil, fmt.Errorf("invalid certificate key: it is %d bytes long, want %d (64 hex characters, see `kubeadmin certs certificate-key`)", n, constants.CertificateKeySize)
	}
	return b, nil
}

// KubeadmCertsData reads and encrypts the files of CertsToTransfer. A
// missing file gives an empty value, as in kubeadm.
func KubeadmCertsData(cluster *config.ClusterConfiguration, certDir string, key []byte) (map[string][]byte, error) {
	data := map[string][]byte{}
	for name, path := range CertsToTransfer(cluster, certDir) {
		if path == "" {
			data[name] = nil
			continue
		}
		plain, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			data[name] = nil
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("failed to read %q: %w", path, err)
		}
		enc, err := certs.EncryptBytes(plain, key)
		if err != nil {
			return nil, fmt.Errorf("failed to encrypt %q: %w", path, err)
		}
		data[name] = enc
	}
	return data, nil
}

// KubeadmCertsRBAC returns Role and RoleBinding kube-system/kubeadm:kubeadm-certs
// (get on the kubeadm-certs Secret for bootstrap tokens).
func KubeadmCertsRBAC() []runtime.Object {
	name := constants.KubeadmCertsRoleName
	return []runtime.Object{
		getResourceRole(metav1.NamespaceSystem, name, "secrets", constants.KubeadmCertsSecret),
		roleBinding(metav1.NamespaceSystem, name, groupSubject(constants.NodeBootstrapTokenAuthGroup)),
	}
}

// UploadCerts stores the shared control-plane certificates and keys of
// certDir in Secret kube-system/kubeadm-certs, each encrypted with the hex
// certificate key (AES-256-GCM). The Secret is owned by a new bootstrap
// token Secret that expires in two hours, so that the garbage collector
// removes it when the token cleaner removes the token. It also creates the
// RBAC rules that let joining nodes read it.
func UploadCerts(client kubernetes.Interface, cfg *config.InitConfig, certDir, key string, out io.Writer) error {
	fmt.Fprintf(out, "[upload-certs] Storing the certificates in Secret %q in the %q Namespace\n",
		constants.KubeadmCertsSecret, metav1.NamespaceSystem)
	aesKey, err := decodeCertificateKey(key)
	if err != nil {
		return err
	}
	timeout := initTimeout(cfg)
	tokenID, err := createCertsProxyToken(client, timeout)
	if err != nil {
		return err
	}
	data, err := KubeadmCertsData(&cfg.Cluster, certDir, aesKey)
	if err != nil {
		return err
	}
	owner, err := tokenOwnerRef(client, tokenID)
	if err != nil {
		return err
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:            constants.KubeadmCertsSecret,
			Namespace:       metav1.NamespaceSystem,
			OwnerReferences: []metav1.OwnerReference{*owner},
		},
		Data: data,
	}
	if err := CreateOrUpdateSecret(client, secret, timeout); err != nil {
		return err
	}
	return createOrUpdateAll(client, timeout, KubeadmCertsRBAC()...)
}

// createCertsProxyToken creates the short-lived token that owns kubeadm-certs
// and returns its ID. It has no usages or groups: it cannot authenticate.
func createCertsProxyToken(client kubernetes.Interface, timeout time.Duration) (string, error) {
	tokenStr, err := bootstraputil.GenerateBootstrapToken()
	if err != nil {
		return "", fmt.Errorf("error generating token to upload certs: %w", err)
	}
	id, secret, _ := strings.Cut(tokenStr, ".")
	tokens := []config.BootstrapToken{{
		Token:       &config.BootstrapTokenString{ID: id, Secret: secret},
		Description: constants.CertsProxyTokenDescription,
		TTL:         &metav1.Duration{Duration: constants.DefaultCertTokenDuration},
	}}
	if err := CreateOrUpdateTokens(client, tokens, true, timeout); err != nil {
		return "", fmt.Errorf("error creating token: %w", err)
	}
	return id, nil
}

// tokenOwnerRef is a controller reference to the Secret of token id.
func tokenOwnerRef(client kubernetes.Interface, id string) (*metav1.OwnerReference, error) {
	name := bootstraputil.BootstrapTokenSecretName(id)
	s, err := client.CoreV1().Secrets(metav1.NamespaceSystem).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("failed to get the token Secret %q that owns %q: %w", name, constants.KubeadmCertsSecret, err)
	}
	return metav1.NewControllerRef(s, schema.GroupVersionKind{Version: "v1", Kind: "Secret"}), nil
}

// DownloadCerts reads Secret kube-system/kubeadm-certs, decrypts it with the
// hex certificate key and writes the files of CertsToTransfer: private keys
// with mode 0600, certificates and public keys with 0644. Empty entries are
// skipped. cluster may be nil (local etcd).
func DownloadCerts(client kubernetes.Interface, cluster *config.ClusterConfiguration, certDir, key string, out io.Writer) error {
	fmt.Fprintf(out, "[download-certs] Downloading the certificates in Secret %q in the %q Namespace\n",
		constants.KubeadmCertsSecret, metav1.NamespaceSystem)
	aesKey, err := decodeCertificateKey(key)
	if err != nil {
		return err
	}
	secret, err := client.CoreV1().Secrets(metav1.NamespaceSystem).Get(context.Background(), constants.KubeadmCertsSecret, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("error downloading the secret: Secret %q was not found in the %q Namespace. This Secret might have expired. Please, run `kubeadmin init phase upload-certs --upload-certs` on a control plane to generate a new one",
			constants.KubeadmCertsSecret, metav1.NamespaceSystem)
	}
	if err != nil {
		return fmt.Errorf("error downloading the secret: %w", err)
	}
	plain, err := decryptSecretData(secret.Data, aesKey)
	if err != nil {
		return fmt.Errorf("error decoding secret data with provided key: %w", err)
	}
	fmt.Fprintf(out, "[download-certs] Saving the certificates to the folder: %q\n", certDir)
	for name, path := range CertsToTransfer(cluster, certDir) {
		b, found := plain[name]
		if !found {
			return fmt.Errorf("the Secret does not include the required certificate or key - name: %s, path: %s", name, path)
		}
		if len(b) == 0 {
			continue
		}
		if err := writeCertOrKey(path, b); err != nil {
			return err
		}
	}
	return nil
}

// decryptSecretData decrypts every non-empty value; any failure fails all.
func decryptSecretData(data map[string][]byte, key []byte) (map[string][]byte, error) {
	out := map[string][]byte{}
	for name, enc := range data {
		if len(enc) == 0 {
			out[name] = nil
			continue
		}
		b, err := certs.DecryptBytes(enc, key)
		if err != nil {
			return nil, fmt.Errorf("failed to decrypt %q: %w", name, err)
		}
		out[name] = b
	}
	return out, nil
}

// writeCertOrKey writes a PEM private key with mode 0600, a certificate or
// public key with 0644.
func writeCertOrKey(path string, b []byte) error {
	mode := os.FileMode(0o644)
	if _, err := keyutil.ParsePrivateKeyPEM(b); err == nil {
		mode = 0o600
	} else if _, err := keyutil.ParsePublicKeysPEM(b); err != nil {
		return fmt.Errorf("failed to write %q: unknown data found in Secret entry", path)
	}
	return fsutil.WriteFileAtomic(path, b, mode, 0o755)
}
