package network

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os/exec"
	"slices"
	"sort"
	"strings"
)

// Masquerade of pod traffic that leaves the cluster.
//
// The rules go through the iptables binaries rather than a Go library:
// kube-proxy and the portmap plugin already use the host's iptables, so
// its backend (nft or legacy) and its lock are the ones they use; the Go
// wrappers (go-iptables) exec the same binaries, and a netfilter library
// (google/nftables) would add code and could pick a different backend.
const (
	// MasqueradeChain is our chain in the nat table, jumped to from
	// POSTROUTING.
	MasqueradeChain = "KUBEADMIN-POSTROUTING"

	iptablesPath        = "/usr/sbin/iptables"
	iptablesRestorePath = "/usr/sbin/iptables-restore"
	// iptablesWaitSeconds is how long to wait for the xtables lock.
	iptablesWaitSeconds = "5"
	masqComment         = "kubeadmin pod network masquerade"
	// multicastV4 is never masqueraded.
	multicastV4 = "224.0.0.0/4"
)

// jumpRule is the POSTROUTING rule that sends traffic to our chain.
var jumpRule = []string{"POSTROUTING", "-m", "comment", "--comment", masqComment, "-j", MasqueradeChain}

// MasqueradeRules returns the iptables-restore input (nat table, applied
// with --noflush so that only our chain is replaced) for a node whose pods
// are in podCIDR: traffic from them to a destination outside every
// cluster CIDR (the cluster's pod subnet and the nodes' pod CIDRs) and not
// multicast is masqueraded. IPv6 CIDRs are skipped: the built-in
// masquerade is IPv4 only. It returns nil when podCIDR is not IPv4.
func MasqueradeRules(podCIDR string, clusterCIDRs []string) []byte {
	src, err := netip.ParsePrefix(podCIDR)
	if err != nil || !src.Addr().Is4() {
		return nil
	}
	dsts := ipv4Prefixes(append([]string{podCIDR}, clusterCIDRs...))
	var b bytes.Buffer
	b.WriteString("*nat\n")
	fmt.Fprintf(&b, ":%s - [0:0]\n", MasqueradeChain)
	for _, d := range dsts {
		fmt.Fprintf(&b, "-A %s -d %s -j RETURN\n", MasqueradeChain, d)
	}
	fmt.Fprintf(&b, "-A %s -d %s -j RETURN\n", MasqueradeChain, multicastV4)
	fmt.Fprintf(&b, "-A %s -s %s -j MASQUERADE\n", MasqueradeChain, src.Masked())
	b.WriteString("COMMIT\n")
	return b.Bytes()
}

// ipv4Prefixes parses and masks the IPv4 CIDRs of list (entries may be
// comma-separated) and drops those inside another one, sorted.
func ipv4Prefixes(list []string) []netip.Prefix {
	var all []netip.Prefix
	for _, s := range list {
		for _, part := range strings.Split(s, ",") {
			p, err := netip.ParsePrefix(strings.TrimSpace(part))
			if err == nil && p.Addr().Is4() {
				all = append(all, p.Masked())
			}
		}
	}
	// Widest first, so that a prefix is kept only if no kept one holds it.
	sort.Slice(all, func(i, j int) bool { return all[i].Bits() < all[j].Bits() })
	var out []netip.Prefix
	for _, p := range all {
		if !slices.ContainsFunc(out, func(q netip.Prefix) bool { return q.Contains(p.Addr()) }) {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Addr().Less(out[j].Addr()) })
	return out
}

// runner runs a command with stdin and returns its combined output.
type runner func(ctx context.Context, stdin []byte, name string, args ...string) ([]byte, error)

func execRunner(ctx context.Context, stdin []byte, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return out, nil
}

// iptables applies and removes our masquerade rules.
type iptables struct{ run runner }

func (t iptables) nat(ctx context.Context, args ...string) error {
	_, err := t.run(ctx, nil, iptablesPath, append([]string{"-w", iptablesWaitSeconds, "-t", "nat"}, args...)...)
	return err
}

// apply replaces our chain with rules and makes sure POSTROUTING jumps to
// it once. It is idempotent.
func (t iptables) apply(ctx context.Context, rules []byte) error {
	if _, err := t.run(ctx, rules, iptablesRestorePath, "-w", iptablesWaitSeconds, "--noflush"); err != nil {
		return err
	}
	if t.nat(ctx, append([]string{"-C"}, jumpRule...)...) == nil {
		return nil
	}
	return t.nat(ctx, append([]string{"-A"}, jumpRule...)...)
}

// maxJumpRules bounds the removal of duplicate jumps in cleanup.
const maxJumpRules = 16

// cleanup removes every jump to our chain and the chain itself; a chain
// that is not there is not an error.
func (t iptables) cleanup(ctx context.Context) error {
	if t.nat(ctx, "-S", MasqueradeChain) != nil {
		return nil // no chain, so no jump to it either
	}
	for i := 0; i < maxJumpRules && t.nat(ctx, append([]string{"-C"}, jumpRule...)...) == nil; i++ {
		if err := t.nat(ctx, append([]string{"-D"}, jumpRule...)...); err != nil {
			return err
		}
	}
	return errors.Join(t.nat(ctx, "-F", MasqueradeChain), t.nat(ctx, "-X", MasqueradeChain))
}
