package inventory

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	"github.com/kubeadmin/kubeadmin/internal/config"
	"github.com/kubeadmin/kubeadmin/internal/constants"
)

// The bootstrap token a fleet run makes for its joins.
const (
	// FleetTokenTTL bounds its life.
	FleetTokenTTL = time.Hour
	// FleetTokenDescription is what `kubeadmin token list` shows for it.
	FleetTokenDescription = "kubeadmin fleet apply"
)

// InitConfigYAML renders the kubeadm configuration file `kubeadmin init`
// gets on the control plane h: an InitConfiguration and a
// ClusterConfiguration (kubeadm.k8s.io/v1beta4) made of the pass-through
// fields of spec.kubernetes, with the host's node name, taints and CRI
// socket, the cluster name, version and endpoint, and the address the
// fleet reaches the host at added to the API server's certificate SANs.
// A non-empty joinToken ("<id>.<secret>") is added to bootstrapTokens with
// FleetTokenTTL, so that init creates the token the workers join with; the
// result then holds the token: keep it out of logs.
// Labels are not in it: the fleet sets them on the Node after the join
// (a kubelet may not set node-role labels on its own Node).
func (c *Cluster) InitConfigYAML(h *Resolved, joinToken string) ([]byte, error) {
	if h.Role != RoleControlPlane {
		return nil, fmt.Errorf("%s is a %s; only the control plane runs kubeadmin init", h, h.Role)
	}
	init := &config.InitConfiguration{}
	if err := deepCopy(c.Spec.Kubernetes.InitConfiguration, init); err != nil {
		return nil, err
	}
	init.APIVersion, init.Kind = config.APIVersion, config.KindInit
	setNodeRegistration(&init.NodeRegistration, h)
	if joinToken != "" {
		id, secret, ok := strings.Cut(joinToken, ".")
		if !ok {
			return nil, errors.New("the join token is not of the form <id>.<secret>")
		}
		init.BootstrapTokens = append(init.BootstrapTokens, config.BootstrapToken{
			Token:       &config.BootstrapTokenString{ID: id, Secret: secret},
			Description: FleetTokenDescription,
			TTL:         &metav1.Duration{Duration: FleetTokenTTL},
		})
	}

	cluster := &config.ClusterConfiguration{}
	if err := deepCopy(c.Spec.Kubernetes.ClusterConfiguration, cluster); err != nil {
		return nil, err
	}
	cluster.APIVersion, cluster.Kind = config.APIVersion, config.KindCluster
	if c.Metadata.Name != "" {
		cluster.ClusterName = c.Metadata.Name
	}
	cluster.KubernetesVersion = c.Spec.Kubernetes.Version
	cluster.ControlPlaneEndpoint = c.Spec.Kubernetes.ControlPlaneEndpoint
	if sanOK(h.HostName) && !contains(cluster.APIServer.CertSANs, h.HostName) {
		cluster.APIServer.CertSANs = append(cluster.APIServer.CertSANs, h.HostName)
	}

	initYAML, err := renderDocument(init)
	if err != nil {
		return nil, err
	}
	clusterYAML, err := renderDocument(cluster)
	if err != nil {
		return nil, err
	}
	return append(append(initYAML, "---\n"...), clusterYAML...), nil
}

// JoinConfigYAML renders the kubeadm configuration file `kubeadmin join`
// gets on the worker h: the pass-through JoinConfiguration with the
// host's node name, taints and CRI socket, and file discovery from
// discoveryFile (a kubeconfig on the host naming the API server and its
// CA, which the fleet copied from the control plane over SSH) with token
// for the TLS bootstrap. Unlike token discovery, this does not wait for
// the controller-manager to sign cluster-info for a new token, and the CA
// is trusted because it came from the control plane itself.
// The result holds the token: keep it out of logs.
func (c *Cluster) JoinConfigYAML(h *Resolved, discoveryFile, token string) ([]byte, error) {
	if h.Role != RoleWorker {
		return nil, fmt.Errorf("%s is a %s; only workers are joined", h, h.Role)
	}
	if discoveryFile == "" || token == "" {
		return nil, errors.New("joining needs a discovery file and a bootstrap token")
	}
	join := &config.JoinConfiguration{}
	if err := deepCopy(c.Spec.Kubernetes.JoinConfiguration, join); err != nil {
		return nil, err
	}
	join.APIVersion, join.Kind = config.APIVersion, config.KindJoin
	setNodeRegistration(&join.NodeRegistration, h)
	join.Discovery = config.Discovery{
		File:              &config.FileDiscovery{KubeConfigPath: discoveryFile},
		TLSBootstrapToken: token,
	}
	return renderDocument(join)
}

// APIServerEndpoint is where workers and kubeconfigs reach the API server:
// spec.kubernetes.controlPlaneEndpoint, else the control plane's address;
// with the API server's port when the address has none.
func (c *Cluster) APIServerEndpoint(cp *Resolved) string {
	port := constants.KubeAPIServerPort
	if ic := c.Spec.Kubernetes.InitConfiguration; ic != nil && ic.LocalAPIEndpoint.BindPort != 0 {
		port = int(ic.LocalAPIEndpoint.BindPort)
	}
	host := cp.HostName
	if ep := c.Spec.Kubernetes.ControlPlaneEndpoint; ep != "" {
		h, p, err := config.ParseHostPort(ep)
		if err == nil && p != "" {
			return net.JoinHostPort(h, p)
		}
		if err == nil {
			host = h
		}
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}

func setNodeRegistration(n *config.NodeRegistrationOptions, h *Resolved) {
	if h.NodeName != "" {
		n.Name = h.NodeName
	}
	if h.Host.CRISocket != "" {
		n.CRISocket = h.Host.CRISocket
	}
	n.Taints = h.Host.Taints
}

// deepCopy copies a pass-through document (nil leaves out untouched).
func deepCopy[T any](in *T, out *T) error {
	if in == nil {
		return nil
	}
	data, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, out)
}

// renderDocument prints one kubeadm document as YAML, leaving out what the Go
// types print for fields that were not given (null, "" and {}): a field
// left out reads the same as its zero value, so the file stays short and
// means the same. Empty lists stay ("taints: []" means no taints).
func renderDocument(doc any) ([]byte, error) {
	data, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	var tree any
	if err := json.Unmarshal(data, &tree); err != nil {
		return nil, err
	}
	tree, _ = prune(tree)
	// apiVersion and kind first, the rest in key order.
	m, _ := tree.(map[string]any)
	head := fmt.Sprintf("apiVersion: %s\nkind: %s\n", m["apiVersion"], m["kind"])
	delete(m, "apiVersion")
	delete(m, "kind")
	if len(m) == 0 {
		return []byte(head), nil
	}
	body, err := yaml.Marshal(m)
	if err != nil {
		return nil, err
	}
	return append([]byte(head), body...), nil
}

// prune drops nulls, empty strings and empty mappings; keep is false when
// v itself is one of them.
func prune(v any) (out any, keep bool) {
	switch t := v.(type) {
	case nil:
		return nil, false
	case string:
		return t, t != ""
	case map[string]any:
		for k, x := range t {
			if y, ok := prune(x); ok {
				t[k] = y
			} else {
				delete(t, k)
			}
		}
		return t, len(t) > 0
	case []any:
		for i, x := range t {
			t[i], _ = prune(x)
		}
		return t, true
	}
	return v, true
}

// sanOK reports whether name can go into a certificate as a SAN.
func sanOK(name string) bool {
	if net.ParseIP(name) != nil {
		return true
	}
	return name != "" && len(validation.IsDNS1123Subdomain(name)) == 0
}
