package inventory

import (
	"errors"
	"net"
	"net/netip"
	"strings"

	"github.com/kubeadmin/kubeadmin/internal/config"
)

// Placeholders for checking the rendered kubeadm files without a host: a
// documentation address (RFC 5737), a token of the right shape and a
// discovery file as an https URL (the real file is on the host, and a
// local path would be checked on this machine).
const (
	placeholderNodeName  = "node"
	placeholderAddress   = "192.0.2.10"
	placeholderDiscovery = "https://" + placeholderAddress + "/fleet-discovery.conf"
	placeholderToken     = "abcdef.0123456789abcdef"
)

// placeholderHost stands in for the host when kubeadm's dynamic defaults
// are applied to a rendered file.
func placeholderHost() config.DynamicOptions {
	return config.DynamicOptions{
		Hostname: func() (string, error) { return placeholderNodeName, nil },
		Interfaces: func() ([]config.HostInterface, error) {
			return []config.HostInterface{{Name: "eth0", Up: true, DefaultRoute: true, Addrs: []net.IP{net.ParseIP(placeholderAddress)}}}, nil
		},
		HostNetworks:  func() ([]netip.Prefix, error) { return nil, nil },
		SocketExists:  func(string) bool { return true },
		SkipCRIDetect: true,
	}
}

const (
	kubePath    = "spec.kubernetes"
	clusterPath = kubePath + ".clusterConfiguration"
	initPath    = kubePath + ".initConfiguration"
	joinPath    = kubePath + ".joinConfiguration"
)

// validateKubernetes checks spec.kubernetes: the fields the fleet sets
// itself are refused in the pass-through documents, and each host's
// rendered kubeadm file goes through kubeadmin's own loading, defaulting
// and validation, whose findings are reported at the inventory's fields.
func (c *Cluster) validateKubernetes(p *problems) {
	k := &c.Spec.Kubernetes
	before := len(p.list)
	if k.Version != "" {
		if _, err := config.NormalizeKubernetesVersion(k.Version); err != nil {
			p.add(kubePath+".version", "%s", strings.Replace(err.Error(), "kubernetesVersion ", "", 1))
		}
	}
	if ep := k.ControlPlaneEndpoint; ep != "" {
		if _, _, err := config.ParseHostPort(ep); err != nil {
			p.add(kubePath+".controlPlaneEndpoint", "invalid value %q: %v; give \"host\" or \"host:port\"", ep, err)
		}
	}
	owned := func(path string, set bool, fix string) {
		if set {
			p.add(path, "set by kubeadmin fleet; %s", fix)
		}
	}
	if cc := k.ClusterConfiguration; cc != nil {
		owned(clusterPath+".apiVersion", cc.APIVersion != "", "leave it out")
		owned(clusterPath+".kind", cc.Kind != "", "leave it out")
		owned(clusterPath+".kubernetesVersion", cc.KubernetesVersion != "", "move the value to "+kubePath+".version")
		owned(clusterPath+".controlPlaneEndpoint", cc.ControlPlaneEndpoint != "", "move the value to "+kubePath+".controlPlaneEndpoint")
		owned(clusterPath+".clusterName", cc.ClusterName != "", "move the value to metadata.name")
	}
	if ic := k.InitConfiguration; ic != nil {
		owned(initPath+".apiVersion", ic.APIVersion != "", "leave it out")
		owned(initPath+".kind", ic.Kind != "", "leave it out")
		owned(initPath+".nodeRegistration.name", ic.NodeRegistration.Name != "", "set nodeName on the host in spec.hosts")
		owned(initPath+".nodeRegistration.taints", ic.NodeRegistration.Taints != nil, "set taints on the host in spec.hosts")
	}
	if jc := k.JoinConfiguration; jc != nil {
		owned(joinPath+".apiVersion", jc.APIVersion != "", "leave it out")
		owned(joinPath+".kind", jc.Kind != "", "leave it out")
		owned(joinPath+".nodeRegistration.name", jc.NodeRegistration.Name != "", "set nodeName on each host in spec.hosts")
		owned(joinPath+".nodeRegistration.taints", jc.NodeRegistration.Taints != nil, "set taints on each host in spec.hosts")
		owned(joinPath+".discovery", jc.Discovery != (config.Discovery{}), "each apply creates a fresh bootstrap token and pins the cluster CA; leave discovery out")
		if jc.ControlPlane != nil {
			p.add(joinPath+".controlPlane", "joining control planes is not supported yet; leave it out")
		}
	}
	if len(p.list) > before {
		return // the rendered files would repeat these problems
	}
	seen := map[string]bool{}
	for _, x := range p.list {
		seen[x.msg] = true
	}
	for i := range c.Spec.Hosts {
		h := &c.Spec.Hosts[i]
		r := &Resolved{Index: i, Host: h, Role: h.Role, NodeName: h.NodeName, Endpoint: Endpoint{Name: h.Address, HostName: h.Address}}
		var err error
		kind := config.KindInit
		switch h.Role {
		case RoleControlPlane:
			err = c.checkInit(r)
		case RoleWorker:
			kind = config.KindJoin
			err = c.checkJoin(r)
		default:
			continue
		}
		for _, x := range c.kubeadmProblems(i, kind, err) {
			if !seen[x.msg] {
				seen[x.msg] = true
				p.list = append(p.list, x)
			}
		}
	}
}

func (c *Cluster) checkInit(r *Resolved) error {
	data, err := c.InitConfigYAML(r, "")
	if err != nil {
		return err
	}
	cfg, err := config.ParseInitConfig(data, c.source)
	if err != nil {
		return err
	}
	if err := config.SetDynamicDefaultsInit(cfg, placeholderHost()); err != nil {
		return err
	}
	return config.ValidateInitConfig(cfg)
}

func (c *Cluster) checkJoin(r *Resolved) error {
	data, err := c.JoinConfigYAML(r, placeholderDiscovery, placeholderToken)
	if err != nil {
		return err
	}
	cfg, err := config.ParseJoinConfig(data, c.source)
	if err != nil {
		return err
	}
	if err := config.SetDynamicDefaultsJoin(cfg, placeholderHost()); err != nil {
		return err
	}
	return config.ValidateJoinConfig(cfg)
}

// kubeadmProblems turns kubeadmin's findings on the file rendered for
// host i into messages at the inventory's fields.
func (c *Cluster) kubeadmProblems(i int, kind string, err error) []problem {
	if err == nil {
		return nil
	}
	sub := &problems{raw: c.raw}
	var ve *config.ValidationError
	if !errors.As(err, &ve) {
		sub.add(kubePath, "the kubeadm configuration for %s is not valid: %v", hostPath(i), err)
		return sub.list
	}
	for _, fe := range ve.Errors {
		path := c.inventoryPath(i, kind, fe.Field)
		if path == "" {
			continue // checked by the inventory's own validation
		}
		sub.add(path, "%s", fe.ErrorBody())
	}
	return sub.list
}

// initFields are the top-level fields of InitConfiguration; the others in
// a rendered init file's findings are ClusterConfiguration's.
var initFields = []string{"bootstrapTokens", "dryRun", "nodeRegistration", "localAPIEndpoint", "certificateKey", "skipPhases", "patches", "timeouts"}

// inventoryPath maps a field of the rendered kubeadm document (kind) of
// host i to where the inventory sets it; "" for fields it validates itself.
func (c *Cluster) inventoryPath(i int, kind, field string) string {
	hp := hostPath(i)
	top := field
	if j := strings.IndexAny(field, ".["); j >= 0 {
		top = field[:j]
	}
	rest := strings.TrimPrefix(strings.TrimPrefix(field, top), ".")
	if top == "nodeRegistration" {
		switch {
		case rest == "name":
			return ""
		case strings.HasPrefix(rest, "taints"):
			return hp + "." + rest
		case rest == "criSocket" && c.Spec.Hosts[i].CRISocket != "":
			return hp + ".criSocket"
		}
	}
	if kind == config.KindJoin {
		return joinPath + "." + field
	}
	switch {
	case contains(initFields, top):
		return initPath + "." + field
	case field == "kubernetesVersion":
		return kubePath + ".version"
	case field == "controlPlaneEndpoint":
		return kubePath + ".controlPlaneEndpoint"
	case field == "clusterName":
		return "metadata.name"
	}
	return clusterPath + "." + field
}
