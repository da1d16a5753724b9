package config

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kubeadmin/kubeadmin/internal/constants"
)

// testHost is a host with one interface without a default route, as the
// project's test nodes have, and no CRI socket.
func testHost() DynamicOptions {
	return DynamicOptions{
		Hostname: func() (string, error) { return "Node-A", nil },
		Interfaces: func() ([]HostInterface, error) {
			return []HostInterface{
				{Name: "lo", Up: true, Loopback: true, Addrs: []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")}},
				{Name: "eth0", Up: true, Addrs: []net.IP{net.ParseIP("fe80::1"), net.ParseIP("10.10.0.2")}},
			}, nil
		},
		HostNetworks: func() ([]netip.Prefix, error) {
			return []netip.Prefix{netip.MustParsePrefix("10.10.0.0/24")}, nil
		},
		SocketExists: func(string) bool { return false },
	}
}

func TestSetDynamicDefaultsInit(t *testing.T) {
	quietWarnings(t)
	cfg := DefaultInitConfig()
	if err := SetDynamicDefaultsInit(cfg, testHost()); err != nil {
		t.Fatal(err)
	}
	n := cfg.Init.NodeRegistration
	if n.Name != "node-a" {
		t.Errorf("node name %q, want the lower-cased host name", n.Name)
	}
	if n.CRISocket != constants.DefaultCRISocket {
		t.Errorf("criSocket %q", n.CRISocket)
	}
	if len(n.Taints) != 1 || n.Taints[0].Key != "node-role.kubernetes.io/control-plane" || n.Taints[0].Effect != corev1.TaintEffectNoSchedule {
		t.Errorf("taints %+v", n.Taints)
	}
	if got := cfg.Init.LocalAPIEndpoint.AdvertiseAddress; got != "10.10.0.2" {
		t.Errorf("advertise address %q", got)
	}
	if cfg.Cluster.KubernetesVersion != constants.KubernetesVersion {
		t.Errorf("version %q", cfg.Cluster.KubernetesVersion)
	}
	tok := cfg.Init.BootstrapTokens[0]
	if errs := validateToken(tok.Token.String(), field.NewPath("t")); len(errs) != 0 {
		t.Errorf("generated token %q invalid", tok.Token)
	}
	if tok.Description != constants.DefaultInitTokenDescription {
		t.Errorf("description %q", tok.Description)
	}
	if cfg.Components.Kubelet == nil || cfg.Components.KubeProxy == nil || cfg.Components.KubeletUserSupplied {
		t.Errorf("component configs not defaulted: %+v", cfg.Components)
	}
	if err := ValidateInitConfig(cfg); err != nil {
		t.Errorf("defaulted config does not validate: %v", err)
	}
	other := DefaultInitConfig()
	if err := SetDynamicDefaultsInit(other, testHost()); err != nil {
		t.Fatal(err)
	}
	if other.Init.BootstrapTokens[0].Token.String() == tok.Token.String() {
		t.Error("two generated tokens are equal")
	}
}

func TestSetDynamicDefaultsInitKeepsUserValues(t *testing.T) {
	quietWarnings(t)
	cfg := DefaultInitConfig()
	cfg.Init.NodeRegistration.Name = " CP-1 "
	cfg.Init.NodeRegistration.Taints = []corev1.Taint{}
	cfg.Init.NodeRegistration.CRISocket = "/run/crio/crio.sock"
	cfg.Init.LocalAPIEndpoint.AdvertiseAddress = "192.168.5.5"
	cfg.Init.LocalAPIEndpoint.BindPort = 7443
	cfg.Init.BootstrapTokens[0].Token = &BootstrapTokenString{ID: "abcdef", Secret: "0123456789abcdef"}
	cfg.Cluster.KubernetesVersion = "1.36.2"
	cfg.Cluster.ControlPlaneEndpoint = "lb.example.com"
	cfg.Cluster.APIServer.CertSANs = []string{"API.Example.com"}
	if err := SetDynamicDefaultsInit(cfg, testHost()); err != nil {
		t.Fatal(err)
	}
	n := cfg.Init.NodeRegistration
	if n.Name != "cp-1" || len(n.Taints) != 0 || n.CRISocket != "unix:///run/crio/crio.sock" {
		t.Errorf("nodeRegistration %+v", n)
	}
	if cfg.Init.LocalAPIEndpoint.AdvertiseAddress != "192.168.5.5" {
		t.Errorf("advertise address %q", cfg.Init.LocalAPIEndpoint.AdvertiseAddress)
	}
	if cfg.Init.BootstrapTokens[0].Token.String() != "abcdef.0123456789abcdef" {
		t.Error("the given token was replaced")
	}
	if cfg.Cluster.KubernetesVersion != "v1.36.2" {
		t.Errorf("version %q", cfg.Cluster.KubernetesVersion)
	}
	if cfg.Cluster.ControlPlaneEndpoint != "lb.example.com:7443" {
		t.Errorf("controlPlaneEndpoint %q", cfg.Cluster.ControlPlaneEndpoint)
	}
	if cfg.Cluster.APIServer.CertSANs[0] != "api.example.com" {
		t.Errorf("certSANs %q", cfg.Cluster.APIServer.CertSANs)
	}
}

func TestSetDynamicDefaultsErrors(t *testing.T) {
	quietWarnings(t)
	cases := []struct {
		name   string
		mutate func(c *InitConfig, o *DynamicOptions)
		want   string
	}{
		{"no address at all", func(c *InitConfig, o *DynamicOptions) {
			o.Interfaces = func() ([]HostInterface, error) {
				return []HostInterface{{Name: "lo", Up: true, Loopback: true, Addrs: []net.IP{net.ParseIP("127.0.0.1")}}}, nil
			}
		}, "--apiserver-advertise-address"},
		{"interfaces fail", func(c *InitConfig, o *DynamicOptions) {
			o.Interfaces = func() ([]HostInterface, error) { return nil, errors.New("boom") }
		}, "boom"},
		{"advertise address not an IP", func(c *InitConfig, o *DynamicOptions) { c.Init.LocalAPIEndpoint.AdvertiseAddress = "host" }, "must be ipv4 or ipv6"},
		{"loopback advertise address", func(c *InitConfig, o *DynamicOptions) { c.Init.LocalAPIEndpoint.AdvertiseAddress = "127.0.0.1" }, "loopback"},
		{"hostname fails", func(c *InitConfig, o *DynamicOptions) {
			o.Hostname = func() (string, error) { return "", errors.New("no name") }
		}, "no name"},
		{"blank hostname", func(c *InitConfig, o *DynamicOptions) {
			o.Hostname = func() (string, error) { return "  ", nil }
		}, "empty node name"},
		{"two CRI sockets", func(c *InitConfig, o *DynamicOptions) { o.SocketExists = func(string) bool { return true } }, "found multiple CRI endpoints"},
		{"bad version", func(c *InitConfig, o *DynamicOptions) { c.Cluster.KubernetesVersion = "banana" }, "banana"},
		{"old version", func(c *InitConfig, o *DynamicOptions) { c.Cluster.KubernetesVersion = "v1.30.0" }, ">= v1.36.0"},
		{"CI version", func(c *InitConfig, o *DynamicOptions) { c.Cluster.KubernetesVersion = "ci/latest" }, "CI versions"},
		{"bad control plane endpoint", func(c *InitConfig, o *DynamicOptions) { c.Cluster.ControlPlaneEndpoint = "a_b:1" }, "controlPlaneEndpoint"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultInitConfig()
			opts := testHost()
			tc.mutate(cfg, &opts)
			err := SetDynamicDefaultsInit(cfg, opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestChooseAdvertiseAddress(t *testing.T) {
	ip := net.ParseIP
	cases := []struct {
		name   string
		ifaces []HostInterface
		want   string
	}{
		{"default route interface wins", []HostInterface{
			{Name: "a", Up: true, Addrs: []net.IP{ip("10.0.0.1")}},
			{Name: "b", Up: true, DefaultRoute: true, Addrs: []net.IP{ip("fd00::2"), ip("192.168.1.2")}},
		}, "192.168.1.2"},
		{"IPv6 on the default route before other interfaces", []HostInterface{
			{Name: "a", Up: true, Addrs: []net.IP{ip("10.0.0.1")}},
			{Name: "b", Up: true, DefaultRoute: true, Addrs: []net.IP{ip("fd00::2")}},
		}, "fd00::2"},
		{"no default route: first IPv4", []HostInterface{
			{Name: "down", Addrs: []net.IP{ip("10.9.9.9")}},
			{Name: "a", Up: true, Addrs: []net.IP{ip("fd00::1"), ip("169.254.1.1")}},
			{Name: "b", Up: true, Addrs: []net.IP{ip("10.0.0.7")}},
		}, "10.0.0.7"},
		{"only IPv6", []HostInterface{{Name: "a", Up: true, Addrs: []net.IP{ip("fe80::1"), ip("fd00::9")}}}, "fd00::9"},
		{"nothing", []HostInterface{{Name: "lo", Up: true, Loopback: true, Addrs: []net.IP{ip("127.0.0.1")}}}, "<nil>"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := ChooseAdvertiseAddress(tc.ifaces).String(); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestAdvertiseAddressSpecialValues(t *testing.T) {
	opts := testHost().withHostDefaults()
	e := APIEndpoint{AdvertiseAddress: "0.0.0.0"}
	if err := setAdvertiseAddress(&e, opts); err != nil || e.AdvertiseAddress != "10.10.0.2" {
		t.Errorf("unspecified address: %v %q", err, e.AdvertiseAddress)
	}
	opts.Interfaces = func() ([]HostInterface, error) {
		return []HostInterface{{Name: "lo", Up: true, Loopback: true, Addrs: []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("10.1.1.1")}}}, nil
	}
	e = APIEndpoint{AdvertiseAddress: "127.0.0.1"}
	if err := setAdvertiseAddress(&e, opts); err != nil || e.AdvertiseAddress != "10.1.1.1" {
		t.Errorf("loopback with a global address on lo: %v %q", err, e.AdvertiseAddress)
	}
}

func TestCRISocketDetection(t *testing.T) {
	quietWarnings(t)
	only := func(want string) func(string) bool {
		return func(p string) bool { return p == want }
	}
	cases := []struct {
		name   string
		given  string
		exists func(string) bool
		skip   bool
		want   string
	}{
		{"none found", "", func(string) bool { return false }, false, constants.DefaultCRISocket},
		{"crio found", "", only("/var/run/crio/crio.sock"), false, constants.CRIOSocket},
		{"skip detection", "", only("/var/run/crio/crio.sock"), true, constants.DefaultCRISocket},
		{"given with scheme", "unix:///x.sock", nil, false, "unix:///x.sock"},
		{"given without scheme", "/x.sock", nil, false, "unix:///x.sock"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := defaultCRISocket(tc.given, DynamicOptions{SocketExists: tc.exists, SkipCRIDetect: tc.skip})
			if err != nil || got != tc.want {
				t.Errorf("got %q %v, want %q", got, err, tc.want)
			}
		})
	}
}

func TestSetDynamicDefaultsJoinAndReset(t *testing.T) {
	quietWarnings(t)
	j := validJoinConfig()
	j.NodeRegistration = NodeRegistrationOptions{}
	if err := SetDynamicDefaultsJoin(j, testHost()); err != nil {
		t.Fatal(err)
	}
	if j.NodeRegistration.Name != "node-a" || j.NodeRegistration.Taints != nil || j.NodeRegistration.CRISocket != constants.DefaultCRISocket {
		t.Errorf("worker join nodeRegistration %+v", j.NodeRegistration)
	}
	cp := validJoinConfig()
	cp.ControlPlane = &JoinControlPlane{}
	SetDefaultsJoin(cp)
	if err := SetDynamicDefaultsJoin(cp, testHost()); err != nil {
		t.Fatal(err)
	}
	if len(cp.NodeRegistration.Taints) != 1 || cp.ControlPlane.LocalAPIEndpoint.AdvertiseAddress != "10.10.0.2" || cp.ControlPlane.LocalAPIEndpoint.BindPort != 6443 {
		t.Errorf("control-plane join %+v %+v", cp.NodeRegistration, cp.ControlPlane)
	}
	r := &ResetConfiguration{}
	if err := SetDynamicDefaultsReset(r, testHost()); err != nil || r.CRISocket != constants.DefaultCRISocket {
		t.Errorf("reset %v %q", err, r.CRISocket)
	}
}

func TestNormalizeKubernetesVersion(t *testing.T) {
	cases := []struct{ in, want, err string }{
		{"stable-1", constants.KubernetesVersion, ""},
		{"stable", constants.KubernetesVersion, ""},
		{"latest", constants.KubernetesVersion, ""},
		{"latest-1.37", constants.KubernetesVersion, ""},
		{"release/stable-1", constants.KubernetesVersion, ""},
		{"1.37.1", "v1.37.1", ""},
		{"v1.36.0", "v1.36.0", ""},
		{"v1.38.0-alpha.1", "v1.38.0-alpha.1", ""},
		{"v1.35.9", "", ">= v1.36.0"},
		{"1.37", "", "doesn't match"},
		{"", "", "doesn't match"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := NormalizeKubernetesVersion(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("got %q %v, want %q", got, err, tc.want)
			}
		})
	}
}

func TestHostInterfacesOnThisMachine(t *testing.T) {
	ifaces, err := hostInterfaces()
	if err != nil {
		t.Skipf("no interfaces: %v", err)
	}
	sawLoopback := false
	for _, ifc := range ifaces {
		sawLoopback = sawLoopback || ifc.Loopback
	}
	if !sawLoopback {
		t.Error("the loopback interface was not listed")
	}
}
