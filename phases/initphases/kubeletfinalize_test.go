package initphases

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubeadmin/kubeadmin/internal/config"
)

// finalizeData is the kubelet-finalize view over a kubeconfig directory.
type finalizeData struct{ dir string }

func (finalizeData) Cfg() *config.InitConfig { return testConfig() }
func (finalizeData) Out() io.Writer          { return io.Discard }
func (finalizeData) DryRun() bool            { return false }
func (d finalizeData) KubeConfigDir() string { return d.dir }

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Sys().(*syscall.Stat_t).Ino
}

// kubelet.conf is replaced, never rewritten in place: an agent reading it
// meanwhile sees the old or the new file, never a part.
func TestEnableClientCertRotationReplacesKubeletConfAtomically(t *testing.T) {
	dir := t.TempDir()
	pem := filepath.Join(dir, "kubelet-client-current.pem")
	if err := os.WriteFile(pem, []byte("pem"), 0o600); err != nil {
		t.Fatal(err)
	}
	old := kubeletClientCertPath
	kubeletClientCertPath = pem
	t.Cleanup(func() { kubeletClientCertPath = old })

	path := filepath.Join(dir, "kubelet.conf")
	kc := clientcmdapi.NewConfig()
	kc.Clusters["c"] = &clientcmdapi.Cluster{Server: "https://10.0.0.10:6443"}
	kc.AuthInfos["system:node:node1"] = &clientcmdapi.AuthInfo{ClientCertificateData: []byte("cert"), ClientKeyData: []byte("key")}
	kc.Contexts["ctx"] = &clientcmdapi.Context{Cluster: "c", AuthInfo: "system:node:node1"}
	kc.CurrentContext = "ctx"
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	before := inode(t, path)

	if err := runEnableClientCertRotation(finalizeData{dir}); err != nil {
		t.Fatal(err)
	}
	if inode(t, path) == before {
		t.Error("kubelet.conf was rewritten in place, not replaced by a rename")
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v (%v), want 0600", st.Mode().Perm(), err)
	}
	got, err := clientcmd.LoadFromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if u := got.AuthInfos["system:node:node1"]; u.ClientCertificate != pem || u.ClientKey != pem || len(u.ClientCertificateData) != 0 {
		t.Errorf("user = %+v, want the rotated certificate file", u)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}
