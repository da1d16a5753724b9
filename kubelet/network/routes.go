package network

import (
	"net/netip"
	"sort"

	v1 "k8s.io/api/core/v1"
)

// RouteProtocol tags the routes of the built-in network (rtm_protocol).
// Only routes with this protocol are ever listed as ours or removed.
// 107 is unassigned in iproute2's rt_protos (Calico uses 80, BIRD 12).
const RouteProtocol = 107

// Route is one host-gateway route: another node's pod CIDR through that
// node's InternalIP, in the main table.
type Route struct {
	Dst     netip.Prefix
	Gateway netip.Addr
}

func (r Route) String() string { return r.Dst.String() + " via " + r.Gateway.String() }

// DesiredRoutes returns the routes to every node but self that has a pod
// CIDR and an InternalIP of the same family, sorted by destination. A
// node without either gets no route.
func DesiredRoutes(nodes []*v1.Node, self string) []Route {
	var out []Route
	for _, n := range nodes {
		if n.Name == self {
			continue
		}
		for _, c := range nodeCIDRs(n) {
			if gw, ok := internalIP(n, c.Addr().Is4()); ok {
				out = append(out, Route{Dst: c, Gateway: gw})
			}
		}
	}
	sortRoutes(out)
	return out
}

// DiffRoutes compares the desired routes with our current (tagged)
// routes. add holds the routes to create or replace (new, or a changed
// gateway); remove holds ours whose destination is no longer desired at
// all (a changed gateway is fixed by the replace, not a removal).
func DiffRoutes(desired, current []Route) (add, remove []Route) {
	have := map[Route]bool{}
	for _, r := range current {
		have[r] = true
	}
	want := map[netip.Prefix]bool{}
	for _, r := range desired {
		want[r.Dst] = true
		if !have[r] {
			add = append(add, r)
		}
	}
	for _, r := range current {
		if !want[r.Dst] {
			remove = append(remove, r)
		}
	}
	sortRoutes(add)
	sortRoutes(remove)
	return add, remove
}

func sortRoutes(rs []Route) {
	sort.Slice(rs, func(i, j int) bool {
		if c := rs[i].Dst.Addr().Compare(rs[j].Dst.Addr()); c != 0 {
			return c < 0
		}
		if rs[i].Dst.Bits() != rs[j].Dst.Bits() {
			return rs[i].Dst.Bits() < rs[j].Dst.Bits()
		}
		return rs[i].Gateway.Less(rs[j].Gateway)
	})
}

// nodeCIDRs returns the node's pod CIDRs (spec.podCIDRs, else
// spec.podCIDR), masked, skipping any that do not parse.
func nodeCIDRs(n *v1.Node) []netip.Prefix {
	list := n.Spec.PodCIDRs
	if len(list) == 0 && n.Spec.PodCIDR != "" {
		list = []string{n.Spec.PodCIDR}
	}
	var out []netip.Prefix
	for _, s := range list {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
		}
	}
	return out
}

// internalIP returns the node's first InternalIP of the family.
func internalIP(n *v1.Node, v4 bool) (netip.Addr, bool) {
	for _, a := range n.Status.Addresses {
		if a.Type != v1.NodeInternalIP {
			continue
		}
		ip, err := netip.ParseAddr(a.Address)
		if err != nil {
			continue
		}
		ip = ip.Unmap()
		if ip.Is4() == v4 {
			return ip, true
		}
	}
	return netip.Addr{}, false
}
