// Package inventory is the file `kubeadmin fleet` reads: the kind
// kubeadmin.io/v1alpha1 Cluster, which lists the hosts of one cluster and
// how to reach them over SSH, and carries kubeadm configuration through to
// `kubeadmin init` and `kubeadmin join`. The package decodes the file
// strictly, validates it, applies defaults (including the basics of
// ~/.ssh/config) and renders the kubeadm configuration file of each host.
// It touches neither the network nor the hosts.
package inventory

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeadmin/kubeadmin/internal/config"
)

// The inventory's API version and kind.
const (
	Group      = "kubeadmin.io"
	Version    = "v1alpha1"
	APIVersion = Group + "/" + Version
	Kind       = "Cluster"
)

// Built-in defaults, used when neither the host, ~/.ssh/config nor
// spec.ssh says otherwise.
const (
	DefaultSSHPort        = 22
	DefaultSSHUser        = "root"
	DefaultConnectTimeout = 15 * time.Second
	DefaultCommandTimeout = 10 * time.Minute
	DefaultHostsParallel  = 10
	DefaultUploadParallel = 5
	// DefaultSSHConfig and DefaultKnownHosts are relative to the home
	// directory.
	DefaultSSHConfig  = ".ssh/config"
	DefaultKnownHosts = ".ssh/known_hosts"
	// NoSSHConfig as ResolveOptions.SSHConfig reads no ssh config file
	// (like `ssh -F none`).
	NoSSHConfig = "none"
)

// DefaultIdentityFiles are the keys tried, relative to the home directory,
// when no identity file is configured anywhere (OpenSSH's order, without
// the DSA key it no longer accepts).
var DefaultIdentityFiles = []string{".ssh/id_ed25519", ".ssh/id_ecdsa", ".ssh/id_rsa"}

// Role is what a host becomes in the cluster.
type Role string

// The roles.
const (
	RoleControlPlane Role = "control-plane"
	RoleWorker       Role = "worker"
)

// Roles lists the valid roles.
var Roles = []Role{RoleControlPlane, RoleWorker}

// Cluster is the inventory document.
type Cluster struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Metadata   Metadata `json:"metadata,omitempty"`
	Spec       Spec     `json:"spec"`

	// source names the file in messages; raw is its text (for line
	// numbers); dir resolves relative paths.
	source string
	raw    []byte
	dir    string
}

// Metadata names the cluster.
type Metadata struct {
	// Name is the cluster's name: kubeadm's clusterName and the name of
	// the kubeconfig context. Default "kubernetes".
	Name string `json:"name,omitempty"`
}

// Spec is the whole desired cluster.
type Spec struct {
	// SSH holds the connection defaults of every host.
	SSH SSH `json:"ssh,omitempty"`
	// Hosts lists the machines, exactly one of them the control plane.
	Hosts []Host `json:"hosts"`
	// Kubernetes is the cluster's version, endpoint and kubeadm settings.
	Kubernetes Kubernetes `json:"kubernetes,omitempty"`
	// Artifacts are the files uploaded to every host.
	Artifacts Artifacts `json:"artifacts,omitempty"`
	// Concurrency bounds how much runs at once.
	Concurrency Concurrency `json:"concurrency,omitempty"`
}

// SSH holds connection settings shared by every host; a host's own field
// and ~/.ssh/config come first.
type SSH struct {
	User          string   `json:"user,omitempty"`
	Port          int32    `json:"port,omitempty"`
	IdentityFiles []string `json:"identityFiles,omitempty"`
	// UseAgent offers the keys of the ssh-agent at $SSH_AUTH_SOCK
	// (default true).
	UseAgent *bool `json:"useAgent,omitempty"`
	// KnownHosts is the known_hosts file host keys are checked against
	// (default ~/.ssh/known_hosts).
	KnownHosts string `json:"knownHosts,omitempty"`
	// ConnectTimeout bounds the TCP connection and SSH handshake.
	ConnectTimeout *metav1.Duration `json:"connectTimeout,omitempty"`
	// CommandTimeout bounds one remote command unless the fleet gives
	// that command its own limit.
	CommandTimeout *metav1.Duration `json:"commandTimeout,omitempty"`
}

// Host is one machine.
type Host struct {
	// Address is the host name, IP address or ~/.ssh/config alias used to
	// reach the host.
	Address       string   `json:"address"`
	Port          int32    `json:"port,omitempty"`
	User          string   `json:"user,omitempty"`
	IdentityFiles []string `json:"identityFiles,omitempty"`
	UseAgent      *bool    `json:"useAgent,omitempty"`
	// HostKey pins the host key by its fingerprint, "SHA256:<base64>" as
	// `ssh-keygen -lf` prints it; it is checked instead of known_hosts.
	HostKey string `json:"hostKey,omitempty"`
	// Bastion is the jump host this host is reached through.
	Bastion *Bastion `json:"bastion,omitempty"`

	Role Role `json:"role"`
	// NodeName is the Node's name (default: the host's hostname).
	NodeName string `json:"nodeName,omitempty"`
	// Labels are set on the Node after it joins.
	Labels map[string]string `json:"labels,omitempty"`
	// Taints are registered with the Node (kubeadm's
	// nodeRegistration.taints). Left out, a control plane gets kubeadm's
	// control-plane taint and a worker none; [] means none at all.
	Taints []corev1.Taint `json:"taints,omitempty"`
	// CRISocket is the container runtime's socket (kubeadm's
	// nodeRegistration.criSocket).
	CRISocket string `json:"criSocket,omitempty"`
	// Reset removes the host from the cluster on the next apply.
	Reset bool `json:"reset,omitempty"`
}

// Bastion is a jump host: either another host of the inventory (Host) or
// one given here (Address and the rest).
type Bastion struct {
	// Host names a host of spec.hosts by its nodeName or address.
	Host          string   `json:"host,omitempty"`
	Address       string   `json:"address,omitempty"`
	Port          int32    `json:"port,omitempty"`
	User          string   `json:"user,omitempty"`
	IdentityFiles []string `json:"identityFiles,omitempty"`
	UseAgent      *bool    `json:"useAgent,omitempty"`
	HostKey       string   `json:"hostKey,omitempty"`
}

// Kubernetes holds the cluster settings. The three configurations are
// kubeadm.k8s.io/v1beta4 fields passed through to every host's kubeadm
// configuration file; the fields the fleet fills itself (node name,
// taints, discovery) are set per host instead.
type Kubernetes struct {
	// Version is kubernetesVersion (default: kubeadmin's own).
	Version string `json:"version,omitempty"`
	// ControlPlaneEndpoint is the stable address of the API server
	// ("host" or "host:port"); default the control plane's address.
	ControlPlaneEndpoint string                       `json:"controlPlaneEndpoint,omitempty"`
	ClusterConfiguration *config.ClusterConfiguration `json:"clusterConfiguration,omitempty"`
	InitConfiguration    *config.InitConfiguration    `json:"initConfiguration,omitempty"`
	JoinConfiguration    *config.JoinConfiguration    `json:"joinConfiguration,omitempty"`
}

// Artifacts are the local files the fleet uploads.
type Artifacts struct {
	// KubeadminBinary defaults to the running executable.
	KubeadminBinary string `json:"kubeadminBinary,omitempty"`
	// ImageBundle is the archive written by `kubeadmin images bundle`.
	ImageBundle string `json:"imageBundle,omitempty"`
}

// Concurrency bounds parallel work; nil fields take the defaults.
type Concurrency struct {
	// Hosts is how many hosts are worked on at once.
	Hosts *int32 `json:"hosts,omitempty"`
	// Uploads is how many uploads run at once.
	Uploads *int32 `json:"uploads,omitempty"`
}
