package config

import (
	"errors"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubeadmin/kubeadmin/internal/constants"
)

const (
	initHeader    = "apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\n"
	clusterHeader = "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\n"
	joinHeader    = "apiVersion: kubeadm.k8s.io/v1beta4\nkind: JoinConfiguration\n"
	resetHeader   = "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ResetConfiguration\n"
	kubeletHeader = "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"
	proxyHeader   = "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\n"
)

func TestParseInitConfigErrors(t *testing.T) {
	quietWarnings(t)
	cases := []struct {
		name string
		in   string
		want []string // substrings of the error, besides the file name
	}{
		{"unknown field", clusterHeader + "networking:\n  podSubnt: 10.244.0.0/16\n",
			[]string{"document 1 (ClusterConfiguration)", "networking.podSubnt: unknown field", `did you mean "podSubnet"`}},
		{"unknown top-level field in second document", initHeader + "---\n" + clusterHeader + "kubernetesVersio: v1.37.2\n",
			[]string{"document 2 (ClusterConfiguration) line 6: kubernetesVersio: unknown field"}},
		{"wrong case is unknown", clusterHeader + "networking:\n  PodSubnet: 10.244.0.0/16\n",
			[]string{"networking.PodSubnet: unknown field", `did you mean "podSubnet"`}},
		{"unknown field inside a list", initHeader + "bootstrapTokens:\n- token: abcdef.0123456789abcdef\n  tll: 1h\n",
			[]string{"document 1 (InitConfiguration) line 5: bootstrapTokens[0].tll: unknown field", `did you mean "ttl"`}},
		{"type mismatch", clusterHeader + "networking:\n  podSubnet: 10\n",
			[]string{"networking.podSubnet: invalid value 10: expected a string", "quotes"}},
		{"type mismatch int", initHeader + "localAPIEndpoint:\n  bindPort: sixty\n",
			[]string{"localAPIEndpoint.bindPort: invalid value \"sixty\": expected an integer"}},
		{"bad duration", clusterHeader + "certificateValidityPeriod: 1year\n",
			[]string{"certificateValidityPeriod: invalid value \"1year\": expected a duration"}},
		{"list expected", clusterHeader + "apiServer:\n  certSANs: a.example.com\n",
			[]string{"apiServer.certSANs: invalid value \"a.example.com\": expected a list"}},
		{"several problems in one document", clusterHeader + "networking:\n  podSubnet: 10\n  bogus: 1\n",
			[]string{"networking.podSubnet: invalid value 10", "networking.bogus: unknown field"}},
		{"duplicate kind", clusterHeader + "---\n" + clusterHeader,
			[]string{"document 2 (ClusterConfiguration)", "specified twice"}},
		{"duplicate key", clusterHeader + "clusterName: a\nclusterName: b\n",
			[]string{"document 1 (ClusterConfiguration)", "already set", "line 4"}},
		{"old API version", "apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\n",
			[]string{"document 1 (ClusterConfiguration)", `"kubeadm.k8s.io/v1beta3" is no longer supported`, "kubeadm.k8s.io/v1beta4"}},
		{"experimental API version", "apiVersion: kubeadm.k8s.io/v1\nkind: ClusterConfiguration\n",
			[]string{"experimental"}},
		{"unknown kubeadm API version", "apiVersion: kubeadm.k8s.io/v2\nkind: ClusterConfiguration\n",
			[]string{`unknown apiVersion "kubeadm.k8s.io/v2"`}},
		{"unknown kind", "apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfig\n",
			[]string{"document 1 (InitConfig)", `unknown kind "InitConfig"`, "InitConfiguration"}},
		{"unknown API group", initHeader + "---\napiVersion: example.com/v1\nkind: Widget\n",
			[]string{"document 2 (Widget)", "unknown configuration API", "example.com/v1"}},
		{"missing apiVersion", "kind: InitConfiguration\n",
			[]string{"document 1 (InitConfiguration)", "apiVersion and kind are required"}},
		{"missing kind", "apiVersion: kubeadm.k8s.io/v1beta4\n",
			[]string{"document 1 at line 1", "apiVersion and kind are required"}},
		{"not a mapping", "- a\n- b\n", []string{"document 1", "expected a mapping"}},
		{"invalid YAML with absolute line", initHeader + "---\n" + clusterHeader + "networking: [\n",
			[]string{"document 2 (", "invalid YAML", "line 6"}},
		{"old kubelet API version", "apiVersion: kubelet.config.k8s.io/v1alpha1\nkind: KubeletConfiguration\n---\n" + clusterHeader,
			[]string{"document 1 (KubeletConfiguration)", "unsupported apiVersion", "kubelet.config.k8s.io/v1beta1"}},
		{"unknown kubelet field", clusterHeader + "---\n" + kubeletHeader + "cgroupdriver: cgroupfs\n",
			[]string{"document 2 (KubeletConfiguration)", "cgroupdriver: unknown field", `did you mean "cgroupDriver"`}},
		{"kube-proxy type mismatch", clusterHeader + "---\n" + proxyHeader + "mode: [iptables]\n",
			[]string{"document 2 (KubeProxyConfiguration)", "mode: invalid value [\"iptables\"]: expected a string"}},
		{"no init or cluster document", joinHeader + "discovery: {}\n",
			[]string{"no InitConfiguration or ClusterConfiguration"}},
		{"empty file", "", []string{"no InitConfiguration or ClusterConfiguration"}},
		{"invalid join document in the same file", clusterHeader + "---\n" + joinHeader + "discovry: {}\n",
			[]string{"document 2 (JoinConfiguration)", "discovry: unknown field"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseInitConfig([]byte(tc.in), "/tmp/my-config.yaml")
			if err == nil {
				t.Fatal("want an error")
			}
			msg := err.Error()
			for _, w := range append([]string{`"/tmp/my-config.yaml"`}, tc.want...) {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
			var le *LoadError
			if !errors.As(err, &le) {
				t.Errorf("error type %T, want *LoadError", err)
			}
		})
	}
}

func TestParseInitConfigReportsAllDocuments(t *testing.T) {
	in := initHeader + "nodeRegistration:\n  nme: x\n---\n" + clusterHeader + "networking:\n  podSubnt: x\n"
	_, err := ParseInitConfig([]byte(in), "c.yaml")
	var le *LoadError
	if !errors.As(err, &le) || len(le.Problems) != 2 {
		t.Fatalf("want two problems, got %v", err)
	}
	if !strings.Contains(le.Problems[0], "document 1 (InitConfiguration)") || !strings.Contains(le.Problems[1], "document 2 (ClusterConfiguration)") {
		t.Errorf("problems %q", le.Problems)
	}
}

func TestParseInitConfigSuccess(t *testing.T) {
	t.Run("only ClusterConfiguration", func(t *testing.T) {
		cfg, err := ParseInitConfig([]byte(clusterHeader+"networking:\n  podSubnet: 10.244.0.0/16\n"), "c.yaml")
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Cluster.Networking.PodSubnet != "10.244.0.0/16" || cfg.Cluster.Networking.ServiceSubnet != constants.DefaultServicesSubnet {
			t.Errorf("networking %+v", cfg.Cluster.Networking)
		}
		if cfg.Init.LocalAPIEndpoint.BindPort != 6443 || len(cfg.Init.BootstrapTokens) != 1 || cfg.Init.Timeouts == nil {
			t.Errorf("InitConfiguration not defaulted: %+v", cfg.Init)
		}
		if cfg.Components.Kubelet != nil || cfg.Components.KubeletUserSupplied {
			t.Error("no KubeletConfiguration was given")
		}
	})
	t.Run("all documents with comments and leading separator", func(t *testing.T) {
		in := "# my cluster\n---\n" + initHeader + "nodeRegistration:\n  name: cp-1\n  taints: []\n---\n# nothing\n---\n" +
			clusterHeader + "kubernetesVersion: 1.37.2\n---\n" + kubeletHeader + "cgroupDriver: cgroupfs\n---\n" + proxyHeader + "mode: nftables\n"
		cfg, err := ParseInitConfig([]byte(in), "c.yaml")
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Init.NodeRegistration.Name != "cp-1" || cfg.Init.NodeRegistration.Taints == nil || len(cfg.Init.NodeRegistration.Taints) != 0 {
			t.Errorf("nodeRegistration %+v", cfg.Init.NodeRegistration)
		}
		if cfg.Cluster.KubernetesVersion != "1.37.2" {
			t.Errorf("version %q", cfg.Cluster.KubernetesVersion)
		}
		if !cfg.Components.KubeletUserSupplied || cfg.Components.Kubelet.CgroupDriver != "cgroupfs" {
			t.Errorf("kubelet %+v", cfg.Components)
		}
		if !cfg.Components.KubeProxyUserSupplied || cfg.Components.KubeProxy.Mode != "nftables" {
			t.Errorf("kube-proxy %+v", cfg.Components)
		}
	})
	t.Run("JSON", func(t *testing.T) {
		in := `{"apiVersion":"kubeadm.k8s.io/v1beta4","kind":"ClusterConfiguration","clusterName":"json"}`
		cfg, err := ParseInitConfig([]byte(in), "c.json")
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Cluster.ClusterName != "json" {
			t.Errorf("clusterName %q", cfg.Cluster.ClusterName)
		}
	})
	t.Run("join and upgrade documents are ignored with a warning", func(t *testing.T) {
		warnings := quietWarnings(t)
		in := clusterHeader + "---\n" + joinHeader + "discovery: {}\n---\napiVersion: kubeadm.k8s.io/v1beta4\nkind: UpgradeConfiguration\napply: {}\n"
		if _, err := ParseInitConfig([]byte(in), "c.yaml"); err != nil {
			t.Fatal(err)
		}
		got := strings.Join(*warnings, "\n")
		if !strings.Contains(got, "Ignored configuration document") || !strings.Contains(got, "JoinConfiguration") || !strings.Contains(got, "UpgradeConfiguration") {
			t.Errorf("warnings %q", got)
		}
	})
	t.Run("extraArgs list and envs", func(t *testing.T) {
		in := clusterHeader + "apiServer:\n  extraArgs:\n  - name: v\n    value: \"2\"\n  - name: v\n    value: \"3\"\n  extraEnvs:\n  - name: A\n    valueFrom:\n      fieldRef:\n        fieldPath: status.podIP\n"
		cfg, err := ParseInitConfig([]byte(in), "c.yaml")
		if err != nil {
			t.Fatal(err)
		}
		if len(cfg.Cluster.APIServer.ExtraArgs) != 2 || ArgValue(cfg.Cluster.APIServer.ExtraArgs, "v") != "3" {
			t.Errorf("extraArgs %+v", cfg.Cluster.APIServer.ExtraArgs)
		}
		if got := cfg.Cluster.APIServer.ExtraEnvs[0].ValueFrom.FieldRef.APIVersion; got != "v1" {
			t.Errorf("fieldRef apiVersion %q, want defaulted v1", got)
		}
	})
}

func TestParseJoinAndResetConfig(t *testing.T) {
	warnings := quietWarnings(t)
	in := clusterHeader + "---\n" + joinHeader + "discovery:\n  bootstrapToken:\n    token: abcdef.0123456789abcdef\n    apiServerEndpoint: 10.0.0.10:6443\n    unsafeSkipCAVerification: true\n---\n" +
		resetHeader + "force: true\nunmountFlags: [MNT_DETACH]\n"
	j, err := ParseJoinConfig([]byte(in), "j.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if j.Discovery.TLSBootstrapToken != "abcdef.0123456789abcdef" || j.CACertPath != constants.DefaultCACertPath {
		t.Errorf("join not defaulted: %+v", j)
	}
	r, err := ParseResetConfig([]byte(in), "j.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !r.Force || r.CertificatesDir != constants.DefaultCertDir || len(r.UnmountFlags) != 1 {
		t.Errorf("reset %+v", r)
	}
	if len(*warnings) == 0 {
		t.Error("want warnings for the ignored documents")
	}
	for _, tc := range []struct {
		name string
		fn   func() error
		want string
	}{
		{"join without JoinConfiguration", func() error { _, err := ParseJoinConfig([]byte(clusterHeader), "x.yaml"); return err }, "no JoinConfiguration"},
		{"reset without ResetConfiguration", func() error { _, err := ParseResetConfig([]byte(clusterHeader), "x.yaml"); return err }, "no ResetConfiguration"},
		{"join unknown field", func() error { _, err := ParseJoinConfig([]byte(joinHeader+"caCert: /x\n"), "x.yaml"); return err }, "caCert: unknown field"},
		{"reset type mismatch", func() error {
			_, err := ParseResetConfig([]byte(resetHeader+"force: yes please\n"), "x.yaml")
			return err
		}, "force: invalid value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.fn()
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), `"x.yaml"`) {
				t.Errorf("error %v, want %q and the file name", err, tc.want)
			}
		})
	}
}

func TestLoadConfigFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	initPath := write("init.yaml", initHeader+"nodeRegistration:\n  name: n1\n")
	cfg, err := LoadInitConfigFile(initPath)
	if err != nil || cfg.Init.NodeRegistration.Name != "n1" {
		t.Fatalf("LoadInitConfigFile: %v %+v", err, cfg)
	}
	joinPath := write("join.yaml", joinHeader+"caCertPath: /pki/ca.crt\n")
	if j, err := LoadJoinConfigFile(joinPath); err != nil || j.CACertPath != "/pki/ca.crt" {
		t.Fatalf("LoadJoinConfigFile: %v", err)
	}
	resetPath := write("reset.yaml", resetHeader+"force: true\n")
	if r, err := LoadResetConfigFile(resetPath); err != nil || !r.Force {
		t.Fatalf("LoadResetConfigFile: %v", err)
	}
	missing := filepath.Join(dir, "missing.yaml")
	if _, err := LoadInitConfigFile(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := LoadJoinConfigFile(missing); err == nil {
		t.Error("missing join file: want an error")
	}
	if _, err := LoadResetConfigFile(missing); err == nil {
		t.Error("missing reset file: want an error")
	}
}

func TestParseClusterConfig(t *testing.T) {
	c, err := ParseClusterConfig([]byte(clusterHeader+"kubernetesVersion: v1.37.2\n"), "kubeadm-config")
	if err != nil || c.KubernetesVersion != "v1.37.2" || c.CertificatesDir != constants.DefaultCertDir {
		t.Fatalf("ParseClusterConfig: %v %+v", err, c)
	}
	if _, err := ParseClusterConfig([]byte(initHeader), "kubeadm-config"); err == nil {
		t.Error("want an error without a ClusterConfiguration")
	}
}

// TestParseNeverPanics feeds random and mutated input to every parser.
func TestParseNeverPanics(t *testing.T) {
	quietWarnings(t)
	seeds := []string{
		initHeader + "bootstrapTokens:\n- token: abcdef.0123456789abcdef\n  ttl: 1h\nlocalAPIEndpoint:\n  bindPort: 6443\n",
		clusterHeader + "networking:\n  podSubnet: 10.244.0.0/16\netcd:\n  external:\n    endpoints: [a]\n",
		joinHeader + "discovery:\n  bootstrapToken:\n    token: x\n",
		kubeletHeader + "logging:\n  options:\n    json:\n      infoBufferSize: 1Mi\n",
	}
	alphabet := []byte("abc:-[]{}\"' \n\t#&*!|>%@`,?0123456789.")
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	deadline := time.Now().Add(300 * time.Millisecond)
	for i := 0; time.Now().Before(deadline); i++ {
		var in []byte
		if i%2 == 0 {
			in = make([]byte, rng.Intn(200))
			rng.Read(in)
		} else {
			in = []byte(seeds[rng.Intn(len(seeds))])
			for n := rng.Intn(6); n >= 0; n-- {
				in[rng.Intn(len(in))] = alphabet[rng.Intn(len(alphabet))]
			}
		}
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("panic on input %q: %v", in, r)
				}
			}()
			_, _ = ParseInitConfig(in, "fuzz")
			_, _ = ParseJoinConfig(in, "fuzz")
			_, _ = ParseResetConfig(in, "fuzz")
		}()
	}
}

// FuzzParseInitConfig runs the seeds as a unit test; run `go test -fuzz
// FuzzParseInitConfig ./config/` to explore further.
func FuzzParseInitConfig(f *testing.F) {
	f.Add([]byte(initHeader + "---\n" + clusterHeader))
	f.Add([]byte(clusterHeader + "networking: {podSubnet: 1}\n"))
	f.Add([]byte("---\n---\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		old := Warn
		Warn = func(string) {}
		defer func() { Warn = old }()
		_, _ = ParseInitConfig(in, "fuzz")
	})
}

func TestValidateConfigFile(t *testing.T) {
	quietWarnings(t)
	good := initHeader + "nodeRegistration:\n  name: cp-1\n---\n" + clusterHeader + "kubernetesVersion: v1.37.2\n---\n" +
		joinHeader + "discovery:\n  bootstrapToken:\n    token: abcdef.0123456789abcdef\n    apiServerEndpoint: 10.0.0.10:6443\n    unsafeSkipCAVerification: true\n---\n" +
		resetHeader + "unmountFlags: [MNT_DETACH]\n"
	if err := ValidateConfigFile([]byte(good), "good.yaml", testHost()); err != nil {
		t.Fatalf("good file: %v", err)
	}
	cases := []struct {
		name string
		in   string
		want []string
	}{
		{"init problem", clusterHeader + "networking:\n  podSubnet: 10.0.0.0/30\n", []string{`invalid InitConfiguration in "f.yaml"`, "networking.podSubnet: Invalid value"}},
		{"join problem", joinHeader + "discovery: {}\n", []string{`invalid JoinConfiguration in "f.yaml"`, "discovery: Invalid value"}},
		{"reset problem", resetHeader + "unmountFlags: [X]\n", []string{`invalid ResetConfiguration`, "unmountFlags[0]: Unsupported value"}},
		{"decode problem", resetHeader + "unmountFlag: [X]\n", []string{`"f.yaml"`, "unmountFlag: unknown field"}},
		{"no kubeadm kind", kubeletHeader, []string{"no InitConfiguration, ClusterConfiguration, JoinConfiguration or ResetConfiguration"}},
		{"dynamic default problem", clusterHeader + "kubernetesVersion: v1.20.0\n", []string{"v1.36.0"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateConfigFile([]byte(tc.in), "f.yaml", testHost())
			if err == nil {
				t.Fatal("want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestBootstrapTokenFields(t *testing.T) {
	quietWarnings(t)
	cfg, err := ParseInitConfig([]byte(initHeader+"bootstrapTokens:\n- token: abcdef.0123456789abcdef\n  expires: \"2030-01-02T15:04:05Z\"\n"), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	bt := cfg.Init.BootstrapTokens[0]
	if bt.TTL != nil || bt.Expires == nil {
		t.Errorf("a token with expires must not get a default TTL: %+v", bt)
	}
	if errs := validateBootstrapTokens(cfg.Init.BootstrapTokens, nil); len(errs) != 0 {
		t.Errorf("token with expires: %v", errs)
	}
	_, err = ParseInitConfig([]byte(initHeader+"bootstrapTokens:\n- token: [a]\n"), "t.yaml")
	if err == nil || !strings.Contains(err.Error(), "bootstrapTokens[0].token: invalid value [\"a\"]: expected a bootstrap token") {
		t.Errorf("error %v", err)
	}
}

func TestFieldLine(t *testing.T) {
	doc := []byte("a: 1\nb:\n  c:\n  - x\n  - d: 2\n    e: 3\nf: &anchor\n  g: 1\nh: *anchor\n")
	cases := []struct {
		path string
		want int
	}{
		{"a", 1}, {"b", 2}, {"b.c", 3}, {"b.c[0]", 4}, {"b.c[1].e", 6}, {"h.g", 8},
		{"missing", 0}, {"b.c[9]", 0}, {"a[0]", 0}, {"b.c[x]", 0},
	}
	for _, tc := range cases {
		if got := fieldLine(doc, tc.path); got != tc.want {
			t.Errorf("fieldLine(%q) = %d, want %d", tc.path, got, tc.want)
		}
	}
	if got := fieldLine([]byte("a: ["), "a"); got != 0 {
		t.Errorf("invalid YAML: %d", got)
	}
}
