package config

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/kubeadmin/kubeadmin/internal/constants"
)

func prefixes(ss ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

func TestChoosePodSubnet(t *testing.T) {
	for _, tc := range []struct {
		name, services string
		host           []netip.Prefix
		want           string
	}{
		{"test nodes", constants.DefaultServicesSubnet, prefixes("10.77.0.0/24", "10.96.0.0/12"), "10.244.0.0/16"},
		{"host on the first candidate", constants.DefaultServicesSubnet, prefixes("10.244.3.0/24"), "10.245.0.0/16"},
		{"host route covering 10/8", constants.DefaultServicesSubnet, prefixes("10.0.0.0/8"), "172.24.0.0/16"},
		{"service subnet on the first candidates", "10.240.0.0/12", prefixes("172.24.10.0/24"), "192.168.192.0/18"},
		{"nothing free", constants.DefaultServicesSubnet, prefixes("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"), ""},
		{"ipv6", "fd00:10:96::/112", prefixes("fd00:10:244:1::/64"), "fd00:10:245::/56"},
		{"dual stack keeps the service order", "fd00:10:96::/112,10.96.0.0/12", nil, "fd00:10:244::/56,10.244.0.0/16"},
		{"an IPv6 host network does not block IPv4", constants.DefaultServicesSubnet, prefixes("::/1"), "10.244.0.0/16"},
		{"bad service subnet", "nonsense", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ChoosePodSubnet(tc.services, tc.host); got != tc.want {
				t.Errorf("ChoosePodSubnet(%q, %v) = %q, want %q", tc.services, tc.host, got, tc.want)
			}
		})
	}
}

func TestCandidatesFitTheDefaultNodeMask(t *testing.T) {
	for _, s := range append(append([]string(nil), PodSubnetCandidatesV4...), PodSubnetCandidatesV6...) {
		c := &ClusterConfiguration{}
		SetDefaultsCluster(c)
		c.Networking.PodSubnet = s
		if p := netip.MustParsePrefix(s); p.Addr().Is6() {
			c.Networking.ServiceSubnet = "fd00:10:96::/112"
		}
		if errs := validatePodSubnetNodeMask(s, c, nil); len(errs) > 0 {
			t.Errorf("candidate %s: %v", s, errs)
		}
	}
}

func TestInitDefaultsPodSubnet(t *testing.T) {
	quietWarnings(t)
	opts := testHost()
	opts.HostNetworks = func() ([]netip.Prefix, error) { return prefixes("10.244.0.0/20"), nil }
	cfg := DefaultInitConfig()
	if err := SetDynamicDefaultsInit(cfg, opts); err != nil {
		t.Fatal(err)
	}
	if got := cfg.Cluster.Networking.PodSubnet; got != "10.245.0.0/16" {
		t.Errorf("podSubnet %q, want 10.245.0.0/16 (10.244.0.0/16 overlaps the host)", got)
	}
	if got := cfg.Components.KubeProxy.ClusterCIDR; got != "10.245.0.0/16" {
		t.Errorf("kube-proxy clusterCIDR %q, want the defaulted podSubnet", got)
	}
	if err := ValidateInitConfig(cfg); err != nil {
		t.Errorf("defaulted configuration does not validate: %v", err)
	}

	user := DefaultInitConfig()
	user.Cluster.Networking.PodSubnet = "10.244.0.0/16"
	if err := SetDynamicDefaultsInit(user, opts); err != nil {
		t.Fatal(err)
	}
	if got := user.Cluster.Networking.PodSubnet; got != "10.244.0.0/16" {
		t.Errorf("user podSubnet changed to %q", got)
	}
}

func TestInitDefaultsPodSubnetHostUnreadable(t *testing.T) {
	warnings := quietWarnings(t)
	opts := testHost()
	opts.HostNetworks = func() ([]netip.Prefix, error) { return nil, errors.New("no /proc") }
	cfg := DefaultInitConfig()
	if err := SetDynamicDefaultsInit(cfg, opts); err != nil {
		t.Fatal(err)
	}
	if got := cfg.Cluster.Networking.PodSubnet; got != "" {
		t.Errorf("podSubnet %q without host information, want it left empty", got)
	}
	if w := *warnings; len(w) != 1 || !strings.Contains(w[0], "--pod-network-cidr") {
		t.Errorf("warnings %q, want one naming --pod-network-cidr", w)
	}
}

func TestPrintInitDefaultsKeepsPodSubnetEmpty(t *testing.T) {
	if got := InitDefaultsForPrint().Cluster.Networking.PodSubnet; got != "" {
		t.Errorf("print init-defaults podSubnet %q, want kubeadm's empty value", got)
	}
}

func TestProcRouteParsing(t *testing.T) {
	// 10.96.0.0/12 as /proc/net/route shows it on little-endian hosts.
	if p, ok := procRoute4("0000600A", "0000F0FF"); !ok || p != netip.MustParsePrefix("10.96.0.0/12") {
		t.Errorf("procRoute4 = %v, %v", p, ok)
	}
	if p, ok := procRoute6("fd000010024400000000000000000000", "38"); !ok || p != netip.MustParsePrefix("fd00:10:244::/56") {
		t.Errorf("procRoute6 = %v, %v", p, ok)
	}
	if _, ok := procRoute4("zz", "0000F0FF"); ok {
		t.Error("procRoute4 accepted a bad destination")
	}
}

func TestHostNetworksOfThisHost(t *testing.T) {
	nets, err := hostNetworks()
	if err != nil {
		t.Skipf("no interfaces: %v", err)
	}
	for _, p := range nets {
		if p.Bits() == 0 || p.Addr().IsLoopback() {
			t.Errorf("hostNetworks returned %v", p)
		}
	}
}
