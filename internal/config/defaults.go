package config

import (
	"net/url"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	bootstrapapi "k8s.io/cluster-bootstrap/token/api"

	"github.com/kubeadmin/kubeadmin/internal/constants"
)

// InitConfig is everything `kubeadmin init` reads: the node-local
// InitConfiguration, the ClusterConfiguration and the optional component
// configurations that may share the file. Component configs are kept as the
// raw documents plus their decoded form, see ComponentConfigs.
type InitConfig struct {
	Init    InitConfiguration
	Cluster ClusterConfiguration
	// Components holds the KubeletConfiguration and KubeProxyConfiguration.
	Components ComponentConfigs
}

// JoinConfig is everything `kubeadmin join` reads.
type JoinConfig struct {
	Join JoinConfiguration
}

// SetDefaultsInit fills the static defaults of an InitConfiguration
// (kubeadm's SetDefaults_InitConfiguration). Dynamic defaults that look at
// the host (advertise address, node name, CRI socket) are set by
// SetDynamicDefaultsInit.
func SetDefaultsInit(obj *InitConfiguration) {
	obj.APIVersion, obj.Kind = APIVersion, KindInit
	if len(obj.BootstrapTokens) == 0 {
		obj.BootstrapTokens = []BootstrapToken{{}}
	}
	for i := range obj.BootstrapTokens {
		SetDefaultsBootstrapToken(&obj.BootstrapTokens[i])
	}
	setDefaultsAPIEndpoint(&obj.LocalAPIEndpoint)
	setDefaultsNodeRegistration(&obj.NodeRegistration)
	if obj.Timeouts == nil {
		obj.Timeouts = &Timeouts{}
	}
	SetDefaultsTimeouts(obj.Timeouts)
}

// SetDefaultsCluster fills the static defaults of a ClusterConfiguration.
func SetDefaultsCluster(obj *ClusterConfiguration) {
	obj.APIVersion, obj.Kind = APIVersion, KindCluster
	if obj.KubernetesVersion == "" {
		obj.KubernetesVersion = constants.DefaultKubernetesVersionLabel
	}
	if obj.Networking.ServiceSubnet == "" {
		obj.Networking.ServiceSubnet = constants.DefaultServicesSubnet
	}
	if obj.Networking.DNSDomain == "" {
		obj.Networking.DNSDomain = constants.DefaultServiceDNSDomain
	}
	if obj.CertificatesDir == "" {
		obj.CertificatesDir = constants.DefaultCertDir
	}
	if obj.ImageRepository == "" {
		obj.ImageRepository = constants.DefaultImageRepository
	}
	if obj.ClusterName == "" {
		obj.ClusterName = constants.DefaultClusterName
	}
	if obj.EncryptionAlgorithm == "" {
		obj.EncryptionAlgorithm = EncryptionAlgorithmRSA2048
	}
	if obj.CertificateValidityPeriod == nil {
		obj.CertificateValidityPeriod = &metav1.Duration{Duration: constants.CertificateValidityPeriod}
	}
	if obj.CACertificateValidityPeriod == nil {
		obj.CACertificateValidityPeriod = &metav1.Duration{Duration: constants.CACertificateValidityPeriod}
	}
	if obj.Etcd.External == nil && obj.Etcd.Local == nil {
		obj.Etcd.Local = &LocalEtcd{}
	}
	if obj.Etcd.Local != nil && obj.Etcd.Local.DataDir == "" {
		obj.Etcd.Local.DataDir = constants.DefaultEtcdDataDir
	}
	if e := obj.Etcd.External; e != nil && len(e.HTTPEndpoints) == 0 && len(e.Endpoints) > 0 {
		e.HTTPEndpoints = append([]string(nil), e.Endpoints...)
	}
	for _, c := range []*ControlPlaneComponent{&obj.APIServer.ControlPlaneComponent, &obj.ControllerManager, &obj.Scheduler} {
		setDefaultsEnvVars(c.ExtraEnvs)
	}
	if obj.Etcd.Local != nil {
		setDefaultsEnvVars(obj.Etcd.Local.ExtraEnvs)
	}
}

// SetDefaultsJoin fills the static defaults of a JoinConfiguration.
func SetDefaultsJoin(obj *JoinConfiguration) {
	obj.APIVersion, obj.Kind = APIVersion, KindJoin
	if obj.CACertPath == "" {
		obj.CACertPath = constants.DefaultCACertPath
	}
	if obj.ControlPlane != nil {
		setDefaultsAPIEndpoint(&obj.ControlPlane.LocalAPIEndpoint)
	}
	d := &obj.Discovery
	if d.TLSBootstrapToken == "" && d.BootstrapToken != nil {
		d.TLSBootstrapToken = d.BootstrapToken.Token
	}
	if d.File != nil && d.File.KubeConfigPath != "" {
		if u, err := url.Parse(d.File.KubeConfigPath); err == nil && u.Scheme == "file" {
			d.File.KubeConfigPath = u.Path
		}
	}
	setDefaultsNodeRegistration(&obj.NodeRegistration)
	if obj.Timeouts == nil {
		obj.Timeouts = &Timeouts{}
	}
	SetDefaultsTimeouts(obj.Timeouts)
}

// SetDefaultsReset fills the static defaults of a ResetConfiguration.
func SetDefaultsReset(obj *ResetConfiguration) {
	obj.APIVersion, obj.Kind = APIVersion, KindReset
	if obj.CertificatesDir == "" {
		obj.CertificatesDir = constants.DefaultCertDir
	}
	if obj.Timeouts == nil {
		obj.Timeouts = &Timeouts{}
	}
	SetDefaultsTimeouts(obj.Timeouts)
}

// SetDefaultsBootstrapToken fills TTL, usages and groups of a token. Unlike
// kubeadm, which always sets the TTL and then rejects a token that also has
// expires, the TTL is left unset when expires is given.
func SetDefaultsBootstrapToken(bt *BootstrapToken) {
	if bt.TTL == nil && bt.Expires == nil {
		bt.TTL = &metav1.Duration{Duration: constants.DefaultTokenDuration}
	}
	if len(bt.Usages) == 0 {
		bt.Usages = append([]string(nil), bootstrapapi.KnownTokenUsages...)
	}
	if len(bt.Groups) == 0 {
		bt.Groups = []string{constants.NodeBootstrapTokenAuthGroup}
	}
}

// SetDefaultsTimeouts fills every unset timeout.
func SetDefaultsTimeouts(t *Timeouts) {
	set := func(p **metav1.Duration, d time.Duration) {
		if *p == nil {
			*p = &metav1.Duration{Duration: d}
		}
	}
	set(&t.ControlPlaneComponentHealthCheck, constants.ControlPlaneComponentHealthCheckTimeout)
	set(&t.KubeletHealthCheck, constants.KubeletHealthCheckTimeout)
	set(&t.KubernetesAPICall, constants.KubernetesAPICallTimeout)
	set(&t.EtcdAPICall, constants.EtcdAPICallTimeout)
	set(&t.TLSBootstrap, constants.TLSBootstrapTimeout)
	set(&t.Discovery, constants.DiscoveryTimeout)
	set(&t.UpgradeManifests, constants.UpgradeManifestsTimeout)
}

func setDefaultsAPIEndpoint(e *APIEndpoint) {
	if e.BindPort == 0 {
		e.BindPort = constants.KubeAPIServerPort
	}
}

func setDefaultsNodeRegistration(n *NodeRegistrationOptions) {
	if n.ImagePullPolicy == "" {
		n.ImagePullPolicy = corev1.PullIfNotPresent
	}
	if n.ImagePullSerial == nil {
		t := true
		n.ImagePullSerial = &t
	}
}

func setDefaultsEnvVars(envs []EnvVar) {
	for i := range envs {
		if vf := envs[i].ValueFrom; vf != nil && vf.FieldRef != nil && vf.FieldRef.APIVersion == "" {
			vf.FieldRef.APIVersion = "v1"
		}
	}
}
