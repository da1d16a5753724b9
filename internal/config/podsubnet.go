package config

import (
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// Pod subnet default.
//
// kubeadm leaves networking.podSubnet empty unless --pod-network-cidr is
// given, and then controller-manager allocates no node CIDRs and the
// built-in pod network has nothing to hand out. kubeadmin picks one at init
// time (SetDynamicDefaultsInit) when the user left it empty: the first
// candidate of each IP family of the service subnet that overlaps neither
// the service subnet nor a network of the host (interface addresses with
// their prefix, and route destinations). `config print init-defaults`
// keeps kubeadm's empty podSubnet; the chosen value is what init renders
// into kube-controller-manager (--allocate-node-cidrs, --cluster-cidr),
// kube-proxy's clusterCIDR and the kubeadm-config ConfigMap.

// PodSubnetCandidatesV4 are the IPv4 pod subnets tried in order. The first
// is flannel's well-known default; the others are in other private ranges
// for hosts that already use it. Each is large enough for the default
// node CIDR mask (/24).
var PodSubnetCandidatesV4 = []string{"10.244.0.0/16", "10.245.0.0/16", "172.24.0.0/16", "192.168.192.0/18"}

// PodSubnetCandidatesV6 are the IPv6 pod subnets tried in order (the
// default node mask is /64).
var PodSubnetCandidatesV6 = []string{"fd00:10:244::/56", "fd00:10:245::/56", "fd6b:6164:6d6e::/56"}

// BuiltinBridgeName is the bridge of the built-in pod network; its
// addresses are our own pod CIDR, not a host network, and are ignored
// when choosing the pod subnet again.
const BuiltinBridgeName = "cni0"

// ChoosePodSubnet returns the default podSubnet for serviceSubnet (one or
// two comma-separated CIDRs, as validated): for each family of the service
// subnet, in its order, the first candidate that overlaps neither the
// service subnet nor any of hostNets. It returns "" when the service
// subnet does not parse or a family has no free candidate.
func ChoosePodSubnet(serviceSubnet string, hostNets []netip.Prefix) string {
	var services []netip.Prefix
	for _, s := range strings.Split(serviceSubnet, ",") {
		p, err := netip.ParsePrefix(strings.TrimSpace(s))
		if err != nil {
			return ""
		}
		services = append(services, p.Masked())
	}
	taken := append(append([]netip.Prefix(nil), services...), hostNets...)
	var chosen []string
	for _, svc := range services {
		candidates := PodSubnetCandidatesV4
		if svc.Addr().Is6() {
			candidates = PodSubnetCandidatesV6
		}
		pick := ""
		for _, c := range candidates {
			p := netip.MustParsePrefix(c)
			if !overlapsAny(p, taken) {
				pick = c
				break
			}
		}
		if pick == "" {
			return ""
		}
		chosen = append(chosen, pick)
	}
	return strings.Join(chosen, ",")
}

func overlapsAny(p netip.Prefix, list []netip.Prefix) bool {
	for _, q := range list {
		if q.Addr().Is4() == p.Addr().Is4() && q.Overlaps(p) {
			return true
		}
	}
	return false
}

// setPodSubnetDefault fills an empty podSubnet from the host's networks.
func setPodSubnetDefault(c *ClusterConfiguration, opts DynamicOptions) {
	if c.Networking.PodSubnet != "" {
		return
	}
	nets, err := opts.HostNetworks()
	if err != nil {
		warnf("WARNING: could not read the host's networks to choose a pod subnet (%v); set networking.podSubnet or --pod-network-cidr, or nodes get no pod CIDR", err)
		return
	}
	s := ChoosePodSubnet(c.Networking.ServiceSubnet, nets)
	if s == "" {
		warnf("WARNING: no default pod subnet fits this host (tried %s and %s); set networking.podSubnet or --pod-network-cidr, or nodes get no pod CIDR",
			strings.Join(PodSubnetCandidatesV4, ", "), strings.Join(PodSubnetCandidatesV6, ", "))
		return
	}
	c.Networking.PodSubnet = s
}

// hostNetworks lists the prefixes of the host's interface addresses and
// the destinations of its routes (IPv4 and IPv6), without default routes,
// loopback, link-local and the built-in bridge.
func hostNetworks() ([]netip.Prefix, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	var out []netip.Prefix
	add := func(p netip.Prefix) {
		a := p.Addr()
		if p.Bits() == 0 || a.IsLoopback() || a.IsLinkLocalUnicast() || a.IsMulticast() {
			return
		}
		out = append(out, p.Masked())
	}
	for _, ifc := range ifs {
		if ifc.Name == BuiltinBridgeName {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				if p, ok := prefixOf(n); ok {
					add(p)
				}
			}
		}
	}
	readLines("/proc/net/route", func(f []string) {
		// Iface Destination Gateway Flags RefCnt Use Metric Mask ...
		if len(f) < 8 || f[0] == BuiltinBridgeName {
			return
		}
		if p, ok := procRoute4(f[1], f[7]); ok {
			add(p)
		}
	})
	readLines("/proc/net/ipv6_route", func(f []string) {
		// dest destlen src srclen nexthop metric refcnt use flags iface
		if len(f) < 10 || f[9] == BuiltinBridgeName || f[9] == "lo" {
			return
		}
		if p, ok := procRoute6(f[0], f[1]); ok {
			add(p)
		}
	})
	return out, nil
}

func prefixOf(n *net.IPNet) (netip.Prefix, bool) {
	a, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	ones, bits := n.Mask.Size()
	if bits != a.BitLen() {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(a, ones), true
}

// procRoute4 parses a destination and mask of /proc/net/route (hex, in
// host byte order, which is little-endian on every platform we build).
func procRoute4(dst, mask string) (netip.Prefix, bool) {
	d, ok1 := hexLE4(dst)
	m, ok2 := hexLE4(mask)
	if !ok1 || !ok2 {
		return netip.Prefix{}, false
	}
	ones, bits := net.IPMask(m[:]).Size()
	if bits == 0 {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(netip.AddrFrom4(d), ones), true
}

func hexLE4(s string) ([4]byte, bool) {
	var b [4]byte
	if len(s) != 8 {
		return b, false
	}
	for i := 0; i < 4; i++ {
		v, ok := hexByte(s[2*i : 2*i+2])
		if !ok {
			return b, false
		}
		b[3-i] = v
	}
	return b, true
}

// procRoute6 parses a destination and prefix length of /proc/net/ipv6_route.
func procRoute6(dst, plen string) (netip.Prefix, bool) {
	var b [16]byte
	if len(dst) != 32 {
		return netip.Prefix{}, false
	}
	for i := range b {
		v, ok := hexByte(dst[2*i : 2*i+2])
		if !ok {
			return netip.Prefix{}, false
		}
		b[i] = v
	}
	l, ok := hexByte(plen)
	if !ok || l > 128 {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(netip.AddrFrom16(b), int(l)), true
}

func hexByte(s string) (byte, bool) {
	v, err := strconv.ParseUint(s, 16, 8)
	return byte(v), err == nil && len(s) == 2
}
