package hostprep

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kubeadmin/kubeadmin/fleet/remote"
)

// writeExec writes an executable shell script.
func writeExec(t *testing.T, p, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, p, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// fakeBin is a PATH with the real tools the facts script uses and a fake
// uname, and nothing else (this machine's containerd must not be found).
func fakeBin(t *testing.T) string {
	t.Helper()
	bin := t.TempDir()
	for _, tool := range []string{"sh", "sed", "cat", "head", "sha256sum", "cut", "timeout"} {
		p, err := exec.LookPath(tool)
		if err != nil {
			t.Skipf("%s not installed", tool)
		}
		if err := os.Symlink(p, filepath.Join(bin, tool)); err != nil {
			t.Fatal(err)
		}
	}
	writeExec(t, filepath.Join(bin, "uname"), "case \"$1\" in -m) echo aarch64 ;; -n) echo hp-fake ;; esac\n")
	return bin
}

func localIn(bin string) *remote.Local {
	l := remote.NewLocal()
	l.Env = []string{"PATH=" + bin}
	return l
}

func TestGatherFactsBareHost(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "etc/os-release"), "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n")
	writeFile(t, filepath.Join(root, IPForwardSysctl), "0\n")
	f, err := gatherFacts(context.Background(), localIn(fakeBin(t)), root)
	if err != nil {
		t.Fatal(err)
	}
	if f.OSID != "debian" || f.OSVersion != "12" || f.Arch != "aarch64" || f.Hostname != "hp-fake" {
		t.Errorf("os/arch/hostname = %q %q %q %q", f.OSID, f.OSVersion, f.Arch, f.Hostname)
	}
	if f.Systemd || f.ContainerdInstalled || f.ContainerdRunning || f.KubeadminSHA256 != "" || f.IPForward {
		t.Errorf("a bare host has no systemd, containerd, kubeadmin, ip_forward: %+v", f)
	}
	want := []string{"containerd", "runc", "containernetworking-plugins", "iptables"}
	if !slices.Equal(f.MissingPackages, want) {
		t.Errorf("MissingPackages = %v, want %v", f.MissingPackages, want)
	}
	if len(f.KubeadminLeftovers) != 0 || f.AdminConf || f.StaticPods {
		t.Errorf("leftovers on a bare host: %v", f.KubeadminLeftovers)
	}
	if !f.SupportsApt() {
		t.Error("debian must support apt")
	}
}

func TestGatherFactsProvisionedHost(t *testing.T) {
	root := t.TempDir()
	bin := fakeBin(t)
	writeFile(t, filepath.Join(root, "etc/os-release"), "NAME=\"Ubuntu\"\nID=ubuntu\nID_LIKE=debian\nVERSION_ID=\"24.04\"\n")
	writeFile(t, filepath.Join(root, IPForwardSysctl), "1\n")
	if err := os.MkdirAll(filepath.Join(root, "run/systemd/system"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range cniPlugins {
		writeExec(t, filepath.Join(root, CNIBinDir, p), "")
	}
	writeExec(t, filepath.Join(bin, "containerd"), "echo 'containerd github.com/containerd/containerd 1.7.24 abcdef'\n")
	writeExec(t, filepath.Join(bin, "runc"), "")
	writeExec(t, filepath.Join(bin, "iptables"), "")
	writeExec(t, filepath.Join(bin, "systemctl"), "[ \"$1 $2 $3\" = \"is-enabled --quiet containerd\" ]\n")
	sum := strings.Repeat("ab", 32)
	writeExec(t, filepath.Join(bin, "ctr"), `case "$*" in
*version) exit 0 ;;
*"images ls") echo "REF TYPE DIGEST SIZE PLATFORMS LABELS"
  echo "registry.k8s.io/pause:3.10.2 application/vnd.docker.distribution.manifest.v2+json sha256:1 300.0 KiB linux/amd64 io.cri-containerd.image=managed,`+BundleLabel+`=`+sum+`"
  echo "sha256:25a7 application/vnd.docker.distribution.manifest.v2+json sha256:1 300.0 KiB linux/amd64 io.cri-containerd.image=managed" ;;
*) exit 1 ;;
esac
`)
	kubeadmin := "echo v1.37.2\n"
	writeExec(t, filepath.Join(root, RemoteKubeadmin), kubeadmin)
	sock := filepath.Join(root, ContainerdSocket)
	if err := os.MkdirAll(filepath.Dir(sock), 0o755); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, p := range []string{"etc/kubernetes/admin.conf", "etc/kubernetes/bootstrap-kubelet.conf", "etc/kubernetes/manifests/etcd.yaml", "var/lib/kubelet/config.yaml"} {
		writeFile(t, filepath.Join(root, p), "x")
	}

	f, err := gatherFacts(context.Background(), localIn(bin), root)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256([]byte("#!/bin/sh\n" + kubeadmin))
	switch {
	case f.OSID != "ubuntu" || f.OSVersion != "24.04" || f.OSLike != "debian":
		t.Errorf("os = %q %q %q", f.OSID, f.OSVersion, f.OSLike)
	case !f.Systemd || !f.ContainerdInstalled || !f.ContainerdRunning || !f.ContainerdEnabled:
		t.Errorf("systemd/containerd facts wrong: %+v", f)
	case f.ContainerdVersion != "1.7.24":
		t.Errorf("ContainerdVersion = %q", f.ContainerdVersion)
	case len(f.MissingPackages) != 0:
		t.Errorf("MissingPackages = %v", f.MissingPackages)
	case f.KubeadminSHA256 != hex.EncodeToString(h[:]) || f.KubeadminVersion != "v1.37.2":
		t.Errorf("kubeadmin = %q %q", f.KubeadminSHA256, f.KubeadminVersion)
	case !f.AdminConf || f.KubeletConf || !f.BootstrapKubeletConf || !f.StaticPods:
		t.Errorf("kubernetes files: admin %v kubelet %v bootstrap %v static %v", f.AdminConf, f.KubeletConf, f.BootstrapKubeletConf, f.StaticPods)
	case !f.IPForward:
		t.Error("IPForward = false")
	}
	wantLeft := []string{"/etc/kubernetes/admin.conf", "/etc/kubernetes/bootstrap-kubelet.conf", "/var/lib/kubelet/config.yaml", "/etc/kubernetes/manifests/etcd.yaml"}
	if !slices.Equal(f.KubeadminLeftovers, wantLeft) {
		t.Errorf("KubeadminLeftovers = %v, want %v", f.KubeadminLeftovers, wantLeft)
	}
	if len(f.BundleImages) != 1 || f.BundleImages["registry.k8s.io/pause:3.10.2"] != sum {
		t.Errorf("BundleImages = %v", f.BundleImages)
	}
}

func TestParseFacts(t *testing.T) {
	if _, err := ParseFacts("os_id=debian\narch=x86_64\n"); err == nil || !strings.Contains(err.Error(), "incomplete") {
		t.Errorf("output without end marker: err = %v", err)
	}
	f, err := ParseFacts("os_id='centos'\nos_version=\"9\"\narch=x86_64\ncommand=containerd\ncommand=ctr\ncni=bridge\nend=1\n")
	if err != nil {
		t.Fatal(err)
	}
	if f.OSID != "centos" || f.OSVersion != "9" || f.SupportsApt() {
		t.Errorf("centos facts: %q %q apt=%v", f.OSID, f.OSVersion, f.SupportsApt())
	}
	if !f.ContainerdInstalled || !slices.Equal(f.MissingPackages, []string{"runc", "containernetworking-plugins", "iptables"}) {
		t.Errorf("installed %v, missing %v", f.ContainerdInstalled, f.MissingPackages)
	}
}
