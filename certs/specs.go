package certs

import (
	"crypto/x509"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
	netutils "k8s.io/utils/net"

	"github.com/kubeadmin/kubeadmin/internal/config"
	"github.com/kubeadmin/kubeadmin/internal/constants"
)

// Kind tells CAs, leaf certificates and the service-account key apart.
type Kind int

// The kinds of PKI entries.
const (
	KindCA Kind = iota
	KindLeaf
	KindServiceAccountKey
)

// Spec describes one entry of the PKI as kubeadm defines it.
type Spec struct {
	// Name is the phase name, e.g. "apiserver" or "etcd-ca".
	Name string
	// LongName is kubeadm's description, used by renew and in help texts.
	LongName string
	// BaseName is the file name without extension below the certificates
	// directory, e.g. "etcd/server".
	BaseName string
	// Kind is CA, leaf or the service-account key pair.
	Kind Kind
	// CAName is the Name of the signing CA; empty for CAs and sa.
	CAName string
	// CommonName and Organization are the subject.
	CommonName   string
	Organization []string
	// Usages are the extended key usages of a leaf.
	Usages []x509.ExtKeyUsage

	// altNames returns the SANs of a leaf (nil for none).
	altNames func(cfg *config.InitConfig) (*AltNames, error)
}

// AltName is one required subject alternative name and the configuration
// field it comes from (used in error messages).
type AltName struct {
	DNS    string
	IP     net.IP
	Source string
}

// String returns "DNS <name>" or "IP <addr>".
func (a AltName) String() string {
	if a.IP != nil {
		return "IP " + a.IP.String()
	}
	return "DNS " + a.DNS
}

// AltNames is the ordered list of SANs of a certificate.
type AltNames struct {
	Names []AltName
}

func (a *AltNames) addDNS(name, source string) {
	a.Names = append(a.Names, AltName{DNS: name, Source: source})
}

func (a *AltNames) addIP(ip net.IP, source string) {
	a.Names = append(a.Names, AltName{IP: ip, Source: source})
}

// DNSNames returns the DNS SANs de-duplicated and sorted, as kubeadm.
func (a *AltNames) DNSNames() []string {
	var out []string
	for _, n := range a.Names {
		if n.IP == nil {
			out = append(out, n.DNS)
		}
	}
	return sortedUnique(out)
}

// IPs returns the IP SANs de-duplicated in first-seen order, as kubeadm.
func (a *AltNames) IPs() []net.IP {
	var out []net.IP
	for _, n := range a.Names {
		if n.IP != nil {
			out = append(out, n.IP)
		}
	}
	return uniqueIPs(out)
}

// IsCA reports whether the spec is a certificate authority.
func (s Spec) IsCA() bool { return s.Kind == KindCA }

// AltNames returns the SANs the configuration requires for this entry.
func (s Spec) AltNames(cfg *config.InitConfig) (*AltNames, error) {
	if s.altNames == nil {
		return &AltNames{}, nil
	}
	return s.altNames(cfg)
}

// CertConfig returns the certificate contents for this entry under cfg,
// dated from StartTime.
func (s Spec) CertConfig(cfg *config.InitConfig) (CertConfig, error) {
	cc := CertConfig{
		CommonName:   s.CommonName,
		Organization: s.Organization,
		Usages:       s.Usages,
		NotBefore:    startTime.Add(-constants.CertificateBackdate),
	}
	if s.IsCA() {
		cc.NotAfter = startTime.Add(CAValidity(&cfg.Cluster))
		return cc, nil
	}
	cc.NotAfter = startTime.Add(LeafValidity(&cfg.Cluster))
	alt, err := s.AltNames(cfg)
	if err != nil {
		return CertConfig{}, fmt.Errorf("failed to compute the SANs of certificate %q: %w", s.Name, err)
	}
	cc.DNSNames, cc.IPs = alt.DNSNames(), alt.IPs()
	return cc, nil
}

// Spec names, as kubeadm's phases.
const (
	NameCA                     = "ca"
	NameAPIServer              = "apiserver"
	NameAPIServerKubeletClient = "apiserver-kubelet-client"
	NameFrontProxyCA           = "front-proxy-ca"
	NameFrontProxyClient       = "front-proxy-client"
	NameEtcdCA                 = "etcd-ca"
	NameEtcdServer             = "etcd-server"
	NameEtcdPeer               = "etcd-peer"
	NameEtcdHealthcheckClient  = "etcd-healthcheck-client"
	NameAPIServerEtcdClient    = "apiserver-etcd-client"
	NameServiceAccount         = "sa"
)

var (
	serverAuth = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	clientAuth = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	bothAuth   = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
)

// Specs returns the PKI entries in kubeadm's order (GetDefaultCertList, then
// sa). With an external etcd the etcd entries (etcd-ca, etcd-server,
// etcd-peer, etcd-healthcheck-client, apiserver-etcd-client) are left out.
func Specs(cfg *config.InitConfig) []Spec {
	var out []Spec
	for _, s := range allSpecs(cfg) {
		if cfg.Cluster.Etcd.External != nil && isEtcdSpec(s) {
			continue
		}
		out = append(out, s)
	}
	return out
}

// SpecByName returns the entry with the given phase name, including the etcd
// entries even with an external etcd.
func SpecByName(cfg *config.InitConfig, name string) (Spec, error) {
	all := allSpecs(cfg)
	for _, s := range all {
		if s.Name == name {
			return s, nil
		}
	}
	names := make([]string, 0, len(all))
	for _, s := range all {
		names = append(names, s.Name)
	}
	return Spec{}, fmt.Errorf("unknown certificate %q; use one of %s", name, strings.Join(names, ", "))
}

func isEtcdSpec(s Spec) bool {
	return s.Name == NameEtcdCA || s.CAName == NameEtcdCA
}

func allSpecs(cfg *config.InitConfig) []Spec {
	node := cfg.Init.NodeRegistration.Name
	return []Spec{
		{Name: NameCA, Kind: KindCA, BaseName: constants.CACertAndKeyBaseName, CommonName: constants.CACommonName,
			LongName: "self-signed Kubernetes CA to provision identities for other Kubernetes components"},
		{Name: NameAPIServer, Kind: KindLeaf, BaseName: constants.APIServerCertAndKeyBaseName, CAName: NameCA,
			CommonName: constants.APIServerCommonName, Usages: serverAuth, altNames: apiServerAltNames,
			LongName: "certificate for serving the Kubernetes API"},
		{Name: NameAPIServerKubeletClient, Kind: KindLeaf, BaseName: constants.APIServerKubeletClientCertAndKeyBase, CAName: NameCA,
			CommonName: constants.APIServerKubeletClientCommonName, Usages: clientAuth,
			LongName: "certificate for the API server to connect to kubelet"},
		{Name: NameFrontProxyCA, Kind: KindCA, BaseName: constants.FrontProxyCACertAndKeyBaseName, CommonName: constants.FrontProxyCACommonName,
			LongName: "self-signed CA to provision identities for front proxy"},
		{Name: NameFrontProxyClient, Kind: KindLeaf, BaseName: constants.FrontProxyClientCertAndKeyBaseName, CAName: NameFrontProxyCA,
			CommonName: constants.FrontProxyClientCommonName, Usages: clientAuth,
			LongName: "certificate for the front proxy client"},
		{Name: NameEtcdCA, Kind: KindCA, BaseName: constants.EtcdCACertAndKeyBaseName, CommonName: constants.EtcdCACommonName,
			LongName: "self-signed CA to provision identities for etcd"},
		{Name: NameEtcdServer, Kind: KindLeaf, BaseName: constants.EtcdServerCertAndKeyBaseName, CAName: NameEtcdCA,
			CommonName: node, Usages: bothAuth, altNames: etcdAltNames(true),
			LongName: "certificate for serving etcd"},
		{Name: NameEtcdPeer, Kind: KindLeaf, BaseName: constants.EtcdPeerCertAndKeyBaseName, CAName: NameEtcdCA,
			CommonName: node, Usages: bothAuth, altNames: etcdAltNames(false),
			LongName: "certificate for etcd nodes to communicate with each other"},
		{Name: NameEtcdHealthcheckClient, Kind: KindLeaf, BaseName: constants.EtcdHealthcheckClientCertAndKeyBase, CAName: NameEtcdCA,
			CommonName: constants.EtcdHealthcheckClientCommonName, Usages: clientAuth,
			LongName: "certificate for liveness probes to healthcheck etcd"},
		{Name: NameAPIServerEtcdClient, Kind: KindLeaf, BaseName: constants.APIServerEtcdClientCertAndKeyBaseName, CAName: NameEtcdCA,
			CommonName: constants.APIServerEtcdClientCommonName, Usages: clientAuth,
			LongName: "certificate the apiserver uses to access etcd"},
		{Name: NameServiceAccount, Kind: KindServiceAccountKey, BaseName: constants.ServiceAccountKeyBaseName,
			LongName: "private key for signing service account tokens along with its public key"},
	}
}

// advertiseIP parses localAPIEndpoint.advertiseAddress.
func advertiseIP(cfg *config.InitConfig) (net.IP, error) {
	addr := cfg.Init.LocalAPIEndpoint.AdvertiseAddress
	ip := netutils.ParseIPSloppy(addr)
	if ip == nil {
		return nil, fmt.Errorf("localAPIEndpoint.advertiseAddress %q is not a valid IP address; set it to this node's IP", addr)
	}
	return ip, nil
}

// APIServerVirtualIP returns the first address of the first service subnet
// (10.96.0.1 for the default 10.96.0.0/12).
func APIServerVirtualIP(serviceSubnet string) (net.IP, error) {
	first := strings.TrimSpace(strings.Split(serviceSubnet, ",")[0])
	_, cidr, err := netutils.ParseCIDRSloppy(first)
	if err != nil {
		return nil, fmt.Errorf("networking.serviceSubnet %q is not a valid CIDR: %w", serviceSubnet, err)
	}
	ip, err := netutils.GetIndexedIP(cidr, 1)
	if err != nil {
		return nil, fmt.Errorf("failed to get the first address of networking.serviceSubnet %q: %w", serviceSubnet, err)
	}
	return ip, nil
}

func apiServerAltNames(cfg *config.InitConfig) (*AltNames, error) {
	adv, err := advertiseIP(cfg)
	if err != nil {
		return nil, err
	}
	vip, err := APIServerVirtualIP(cfg.Cluster.Networking.ServiceSubnet)
	if err != nil {
		return nil, err
	}
	alt := &AltNames{}
	if node := cfg.Init.NodeRegistration.Name; node != "" {
		alt.addDNS(node, "nodeRegistration.name")
	}
	for _, n := range []string{"kubernetes", "kubernetes.default", "kubernetes.default.svc"} {
		alt.addDNS(n, "the in-cluster API server names")
	}
	if d := cfg.Cluster.Networking.DNSDomain; d != "" {
		alt.addDNS("kubernetes.default.svc."+d, "networking.dnsDomain")
	}
	alt.addIP(vip, "networking.serviceSubnet")
	alt.addIP(adv, "localAPIEndpoint.advertiseAddress")
	if cpe := cfg.Cluster.ControlPlaneEndpoint; cpe != "" {
		host, _, err := ParseHostPort(cpe)
		if err != nil {
			return nil, fmt.Errorf("controlPlaneEndpoint %q is invalid: %w", cpe, err)
		}
		if ip := netutils.ParseIPSloppy(host); ip != nil {
			alt.addIP(ip, "controlPlaneEndpoint")
		} else {
			alt.addDNS(host, "controlPlaneEndpoint")
		}
	}
	// kubeadm lower-cases apiServer.certSANs when it loads the configuration.
	sans := make([]string, 0, len(cfg.Cluster.APIServer.CertSANs))
	for _, san := range cfg.Cluster.APIServer.CertSANs {
		sans = append(sans, strings.ToLower(san))
	}
	appendSANs(alt, sans, "apiServer.certSANs", constants.APIServerCertAndKeyBaseName)
	return alt, nil
}

func etcdAltNames(server bool) func(cfg *config.InitConfig) (*AltNames, error) {
	return func(cfg *config.InitConfig) (*AltNames, error) {
		adv, err := advertiseIP(cfg)
		if err != nil {
			return nil, err
		}
		alt := &AltNames{}
		if node := cfg.Init.NodeRegistration.Name; node != "" {
			alt.addDNS(node, "nodeRegistration.name")
		}
		alt.addDNS("localhost", "the etcd defaults")
		alt.addIP(adv, "localAPIEndpoint.advertiseAddress")
		alt.addIP(net.IPv4(127, 0, 0, 1), "the etcd defaults")
		alt.addIP(net.IPv6loopback, "the etcd defaults")
		if local := cfg.Cluster.Etcd.Local; local != nil {
			if server {
				appendSANs(alt, local.ServerCertSANs, "etcd.local.serverCertSANs", constants.EtcdServerCertAndKeyBaseName)
			} else {
				appendSANs(alt, local.PeerCertSANs, "etcd.local.peerCertSANs", constants.EtcdPeerCertAndKeyBaseName)
			}
		}
		return alt, nil
	}
}

// appendSANs adds user SANs: IPs, DNS names and wildcard DNS names.
// Anything else is skipped with kubeadm's warning.
func appendSANs(alt *AltNames, sans []string, source, certName string) {
	for _, san := range sans {
		switch {
		case netutils.ParseIPSloppy(san) != nil:
			alt.addIP(netutils.ParseIPSloppy(san), source)
		case len(validation.IsDNS1123Subdomain(san)) == 0, len(validation.IsWildcardDNS1123Subdomain(san)) == 0:
			alt.addDNS(san, source)
		default:
			fmt.Fprintf(Warnings, "[certificates] WARNING: '%s' was not added to the '%s' SAN, because it is not a valid IP or RFC-1123 compliant DNS entry\n", san, certName)
		}
	}
}

// ParseHostPort splits "host", "host:port", "ipv4:port" or "[ipv6]:port";
// the host must be an IP or an RFC 1123 subdomain, the port 1-65535.
func ParseHostPort(hostport string) (string, string, error) {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		host, port = hostport, ""
	}
	if port != "" {
		if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
			return "", "", fmt.Errorf("hostport %s: port %s must be a valid number between 1 and 65535, inclusive", hostport, port)
		}
	}
	if netutils.ParseIPSloppy(host) != nil || len(validation.IsDNS1123Subdomain(host)) == 0 {
		return host, port, nil
	}
	return "", "", fmt.Errorf("hostport %s: host '%s' must be a valid IP address or a valid RFC-1123 DNS subdomain", hostport, host)
}

func sortedUnique(in []string) []string {
	if len(in) == 0 {
		return nil
	}
	out := slices.Clone(in)
	slices.Sort(out)
	return slices.Compact(out)
}

func uniqueIPs(in []net.IP) []net.IP {
	var out []net.IP
	seen := map[string]bool{}
	for _, ip := range in {
		if !seen[ip.String()] {
			seen[ip.String()] = true
			out = append(out, ip)
		}
	}
	return out
}
