package options

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(p, []byte("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"+body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadConfigDefaults(t *testing.T) {
	cfg, err := Load(Flags{ConfigFile: writeConfig(t, "staticPodPath: /etc/kubernetes/manifests\ncgroupDriver: systemd\n"), HostnameOverride: "Node-A", NodeIP: "10.1.2.3"})
	if err != nil {
		t.Fatal(err)
	}
	checks := map[string][2]string{
		"node name":   {cfg.NodeName, "node-a"},
		"healthz":     {cfg.HealthzAddress, "127.0.0.1:10248"},
		"endpoint":    {cfg.RuntimeEndpoint, "unix:///run/containerd/containerd.sock"},
		"cgroup root": {cfg.CgroupRoot, "/kubeadmin-node-a"},
		"logs":        {cfg.PodLogsDir, "/var/log/pods"},
		"root dir":    {cfg.RootDir, "/var/lib/kubelet"},
		"node ip":     {cfg.NodeIP, "10.1.2.3"},
		"pod network": {cfg.PodNetwork, PodNetworkBuiltin},
	}
	for what, c := range checks {
		if c[0] != c[1] {
			t.Errorf("%s = %q, want %q", what, c[0], c[1])
		}
	}
	if cfg.FileCheckFrequency != 20*time.Second || cfg.Kubelet.Port != 10250 {
		t.Errorf("fileCheckFrequency %v, port %d", cfg.FileCheckFrequency, cfg.Kubelet.Port)
	}
	if !cfg.Standalone {
		t.Error("no kubeconfig given but not standalone")
	}
	if len(cfg.Warnings) != 1 || !strings.Contains(cfg.Warnings[0], "systemd") {
		t.Errorf("warnings = %q, want the systemd fallback", cfg.Warnings)
	}
}

func TestLoadConfigFlagOverrides(t *testing.T) {
	cfg, err := Load(Flags{
		ConfigFile:               writeConfig(t, "containerRuntimeEndpoint: unix:///a.sock\nhealthzPort: 0\n"),
		ContainerRuntimeEndpoint: "/run/b.sock", KubeConfig: "/etc/kubernetes/kubelet.conf", HostnameOverride: "n",
	})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.RuntimeEndpoint != "/run/b.sock" || cfg.HealthzAddress != "" || cfg.Standalone {
		t.Errorf("endpoint %q, healthz %q, standalone %v", cfg.RuntimeEndpoint, cfg.HealthzAddress, cfg.Standalone)
	}
}

func TestLoadConfigErrorsNameTheField(t *testing.T) {
	tests := []struct {
		name, body string
		opts       Flags
		want       string
	}{
		{"unknown field", "staticPodPaht: /x\n", Flags{}, `"staticPodPaht"`},
		{"bad duration", "fileCheckFrequency: often\n", Flags{}, `"fileCheckFrequency"`},
		{"bad type", "healthzPort: abc\n", Flags{}, `"healthzPort"`},
		{"bad driver", "cgroupDriver: foo\n", Flags{}, `"cgroupDriver"`},
		{"relative path", "staticPodPath: manifests\n", Flags{}, `"staticPodPath"`},
		{"bad endpoint", "containerRuntimeEndpoint: tcp://x:1\n", Flags{}, `"containerRuntimeEndpoint"`},
		{"bad dns", "clusterDNS: [not-an-ip]\n", Flags{}, `"clusterDNS[0]"`},
		{"bad port", "port: 70000\n", Flags{}, `"port"`},
		{"bad healthz address", "healthzBindAddress: localhost\n", Flags{}, `"healthzBindAddress"`},
		{"bad logs dir", "podLogsDir: logs\n", Flags{}, `"podLogsDir"`},
		{"bad cgroup root", "cgroupRoot: kubeadmin\n", Flags{}, `"cgroupRoot"`},
		{"bad log max size", "containerLogMaxSize: huge\n", Flags{}, `"containerLogMaxSize"`},
		{"too few log files", "containerLogMaxFiles: 1\n", Flags{}, `"containerLogMaxFiles"`},
		{"bad node ip", "", Flags{NodeIP: "x"}, "--node-ip"},
		{"bad root dir", "", Flags{RootDir: "rel"}, "--root-dir"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.opts
			o.ConfigFile = writeConfig(t, tt.body)
			o.HostnameOverride = "n"
			_, err := Load(o)
			if err == nil {
				t.Fatal("expected an error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not name %s", err, tt.want)
			}
		})
	}
}

func TestParseKubeletConfigurationKind(t *testing.T) {
	_, err := ParseKubeletConfiguration([]byte("apiVersion: v1\nkind: Pod\n"), "f.yaml")
	if err == nil || !strings.Contains(err.Error(), "KubeletConfiguration") {
		t.Errorf("error = %v", err)
	}
}

func TestLoadConfigCertificateFields(t *testing.T) {
	cfg, err := Load(Flags{ConfigFile: writeConfig(t, "rotateCertificates: true\nserverTLSBootstrap: true\n"), HostnameOverride: "n"})
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.RotateCertificates || !cfg.ServerTLSBootstrap {
		t.Errorf("rotateCertificates %v, serverTLSBootstrap %v; want both true", cfg.RotateCertificates, cfg.ServerTLSBootstrap)
	}
	cfg, err = Load(Flags{ConfigFile: writeConfig(t, ""), HostnameOverride: "n"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.RotateCertificates || cfg.ServerTLSBootstrap {
		t.Errorf("defaults: rotateCertificates %v, serverTLSBootstrap %v; want both false (the upstream defaults)", cfg.RotateCertificates, cfg.ServerTLSBootstrap)
	}
}
