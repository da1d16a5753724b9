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

// The kubeadm-certs Secret carries, encrypted, the files every control-plane
// node must hold the same copy of. Its layout is kubeadm's, so that kubeadm
// and kubeadmin nodes can join each other's clusters:
//
//   - one data key per file, the file's path below the certificate
//     directory with "/" turned into "-" (etcd/ca.key is "etcd-ca.key");
//   - with external etcd, the client files under fixed keys instead of
//     the etcd CA;
//   - each value sealed with AES-GCM under the certificate key, and empty
//     for a file the uploading node does not have;
//   - owned by a bootstrap token that cannot authenticate and expires in
//     two hours, so the garbage collector deletes the Secret with it.

// Data keys of the external etcd client files.
const (
	externalEtcdCAKey   = "external-etcd-ca.crt"
	externalEtcdCertKey = "external-etcd.crt"
	externalEtcdKeyKey  = "external-etcd.key"
)

// Modes of the downloaded files: private keys are for root only.
const (
	privateKeyFileMode os.FileMode = 0o600
	publicFileMode     os.FileMode = 0o644
	sharedCertsDirMode os.FileMode = 0o755
)

// CertsToTransfer maps each data key of the kubeadm-certs Secret to the file
// it carries on this node. cluster may be nil (local etcd).
func CertsToTransfer(cluster *config.ClusterConfiguration, certDir string) map[string]string {
	files := map[string]string{}
	underCertDir := func(names ...string) {
		for _, rel := range names {
			files[strings.ReplaceAll(rel, "/", "-")] = filepath.Join(certDir, rel)
		}
	}
	pair := func(base string) []string { return []string{base + ".crt", base + ".key"} }

	underCertDir(pair(constants.CACertAndKeyBaseName)...)
	underCertDir(pair(constants.FrontProxyCACertAndKeyBaseName)...)
	underCertDir(constants.ServiceAccountPublicKeyName, constants.ServiceAccountPrivateKeyName)
	if cluster != nil && cluster.Etcd.External != nil {
		ext := cluster.Etcd.External
		files[externalEtcdCAKey], files[externalEtcdCertKey], files[externalEtcdKeyKey] = ext.CAFile, ext.CertFile, ext.KeyFile
	} else {
		underCertDir(pair(constants.EtcdCACertAndKeyBaseName)...)
	}
	return files
}

// certificateKey is a decoded --certificate-key: the AES key that seals
// the Secret's values.
type certificateKey []byte

// parseCertificateKey decodes the hex certificate key. kubeadm makes 32-byte
// keys; AES also takes 16 and 24, and so does kubeadm when given one.
func parseCertificateKey(s string) (certificateKey, error) {
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("invalid certificate key: it must be hex encoded (64 characters, see `kubeadmin certs certificate-key`): %w", err)
	}
	switch len(b) {
	case 16, 24, constants.CertificateKeySize:
		return b, nil
	}
	return nil, fmt.Errorf("invalid certificate key: it is %d bytes long, want %d (64 hex characters, see `kubeadmin certs certificate-key`)", len(b), constants.CertificateKeySize)
}

// seal reads every file and encrypts it; a file that does not exist (or
// has no configured path) gets an empty value.
func (k certificateKey) seal(files map[string]string) (map[string][]byte, error) {
	sealed := make(map[string][]byte, len(files))
	for name, path := range files {
		plain, err := readIfExists(path)
		if err != nil {
			return nil, err
		}
		if plain == nil {
			sealed[name] = nil
			continue
		}
		if sealed[name], err = certs.EncryptBytes(plain, k); err != nil {
			return nil, fmt.Errorf("failed to encrypt %q: %w", path, err)
		}
	}
	return sealed, nil
}

// open decrypts every non-empty value; one value that does not decrypt
// fails them all, before anything is written.
func (k certificateKey) open(sealed map[string][]byte) (map[string][]byte, error) {
	plain := make(map[string][]byte, len(sealed))
	for name, value := range sealed {
		if len(value) == 0 {
			plain[name] = nil
			continue
		}
		b, err := certs.DecryptBytes(value, k)
		if err != nil {
			return nil, fmt.Errorf("failed to decrypt %q: %w", name, err)
		}
		plain[name] = b
	}
	return plain, nil
}

// readIfExists returns the content of path, or nil when path is empty or
// names no file.
func readIfExists(path string) ([]byte, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("failed to read %q: %w", path, err)
	}
	return b, nil
}

// KubeadmCertsSecret builds Secret kube-system/kubeadm-certs from sealed
// data, owned by owner.
func KubeadmCertsSecret(sealed map[string][]byte, owner metav1.OwnerReference) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:            constants.KubeadmCertsSecret,
			Namespace:       metav1.NamespaceSystem,
			OwnerReferences: []metav1.OwnerReference{owner},
		},
		Data: sealed,
	}
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

// UploadCerts seals the shared files of certDir with the hex certificate
// key and stores them in Secret kube-system/kubeadm-certs, with the RBAC
// rules that let joining nodes read it. The files are read before anything
// is created in the cluster.
func UploadCerts(client kubernetes.Interface, cfg *config.InitConfig, certDir, key string, out io.Writer) error {
	fmt.Fprintf(out, "[upload-certs] Storing the certificates in Secret %q in the %q Namespace\n",
		constants.KubeadmCertsSecret, metav1.NamespaceSystem)
	k, err := parseCertificateKey(key)
	if err != nil {
		return err
	}
	sealed, err := k.seal(CertsToTransfer(&cfg.Cluster, certDir))
	if err != nil {
		return err
	}
	timeout := initTimeout(cfg)
	owner, err := newSecretOwner(client, timeout)
	if err != nil {
		return err
	}
	if err := CreateOrUpdateSecret(client, KubeadmCertsSecret(sealed, *owner), timeout); err != nil {
		return err
	}
	return createOrUpdateAll(client, timeout, KubeadmCertsRBAC()...)
}

// newSecretOwner creates the short-lived token that owns kubeadm-certs (no
// usages, no groups: it cannot authenticate) and returns a controller
// reference to its Secret as the API server stored it.
func newSecretOwner(client kubernetes.Interface, timeout time.Duration) (*metav1.OwnerReference, error) {
	raw, err := bootstraputil.GenerateBootstrapToken()
	if err != nil {
		return nil, fmt.Errorf("error generating token to upload certs: %w", err)
	}
	id, secret, _ := strings.Cut(raw, ".")
	token := config.BootstrapToken{
		Token:       &config.BootstrapTokenString{ID: id, Secret: secret},
		Description: constants.CertsProxyTokenDescription,
		TTL:         &metav1.Duration{Duration: constants.DefaultCertTokenDuration},
	}
	if err := CreateOrUpdateTokens(client, []config.BootstrapToken{token}, true, timeout); err != nil {
		return nil, fmt.Errorf("error creating token: %w", err)
	}
	name := bootstraputil.BootstrapTokenSecretName(id)
	stored, err := client.CoreV1().Secrets(metav1.NamespaceSystem).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("failed to get the token Secret %q that owns %q: %w", name, constants.KubeadmCertsSecret, err)
	}
	return metav1.NewControllerRef(stored, schema.GroupVersionKind{Version: "v1", Kind: "Secret"}), nil
}

// DownloadCerts fetches Secret kube-system/kubeadm-certs, opens it with the
// hex certificate key and writes each file it carries to its place on this
// node (see CertsToTransfer). Empty values are skipped; a value the Secret
// lacks is an error. cluster may be nil (local etcd).
func DownloadCerts(client kubernetes.Interface, cluster *config.ClusterConfiguration, certDir, key string, out io.Writer) error {
	fmt.Fprintf(out, "[download-certs] Downloading the certificates in Secret %q in the %q Namespace\n",
		constants.KubeadmCertsSecret, metav1.NamespaceSystem)
	k, err := parseCertificateKey(key)
	if err != nil {
		return err
	}
	secret, err := client.CoreV1().Secrets(metav1.NamespaceSystem).Get(context.Background(), constants.KubeadmCertsSecret, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return fmt.Errorf("error downloading the secret: Secret %q was not found in the %q Namespace. This Secret might have expired. Please, run `kubeadmin init phase upload-certs --upload-certs` on a control plane to generate a new one",
			constants.KubeadmCertsSecret, metav1.NamespaceSystem)
	case err != nil:
		return fmt.Errorf("error downloading the secret: %w", err)
	}
	plain, err := k.open(secret.Data)
	if err != nil {
		return fmt.Errorf("error decoding secret data with provided key: %w", err)
	}
	fmt.Fprintf(out, "[download-certs] Saving the certificates to the folder: %q\n", certDir)
	for name, path := range CertsToTransfer(cluster, certDir) {
		content, ok := plain[name]
		if !ok {
			return fmt.Errorf("the Secret does not include the required certificate or key - name: %s, path: %s", name, path)
		}
		if len(content) == 0 {
			continue
		}
		mode, err := sharedFileMode(content)
		if err != nil {
			return fmt.Errorf("failed to write %q: %w", path, err)
		}
		if err := fsutil.WriteFileAtomic(path, content, mode, sharedCertsDirMode); err != nil {
			return err
		}
	}
	return nil
}

// sharedFileMode is the mode a downloaded file gets from what it holds: a
// private key is for root only; certificates and public keys are readable.
func sharedFileMode(pem []byte) (os.FileMode, error) {
	if _, err := keyutil.ParsePrivateKeyPEM(pem); err == nil {
		return privateKeyFileMode, nil
	}
	if _, err := keyutil.ParsePublicKeysPEM(pem); err == nil {
		return publicFileMode, nil
	}
	return 0, errors.New("unknown data found in Secret entry")
}
