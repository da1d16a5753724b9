//go:build e2e

// Package e2e holds kubeadmin's end-to-end tests: they run the built
// binaries against real containerd, the real control-plane images and, for
// compatibility, the real upstream kubeadm v1.37.2 built by hack/images.sh.
package e2e

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
)

// runIn runs a binary with env additions and returns its combined output.
func runIn(t *testing.T, env []string, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(bin), strings.Join(args, " "), err, out)
	}
	return string(out)
}

const compatConfig = `apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
localAPIEndpoint:
  advertiseAddress: 10.77.9.10
  bindPort: 6443
nodeRegistration:
  name: compat-node
  criSocket: unix:///var/run/containerd/containerd.sock
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: v1.37.2
controlPlaneEndpoint: cp.example.test
encryptionAlgorithm: %s
networking:
  podSubnet: 10.244.0.0/16
apiServer:
  certSANs: [10.77.9.99, api.example.test]
  extraArgs:
  - name: audit-log-maxage
    value: "7"
  extraVolumes:
  - name: audit
    hostPath: /var/log/audit
    mountPath: /var/log/audit
    pathType: DirectoryOrCreate
controllerManager:
  extraEnvs:
  - name: FOO
    value: bar
etcd:
  local:
    serverCertSANs: [etcd.example.test]
`

// generate runs the file-writing phases of a tool in dry-run mode into dir.
func generate(t *testing.T, bin, cfg, dir string) {
	t.Helper()
	env := []string{"KUBEADM_INIT_DRYRUN_DIR=" + dir}
	for _, phase := range [][]string{
		{"certs", "all"}, {"kubeconfig", "all"}, {"etcd", "local"}, {"control-plane", "all"},
	} {
		runIn(t, env, bin, append(append([]string{"init", "phase"}, phase...), "--config", cfg, "--dry-run")...)
	}
}

// TestFilesMatchUpstreamKubeadm writes the PKI, kubeconfigs and manifests
// with kubeadm v1.37.2 and with kubeadmin from the same config and compares
// them: the same files and modes, certificate subjects, SANs, usages,
// validity and key types, kubeconfig identities and servers, and
// byte-identical static-pod manifests.
func TestFilesMatchUpstreamKubeadm(t *testing.T) {
	kubeadm := upstreamBin(t, "kubeadm")
	ours := kubeadminBin(t)
	for _, alg := range []string{"RSA-2048", "ECDSA-P256"} {
		t.Run(alg, func(t *testing.T) {
			dir := t.TempDir()
			cfg := filepath.Join(dir, "kubeadm.yaml")
			if err := os.WriteFile(cfg, []byte(fmt.Sprintf(compatConfig, alg)), 0o600); err != nil {
				t.Fatal(err)
			}
			up, us := filepath.Join(dir, "upstream"), filepath.Join(dir, "ours")
			generate(t, kubeadm, cfg, up)
			generate(t, ours, cfg, us)
			compareTrees(t, up, us)
		})
	}
}

func compareTrees(t *testing.T, up, us string) {
	upFiles, usFiles := walk(t, up), walk(t, us)
	if !reflect.DeepEqual(keys(upFiles), keys(usFiles)) {
		t.Fatalf("different files:\nupstream %v\nours     %v", keys(upFiles), keys(usFiles))
	}
	for _, rel := range keys(upFiles) {
		if upFiles[rel] != usFiles[rel] {
			t.Errorf("%s: mode %o upstream, %o ours", rel, upFiles[rel], usFiles[rel])
		}
		a, _ := os.ReadFile(filepath.Join(up, rel))
		b, _ := os.ReadFile(filepath.Join(us, rel))
		switch {
		case strings.HasSuffix(rel, ".crt"):
			if x, y := describeCert(t, a), describeCert(t, b); x != y {
				t.Errorf("%s differs:\nupstream %s\nours     %s", rel, x, y)
			}
		case strings.HasSuffix(rel, ".key"):
			if x, y := keyType(t, a), keyType(t, b); x != y {
				t.Errorf("%s: key type %s upstream, %s ours", rel, x, y)
			}
		case strings.HasSuffix(rel, ".conf"):
			if x, y := describeKubeconfig(t, a), describeKubeconfig(t, b); x != y {
				t.Errorf("%s differs:\nupstream %s\nours     %s", rel, x, y)
			}
		case strings.HasSuffix(rel, ".yaml"):
			if !bytes.Equal(a, b) {
				t.Errorf("%s differs:\n--- upstream\n%s\n--- ours\n%s", rel, a, b)
			}
		}
	}
}

func walk(t *testing.T, root string) map[string]os.FileMode {
	files := map[string]os.FileMode{}
	_ = filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			rel, _ := filepath.Rel(root, p)
			files[rel] = info.Mode().Perm()
		}
		return nil
	})
	return files
}

func keys(m map[string]os.FileMode) []string {
	var k []string
	for s := range m {
		k = append(k, s)
	}
	sort.Strings(k)
	return k
}

// describeCert summarises everything of a certificate that must match.
func describeCert(t *testing.T, data []byte) string {
	t.Helper()
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatal("not a PEM certificate")
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	var ips []string
	for _, ip := range c.IPAddresses {
		ips = append(ips, ip.String())
	}
	return fmt.Sprintf("subject=%q issuer=%q dns=%v ips=%v ku=%d eku=%v ca=%v validity=%s sig=%s pub=%s",
		c.Subject.String(), c.Issuer.String(), c.DNSNames, ips, c.KeyUsage, c.ExtKeyUsage, c.IsCA,
		c.NotAfter.Sub(c.NotBefore).Round(60e9), c.SignatureAlgorithm, c.PublicKeyAlgorithm)
}

func keyType(t *testing.T, data []byte) string {
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatal("not a PEM key")
	}
	switch block.Type {
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("RSA-%d", k.N.BitLen())
	case "EC PRIVATE KEY":
		k, err := x509.ParseECPrivateKey(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		return "EC-" + k.Curve.Params().Name
	case "PUBLIC KEY":
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		switch p := k.(type) {
		case *rsa.PublicKey:
			return fmt.Sprintf("RSA-public-%d", p.N.BitLen())
		case *ecdsa.PublicKey:
			return "EC-public-" + p.Curve.Params().Name
		}
	}
	return block.Type
}

// describeKubeconfig summarises the identities and servers of a kubeconfig.
func describeKubeconfig(t *testing.T, data []byte) string {
	t.Helper()
	kc, err := clientcmd.Load(data)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "current=%s", kc.CurrentContext)
	for _, name := range sortedKeys(kc.Clusters) {
		fmt.Fprintf(&b, " cluster[%s]=%s", name, kc.Clusters[name].Server)
	}
	for _, name := range sortedKeys(kc.Contexts) {
		c := kc.Contexts[name]
		fmt.Fprintf(&b, " context[%s]=%s/%s", name, c.Cluster, c.AuthInfo)
	}
	for _, name := range sortedKeys(kc.AuthInfos) {
		u := kc.AuthInfos[name]
		fmt.Fprintf(&b, " user[%s]", name)
		if len(u.ClientCertificateData) > 0 {
			fmt.Fprintf(&b, "=%s", describeCert(t, u.ClientCertificateData))
		}
	}
	return b.String()
}

func sortedKeys[V any](m map[string]V) []string {
	var k []string
	for s := range m {
		k = append(k, s)
	}
	sort.Strings(k)
	return k
}
