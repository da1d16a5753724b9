// Package constants holds every well-known path, file name, port, name,
// version and timeout that kubeadmin uses, in one place. The values follow
// kubeadm v1.37.2 so that kubeadmin is a drop-in replacement.
package constants

import "time"

// Versions.
const (
	// KubernetesVersion is the Kubernetes release kubeadmin deploys by default.
	KubernetesVersion = "v1.37.2"
	// KubernetesMinor is the minor version of KubernetesVersion.
	KubernetesMinor = 37
	// DefaultKubernetesVersionLabel is the version label kubeadm resolves
	// over the network ("stable-1"); kubeadmin never reaches the network and
	// resolves it to KubernetesVersion.
	DefaultKubernetesVersionLabel = "stable-1"
	// EtcdVersion is the etcd image tag kubeadm v1.37.2 selects for 1.37.
	EtcdVersion = "3.7.0-0"
	// CoreDNSVersion is the CoreDNS image tag kubeadm v1.37.2 uses.
	CoreDNSVersion = "v1.14.6"
	// PauseVersion is the sandbox (pause) image tag.
	PauseVersion = "3.10.2"
	// MinExternalEtcdVersion is the oldest external etcd kubeadm accepts.
	MinExternalEtcdVersion = "3.5.24-0"
)

// Images.
const (
	// DefaultImageRepository is the registry kubeadm names images in.
	DefaultImageRepository = "registry.k8s.io"
	// CoreDNSImageName is the CoreDNS image name below the default repository.
	CoreDNSImageName = "coredns/coredns"
	// CoreDNSImageNameNonDefaultRepo is the CoreDNS image name used with any
	// other repository.
	CoreDNSImageNameNonDefaultRepo = "coredns"
	Etcd                           = "etcd"
	KubeAPIServer                  = "kube-apiserver"
	KubeControllerManager          = "kube-controller-manager"
	KubeScheduler                  = "kube-scheduler"
	KubeProxy                      = "kube-proxy"
	CoreDNS                        = "coredns"
	Pause                          = "pause"
)

// Directories and files.
const (
	KubernetesDir        = "/etc/kubernetes"
	ManifestsSubDirName  = "manifests"
	TempDirName          = "tmp"
	DefaultCertDir       = "/etc/kubernetes/pki"
	DefaultEtcdDataDir   = "/var/lib/etcd"
	KubeletRunDir        = "/var/lib/kubelet"
	KubeletPKIDir        = "/var/lib/kubelet/pki"
	DefaultCACertPath    = "/etc/kubernetes/pki/ca.crt"
	CNIConfDir           = "/etc/cni/net.d"
	PodLogsDir           = "/var/log/pods"
	KubeletLogFile       = "/var/log/kubeadmin-kubelet.log"
	KubeletPidFile       = "/run/kubeadmin-kubelet.pid"
	InitDryRunDirPrefix  = "kubeadm-init-dryrun"
	JoinDryRunDirPrefix  = "kubeadm-join-dryrun"
	InitDryRunDirEnv     = "KUBEADM_INIT_DRYRUN_DIR"
	JoinDryRunDirEnv     = "KUBEADM_JOIN_DRYRUN_DIR"
	KubeletConfigFile    = "config.yaml"
	KubeletInstanceFile  = "instance-config.yaml"
	KubeletFlagsEnvFile  = "kubeadm-flags.env"
	KubeletEnvVarName    = "KUBELET_KUBEADM_ARGS"
	KubeletClientCurrent = "kubelet-client-current.pem"

	AdminKubeConfigFile             = "admin.conf"
	SuperAdminKubeConfigFile        = "super-admin.conf"
	KubeletKubeConfigFile           = "kubelet.conf"
	KubeletBootstrapKubeConfigFile  = "bootstrap-kubelet.conf"
	ControllerManagerKubeConfigFile = "controller-manager.conf"
	SchedulerKubeConfigFile         = "scheduler.conf"
)

// PKI file base names, relative to the certificates directory.
const (
	CACertAndKeyBaseName                  = "ca"
	APIServerCertAndKeyBaseName           = "apiserver"
	APIServerKubeletClientCertAndKeyBase  = "apiserver-kubelet-client"
	FrontProxyCACertAndKeyBaseName        = "front-proxy-ca"
	FrontProxyClientCertAndKeyBaseName    = "front-proxy-client"
	EtcdCACertAndKeyBaseName              = "etcd/ca"
	EtcdServerCertAndKeyBaseName          = "etcd/server"
	EtcdPeerCertAndKeyBaseName            = "etcd/peer"
	EtcdHealthcheckClientCertAndKeyBase   = "etcd/healthcheck-client"
	APIServerEtcdClientCertAndKeyBaseName = "apiserver-etcd-client"
	ServiceAccountKeyBaseName             = "sa"
	ServiceAccountPrivateKeyName          = "sa.key"
	ServiceAccountPublicKeyName           = "sa.pub"
)

// Certificate subjects.
const (
	CACommonName                     = "kubernetes"
	APIServerCommonName              = "kube-apiserver"
	APIServerKubeletClientCommonName = "kube-apiserver-kubelet-client"
	FrontProxyCACommonName           = "front-proxy-ca"
	FrontProxyClientCommonName       = "front-proxy-client"
	EtcdCACommonName                 = "etcd-ca"
	EtcdHealthcheckClientCommonName  = "kube-etcd-healthcheck-client"
	APIServerEtcdClientCommonName    = "kube-apiserver-etcd-client"
	AdminUser                        = "kubernetes-admin"
	SuperAdminUser                   = "kubernetes-super-admin"
	ControllerManagerUser            = "system:kube-controller-manager"
	SchedulerUser                    = "system:kube-scheduler"
	NodesUserPrefix                  = "system:node:"
	NodesGroup                       = "system:nodes"
	SystemPrivilegedGroup            = "system:masters"
	ClusterAdminsGroupAndCRB         = "kubeadm:cluster-admins"
	NodeBootstrapTokenAuthGroup      = "system:bootstrappers:kubeadm:default-node-token"
	BootstrapTokenUser               = "tls-bootstrap-token-user"
	TokenBootstrapDiscoveryUser      = "token-bootstrap-client"
	DefaultClusterName               = "kubernetes"
	CertificateBackdate              = 5 * time.Minute
	CertificateValidityPeriod        = 365 * 24 * time.Hour
	CACertificateValidityPeriod      = 10 * 365 * 24 * time.Hour
	CertificateKeySize               = 32
	DefaultTokenDuration             = 24 * time.Hour
	DefaultCertTokenDuration         = 2 * time.Hour
	DefaultInitTokenDescription      = "The default bootstrap token generated by 'kubeadm init'."
	CertsProxyTokenDescription       = "Proxy for managing TTL for the kubeadm-certs secret"
	DefaultEncryptionAlgorithm       = "RSA-2048"
	ControlPlaneNumCPU               = 2
	ControlPlaneMemMB                = 1700
	ServiceSubnetMinAddresses        = 10
	ServiceSubnetMaxHostBits         = 20
	PodSubnetMinAddresses            = 14
	PodSubnetMaxNodeMaskDifference   = 16
)

// Ports.
const (
	KubeAPIServerPort         = 6443
	KubeletPort               = 10250
	KubeletHealthzPort        = 10248
	KubeletHealthzBindAddress = "127.0.0.1"
	KubeSchedulerPort         = 10259
	KubeControllerManagerPort = 10257
	EtcdListenClientPort      = 2379
	EtcdListenPeerPort        = 2380
	EtcdMetricsPort           = 2381
	ProbePortName             = "probe-port"
)

// Networking defaults.
const (
	DefaultServiceDNSDomain = "cluster.local"
	DefaultServicesSubnet   = "10.96.0.0/12"
	DefaultClusterDNSIP     = "10.96.0.10"
	DefaultProxyBindAddrV4  = "0.0.0.0"
	DefaultProxyBindAddrV6  = "::"
)

// CRI.
const (
	// DefaultCRISocket is the containerd socket kubeadm defaults to.
	DefaultCRISocket = "unix:///var/run/containerd/containerd.sock"
	CRIOSocket       = "unix:///var/run/crio/crio.sock"
	CRIDockerdSocket = "unix:///var/run/cri-dockerd.sock"
	// ContainerdNamespace is the containerd namespace the CRI plugin uses.
	ContainerdNamespace = "k8s.io"
)

// Timeouts and retry intervals (kubeadm v1beta4 Timeouts defaults).
const (
	ControlPlaneComponentHealthCheckTimeout = 4 * time.Minute
	KubeletHealthCheckTimeout               = 4 * time.Minute
	KubernetesAPICallTimeout                = 1 * time.Minute
	EtcdAPICallTimeout                      = 2 * time.Minute
	TLSBootstrapTimeout                     = 5 * time.Minute
	DiscoveryTimeout                        = 5 * time.Minute
	UpgradeManifestsTimeout                 = 5 * time.Minute
	APICallRetryInterval                    = 500 * time.Millisecond
	DiscoveryRetryInterval                  = 5 * time.Second
	TLSBootstrapRetryInterval               = 1 * time.Second
	ClientHTTPTimeout                       = 10 * time.Second
	// StartupProbePeriod is the period of the control-plane startup probes;
	// their failureThreshold is ceil(ControlPlaneComponentHealthCheck/period).
	StartupProbePeriod = 10 * time.Second
)

// Labels, annotations, taints and object names.
const (
	LabelNodeRoleControlPlane                 = "node-role.kubernetes.io/control-plane"
	LabelExcludeFromExternalLB                = "node.kubernetes.io/exclude-from-external-load-balancers"
	KubeAPIServerAdvertiseAddressEndpointAnno = "kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint"
	EtcdAdvertiseClientUrlsAnnotationKey      = "kubeadm.kubernetes.io/etcd.advertise-client-urls"
	ComponentConfigHashAnnotationKey          = "kubeadm.kubernetes.io/component-config.hash"
	KubeadmConfigConfigMap                    = "kubeadm-config"
	ClusterConfigurationConfigMapKey          = "ClusterConfiguration"
	KubeletBaseConfigurationConfigMap         = "kubelet-config"
	KubeletBaseConfigurationConfigMapKey      = "kubelet"
	KubeProxyConfigMap                        = "kube-proxy"
	CoreDNSConfigMap                          = "coredns"
	ClusterInfoConfigMap                      = "cluster-info"
	KubeadmCertsSecret                        = "kubeadm-certs"
	SystemNodeCriticalPriorityClass           = "system-node-critical"
	SystemNodeCriticalPriority                = 2000001000
	KubeSystemNamespace                       = "kube-system"
	KubePublicNamespace                       = "kube-public"
)
