package inventory

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubeadmin/kubeadmin/internal/config"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// Values a run would create; fixed here for the golden files.
const (
	testDiscovery = "/var/lib/kubeadmin/fleet-discovery.conf"
	testToken     = "abcdef.0123456789abcdef"
)

func loadResolved(t *testing.T, path string) (*Cluster, Hosts) {
	t.Helper()
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	hosts, err := c.Resolve(ResolveOptions{SSHConfig: NoSSHConfig, Home: "/home/op", LocalUser: "op"})
	if err != nil {
		t.Fatal(err)
	}
	return c, hosts
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./fleet/inventory -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test ./fleet/inventory -update rewrites it):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// TestRenderGolden renders each host's kubeadm file for the inventories
// under testdata and checks that kubeadmin's own loader reads it back.
func TestRenderGolden(t *testing.T) {
	for _, inv := range []string{"example", "minimal", "untainted"} {
		c, hosts := loadResolved(t, filepath.Join("testdata", inv+".yaml"))
		for _, h := range hosts {
			name := h.NodeName
			if name == "" {
				name = strings.ReplaceAll(h.Host.Address, ".", "-")
			}
			if h.Role == RoleControlPlane {
				data, err := c.InitConfigYAML(h, testToken)
				if err != nil {
					t.Fatal(err)
				}
				checkGolden(t, inv+"-init-"+name+".yaml", data)
				if _, err := config.ParseInitConfig(data, "rendered"); err != nil {
					t.Errorf("%s: rendered init config does not load: %v", inv, err)
				}
				continue
			}
			data, err := c.JoinConfigYAML(h, testDiscovery, testToken)
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, inv+"-join-"+name+".yaml", data)
			if _, err := config.ParseJoinConfig(data, "rendered"); err != nil {
				t.Errorf("%s: rendered join config does not load: %v", inv, err)
			}
		}
	}
}

// TestRenderTaints checks what the three ways of giving taints mean to
// kubeadmin: left out (kubeadm's default), [] (none), a list.
func TestRenderTaints(t *testing.T) {
	c, hosts := loadResolved(t, "testdata/untainted.yaml")
	data, err := c.InitConfigYAML(hosts.ControlPlane(), "")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.ParseInitConfig(data, "rendered")
	if err != nil {
		t.Fatal(err)
	}
	if tt := cfg.Init.NodeRegistration.Taints; tt == nil || len(tt) != 0 {
		t.Errorf("taints: [] rendered as %#v, want an empty list (no taints)", tt)
	}
	c, hosts = loadResolved(t, "testdata/minimal.yaml")
	data, err = c.InitConfigYAML(hosts.ControlPlane(), "")
	if err != nil {
		t.Fatal(err)
	}
	if cfg, err = config.ParseInitConfig(data, "rendered"); err != nil {
		t.Fatal(err)
	}
	if tt := cfg.Init.NodeRegistration.Taints; tt != nil {
		t.Errorf("taints left out rendered as %#v, want nil (kubeadm's control-plane taint)", tt)
	}
}

func TestRenderErrors(t *testing.T) {
	c, hosts := loadResolved(t, "testdata/example.yaml")
	cp, w := hosts.ControlPlane(), hosts.Workers()[0]
	if _, err := c.InitConfigYAML(w, ""); err == nil || err.Error() != "spec.hosts[1] (worker-1) is a worker; only the control plane runs kubeadmin init" {
		t.Errorf("InitConfigYAML(worker) = %v", err)
	}
	if _, err := c.JoinConfigYAML(cp, testDiscovery, testToken); err == nil || err.Error() != "spec.hosts[0] (cp-1) is a control-plane; only workers are joined" {
		t.Errorf("JoinConfigYAML(control plane) = %v", err)
	}
	if _, err := c.JoinConfigYAML(w, testDiscovery, ""); err == nil {
		t.Error("JoinConfigYAML without a token succeeded")
	}
}

func TestAPIServerEndpoint(t *testing.T) {
	for _, tc := range []struct {
		name, spec, want string
	}{
		{name: "control plane address", want: "10.0.0.10:6443"},
		{name: "endpoint with port", spec: "  kubernetes:\n    controlPlaneEndpoint: api.example.com:443\n", want: "api.example.com:443"},
		{name: "endpoint without port", spec: "  kubernetes:\n    controlPlaneEndpoint: api.example.com\n", want: "api.example.com:6443"},
		{name: "bind port", spec: "  kubernetes:\n    initConfiguration:\n      localAPIEndpoint:\n        bindPort: 8443\n", want: "10.0.0.10:8443"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hosts, err := resolveInventory(t, base+tc.spec, "")
			if err != nil {
				t.Fatal(err)
			}
			c, _ := Parse([]byte(base+tc.spec), "cluster.yaml")
			if got := c.APIServerEndpoint(hosts.ControlPlane()); got != tc.want {
				t.Errorf("APIServerEndpoint = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestExample loads the README's example inventory.
func TestExample(t *testing.T) {
	c, hosts := loadResolved(t, "testdata/example.yaml")
	if c.Name() != "lab" || len(hosts) != 3 || len(hosts.Workers()) != 2 || hosts.ControlPlane().NodeName != "cp-1" {
		t.Fatalf("unexpected example: name %q, %d hosts", c.Name(), len(hosts))
	}
	if w := hosts[1]; w.User != "deploy" || !filepath.IsAbs(w.IdentityFiles[0]) {
		t.Errorf("worker-1: user %q, keys %q", w.User, w.IdentityFiles)
	}
	if w := hosts[2]; len(w.Jumps) != 1 || w.Jumps[0].Addr() != "10.0.0.10:22" {
		t.Errorf("worker-2 jumps %+v, want the control plane", w.Jumps)
	}
	if bundle := c.ImageBundle(); !filepath.IsAbs(bundle) || filepath.Base(bundle) != "images.tar" {
		t.Errorf("ImageBundle = %q", bundle)
	}
	if bin, err := c.KubeadminBinary(); err != nil || bin == "" {
		t.Errorf("KubeadminBinary = %q, %v", bin, err)
	}
	if c.HostsParallel() != 10 || c.UploadsParallel() != 5 {
		t.Errorf("concurrency %d %d", c.HostsParallel(), c.UploadsParallel())
	}
}

// TestRenderJoinTokenKeepsTheInventorysTokens: the run's token is added to
// the bootstrapTokens an inventory passes through, never instead of them.
func TestRenderJoinTokenKeepsTheInventorysTokens(t *testing.T) {
	c, hosts := loadResolved(t, "testdata/minimal.yaml")
	own := "ownown.0123456789ownown"
	c.Spec.Kubernetes.InitConfiguration = &config.InitConfiguration{BootstrapTokens: []config.BootstrapToken{
		{Token: &config.BootstrapTokenString{ID: "ownown", Secret: "0123456789ownown"}, Description: "mine"},
	}}
	data, err := c.InitConfigYAML(hosts.ControlPlane(), testToken)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.ParseInitConfig(data, "rendered")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, bt := range cfg.Init.BootstrapTokens {
		got = append(got, bt.Token.String()+" "+bt.Description+" "+bt.TTL.Duration.String())
	}
	want := []string{own + " mine 24h0m0s", testToken + " " + FleetTokenDescription + " 1h0m0s"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("bootstrap tokens:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if _, err := c.InitConfigYAML(hosts.ControlPlane(), "no-dot"); err == nil {
		t.Error("a malformed join token: want an error")
	}
	if n := len(c.Spec.Kubernetes.InitConfiguration.BootstrapTokens); n != 1 {
		t.Errorf("the inventory's own list has %d tokens after rendering, want 1", n)
	}
}
