package main

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/kubeadmin/kubeadmin/phases/initphases"
	"github.com/kubeadmin/kubeadmin/phases/workflow"
)

// runKubeadmin runs the root command in-process and returns its output,
// the error and the exit code handleError would give.
func runKubeadmin(t *testing.T, args ...string) (string, error, int) {
	t.Helper()
	var out bytes.Buffer
	cmd := newCmdRoot(strings.NewReader(""), &out, &out)
	cmd.SetArgs(args)
	err := cmd.Execute()
	code := 0
	if err != nil {
		code = handleError(&bytes.Buffer{}, err)
	}
	return out.String(), err, code
}

// writeConfig writes a small init configuration using fast ECDSA keys.
func writeConfig(t *testing.T, dir, extra string) string {
	t.Helper()
	doc := `apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
localAPIEndpoint:
  advertiseAddress: 10.0.0.10
nodeRegistration:
  name: node1
  criSocket: unix:///nonexistent/containerd.sock
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
encryptionAlgorithm: ECDSA-P256
certificatesDir: ` + filepath.Join(dir, "pki") + "\n" + extra
	p := filepath.Join(dir, "kubeadm.yaml")
	if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// listFiles returns the files under dir, relative and sorted.
func listFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	_ = filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			files = append(files, rel)
		}
		return nil
	})
	sort.Strings(files)
	return files
}

func TestInitDryRunRunsEveryPhaseIntoTheDryRunDir(t *testing.T) {
	dir := t.TempDir()
	dry := filepath.Join(dir, "dry")
	t.Setenv("KUBEADM_INIT_DRYRUN_DIR", dry)
	cfg := writeConfig(t, dir, "")
	out, err, _ := runKubeadmin(t, "init", "--dry-run", "--config", cfg, "--skip-phases", "preflight")
	if err != nil {
		t.Fatalf("init --dry-run failed: %v\n%s", err, out)
	}
	want := []string{
		"admin.conf", "apiserver-etcd-client.crt", "apiserver-etcd-client.key",
		"apiserver-kubelet-client.crt", "apiserver-kubelet-client.key", "apiserver.crt",
		"apiserver.key", "ca.crt", "ca.key", "etcd/ca.crt", "etcd/ca.key",
		"etcd/healthcheck-client.crt", "etcd/healthcheck-client.key", "etcd/peer.crt",
		"etcd/peer.key", "etcd/server.crt", "etcd/server.key", "front-proxy-ca.crt",
		"front-proxy-ca.key", "front-proxy-client.crt", "front-proxy-client.key",
		"sa.key", "sa.pub", "scheduler.conf", "super-admin.conf",
		"config.yaml", "controller-manager.conf", "etcd.yaml", "instance-config.yaml",
		"kube-apiserver.yaml", "kube-controller-manager.yaml", "kube-scheduler.yaml", "kubeadm-flags.env",
		"kubelet.conf",
	}
	sort.Strings(want)
	if got := listFiles(t, dry); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("dry-run files:\n got %v\nwant %v", got, want)
	}
	// Nothing may land in the real certificate directory of the config.
	if _, err := os.Stat(filepath.Join(dir, "pki")); !os.IsNotExist(err) {
		t.Errorf("dry run wrote to the real certificate directory: %v", err)
	}
	for _, line := range []string{
		`[dryrun] Writing files to the temporary directory "` + dry + `"`,
		"[init] Using Kubernetes version: v1.37.2\n",
		`[certs] Generating "apiserver" certificate and key`,
		`[control-plane] Creating static Pod manifest for "kube-apiserver"`,
		`[dryrun] Would perform action CREATE on resource "configmaps" in API group "core/v1" (name "kubeadm-config", namespace "kube-system")`,
		`[mark-control-plane] Marking the node node1 as control-plane`,
		`[addons] Applied essential addon: CoreDNS`,
		"kubeadmin join 10.0.0.10:6443 --token ",
		"[dryrun]   /etc/kubernetes/manifests/kube-apiserver.yaml",
		"certs/apiserver  ",
		"[timing]   total",
	} {
		if !strings.Contains(out, line) {
			t.Errorf("output lacks %q", line)
		}
	}
	if strings.Contains(out, "[preflight] Running pre-flight checks") {
		t.Error("preflight ran although it was skipped")
	}
	// File modes as kubeadm (CIS): keys, kubeconfigs and manifests 0600.
	for file, mode := range map[string]os.FileMode{
		"ca.key": 0o600, "ca.crt": 0o644, "admin.conf": 0o600, "kube-apiserver.yaml": 0o600,
	} {
		st, err := os.Stat(filepath.Join(dry, file))
		if err != nil || st.Mode().Perm() != mode {
			t.Errorf("%s: mode %v (err %v), want %o", file, st.Mode().Perm(), err, mode)
		}
	}
}

func TestSkipPhasesSkipsChildAndParent(t *testing.T) {
	dir := t.TempDir()
	dry := filepath.Join(dir, "dry")
	t.Setenv("KUBEADM_INIT_DRYRUN_DIR", dry)
	cfg := writeConfig(t, dir, "")
	out, err, _ := runKubeadmin(t, "init", "--dry-run", "--config", cfg,
		"--skip-phases", "preflight,certs/apiserver,control-plane,addon,show-join-command,bootstrap-token,upload-certs")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	files := strings.Join(listFiles(t, dry), " ")
	for _, absent := range []string{"apiserver.crt", "kube-apiserver.yaml", "kube-scheduler.yaml"} {
		if strings.Contains(files, absent) {
			t.Errorf("%s was written although its phase was skipped", absent)
		}
	}
	for _, present := range []string{"apiserver-kubelet-client.crt", "etcd.yaml"} {
		if !strings.Contains(files, present) {
			t.Errorf("%s is missing", present)
		}
	}
	if strings.Contains(out, "Applied essential addon") {
		t.Error("addons ran although skipped")
	}
}

func TestInitErrors(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("KUBEADM_INIT_DRYRUN_DIR", filepath.Join(dir, "dry"))
	good := writeConfig(t, dir, "")
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nnetworking:\n  podSubnet: 10.244.0.0/33\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		args     []string
		wantErr  string
		wantCode int
	}{
		{"mixing --config with a config flag", []string{"init", "--config", good, "--pod-network-cidr", "10.244.0.0/16", "--dry-run"}, "can not mix '--config' with arguments [pod-network-cidr]", exitGeneric},
		{"invalid pod subnet", []string{"init", "--config", bad, "--dry-run"}, "networking.podSubnet", exitValidation},
		{"missing config file", []string{"init", "--config", filepath.Join(dir, "nope.yaml"), "--dry-run"}, "nope.yaml", exitGeneric},
		{"bad advertise address flag", []string{"init", "--apiserver-advertise-address", "10.0.0.300", "--dry-run"}, "10.0.0.300", exitGeneric},
		{"unknown phase to skip", []string{"init", "--config", good, "--dry-run", "--skip-phases", "nope"}, "invalid phase name: nope", exitGeneric},
		{"phase with unmet dependencies", []string{"init", "phase", "show-join-command"}, "unresolved dependencies", exitGeneric},
		{"group phase without a subcommand", []string{"init", "phase", "certs"}, "subcommand is required", exitGeneric},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err, code := runKubeadmin(t, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error = %v, want it to contain %q\n%s", err, tc.wantErr, out)
			}
			if code != tc.wantCode {
				t.Errorf("exit code %d, want %d", code, tc.wantCode)
			}
		})
	}
	// Failed validation must not have created anything.
	if _, err := os.Stat(filepath.Join(dir, "dry")); !os.IsNotExist(err) {
		t.Errorf("a failed init left the dry-run directory behind: %v", err)
	}
}

func TestEveryPhaseHasASubcommand(t *testing.T) {
	r := workflow.NewRunner(initphases.Phases()...)
	for _, n := range r.Nodes() {
		if n.Hidden {
			continue
		}
		args := append([]string{"init", "phase"}, strings.Split(n.Path, "/")...)
		if n.RunAllSiblings {
			args = append(args[:len(args)-1], "all")
		}
		out, err, _ := runKubeadmin(t, append(args, "--help")...)
		if err != nil || !strings.Contains(out, "Usage:") {
			t.Errorf("%v: %v\n%s", args, err, out)
		}
	}
	out, _, _ := runKubeadmin(t, "init", "--help")
	for _, want := range []string{"preflight", "  /apiserver", "show-join-command", "--skip-phases"} {
		if !strings.Contains(out, want) {
			t.Errorf("init --help lacks %q", want)
		}
	}
}

func TestPhaseSubcommandsWriteRealFiles(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "")
	if out, err, _ := runKubeadmin(t, "init", "phase", "certs", "all", "--config", cfg); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if out, err, _ := runKubeadmin(t, "init", "phase", "kubeconfig", "admin", "--config", cfg, "--kubeconfig-dir", dir); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, f := range []string{"pki/ca.crt", "pki/etcd/peer.key", "pki/sa.pub", "admin.conf"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "scheduler.conf")); !os.IsNotExist(err) {
		t.Error("kubeconfig admin wrote scheduler.conf")
	}
	// A second run reuses everything.
	before, _ := os.ReadFile(filepath.Join(dir, "pki/ca.key"))
	out, err, _ := runKubeadmin(t, "init", "phase", "certs", "all", "--config", cfg)
	if err != nil || !strings.Contains(out, "Using existing ca certificate authority") {
		t.Fatalf("%v\n%s", err, out)
	}
	if strings.Contains(out, "[init] Using Kubernetes version") {
		t.Error("a single phase announced the version; only the whole init does, as kubeadm")
	}
	after, _ := os.ReadFile(filepath.Join(dir, "pki/ca.key"))
	if !bytes.Equal(before, after) {
		t.Error("the CA key changed on a second run")
	}
}

func TestVersion(t *testing.T) {
	out, err, _ := runKubeadmin(t, "version", "-o", "json")
	if err != nil || !strings.Contains(out, `"kubernetesVersion": "v1.37.2"`) {
		t.Errorf("%v\n%s", err, out)
	}
	if _, err, _ := runKubeadmin(t, "version", "-o", "xml"); err == nil {
		t.Error("version -o xml did not fail")
	}
}
