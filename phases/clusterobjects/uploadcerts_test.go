package clusterobjects

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/util/keyutil"

	"github.com/kubeadmin/kubeadmin/certs"
	"github.com/kubeadmin/kubeadmin/internal/config"
)

// writePKI writes the shared certificates and keys into a new directory
// and returns it with the file contents by relative path.
func writePKI(t *testing.T) (string, map[string][]byte) {
	t.Helper()
	dir := t.TempDir()
	admin := loadKubeconfig(t, "testdata/admin.conf")
	var caPEM []byte
	for _, c := range admin.Clusters {
		caPEM = c.CertificateAuthorityData
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := keyutil.MarshalPrivateKeyToPEM(key)
	if err != nil {
		t.Fatal(err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	files := map[string][]byte{
		"ca.crt": caPEM, "ca.key": keyPEM,
		"front-proxy-ca.crt": caPEM, "front-proxy-ca.key": keyPEM,
		"sa.pub": pubPEM, "sa.key": keyPEM,
		"etcd/ca.crt": caPEM, "etcd/ca.key": keyPEM,
	}
	for rel, b := range files {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir, files
}

func TestUploadAndDownloadCerts(t *testing.T) {
	src, files := writePKI(t)
	cfg := testConfig(t, "default")
	client := fake.NewSimpleClientset()
	var out bytes.Buffer
	if err := UploadCerts(client, cfg, src, testCertKey, &out); err != nil {
		t.Fatal(err)
	}
	if want := "[upload-certs] Storing the certificates in Secret \"kubeadm-certs\" in the \"kube-system\" Namespace\n"; out.String() != want {
		t.Errorf("output %q, want %q", out.String(), want)
	}
	ctx := context.Background()
	secret, err := client.CoreV1().Secrets("kube-system").Get(ctx, "kubeadm-certs", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k, v := range secret.Data {
		keys = append(keys, k)
		if bytes.Contains(v, []byte("-----BEGIN")) {
			t.Errorf("%s is stored in clear", k)
		}
	}
	sort.Strings(keys)
	wantKeys := "ca.crt ca.key etcd-ca.crt etcd-ca.key front-proxy-ca.crt front-proxy-ca.key sa.key sa.pub"
	if strings.Join(keys, " ") != wantKeys {
		t.Errorf("keys %v, want %s", keys, wantKeys)
	}
	checkProxyToken(t, client, secret)

	role, err := client.RbacV1().Roles("kube-system").Get(ctx, "kubeadm:kubeadm-certs", metav1.GetOptions{})
	if err != nil || role.Rules[0].ResourceNames[0] != "kubeadm-certs" {
		t.Errorf("role: %v %v", role, err)
	}

	dst := t.TempDir()
	out.Reset()
	if err := DownloadCerts(client, &cfg.Cluster, dst, testCertKey, &out); err != nil {
		t.Fatal(err)
	}
	for rel, want := range files {
		p := filepath.Join(dst, rel)
		got, err := os.ReadFile(p)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: content differs (err %v)", rel, err)
			continue
		}
		st, _ := os.Stat(p)
		wantMode := os.FileMode(0o644)
		if strings.HasSuffix(rel, ".key") {
			wantMode = 0o600
		}
		if st.Mode().Perm() != wantMode {
			t.Errorf("%s: mode %v, want %v", rel, st.Mode().Perm(), wantMode)
		}
	}
}

// checkProxyToken checks kubeadm-certs is owned by a 2h token that cannot
// authenticate.
func checkProxyToken(t *testing.T, client *fake.Clientset, secret *corev1.Secret) {
	t.Helper()
	if len(secret.OwnerReferences) != 1 {
		t.Fatalf("ownerReferences %v", secret.OwnerReferences)
	}
	ref := secret.OwnerReferences[0]
	if ref.APIVersion != "v1" || ref.Kind != "Secret" || !strings.HasPrefix(ref.Name, "bootstrap-token-") ||
		ref.Controller == nil || !*ref.Controller || ref.BlockOwnerDeletion == nil || !*ref.BlockOwnerDeletion {
		t.Errorf("ownerReference %+v", ref)
	}
	tok, err := client.CoreV1().Secrets("kube-system").Get(context.Background(), ref.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range tok.Data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if strings.Join(keys, ",") != "description,expiration,token-id,token-secret" {
		t.Errorf("token keys %v", keys)
	}
	if string(tok.Data["description"]) != "Proxy for managing TTL for the kubeadm-certs secret" {
		t.Errorf("description %q", tok.Data["description"])
	}
	exp, err := time.Parse(time.RFC3339, string(tok.Data["expiration"]))
	if err != nil || time.Until(exp) > 2*time.Hour || time.Until(exp) < 2*time.Hour-time.Minute {
		t.Errorf("expiration %s is not in two hours (%v)", tok.Data["expiration"], err)
	}
}

func TestDownloadCertsErrors(t *testing.T) {
	src, _ := writePKI(t)
	cfg := testConfig(t, "default")
	uploaded := fake.NewSimpleClientset()
	if err := UploadCerts(uploaded, cfg, src, testCertKey, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	otherKey, _ := certs.CreateCertificateKey()
	tests := []struct {
		name   string
		client *fake.Clientset
		key    string
		want   string
	}{
		{"wrong key", uploaded, otherKey, "cipher: message authentication failed"},
		{"not hex", uploaded, "zz", "invalid certificate key: it must be hex encoded"},
		{"short key", uploaded, "abcd", "invalid certificate key: it is 2 bytes long"},
		{"no secret", fake.NewSimpleClientset(), testCertKey, "Secret \"kubeadm-certs\" was not found in the \"kube-system\" Namespace. This Secret might have expired"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := t.TempDir()
			err := DownloadCerts(tt.client, &cfg.Cluster, dst, tt.key, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want error containing %q", err, tt.want)
			}
			if entries, _ := os.ReadDir(dst); len(entries) != 0 {
				t.Errorf("wrote %d files despite the error", len(entries))
			}
		})
	}
}

func TestCertsToTransferExternalEtcd(t *testing.T) {
	cluster := &config.ClusterConfiguration{Etcd: config.Etcd{External: &config.ExternalEtcd{
		Endpoints: []string{"https://e:2379"}, CAFile: "/x/ca.pem", CertFile: "/x/c.pem", KeyFile: "/x/k.pem"}}}
	got := CertsToTransfer(cluster, "/pki")
	want := map[string]string{
		"ca.crt": "/pki/ca.crt", "ca.key": "/pki/ca.key", "front-proxy-ca.crt": "/pki/front-proxy-ca.crt",
		"front-proxy-ca.key": "/pki/front-proxy-ca.key", "sa.pub": "/pki/sa.pub", "sa.key": "/pki/sa.key",
		"external-etcd-ca.crt": "/x/ca.pem", "external-etcd.crt": "/x/c.pem", "external-etcd.key": "/x/k.pem",
	}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: got %q, want %q", k, got[k], v)
		}
	}
}

func TestUploadCertsMissingFilesAreEmpty(t *testing.T) {
	src := t.TempDir() // no files at all
	client := fake.NewSimpleClientset()
	if err := UploadCerts(client, testConfig(t, "default"), src, testCertKey, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	s, err := client.CoreV1().Secrets("kube-system").Get(context.Background(), "kubeadm-certs", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range s.Data {
		if len(v) != 0 {
			t.Errorf("%s: %d bytes, want empty", k, len(v))
		}
	}
	// Downloading skips the empty entries.
	dst := t.TempDir()
	if err := DownloadCerts(client, nil, dst, testCertKey, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(dst); len(entries) != 0 {
		t.Errorf("wrote %d files for empty entries", len(entries))
	}
}

func TestUploadCertsReadsTheFilesFirst(t *testing.T) {
	src := t.TempDir()
	if err := os.Mkdir(filepath.Join(src, "ca.key"), 0o700); err != nil { // unreadable as a file
		t.Fatal(err)
	}
	client := fake.NewSimpleClientset()
	err := UploadCerts(client, testConfig(t, "default"), src, testCertKey, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "ca.key") {
		t.Fatalf("UploadCerts() = %v, want an error naming ca.key", err)
	}
	secrets, _ := client.CoreV1().Secrets("kube-system").List(context.Background(), metav1.ListOptions{})
	if len(secrets.Items) != 0 {
		t.Errorf("created %d Secrets before reading the files", len(secrets.Items))
	}
}
