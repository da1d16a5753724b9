package network

import (
	"encoding/json"
	"fmt"
	"net/netip"
)

// CNI configuration of the built-in network.
const (
	// ConfFileName is the conflist the agent writes in the CNI
	// configuration directory; no other file there is touched.
	ConfFileName = "10-kubeadmin.conflist"
	// DefaultConfDir is containerd's default CNI configuration directory.
	DefaultConfDir = "/etc/cni/net.d"
	// NetworkName is the CNI network name.
	NetworkName = "kubeadmin"
	// BridgeName is the Linux bridge the bridge plugin creates; the same
	// name internal/config skips when it reads the host's networks.
	BridgeName = "cni0"

	cniVersion  = "1.0.0"
	confMode    = 0o644
	confDirMode = 0o755
)

type conflist struct {
	CNIVersion string `json:"cniVersion"`
	Name       string `json:"name"`
	Plugins    []any  `json:"plugins"`
}

type bridgePlugin struct {
	Type        string `json:"type"`
	Bridge      string `json:"bridge"`
	IsGateway   bool   `json:"isGateway"`
	IPMasq      bool   `json:"ipMasq"`
	HairpinMode bool   `json:"hairpinMode"`
	IPAM        ipam   `json:"ipam"`
}

type ipam struct {
	Type   string        `json:"type"`
	Ranges [][]ipamRange `json:"ranges"`
	Routes []ipamRoute   `json:"routes"`
}

type ipamRange struct {
	Subnet string `json:"subnet"`
}

type ipamRoute struct {
	Dst string `json:"dst"`
}

type portmapPlugin struct {
	Type         string          `json:"type"`
	Capabilities map[string]bool `json:"capabilities"`
	SNAT         bool            `json:"snat"`
}

// Render returns the CNI conflist for a node whose spec.podCIDR is
// podCIDR: the bridge plugin (cni0, the pods' gateway, hairpin on, no
// masquerade of its own: the agent's KUBEADMIN-POSTROUTING chain does it)
// with host-local IPAM over the node's CIDR in its default data directory
// (/var/lib/cni/networks), then portmap for hostPort. There is no loopback
// entry: containerd's CRI plugin brings up lo in every sandbox itself.
func Render(podCIDR string) ([]byte, error) {
	p, err := netip.ParsePrefix(podCIDR)
	if err != nil {
		return nil, fmt.Errorf("invalid node spec.podCIDR %q: %w", podCIDR, err)
	}
	p = p.Masked()
	defaultRoute := "0.0.0.0/0"
	if p.Addr().Is6() {
		defaultRoute = "::/0"
	}
	c := conflist{
		CNIVersion: cniVersion,
		Name:       NetworkName,
		Plugins: []any{
			bridgePlugin{
				Type:        "bridge",
				Bridge:      BridgeName,
				IsGateway:   true,
				IPMasq:      false,
				HairpinMode: true,
				IPAM: ipam{
					Type:   "host-local",
					Ranges: [][]ipamRange{{{Subnet: p.String()}}},
					Routes: []ipamRoute{{Dst: defaultRoute}},
				},
			},
			portmapPlugin{
				Type:         "portmap",
				Capabilities: map[string]bool{"portMappings": true},
				SNAT:         true,
			},
		},
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
