// Package network is kubeadmin's built-in pod network, used when the
// user brings none (agent flag --pod-network=builtin, the default). It
// runs in the node agent, as root, in the node's network namespace:
//
//   - CNI: once this Node has spec.podCIDR, Run writes
//     <ConfDir>/10-kubeadmin.conflist (Render): bridge cni0 with
//     host-local IPAM over the node's CIDR, and portmap. containerd sets
//     up loopback itself. The file is written atomically and only when its
//     content changes; no other file in ConfDir is touched.
//   - Routes, host-gateway style: <podCIDR> via <InternalIP> in the main
//     table for every other Node, tagged with RouteProtocol so that only
//     our routes are ever replaced or removed. The nodes must share an L2
//     segment (the test nodes share one bridge).
//   - Masquerade: a nat chain KUBEADMIN-POSTROUTING, jumped to from
//     POSTROUTING, masquerades traffic from this node's pods to anything
//     outside the cluster's pod CIDRs (IPv4 only).
//
// NetworkPolicy is not enforced. Cleanup undoes all of it for reset.
//
// Netlink: four requests (dump, replace and delete routes, delete a link)
// are made with our own code over golang.org/x/sys/unix. Measured with
// `make build` flags (-trimpath -s -w), this package adds 108 KiB to
// kubeadmin; calling the same operations through vishvananda/netlink
// v1.3.1 adds 308 KiB more, through jsimonetti/rtnetlink v2.3.0 404 KiB
// more. The Node cache is a plain store of trimmed Nodes (name, pod CIDRs,
// addresses) rather than a shared informer, for the same reason and for
// the agent's memory.
package network
