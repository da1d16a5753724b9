// Package config is kubeadmin's configuration API: the kubeadm.k8s.io/v1beta4
// kinds (InitConfiguration, ClusterConfiguration, JoinConfiguration,
// ResetConfiguration) with kubeadm v1.37.2's defaults, strict loading of
// multi-document files that may also carry a KubeletConfiguration and a
// KubeProxyConfiguration, validation with field paths, and printing.
//
// The Go types mirror the wire format of kubeadm's v1beta4 API field for
// field, so that files written for kubeadm load unchanged.
package config

import (
	"encoding/json"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Group and versions of the configuration API.
const (
	GroupName       = "kubeadm.k8s.io"
	Version         = "v1beta4"
	APIVersion      = GroupName + "/" + Version
	KubeletAPIGroup = "kubelet.config.k8s.io"
	KubeletAPI      = "kubelet.config.k8s.io/v1beta1"
	KubeProxyAPI    = "kubeproxy.config.k8s.io/v1alpha1"

	KindInit      = "InitConfiguration"
	KindCluster   = "ClusterConfiguration"
	KindJoin      = "JoinConfiguration"
	KindReset     = "ResetConfiguration"
	KindUpgrade   = "UpgradeConfiguration"
	KindKubelet   = "KubeletConfiguration"
	KindKubeProxy = "KubeProxyConfiguration"
)

// InitConfiguration holds the node-local settings of `kubeadmin init`.
type InitConfiguration struct {
	metav1.TypeMeta `json:",inline"`

	// BootstrapTokens are created by the bootstrap-token phase.
	BootstrapTokens []BootstrapToken `json:"bootstrapTokens,omitempty"`
	// DryRun makes init write nothing outside a temporary directory.
	DryRun bool `json:"dryRun,omitempty"`
	// NodeRegistration describes how this node registers.
	NodeRegistration NodeRegistrationOptions `json:"nodeRegistration,omitempty"`
	// LocalAPIEndpoint is where this node's API server listens.
	LocalAPIEndpoint APIEndpoint `json:"localAPIEndpoint,omitempty"`
	// CertificateKey encrypts the kubeadm-certs Secret (hex, 32 bytes).
	CertificateKey string `json:"certificateKey,omitempty"`
	// SkipPhases lists phases to skip when --skip-phases is not given.
	SkipPhases []string `json:"skipPhases,omitempty"`
	// Patches points to a directory of patches for components.
	Patches *Patches `json:"patches,omitempty"`
	// Timeouts of the init workflow.
	Timeouts *Timeouts `json:"timeouts,omitempty"`
}

// ClusterConfiguration holds the cluster-wide settings.
type ClusterConfiguration struct {
	metav1.TypeMeta `json:",inline"`

	Etcd                        Etcd                  `json:"etcd,omitempty"`
	Networking                  Networking            `json:"networking,omitempty"`
	KubernetesVersion           string                `json:"kubernetesVersion,omitempty"`
	ControlPlaneEndpoint        string                `json:"controlPlaneEndpoint,omitempty"`
	APIServer                   APIServer             `json:"apiServer,omitempty"`
	ControllerManager           ControlPlaneComponent `json:"controllerManager,omitempty"`
	Scheduler                   ControlPlaneComponent `json:"scheduler,omitempty"`
	DNS                         DNS                   `json:"dns,omitempty"`
	Proxy                       Proxy                 `json:"proxy,omitempty"`
	CertificatesDir             string                `json:"certificatesDir,omitempty"`
	ImageRepository             string                `json:"imageRepository,omitempty"`
	FeatureGates                map[string]bool       `json:"featureGates,omitempty"`
	ClusterName                 string                `json:"clusterName,omitempty"`
	EncryptionAlgorithm         EncryptionAlgorithm   `json:"encryptionAlgorithm,omitempty"`
	CertificateValidityPeriod   *metav1.Duration      `json:"certificateValidityPeriod,omitempty"`
	CACertificateValidityPeriod *metav1.Duration      `json:"caCertificateValidityPeriod,omitempty"`
}

// ControlPlaneComponent holds the settings common to control-plane components.
type ControlPlaneComponent struct {
	// ExtraArgs replace defaults of the same name and are appended after the
	// sorted defaults, in order.
	ExtraArgs    []Arg           `json:"extraArgs,omitempty"`
	ExtraVolumes []HostPathMount `json:"extraVolumes,omitempty"`
	ExtraEnvs    []EnvVar        `json:"extraEnvs,omitempty"`
}

// APIServer holds the kube-apiserver settings.
type APIServer struct {
	ControlPlaneComponent `json:",inline"`
	CertSANs              []string `json:"certSANs,omitempty"`
}

// DNS holds the CoreDNS addon settings.
type DNS struct {
	ImageMeta `json:",inline"`
	Disabled  bool `json:"disabled,omitempty"`
}

// Proxy holds the kube-proxy addon settings.
type Proxy struct {
	Disabled bool `json:"disabled,omitempty"`
}

// ImageMeta overrides an image's repository or tag.
type ImageMeta struct {
	ImageRepository string `json:"imageRepository,omitempty"`
	ImageTag        string `json:"imageTag,omitempty"`
}

// APIEndpoint is an advertise address and a bind port.
type APIEndpoint struct {
	AdvertiseAddress string `json:"advertiseAddress,omitempty"`
	BindPort         int32  `json:"bindPort,omitempty"`
}

// NodeRegistrationOptions describe the node being registered.
type NodeRegistrationOptions struct {
	Name      string `json:"name,omitempty"`
	CRISocket string `json:"criSocket,omitempty"`
	// Taints has no omitempty on purpose: nil means "default taints" and is
	// printed as `taints: null`, while [] means none.
	Taints                []corev1.Taint    `json:"taints"`
	KubeletExtraArgs      []Arg             `json:"kubeletExtraArgs,omitempty"`
	IgnorePreflightErrors []string          `json:"ignorePreflightErrors,omitempty"`
	ImagePullPolicy       corev1.PullPolicy `json:"imagePullPolicy,omitempty"`
	ImagePullSerial       *bool             `json:"imagePullSerial,omitempty"`
}

// Networking holds the cluster's network ranges.
type Networking struct {
	ServiceSubnet string `json:"serviceSubnet,omitempty"`
	PodSubnet     string `json:"podSubnet,omitempty"`
	DNSDomain     string `json:"dnsDomain,omitempty"`
}

// Etcd selects a local (stacked) or an external etcd.
type Etcd struct {
	Local    *LocalEtcd    `json:"local,omitempty"`
	External *ExternalEtcd `json:"external,omitempty"`
}

// LocalEtcd describes the etcd static pod kubeadmin runs.
type LocalEtcd struct {
	ImageMeta      `json:",inline"`
	DataDir        string   `json:"dataDir"`
	ExtraArgs      []Arg    `json:"extraArgs,omitempty"`
	ExtraEnvs      []EnvVar `json:"extraEnvs,omitempty"`
	ServerCertSANs []string `json:"serverCertSANs,omitempty"`
	PeerCertSANs   []string `json:"peerCertSANs,omitempty"`
}

// ExternalEtcd describes an etcd cluster kubeadmin does not run.
type ExternalEtcd struct {
	Endpoints     []string `json:"endpoints"`
	HTTPEndpoints []string `json:"httpEndpoints,omitempty"`
	CAFile        string   `json:"caFile"`
	CertFile      string   `json:"certFile"`
	KeyFile       string   `json:"keyFile"`
}

// JoinConfiguration holds the settings of `kubeadmin join`.
type JoinConfiguration struct {
	metav1.TypeMeta `json:",inline"`

	DryRun           bool                    `json:"dryRun,omitempty"`
	NodeRegistration NodeRegistrationOptions `json:"nodeRegistration,omitempty"`
	CACertPath       string                  `json:"caCertPath,omitempty"`
	Discovery        Discovery               `json:"discovery"`
	ControlPlane     *JoinControlPlane       `json:"controlPlane,omitempty"`
	SkipPhases       []string                `json:"skipPhases,omitempty"`
	Patches          *Patches                `json:"patches,omitempty"`
	Timeouts         *Timeouts               `json:"timeouts,omitempty"`
}

// JoinControlPlane is set when the joining node becomes a control plane.
type JoinControlPlane struct {
	LocalAPIEndpoint APIEndpoint `json:"localAPIEndpoint,omitempty"`
	CertificateKey   string      `json:"certificateKey,omitempty"`
}

// Discovery says how a joining node finds and trusts the cluster.
type Discovery struct {
	BootstrapToken    *BootstrapTokenDiscovery `json:"bootstrapToken,omitempty"`
	File              *FileDiscovery           `json:"file,omitempty"`
	TLSBootstrapToken string                   `json:"tlsBootstrapToken,omitempty"`
}

// BootstrapTokenDiscovery is token-based discovery with CA pinning.
type BootstrapTokenDiscovery struct {
	Token                    string   `json:"token"`
	APIServerEndpoint        string   `json:"apiServerEndpoint,omitempty"`
	CACertHashes             []string `json:"caCertHashes,omitempty"`
	UnsafeSkipCAVerification bool     `json:"unsafeSkipCAVerification,omitempty"`
}

// FileDiscovery is discovery from a kubeconfig file or https URL.
type FileDiscovery struct {
	KubeConfigPath string `json:"kubeConfigPath"`
}

// HostPathMount is an extra hostPath volume of a control-plane component.
type HostPathMount struct {
	Name      string              `json:"name"`
	HostPath  string              `json:"hostPath"`
	MountPath string              `json:"mountPath"`
	ReadOnly  bool                `json:"readOnly,omitempty"`
	PathType  corev1.HostPathType `json:"pathType,omitempty"`
}

// Patches points at a directory of kubeadm-style patches.
type Patches struct {
	Directory string `json:"directory,omitempty"`
}

// ResetConfiguration holds the settings of `kubeadmin reset`.
type ResetConfiguration struct {
	metav1.TypeMeta `json:",inline"`

	CleanupTmpDir         bool      `json:"cleanupTmpDir,omitempty"`
	CertificatesDir       string    `json:"certificatesDir,omitempty"`
	CRISocket             string    `json:"criSocket,omitempty"`
	DryRun                bool      `json:"dryRun,omitempty"`
	Force                 bool      `json:"force,omitempty"`
	IgnorePreflightErrors []string  `json:"ignorePreflightErrors,omitempty"`
	SkipPhases            []string  `json:"skipPhases,omitempty"`
	UnmountFlags          []string  `json:"unmountFlags,omitempty"`
	Timeouts              *Timeouts `json:"timeouts,omitempty"`
}

// Arg is one command-line argument of a component: --name=value.
type Arg struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// EnvVar is an environment variable of a component.
type EnvVar struct {
	corev1.EnvVar `json:",inline"`
}

// EncryptionAlgorithm is the key type of every generated key.
type EncryptionAlgorithm string

// The supported key types.
const (
	EncryptionAlgorithmECDSAP256 EncryptionAlgorithm = "ECDSA-P256"
	EncryptionAlgorithmECDSAP384 EncryptionAlgorithm = "ECDSA-P384"
	EncryptionAlgorithmRSA2048   EncryptionAlgorithm = "RSA-2048"
	EncryptionAlgorithmRSA3072   EncryptionAlgorithm = "RSA-3072"
	EncryptionAlgorithmRSA4096   EncryptionAlgorithm = "RSA-4096"
)

// EncryptionAlgorithms lists the valid values in a stable order.
var EncryptionAlgorithms = []EncryptionAlgorithm{
	EncryptionAlgorithmECDSAP256, EncryptionAlgorithmECDSAP384,
	EncryptionAlgorithmRSA2048, EncryptionAlgorithmRSA3072, EncryptionAlgorithmRSA4096,
}

// Timeouts of the workflows; every field is defaulted.
type Timeouts struct {
	ControlPlaneComponentHealthCheck *metav1.Duration `json:"controlPlaneComponentHealthCheck,omitempty"`
	KubeletHealthCheck               *metav1.Duration `json:"kubeletHealthCheck,omitempty"`
	KubernetesAPICall                *metav1.Duration `json:"kubernetesAPICall,omitempty"`
	EtcdAPICall                      *metav1.Duration `json:"etcdAPICall,omitempty"`
	TLSBootstrap                     *metav1.Duration `json:"tlsBootstrap,omitempty"`
	Discovery                        *metav1.Duration `json:"discovery,omitempty"`
	UpgradeManifests                 *metav1.Duration `json:"upgradeManifests,omitempty"`
}

// BootstrapToken describes one bootstrap token.
type BootstrapToken struct {
	Token       *BootstrapTokenString `json:"token"`
	Description string                `json:"description,omitempty"`
	TTL         *metav1.Duration      `json:"ttl,omitempty"`
	Expires     *metav1.Time          `json:"expires,omitempty"`
	Usages      []string              `json:"usages,omitempty"`
	Groups      []string              `json:"groups,omitempty"`
}

// BootstrapTokenString is a token "<id>.<secret>"; it marshals as one string.
type BootstrapTokenString struct {
	ID     string `json:"-"`
	Secret string `json:"-"`
}

// String returns "<id>.<secret>".
func (t BootstrapTokenString) String() string {
	if t.ID == "" && t.Secret == "" {
		return ""
	}
	return t.ID + "." + t.Secret
}

// MarshalJSON writes the token as one JSON string.
func (t BootstrapTokenString) MarshalJSON() ([]byte, error) {
	return []byte(fmt.Sprintf("%q", t.String())), nil
}

// UnmarshalJSON reads "<id>.<secret>" from a JSON string (or null); the
// format is checked by validation, not here, so that the error can name the
// field.
func (t *BootstrapTokenString) UnmarshalJSON(b []byte) error {
	var s *string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a bootstrap token must be a string: %w", err)
	}
	if s == nil || *s == "" {
		*t = BootstrapTokenString{}
		return nil
	}
	id, secret, ok := strings.Cut(*s, ".")
	if !ok {
		// Keep the raw value so that validation can report it.
		*t = BootstrapTokenString{ID: *s}
		return nil
	}
	*t = BootstrapTokenString{ID: id, Secret: secret}
	return nil
}
