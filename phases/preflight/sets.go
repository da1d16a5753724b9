package preflight

import (
	"net"
	"path/filepath"
	"strings"

	"k8s.io/apimachinery/pkg/util/version"

	"github.com/kubeadmin/kubeadmin/internal/config"
	"github.com/kubeadmin/kubeadmin/internal/constants"
)

// InitOptions is everything the init checks look at.
type InitOptions struct {
	// Cfg is the defaulted init configuration.
	Cfg *config.InitConfig
	// ManifestsDir holds the static pod manifests (default
	// /etc/kubernetes/manifests); the FileAvailable check names derive from it.
	ManifestsDir string
	// EtcdDataDir is the local etcd data directory (default: the one of
	// Cfg); unused with external etcd.
	EtcdDataDir string
	// Images are the images the cluster needs (config.Images).
	Images []string
	// SandboxImage is the pause image kubeadmin expects the runtime to use
	// (default "<imageRepository>/pause:<constants.PauseVersion>").
	SandboxImage string
	// DryRun leaves out the ImagePull check, as kubeadm does.
	DryRun bool
	// CRISocket overrides Cfg's nodeRegistration.criSocket.
	CRISocket string
	// SecondaryControlPlane selects the checks of a control-plane join:
	// without the checks common to every node (the join runs them).
	SecondaryControlPlane bool
	// DownloadCerts skips the external etcd certificate checks of a
	// control-plane join that downloads the certificates.
	DownloadCerts bool
	// KubeletArgs are the node agent's arguments, without the subcommand,
	// as kubelet-start will pass them.
	KubeletArgs []string
	// ValidateKubeletArgs parses arguments with the node agent's flag set;
	// nil leaves out the KubeletFlags check.
	ValidateKubeletArgs func(args []string) error
	// Host is how the checks see the machine (zero: the real one).
	Host Host
}

// JoinOptions is everything the node checks of a join look at.
type JoinOptions struct {
	// Cfg is the defaulted join configuration.
	Cfg *config.JoinConfiguration
	// KubernetesDir holds the kubeconfig files (default /etc/kubernetes).
	KubernetesDir string
	// CRISocket overrides Cfg's nodeRegistration.criSocket.
	CRISocket string
	// KubeletArgs are the node agent's arguments from kubeadm-flags.env,
	// checked with ValidateKubeletArgs (nil: the KubeletFlags check is left
	// out).
	KubeletArgs         []string
	ValidateKubeletArgs func(args []string) error
	// Host is how the checks see the machine (zero: the real one).
	Host Host
}

// InitChecks returns the checks of `kubeadmin init` in kubeadm's order:
// IsPrivilegedUser, the control-plane checks, the checks common to every
// node, and last ImagePull (left out in dry-run). kubeadm's
// SystemVerification, KubeletVersion, Service-kubelet, Firewalld and
// ExternalEtcdVersion checks are not implemented.
func InitChecks(opts InitOptions) []Checker {
	h := opts.Host.withDefaults()
	cfg := opts.Cfg
	if cfg == nil {
		cfg = &config.InitConfig{}
	}
	cl, nr := &cfg.Cluster, &cfg.Init.NodeRegistration
	manifests := opts.ManifestsDir
	if manifests == "" {
		manifests = filepath.Join(constants.KubernetesDir, constants.ManifestsSubDirName)
	}
	advertise := cfg.Init.LocalAPIEndpoint.AdvertiseAddress
	bindPort := int(cfg.Init.LocalAPIEndpoint.BindPort)
	if bindPort == 0 {
		bindPort = constants.KubeAPIServerPort
	}

	var checks []Checker
	if !opts.SecondaryControlPlane {
		checks = append(checks, privilegedUserCheck(h))
	}
	checks = append(checks,
		numCPUCheck(h, constants.ControlPlaneNumCPU),
		memCheck(h, constants.ControlPlaneMemMB),
		kubernetesVersionCheck(cl.KubernetesVersion),
		portCheck(h, argValue(cl.APIServer.ExtraArgs, "bind-address"), bindPort),
		portCheck(h, argValue(cl.Scheduler.ExtraArgs, "bind-address"), constants.KubeSchedulerPort),
		portCheck(h, argValue(cl.ControllerManager.ExtraArgs, "bind-address"), constants.KubeControllerManagerPort),
	)
	for _, c := range []string{constants.KubeAPIServer, constants.KubeControllerManager, constants.KubeScheduler, constants.Etcd} {
		checks = append(checks, fileAvailableCheck(filepath.Join(manifests, c+".yaml"), ""))
	}
	checks = append(checks, httpProxyCheck(h, advertise))

	families := ipFamilies{}
	for _, subnets := range []string{cl.Networking.ServiceSubnet, cl.Networking.PodSubnet} {
		for _, cidr := range strings.Split(subnets, ",") {
			checks = append(checks, httpProxyCIDRCheck(h, cidr))
			families.addCIDR(cidr)
		}
	}

	if !opts.SecondaryControlPlane {
		checks = append(checks, commonChecks(h, criSocket(opts.CRISocket, nr.CRISocket), cl.KubernetesVersion, nr.Name)...)
		if opts.ValidateKubeletArgs != nil {
			checks = append(checks, kubeletFlagsCheck(opts.KubeletArgs, nr.KubeletExtraArgs, opts.ValidateKubeletArgs))
		}
		families.addIP(advertise)
		checks = append(checks, families.checks(h)...)
	}

	checks = append(checks, etcdChecks(h, cfg, opts)...)

	if !opts.DryRun {
		sandbox := opts.SandboxImage
		if sandbox == "" {
			sandbox = defaultSandboxImage(cl.ImageRepository)
		}
		checks = append(checks, imagePresenceCheck(h, criSocket(opts.CRISocket, nr.CRISocket), opts.Images, sandbox, nr.ImagePullPolicy))
	}
	return checks
}

// etcdChecks returns the local etcd checks (ports 2379/2380 on the etcd
// address, empty data dir) or the external etcd certificate checks.
func etcdChecks(h Host, cfg *config.InitConfig, opts InitOptions) []Checker {
	var checks []Checker
	etcd := cfg.Cluster.Etcd
	if etcd.External == nil { // no external etcd: kubeadmin runs a local one
		addr := cfg.Init.LocalAPIEndpoint.AdvertiseAddress
		if a := argValue(cfg.Cluster.APIServer.ExtraArgs, "advertise-address"); a != "" {
			addr = a
		}
		dataDir := opts.EtcdDataDir
		if dataDir == "" && etcd.Local != nil {
			dataDir = etcd.Local.DataDir
		}
		if dataDir == "" {
			dataDir = constants.DefaultEtcdDataDir
		}
		checks = append(checks,
			portCheck(h, addr, constants.EtcdListenClientPort),
			portCheck(h, addr, constants.EtcdListenPeerPort),
			dirAvailableCheck(dataDir),
		)
	}
	if ext := etcd.External; ext != nil && !(opts.SecondaryControlPlane && opts.DownloadCerts) {
		for _, f := range []string{ext.CAFile, ext.CertFile, ext.KeyFile} {
			if f != "" {
				checks = append(checks, fileExistingCheck(f, "ExternalEtcdClientCertificates"))
			}
		}
	}
	return checks
}

// JoinNodeChecks returns the node checks of `kubeadmin join`: no kubelet
// kubeconfig yet, the checks common to every node, no CA file for a
// worker, and the proxy and forwarding checks for the discovery endpoint.
// A control-plane join also runs InitChecks with SecondaryControlPlane.
// IsPrivilegedUser comes first, as kubeadm runs it before the rest.
func JoinNodeChecks(opts JoinOptions) []Checker {
	h := opts.Host.withDefaults()
	cfg := opts.Cfg
	if cfg == nil {
		cfg = &config.JoinConfiguration{}
	}
	dir := opts.KubernetesDir
	if dir == "" {
		dir = constants.KubernetesDir
	}
	nr := &cfg.NodeRegistration
	checks := []Checker{
		privilegedUserCheck(h),
		fileAvailableCheck(filepath.Join(dir, constants.KubeletKubeConfigFile), ""),
		fileAvailableCheck(filepath.Join(dir, constants.KubeletBootstrapKubeConfigFile), ""),
	}
	checks = append(checks, commonChecks(h, criSocket(opts.CRISocket, nr.CRISocket), "", nr.Name)...)
	if opts.ValidateKubeletArgs != nil {
		checks = append(checks, kubeletFlagsCheck(opts.KubeletArgs, nr.KubeletExtraArgs, opts.ValidateKubeletArgs))
	}
	if cfg.ControlPlane == nil {
		caPath := cfg.CACertPath
		if caPath == "" {
			caPath = constants.DefaultCACertPath
		}
		checks = append(checks, fileAvailableCheck(caPath, ""))
	}
	if bt := cfg.Discovery.BootstrapToken; bt != nil {
		if host, _, err := net.SplitHostPort(bt.APIServerEndpoint); err == nil {
			checks = append(checks, httpProxyCheck(h, host))
			families := ipFamilies{}
			families.addIP(host)
			checks = append(checks, families.checks(h)...)
		}
	}
	return checks
}

// ResetChecks returns the checks of `kubeadmin reset`: only IsPrivilegedUser.
func ResetChecks(h Host) []Checker {
	return []Checker{privilegedUserCheck(h.withDefaults())}
}

// commonChecks are the checks kubeadm runs on every node (init and join).
func commonChecks(h Host, cri, k8sVersion, nodeName string) []Checker {
	checks := []Checker{
		criCheck(h, cri),
		runtimeVersionCheck(h, cri),
		swapCheck(h),
	}
	if v, err := version.ParseSemantic(k8sVersion); err == nil && v.LessThan(version.MustParseSemantic("1.32.0")) {
		// kube-proxy before 1.32 needs conntrack in PATH.
		checks = append(checks, inPathCheck(h, "conntrack"))
	}
	checks = append(checks,
		inPathCheck(h, "losetup"),
		inPathCheck(h, "mount"),
		inPathCheck(h, "cp"),
		hostnameCheck(h, nodeName),
		portCheck(h, "", constants.KubeletPort),
	)
	return checks
}

// ipFamilies records which IP families the cluster uses, to decide which
// forwarding sysctls must be on.
type ipFamilies struct{ v4, v6 bool }

// addCIDR records the family of cidr; an invalid or empty value is ignored.
func (f *ipFamilies) addCIDR(cidr string) {
	if ip, _, err := net.ParseCIDR(strings.TrimSpace(cidr)); err == nil {
		f.addIP(ip.String())
	}
}

// addIP records the family of ip; a value that is not an IP is ignored.
func (f *ipFamilies) addIP(s string) {
	ip := net.ParseIP(strings.TrimSpace(s))
	switch {
	case ip == nil:
	case ip.To4() != nil:
		f.v4 = true
	default:
		f.v6 = true
	}
}

// checks returns the forwarding checks of the recorded families.
func (f ipFamilies) checks(h Host) []Checker {
	var checks []Checker
	if f.v4 {
		checks = append(checks, ipv4ForwardCheck(h))
	}
	if f.v6 {
		checks = append(checks, ipv6ForwardCheck(h))
	}
	return checks
}

// argValue returns the value of the last argument called name, or "".
func argValue(args []config.Arg, name string) string {
	for i := len(args) - 1; i >= 0; i-- {
		if args[i].Name == name {
			return args[i].Value
		}
	}
	return ""
}

// criSocket picks the CRI socket: the override, the configured one, or
// kubeadm's default.
func criSocket(override, configured string) string {
	switch {
	case override != "":
		return override
	case configured != "":
		return configured
	}
	return constants.DefaultCRISocket
}

// defaultSandboxImage is "<repo>/pause:<PauseVersion>".
func defaultSandboxImage(repo string) string {
	if repo == "" {
		repo = constants.DefaultImageRepository
	}
	return repo + "/" + constants.Pause + ":" + constants.PauseVersion
}
