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
	KubernetesDir       = "/etc/kubernetes"
	ManifestsSubDirName = "manifests"
	TempDirName         = "tmp"
	DefaultCertDir      = "/etc/kubernetes/pki"
	DefaultEtcdDataDir  = "/var/lib/etcd"
	KubeletRunDir       = "/var/lib/kubelet"
	KubeletPKIDir       = "/var/lib/kubelet/pki"
	DefaultCACertPath   = "/etc/kubernetes/pki/ca.crt"
	CNIConfDir          = "/etc/cni/net.d"
	PodLogsDir          = "/var/log/pods"
	// KubeletLogFile receives the output of the supervised node agent where
	// systemd does not run. Test nodes bind-mount /var/log/kubeadmin.
	KubeletLogFile = "/var/log/kubeadmin/kubelet.log"
	// KubeletPidFile holds the PID of the node agent's supervisor. Test
	// nodes bind-mount /run/kubeadmin.
	KubeletPidFile = "/run/kubeadmin/kubelet.pid"
	// KubeletUnitFile is the systemd unit written where systemd runs.
	KubeletUnitFile      = "/etc/systemd/system/kubelet.service"
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

// Health polling.
const (
	// HealthPollInterval is how often wait-control-plane polls the kubelet
	// and component health endpoints. kubeadm uses 500ms; a shorter interval
	// costs nothing on loopback and makes init return sooner.
	HealthPollInterval = 100 * time.Millisecond
	// KubeletHealthzURL is the node agent's health endpoint.
	KubeletHealthzURL = "http://127.0.0.1:10248/healthz"
)

// Preflight.
const (
	// PreflightCRITimeout bounds each container runtime call of the
	// preflight checks, dial included, so that a runtime that accepts the
	// connection but never answers cannot hang init.
	PreflightCRITimeout = 5 * time.Second
	// PreflightHostnameLookupTimeout bounds the Hostname check's name
	// lookup: on a machine without a reachable DNS server a lookup that is
	// not answered by /etc/hosts would otherwise take about 10 s.
	PreflightHostnameLookupTimeout = 2 * time.Second
	// ContainerdConfigFile is containerd's configuration file, named in the
	// hints of the CRI checks.
	ContainerdConfigFile = "/etc/containerd/config.toml"
)

// Names of the RBAC objects, Secrets and addon objects that kubeadm creates
// in the cluster (kubeadm-reference.md §10), used by package clusterobjects.
const (
	// NodesKubeadmConfigRoleName lets nodes and bootstrap tokens read the
	// kubeadm-config ConfigMap.
	NodesKubeadmConfigRoleName = "kubeadm:nodes-kubeadm-config"
	// KubeletConfigRoleName lets nodes and bootstrap tokens read the
	// kubelet-config ConfigMap.
	KubeletConfigRoleName = "kubeadm:kubelet-config"
	// KubeadmCertsRoleName lets bootstrap tokens read the kubeadm-certs Secret.
	KubeadmCertsRoleName = "kubeadm:kubeadm-certs"
	// GetNodesClusterRoleName lets bootstrap tokens get Nodes (join checks
	// for a Ready node of the same name).
	GetNodesClusterRoleName = "kubeadm:get-nodes"
	// NodeKubeletBootstrapCRB binds bootstrap tokens to NodeBootstrapperClusterRole.
	NodeKubeletBootstrapCRB = "kubeadm:kubelet-bootstrap"
	// NodeBootstrapperClusterRole is the built-in role that may post CSRs.
	NodeBootstrapperClusterRole = "system:node-bootstrapper"
	// NodeAutoApproveBootstrapCRB lets the csrapprover approve CSRs of
	// bootstrap tokens.
	NodeAutoApproveBootstrapCRB = "kubeadm:node-autoapprove-bootstrap"
	// CSRAutoApprovalClusterRole is the built-in role for first node client CSRs.
	CSRAutoApprovalClusterRole = "system:certificates.k8s.io:certificatesigningrequests:nodeclient"
	// NodeAutoApproveCertRotationCRB lets the csrapprover approve renewals.
	NodeAutoApproveCertRotationCRB = "kubeadm:node-autoapprove-certificate-rotation"
	// NodeSelfCSRAutoApprovalClusterRole is the built-in role for renewals.
	NodeSelfCSRAutoApprovalClusterRole = "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient"
	// KubeletAPIAdminCRB lets the API server's kubelet client call the kubelet API.
	KubeletAPIAdminCRB = "kubeadm:apiserver-kubelet-client"
	// KubeletAPIAdminClusterRole is the built-in kubelet API admin role.
	KubeletAPIAdminClusterRole = "system:kubelet-api-admin"
	// BootstrapSignerClusterInfoRoleName lets anonymous users read cluster-info.
	BootstrapSignerClusterInfoRoleName = "kubeadm:bootstrap-signer-clusterinfo"
	// AnonymousUser is the user name of unauthenticated requests.
	AnonymousUser = "system:anonymous"
	// ClusterAdminClusterRole is the built-in super-user ClusterRole.
	ClusterAdminClusterRole = "cluster-admin"

	// CoreDNSDeploymentName is the name of the CoreDNS Deployment.
	CoreDNSDeploymentName = "coredns"
	// CoreDNSServiceAccountName is the CoreDNS ServiceAccount.
	CoreDNSServiceAccountName = "coredns"
	// CoreDNSClusterRoleName is the CoreDNS ClusterRole and its binding.
	CoreDNSClusterRoleName = "system:coredns"
	// KubeDNSServiceName is the name of the cluster DNS Service.
	KubeDNSServiceName = "kube-dns"
	// CoreDNSReplicas is the replica count of a new CoreDNS Deployment.
	CoreDNSReplicas = 2
	// CorefileKey is the ConfigMap key of the Corefile.
	CorefileKey = "Corefile"
	// SystemClusterCriticalPriorityClass is the priority class of CoreDNS.
	SystemClusterCriticalPriorityClass = "system-cluster-critical"

	// KubeProxyServiceAccountName is the kube-proxy ServiceAccount.
	KubeProxyServiceAccountName = "kube-proxy"
	// KubeProxyClusterRoleBindingName binds kube-proxy to KubeProxyClusterRoleName.
	KubeProxyClusterRoleBindingName = "kubeadm:node-proxier"
	// PodNetworkClusterRoleName lets nodes read all Node objects (the
	// built-in pod network's routes); kubeadmin's only RBAC addition.
	PodNetworkClusterRoleName = "kubeadmin:pod-network"
	// KubeProxyClusterRoleName is the built-in node-proxier role.
	KubeProxyClusterRoleName = "system:node-proxier"
	// KubeProxyConfigMapRoleName lets bootstrap tokens read the kube-proxy ConfigMap.
	KubeProxyConfigMapRoleName = "kube-proxy"
	// KubeProxyConfigMapKey is the key of the KubeProxyConfiguration.
	KubeProxyConfigMapKey = "config.conf"
	// KubeProxyKubeConfigMapKey is the key of kube-proxy's kubeconfig.
	KubeProxyKubeConfigMapKey = "kubeconfig.conf"
	// KubeProxyConfigDir is where kube-proxy's ConfigMap is mounted.
	KubeProxyConfigDir = "/var/lib/kube-proxy"
)

// Configuration API (config package).
const (
	// MinimumControlPlaneVersion is the oldest control plane kubeadm v1.37
	// deploys (current minor - 1).
	MinimumControlPlaneVersion = "v1.36.0"
	// DefaultManifestsDir is the kubelet's staticPodPath set by kubeadm.
	DefaultManifestsDir = "/etc/kubernetes/manifests"
	// CACertName is the file name of the cluster CA certificate.
	CACertName = "ca.crt"
	// CgroupDriverSystemd is the cgroup driver kubeadm writes into the
	// cluster's KubeletConfiguration when none is given.
	CgroupDriverSystemd = "systemd"
	// CgroupDriverCgroupfs is the cgroup driver our machines need (no
	// systemd as PID 1); applied to the node-local kubelet config only.
	CgroupDriverCgroupfs = "cgroupfs"
	// KubeProxyKubeConfigFile is kube-proxy's kubeconfig inside its pod.
	KubeProxyKubeConfigFile = "/var/lib/kube-proxy/kubeconfig.conf"
	// KubeProxyDefaultMode is the proxy mode kubeadm sets when none is given.
	KubeProxyDefaultMode = "iptables"
	// DefaultCRIURLScheme is the only CRI endpoint scheme kubeadm accepts.
	DefaultCRIURLScheme = "unix"
	// PlaceholderToken is the bootstrap token printed by `config print`.
	PlaceholderToken = "abcdef.0123456789abcdef"
	// YAMLDocumentSeparator separates documents in printed configuration.
	YAMLDocumentSeparator = "---\n"
	// ImagesOutputAPIVersion is the apiVersion of `config images list -o`.
	ImagesOutputAPIVersion = "output.kubeadm.k8s.io/v1alpha3"
)

// systemd drop-in.
const (
	// KubeletDropInFile is the kubeadm-style drop-in (10-kubeadm.conf) that
	// passes the kubeconfigs, config.yaml and kubeadm-flags.env to the node
	// agent; written next to KubeletUnitFile where systemd runs.
	KubeletDropInFile = "/etc/systemd/system/kubelet.service.d/10-kubeadm.conf"
	// SystemdRunDir exists when systemd is the init system (sd_booted(3)).
	SystemdRunDir = "/run/systemd/system"
)

// Node agent (kubeadmin kubelet).
const (
	// KubeletNodeLabel is set on every sandbox and container the node agent
	// creates, with the node name as value; an agent only ever lists,
	// adopts, stops or removes objects that carry its own node's label, so
	// several agents can share one containerd.
	KubeletNodeLabel = "kubeadmin.kubelet/node"
	// KubeletDefaultCgroupRoot is the prefix of the cgroupfs parent of the
	// pods' cgroups when the KubeletConfiguration sets no cgroupRoot: each
	// pod gets <root>-<nodeName>/pod<uid>.
	KubeletDefaultCgroupRoot = "/kubeadmin"
	// KubeletDefaultRuntimeEndpoint is the upstream kubelet's default
	// containerRuntimeEndpoint.
	KubeletDefaultRuntimeEndpoint = "unix:///run/containerd/containerd.sock"
	// KubeletStatusPath is the path of the node agent's JSON status report,
	// served next to /healthz.
	KubeletStatusPath = "/status"
	// KubeletHealthzPath is the node agent's health check, next to /status.
	KubeletHealthzPath = "/healthz"
	// KubeletDefaultMaxPods is the upstream default maxPods: the Node's
	// pods capacity.
	KubeletDefaultMaxPods = 110
	// KubeletPKIDirName is the serving certificate's directory below
	// --root-dir.
	KubeletPKIDirName = "pki"
	// KubeletDefaultAddress is the upstream default address of the
	// kubelet API.
	KubeletDefaultAddress = "0.0.0.0"
)

// Node agent certificates: TLS bootstrap and rotation of the client
// certificate, and the serving certificate with serverTLSBootstrap.
const (
	// KubeletClientCertPairName and KubeletServerCertPairName are the
	// certificate stores' pair names in <root-dir>/pki: the store writes
	// <name>-<timestamp>.pem and the link <name>-current.pem.
	KubeletClientCertPairName = "kubelet-client"
	KubeletServerCertPairName = "kubelet-server"
	// KubeletClientPendingKeyFile keeps the bootstrap key until its CSR is
	// issued, so that a restarted agent asks again with the same key (and
	// CSR name) instead of leaving one pending CSR per attempt.
	KubeletClientPendingKeyFile = "kubelet-client.key.tmp"
	// KubeletCSRNamePrefix starts the name of the bootstrap CSR.
	KubeletCSRNamePrefix = "node-csr-"
	// KubeletCSRApprovalTimeout is how long the bootstrap waits for its CSR
	// to be approved and issued before it fails (the certificate manager's
	// own wait for one renewal is as long).
	KubeletCSRApprovalTimeout = 15 * time.Minute
	// KubeletBootstrapRetryMax caps the back-off between bootstrap attempts
	// while the API server is unreachable (the first wait is
	// TLSBootstrapRetryInterval, then it doubles).
	KubeletBootstrapRetryMax = 30 * time.Second
	// KubeletCertCheckInterval is how often the agent looks whether the
	// certificate manager has a new certificate; on a new client
	// certificate it closes the API server connections.
	KubeletCertCheckInterval = 5 * time.Second
)

// Client rate limits of the clients kubeadmin builds for init, join and the
// node agent: enough that no phase waits on the client-side limiter.
const (
	ClientQPS   = 50
	ClientBurst = 100
)

// ReleaseStartupPagesAfter is when the node agent drops the pages of its
// binary that only start-up touched (see procutil.ReleaseStartupPages). It
// comes after the first burst of pod starts: at 10 s, the pages that 20 pod
// starts and 10 stops touched afterwards came back and stayed (agent RSS
// 32 MiB against 24 MiB at 30 s, hack/bench/kubelet.sh).
const ReleaseStartupPagesAfter = 30 * time.Second

// Container log rotation: the upstream KubeletConfiguration defaults of
// containerLogMaxSize, containerLogMaxFiles and containerLogMonitorInterval.
const (
	ContainerLogMaxSize         = "10Mi"
	ContainerLogMaxFiles        = 5
	ContainerLogMonitorInterval = 10 * time.Second
)

// Join discovery (phases/discovery). kubeadm waits the whole discovery
// timeout for the token's signature in cluster-info; kubeadmin gives up
// sooner once cluster-info was read without it. The bootstrapsigner adds a
// signature within a second of a token's creation, so when it has signed
// other tokens already, DiscoverySignatureGrace is ample. With no signature
// at all it may not have started yet (a control plane still coming up), so
// the longer DiscoveryUnsignedGrace applies. While waiting for a signature
// cluster-info is read every DiscoverySignatureRetryInterval.
const (
	DiscoverySignatureGrace         = 10 * time.Second
	DiscoveryUnsignedGrace          = 60 * time.Second
	DiscoverySignatureRetryInterval = 1 * time.Second
	// DiscoveryFileMaxBytes bounds a discovery kubeconfig fetched over HTTPS.
	DiscoveryFileMaxBytes = 1 << 20
)
