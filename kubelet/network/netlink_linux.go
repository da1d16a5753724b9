package network

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// A few rtnetlink requests on a NETLINK_ROUTE socket: dump, replace and
// delete routes, delete a link. This is our own code over x/sys/unix
// rather than vishvananda/netlink or jsimonetti/rtnetlink because the
// agent needs four requests and the libraries add code to every binary
// (see the package documentation for the measured sizes).

const (
	nlmsgHdrLen   = unix.SizeofNlMsghdr
	rtmsgLen      = unix.SizeofRtMsg
	ifinfomsgLen  = unix.SizeofIfInfomsg
	rtattrHdrLen  = unix.SizeofRtAttr
	netlinkBufLen = 1 << 16
)

var netlinkSeq atomic.Uint32

// netlinkRequest sends one request and returns the payloads of the
// replies (for a dump) or nil after the kernel's acknowledgement.
func netlinkRequest(typ, flags uint16, body []byte) ([][]byte, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("netlink socket: %w", err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, fmt.Errorf("netlink bind: %w", err)
	}
	seq := netlinkSeq.Add(1)
	msg := make([]byte, nlmsgHdrLen, nlmsgHdrLen+len(body))
	binary.NativeEndian.PutUint32(msg[0:], uint32(nlmsgHdrLen+len(body)))
	binary.NativeEndian.PutUint16(msg[4:], typ)
	binary.NativeEndian.PutUint16(msg[6:], flags|unix.NLM_F_REQUEST|unix.NLM_F_ACK)
	binary.NativeEndian.PutUint32(msg[8:], seq)
	msg = append(msg, body...)
	if err := unix.Sendto(fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, fmt.Errorf("netlink send: %w", err)
	}
	var out [][]byte
	buf := make([]byte, netlinkBufLen)
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			return nil, fmt.Errorf("netlink receive: %w", err)
		}
		b := buf[:n]
		for len(b) >= nlmsgHdrLen {
			l := int(binary.NativeEndian.Uint32(b[0:]))
			if l < nlmsgHdrLen || l > len(b) {
				return nil, errors.New("netlink: truncated message")
			}
			mtype := binary.NativeEndian.Uint16(b[4:])
			mseq := binary.NativeEndian.Uint32(b[8:])
			payload := b[nlmsgHdrLen:l]
			b = b[min(align4(l), len(b)):]
			if mseq != seq {
				continue
			}
			switch mtype {
			case unix.NLMSG_DONE:
				return out, nil
			case unix.NLMSG_ERROR:
				if len(payload) < 4 {
					return nil, errors.New("netlink: short error message")
				}
				if e := int32(binary.NativeEndian.Uint32(payload)); e != 0 {
					return nil, unix.Errno(-e)
				}
				return out, nil // the acknowledgement
			default:
				out = append(out, append([]byte(nil), payload...))
			}
		}
	}
}

func align4(n int) int { return (n + 3) &^ 3 }

// rtattr encodes one attribute.
func rtattr(typ uint16, data []byte) []byte {
	b := make([]byte, align4(rtattrHdrLen+len(data)))
	binary.NativeEndian.PutUint16(b[0:], uint16(rtattrHdrLen+len(data)))
	binary.NativeEndian.PutUint16(b[2:], typ)
	copy(b[rtattrHdrLen:], data)
	return b
}

// parseAttrs splits attributes into type → data (the last one wins).
func parseAttrs(b []byte) map[uint16][]byte {
	out := map[uint16][]byte{}
	for len(b) >= rtattrHdrLen {
		l := int(binary.NativeEndian.Uint16(b[0:]))
		if l < rtattrHdrLen || l > len(b) {
			break
		}
		out[binary.NativeEndian.Uint16(b[2:])&^unix.NLA_F_NESTED] = b[rtattrHdrLen:l]
		b = b[min(align4(l), len(b)):]
	}
	return out
}

func family(p netip.Prefix) uint8 {
	if p.Addr().Is4() {
		return unix.AF_INET
	}
	return unix.AF_INET6
}

// rtmsg encodes a route header for the main table.
func rtmsg(fam, dstLen, protocol, scope, typ uint8) []byte {
	b := make([]byte, rtmsgLen)
	b[0], b[1], b[4], b[5], b[6], b[7] = fam, dstLen, unix.RT_TABLE_MAIN, protocol, scope, typ
	return b
}

// mainRoutes lists the main-table unicast routes with a destination of
// one family: ours (RouteProtocol, with a gateway) and the destinations
// of the others.
func mainRoutes(fam uint8) (ours []Route, others map[netip.Prefix]bool, err error) {
	msgs, err := netlinkRequest(unix.RTM_GETROUTE, unix.NLM_F_DUMP, rtmsg(fam, 0, 0, 0, 0))
	if err != nil {
		return nil, nil, fmt.Errorf("failed to list routes: %w", err)
	}
	others = map[netip.Prefix]bool{}
	for _, m := range msgs {
		if len(m) < rtmsgLen || m[0] != fam {
			continue
		}
		attrs := parseAttrs(m[rtmsgLen:])
		table := uint32(m[4])
		if t, ok := attrs[unix.RTA_TABLE]; ok && len(t) == 4 {
			table = binary.NativeEndian.Uint32(t)
		}
		if table != unix.RT_TABLE_MAIN || m[7] != unix.RTN_UNICAST {
			continue
		}
		dst, ok := netip.AddrFromSlice(attrs[unix.RTA_DST])
		if !ok {
			continue // the default route has no RTA_DST
		}
		p := netip.PrefixFrom(dst, int(m[1]))
		if m[5] != RouteProtocol {
			others[p] = true
			continue
		}
		gw, _ := netip.AddrFromSlice(attrs[unix.RTA_GATEWAY])
		ours = append(ours, Route{Dst: p, Gateway: gw})
	}
	return ours, others, nil
}

func routeBody(r Route, scope uint8) []byte {
	b := rtmsg(family(r.Dst), uint8(r.Dst.Bits()), RouteProtocol, scope, unix.RTN_UNICAST)
	b = append(b, rtattr(unix.RTA_DST, r.Dst.Addr().AsSlice())...)
	if r.Gateway.IsValid() {
		b = append(b, rtattr(unix.RTA_GATEWAY, r.Gateway.AsSlice())...)
	}
	return b
}

// replaceRoute creates r, or replaces our route to the same destination.
func replaceRoute(r Route) error {
	if _, err := netlinkRequest(unix.RTM_NEWROUTE, unix.NLM_F_CREATE|unix.NLM_F_REPLACE, routeBody(r, unix.RT_SCOPE_UNIVERSE)); err != nil {
		return fmt.Errorf("failed to add route %s: %w", r, err)
	}
	return nil
}

// deleteRoute deletes our route r; the kernel matches the protocol, so a
// route of someone else is never deleted. A route already gone is fine.
func deleteRoute(r Route) error {
	_, err := netlinkRequest(unix.RTM_DELROUTE, 0, routeBody(r, unix.RT_SCOPE_NOWHERE))
	if err != nil && !errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("failed to delete route %s: %w", r, err)
	}
	return nil
}

// deleteLink deletes the named link; a missing link is fine.
func deleteLink(name string) error {
	b := make([]byte, ifinfomsgLen)
	b[0] = unix.AF_UNSPEC
	b = append(b, rtattr(unix.IFLA_IFNAME, append([]byte(name), 0))...)
	_, err := netlinkRequest(unix.RTM_DELLINK, 0, b)
	if err != nil && !errors.Is(err, unix.ENODEV) {
		return fmt.Errorf("failed to delete link %s: %w", name, err)
	}
	return nil
}

// Address families, as the rtmsg header holds them.
const (
	afInet  = unix.AF_INET
	afInet6 = unix.AF_INET6
)
