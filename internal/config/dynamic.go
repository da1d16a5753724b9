package config

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"regexp"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/version"
	bootstraputil "k8s.io/cluster-bootstrap/token/util"
	netutils "k8s.io/utils/net"

	"github.com/kubeadmin/kubeadmin/internal/constants"
)

// DynamicOptions supplies what dynamic defaulting learns from the host. A
// nil function uses the real host; tests inject their own.
type DynamicOptions struct {
	// Hostname returns the host name (default os.Hostname).
	Hostname func() (string, error)
	// Interfaces lists the network interfaces with their addresses and
	// whether they hold a default route (default: net.Interfaces plus
	// /proc/net/route and /proc/net/ipv6_route).
	Interfaces func() ([]HostInterface, error)
	// HostNetworks lists the host's networks (interface address prefixes
	// and route destinations) that the default pod subnet must not
	// overlap (default: net.Interfaces plus /proc/net/route and
	// /proc/net/ipv6_route).
	HostNetworks func() ([]netip.Prefix, error)
	// SocketExists reports whether a CRI socket path exists (default
	// os.Stat with a socket mode check).
	SocketExists func(path string) bool
	// SkipCRIDetect uses constants.DefaultCRISocket when criSocket is empty
	// instead of looking for the known sockets.
	SkipCRIDetect bool
}

// HostInterface is a network interface as dynamic defaulting sees it.
type HostInterface struct {
	Name         string
	Up           bool
	Loopback     bool
	DefaultRoute bool
	Addrs        []net.IP
}

// KnownCRISockets are the sockets CRI detection looks for, in kubeadm's
// order.
var KnownCRISockets = []string{constants.DefaultCRISocket, constants.CRIOSocket, constants.CRIDockerdSocket}

func (o DynamicOptions) withHostDefaults() DynamicOptions {
	if o.Hostname == nil {
		o.Hostname = os.Hostname
	}
	if o.Interfaces == nil {
		o.Interfaces = hostInterfaces
	}
	if o.HostNetworks == nil {
		o.HostNetworks = hostNetworks
	}
	if o.SocketExists == nil {
		o.SocketExists = isSocket
	}
	return o
}

// SetDynamicDefaultsInit fills what depends on the host and on other
// fields, as kubeadm's SetInitDynamicDefaults: random bootstrap tokens,
// node name, control-plane taint, CRI socket, advertise address, resolved
// Kubernetes version, controlPlaneEndpoint port, lower-cased certSANs and
// the component configurations. Unlike kubeadm it also fills an empty
// podSubnet (see ChoosePodSubnet). It never reaches the network.
func SetDynamicDefaultsInit(cfg *InitConfig, opts DynamicOptions) error {
	opts = opts.withHostDefaults()
	if err := GenerateMissingTokens(cfg.Init.BootstrapTokens); err != nil {
		return err
	}
	if err := setNodeRegistrationDefaults(&cfg.Init.NodeRegistration, true, opts); err != nil {
		return err
	}
	if err := setAdvertiseAddress(&cfg.Init.LocalAPIEndpoint, opts); err != nil {
		return err
	}
	return setClusterDynamicDefaults(cfg, opts)
}

// SetDynamicDefaultsJoin fills node name, taints (control-plane join only),
// CRI socket and, for a control-plane join, the advertise address.
func SetDynamicDefaultsJoin(cfg *JoinConfiguration, opts DynamicOptions) error {
	opts = opts.withHostDefaults()
	if err := setNodeRegistrationDefaults(&cfg.NodeRegistration, cfg.ControlPlane != nil, opts); err != nil {
		return err
	}
	if cfg.ControlPlane != nil {
		return setAdvertiseAddress(&cfg.ControlPlane.LocalAPIEndpoint, opts)
	}
	return nil
}

// SetDynamicDefaultsReset fills the CRI socket.
func SetDynamicDefaultsReset(cfg *ResetConfiguration, opts DynamicOptions) error {
	opts = opts.withHostDefaults()
	s, err := defaultCRISocket(cfg.CRISocket, opts)
	if err != nil {
		return err
	}
	cfg.CRISocket = s
	return nil
}

func setClusterDynamicDefaults(cfg *InitConfig, opts DynamicOptions) error {
	c := &cfg.Cluster
	v, err := NormalizeKubernetesVersion(c.KubernetesVersion)
	if err != nil {
		return err
	}
	c.KubernetesVersion = v
	if c.ControlPlaneEndpoint != "" {
		host, port, err := ParseHostPort(c.ControlPlaneEndpoint)
		if err != nil {
			return fmt.Errorf("invalid controlPlaneEndpoint %q: %w", c.ControlPlaneEndpoint, err)
		}
		if port == "" {
			c.ControlPlaneEndpoint = net.JoinHostPort(host, strconv.Itoa(int(cfg.Init.LocalAPIEndpoint.BindPort)))
		} else if port != strconv.Itoa(int(cfg.Init.LocalAPIEndpoint.BindPort)) {
			warnf("WARNING: port specified in controlPlaneEndpoint overrides bindPort in the controlplane address")
		}
	}
	setPodSubnetDefault(c, opts)
	for i, san := range c.APIServer.CertSANs {
		c.APIServer.CertSANs[i] = strings.ToLower(san)
	}
	SetComponentDefaults(cfg)
	return nil
}

// SetComponentDefaults creates or completes the KubeletConfiguration and
// KubeProxyConfiguration of cfg with kubeadm's values, warning where a
// user-supplied value differs from kubeadm's recommendation.
func SetComponentDefaults(cfg *InitConfig) {
	if cfg.Components.Kubelet == nil {
		cfg.Components.Kubelet = newKubeletConfiguration()
	}
	applyKubeletDefaults(cfg.Components.Kubelet, &cfg.Cluster)
	if cfg.Components.KubeProxy == nil {
		cfg.Components.KubeProxy = newKubeProxyConfiguration()
	}
	applyKubeProxyDefaults(cfg.Components.KubeProxy, &cfg.Cluster, cfg.Init.LocalAPIEndpoint.AdvertiseAddress)
}

// GenerateMissingTokens gives every token without a value a random one
// (init's dynamic default, and `token create` without a token argument).
func GenerateMissingTokens(tokens []BootstrapToken) error {
	for i := range tokens {
		if tokens[i].Token != nil && tokens[i].Token.String() != "" {
			continue
		}
		s, err := bootstraputil.GenerateBootstrapToken()
		if err != nil {
			return fmt.Errorf("failed to generate a random bootstrap token: %w", err)
		}
		id, secret, _ := strings.Cut(s, ".")
		tokens[i].Token = &BootstrapTokenString{ID: id, Secret: secret}
	}
	return nil
}

// ControlPlaneTaint is the taint kubeadm puts on control-plane nodes.
var ControlPlaneTaint = corev1.Taint{Key: constants.LabelNodeRoleControlPlane, Effect: corev1.TaintEffectNoSchedule}

func setNodeRegistrationDefaults(n *NodeRegistrationOptions, controlPlane bool, opts DynamicOptions) error {
	name, err := nodeName(n.Name, opts)
	if err != nil {
		return err
	}
	n.Name = name
	if controlPlane && n.Taints == nil {
		n.Taints = []corev1.Taint{ControlPlaneTaint}
	}
	s, err := defaultCRISocket(n.CRISocket, opts)
	if err != nil {
		return err
	}
	n.CRISocket = s
	return nil
}

// nodeName returns the given name, or the host name, trimmed and
// lower-cased like kubeadm's GetHostname.
func nodeName(given string, opts DynamicOptions) (string, error) {
	name := given
	if name == "" {
		h, err := opts.Hostname()
		if err != nil {
			return "", fmt.Errorf("failed to get the host name for the node name (set nodeRegistration.name or --node-name): %w", err)
		}
		name = h
	}
	name = strings.ToLower(strings.TrimSpace(name))
	if name == "" {
		return "", errors.New("empty node name is invalid; set nodeRegistration.name or --node-name")
	}
	return name, nil
}

// defaultCRISocket detects the CRI socket when none is given and adds the
// unix:// scheme to a bare path.
func defaultCRISocket(given string, opts DynamicOptions) (string, error) {
	if given != "" {
		if !strings.HasPrefix(given, constants.DefaultCRIURLScheme) {
			warnf("Usage of CRI endpoints without URL scheme is deprecated and can cause kubelet errors in the future. "+
				"Automatically prepending scheme %q to the \"criSocket\" with value %q. Please update your configuration!",
				constants.DefaultCRIURLScheme, given)
			return constants.DefaultCRIURLScheme + "://" + given, nil
		}
		return given, nil
	}
	if opts.SkipCRIDetect {
		return constants.DefaultCRISocket, nil
	}
	var found []string
	for _, s := range KnownCRISockets {
		if opts.SocketExists(strings.TrimPrefix(s, "unix://")) {
			found = append(found, s)
		}
	}
	switch len(found) {
	case 0:
		return constants.DefaultCRISocket, nil
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("found multiple CRI endpoints on the host. Please define which one do you wish to use by setting the 'criSocket' field in the kubeadm configuration file or with --cri-socket: %s",
		strings.Join(found, ", "))
}

func isSocket(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode()&os.ModeSocket != 0
}

// setAdvertiseAddress resolves an empty or unspecified advertise address to
// an address of this host, and a loopback one to a global address on the
// loopback interface, as kubeadm does.
func setAdvertiseAddress(e *APIEndpoint, opts DynamicOptions) error {
	ip := netutils.ParseIPSloppy(e.AdvertiseAddress)
	if ip == nil && e.AdvertiseAddress != "" {
		return fmt.Errorf("couldn't use %q as \"apiserver-advertise-address\", must be ipv4 or ipv6 address", e.AdvertiseAddress)
	}
	if ip != nil && !ip.IsLoopback() && !ip.IsUnspecified() {
		return nil
	}
	ifaces, err := opts.Interfaces()
	if err != nil {
		return fmt.Errorf("failed to list the network interfaces to choose an advertise address (pass --apiserver-advertise-address): %w", err)
	}
	if ip != nil && ip.IsLoopback() {
		for _, ifc := range ifaces {
			if ifc.Loopback && ifc.Up {
				if a := firstGlobalUnicast(ifc.Addrs, true); a != nil {
					e.AdvertiseAddress = a.String()
					return nil
				}
			}
		}
		return fmt.Errorf("advertise address %s is a loopback address and the loopback interface has no global address; kube-apiserver needs an address of this host: pass --apiserver-advertise-address or set localAPIEndpoint.advertiseAddress", ip)
	}
	chosen := ChooseAdvertiseAddress(ifaces)
	if chosen == nil {
		return errors.New("unable to choose an advertise address: no network interface that is up has a default route or a global unicast address; pass --apiserver-advertise-address or set localAPIEndpoint.advertiseAddress")
	}
	e.AdvertiseAddress = chosen.String()
	return nil
}

// ChooseAdvertiseAddress picks the address kubeadm would advertise: a
// global unicast address (IPv4 first) of an up interface that holds a
// default route, else of any up non-loopback interface (our test nodes have
// no default route). It returns nil when there is none.
func ChooseAdvertiseAddress(ifaces []HostInterface) net.IP {
	for _, needRoute := range []bool{true, false} {
		for _, v4 := range []bool{true, false} {
			for _, ifc := range ifaces {
				if !ifc.Up || ifc.Loopback || (needRoute && !ifc.DefaultRoute) {
					continue
				}
				for _, a := range ifc.Addrs {
					if a.IsGlobalUnicast() && (a.To4() != nil) == v4 {
						return a
					}
				}
			}
		}
	}
	return nil
}

func firstGlobalUnicast(addrs []net.IP, preferV4 bool) net.IP {
	for _, v4 := range []bool{preferV4, !preferV4} {
		for _, a := range addrs {
			if a.IsGlobalUnicast() && (a.To4() != nil) == v4 {
				return a
			}
		}
	}
	return nil
}

// hostInterfaces reads the host's interfaces and default routes.
func hostInterfaces() ([]HostInterface, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	routes := defaultRouteInterfaces()
	out := make([]HostInterface, 0, len(ifs))
	for _, ifc := range ifs {
		hi := HostInterface{
			Name:         ifc.Name,
			Up:           ifc.Flags&net.FlagUp != 0,
			Loopback:     ifc.Flags&net.FlagLoopback != 0,
			DefaultRoute: routes[ifc.Name],
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				hi.Addrs = append(hi.Addrs, n.IP)
			}
		}
		out = append(out, hi)
	}
	return out, nil
}

// defaultRouteInterfaces returns the interfaces that hold an IPv4 or IPv6
// default route, from /proc.
func defaultRouteInterfaces() map[string]bool {
	out := map[string]bool{}
	readLines("/proc/net/route", func(f []string) {
		// Iface Destination Gateway Flags RefCnt Use Metric Mask ...
		if len(f) >= 8 && f[1] == "00000000" && f[7] == "00000000" {
			out[f[0]] = true
		}
	})
	readLines("/proc/net/ipv6_route", func(f []string) {
		// dest destlen src srclen nexthop metric refcnt use flags iface
		if len(f) >= 10 && f[0] == strings.Repeat("0", 32) && f[1] == "00" && f[9] != "lo" {
			out[f[9]] = true
		}
	})
	return out
}

func readLines(path string, fn func(fields []string)) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fn(strings.Fields(sc.Text()))
	}
}

var (
	// versionLabelRE matches kubeadm's version labels (stable, stable-1,
	// latest-1.37, ...).
	versionLabelRE = regexp.MustCompile(`^((latest|stable)+(-[1-9](\.[1-9](\d)?)?)?)$`)
	// releaseVersionRE matches a semantic version with an optional "v".
	releaseVersionRE = regexp.MustCompile(`^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)([-\w.+]*)?$`)
)

// NormalizeKubernetesVersion resolves a version label (stable-1, stable,
// latest, latest-1.37, ...) to constants.KubernetesVersion without the
// network (kubeadm falls back to its own version offline, too), adds a
// missing "v" and rejects versions older than the minimum control plane.
func NormalizeKubernetesVersion(v string) (string, error) {
	s := strings.TrimPrefix(v, "release/")
	switch {
	case strings.HasPrefix(s, "ci/"):
		return "", fmt.Errorf("kubernetesVersion %q: CI versions need the network and are not supported by kubeadmin; give a version such as %s", v, constants.KubernetesVersion)
	case releaseVersionRE.MatchString(s):
		if !strings.HasPrefix(s, "v") {
			s = "v" + s
		}
	case versionLabelRE.MatchString(s):
		s = constants.KubernetesVersion
	default:
		return "", fmt.Errorf("kubernetesVersion %q doesn't match patterns for neither semantic version nor labels (stable, latest, ...); give a version such as %s", v, constants.KubernetesVersion)
	}
	if _, err := checkKubernetesVersion(s); err != nil {
		return "", err
	}
	return s, nil
}

// checkKubernetesVersion parses a semantic version and checks it against
// the minimum control-plane version.
func checkKubernetesVersion(v string) (*version.Version, error) {
	if !releaseVersionRE.MatchString(v) {
		return nil, fmt.Errorf("%q is not a semantic version or a version label; give a version such as %s", v, constants.KubernetesVersion)
	}
	parsed, err := version.ParseSemantic(v)
	if err != nil {
		return nil, fmt.Errorf("couldn't parse Kubernetes version %q: %w", v, err)
	}
	if parsed.LessThan(version.MustParseSemantic(constants.MinimumControlPlaneVersion)) {
		return nil, fmt.Errorf("this version of kubeadm only supports deploying clusters with the control plane version >= %s. Current version: %s",
			constants.MinimumControlPlaneVersion, v)
	}
	return parsed, nil
}
