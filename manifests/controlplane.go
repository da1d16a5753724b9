package manifests

import (
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	netutils "k8s.io/utils/net"

	"github.com/kubeadmin/kubeadmin/internal/config"
	"github.com/kubeadmin/kubeadmin/internal/constants"
)

// ControlPlanePods renders the API server, controller-manager and
// scheduler pods with the host's facts (see Host), keyed by component name.
func ControlPlanePods(cfg *config.InitConfig) map[string]*corev1.Pod {
	return Host().ControlPlanePods(cfg)
}

// APIServerPod renders the kube-apiserver pod with the host's facts.
func APIServerPod(cfg *config.InitConfig) *corev1.Pod { return Host().APIServerPod(cfg) }

// ControllerManagerPod renders the kube-controller-manager pod with the
// host's facts.
func ControllerManagerPod(cfg *config.InitConfig) *corev1.Pod {
	return Host().ControllerManagerPod(cfg)
}

// SchedulerPod renders the kube-scheduler pod with the host's facts.
func SchedulerPod(cfg *config.InitConfig) *corev1.Pod { return Host().SchedulerPod(cfg) }

// ControlPlanePods renders the three control-plane pods keyed by component
// name (constants.KubeAPIServer, KubeControllerManager, KubeScheduler).
func (r Renderer) ControlPlanePods(cfg *config.InitConfig) map[string]*corev1.Pod {
	return map[string]*corev1.Pod{
		constants.KubeAPIServer:         r.APIServerPod(cfg),
		constants.KubeControllerManager: r.ControllerManagerPod(cfg),
		constants.KubeScheduler:         r.SchedulerPod(cfg),
	}
}

// APIServerPod renders the kube-apiserver static pod (kubeadm-reference §9.3).
func (r Renderer) APIServerPod(cfg *config.InitConfig) *corev1.Pod {
	cl := &cfg.Cluster
	ep := cfg.Init.LocalAPIEndpoint
	h := newHostPathMounts()
	r.addCATrust(h, cl.CertificatesDir)
	if cl.Etcd.External != nil {
		addExternalEtcdCerts(h, cl.Etcd.External, cl.CertificatesDir)
	}
	h.addExtra(cl.APIServer.ExtraVolumes)

	host := "127.0.0.1"
	if ep.AdvertiseAddress != "" {
		host = probeAddress(ep.AdvertiseAddress)
	}
	timeout := healthCheckTimeout(cfg)
	c := corev1.Container{
		Name:            constants.KubeAPIServer,
		Image:           config.ImageFor(cl, constants.KubeAPIServer),
		ImagePullPolicy: corev1.PullIfNotPresent,
		Command:         APIServerCommand(cfg),
		VolumeMounts:    h.sortedMounts(),
		LivenessProbe:   livenessProbe(host, "/livez", corev1.URISchemeHTTPS),
		ReadinessProbe:  readinessProbe(host, "/readyz", corev1.URISchemeHTTPS),
		StartupProbe:    startupProbe(host, "/livez", corev1.URISchemeHTTPS, timeout),
		Resources:       cpuRequest("250m"),
		Env:             mergeEnvVars(ProxyEnvVars(r.Environ), cl.APIServer.ExtraEnvs),
		Ports:           probePort(ep.BindPort),
	}
	endpoint := net.JoinHostPort(ep.AdvertiseAddress, strconv.Itoa(int(ep.BindPort)))
	return componentPod(c, h.sortedVolumes(), map[string]string{
		constants.KubeAPIServerAdvertiseAddressEndpointAnno: endpoint,
	})
}

// ControllerManagerPod renders the kube-controller-manager static pod
// (kubeadm-reference §9.4).
func (r Renderer) ControllerManagerPod(cfg *config.InitConfig) *corev1.Pod {
	cl := &cfg.Cluster
	h := newHostPathMounts()
	r.addCATrust(h, cl.CertificatesDir)
	kubeconfig := filepath.Join(constants.KubernetesDir, constants.ControllerManagerKubeConfigFile)
	h.add(kubeconfigVolumeName, kubeconfig, kubeconfig, true, corev1.HostPathFileOrCreate)
	h.addExtra(cl.ControllerManager.ExtraVolumes)

	host := "127.0.0.1"
	if addr, ok := argValue(cl.ControllerManager.ExtraArgs, "bind-address"); ok {
		host = probeAddress(addr)
	}
	c := corev1.Container{
		Name:            constants.KubeControllerManager,
		Image:           config.ImageFor(cl, constants.KubeControllerManager),
		ImagePullPolicy: corev1.PullIfNotPresent,
		Command:         r.ControllerManagerCommand(cfg),
		VolumeMounts:    h.sortedMounts(),
		LivenessProbe:   livenessProbe(host, "/healthz", corev1.URISchemeHTTPS),
		StartupProbe:    startupProbe(host, "/healthz", corev1.URISchemeHTTPS, healthCheckTimeout(cfg)),
		Resources:       cpuRequest("200m"),
		Env:             mergeEnvVars(ProxyEnvVars(r.Environ), cl.ControllerManager.ExtraEnvs),
		Ports:           probePort(constants.KubeControllerManagerPort),
	}
	return componentPod(c, h.sortedVolumes(), nil)
}

// SchedulerPod renders the kube-scheduler static pod (kubeadm-reference §9.5).
func (r Renderer) SchedulerPod(cfg *config.InitConfig) *corev1.Pod {
	cl := &cfg.Cluster
	h := newHostPathMounts()
	kubeconfig := filepath.Join(constants.KubernetesDir, constants.SchedulerKubeConfigFile)
	h.add(kubeconfigVolumeName, kubeconfig, kubeconfig, true, corev1.HostPathFileOrCreate)
	h.addExtra(cl.Scheduler.ExtraVolumes)

	host := "127.0.0.1"
	if addr, ok := argValue(cl.Scheduler.ExtraArgs, "bind-address"); ok {
		host = probeAddress(addr)
	}
	timeout := healthCheckTimeout(cfg)
	c := corev1.Container{
		Name:            constants.KubeScheduler,
		Image:           config.ImageFor(cl, constants.KubeScheduler),
		ImagePullPolicy: corev1.PullIfNotPresent,
		Command:         SchedulerCommand(cfg),
		VolumeMounts:    h.sortedMounts(),
		LivenessProbe:   livenessProbe(host, "/livez", corev1.URISchemeHTTPS),
		ReadinessProbe:  readinessProbe(host, "/readyz", corev1.URISchemeHTTPS),
		StartupProbe:    startupProbe(host, "/livez", corev1.URISchemeHTTPS, timeout),
		Resources:       cpuRequest("100m"),
		Env:             mergeEnvVars(ProxyEnvVars(r.Environ), cl.Scheduler.ExtraEnvs),
		Ports:           probePort(constants.KubeSchedulerPort),
	}
	return componentPod(c, h.sortedVolumes(), nil)
}

// APIServerCommand returns the kube-apiserver command line.
func APIServerCommand(cfg *config.InitConfig) []string {
	cl := &cfg.Cluster
	ep := cfg.Init.LocalAPIEndpoint
	pki := func(name string) string { return filepath.Join(cl.CertificatesDir, name) }
	args := argSet{
		{Name: "advertise-address", Value: ep.AdvertiseAddress},
		{Name: "enable-admission-plugins", Value: "NodeRestriction"},
		{Name: "service-cluster-ip-range", Value: cl.Networking.ServiceSubnet},
		{Name: "service-account-key-file", Value: pki(constants.ServiceAccountPublicKeyName)},
		{Name: "service-account-signing-key-file", Value: pki(constants.ServiceAccountPrivateKeyName)},
		{Name: "service-account-issuer", Value: "https://kubernetes.default.svc." + cl.Networking.DNSDomain},
		{Name: "client-ca-file", Value: pki(constants.CACertAndKeyBaseName + ".crt")},
		{Name: "tls-cert-file", Value: pki(constants.APIServerCertAndKeyBaseName + ".crt")},
		{Name: "tls-private-key-file", Value: pki(constants.APIServerCertAndKeyBaseName + ".key")},
		{Name: "kubelet-client-certificate", Value: pki(constants.APIServerKubeletClientCertAndKeyBase + ".crt")},
		{Name: "kubelet-client-key", Value: pki(constants.APIServerKubeletClientCertAndKeyBase + ".key")},
		{Name: "enable-bootstrap-token-auth", Value: "true"},
		{Name: "secure-port", Value: strconv.Itoa(int(ep.BindPort))},
		{Name: "allow-privileged", Value: "true"},
		{Name: "kubelet-preferred-address-types", Value: "InternalIP,ExternalIP,Hostname"},
		{Name: "requestheader-username-headers", Value: "X-Remote-User"},
		{Name: "requestheader-group-headers", Value: "X-Remote-Group"},
		{Name: "requestheader-extra-headers-prefix", Value: "X-Remote-Extra-"},
		{Name: "requestheader-client-ca-file", Value: pki(constants.FrontProxyCACertAndKeyBaseName + ".crt")},
		{Name: "requestheader-allowed-names", Value: constants.FrontProxyClientCommonName},
		{Name: "proxy-client-cert-file", Value: pki(constants.FrontProxyClientCertAndKeyBaseName + ".crt")},
		{Name: "proxy-client-key-file", Value: pki(constants.FrontProxyClientCertAndKeyBaseName + ".key")},
	}
	if ext := cl.Etcd.External; ext != nil {
		args.set("etcd-servers", strings.Join(ext.Endpoints, ","))
		if ext.CAFile != "" {
			args.set("etcd-cafile", ext.CAFile)
		}
		if ext.CertFile != "" && ext.KeyFile != "" {
			args.set("etcd-certfile", ext.CertFile)
			args.set("etcd-keyfile", ext.KeyFile)
		}
	} else {
		servers := "https://" + net.JoinHostPort(localhostFor(ep.AdvertiseAddress), strconv.Itoa(constants.EtcdListenClientPort))
		if cl.Etcd.Local != nil {
			if v, ok := argValue(cl.Etcd.Local.ExtraArgs, "advertise-client-urls"); ok {
				servers = v
			}
		}
		args.set("etcd-servers", servers)
		args.set("etcd-cafile", pki(constants.EtcdCACertAndKeyBaseName+".crt"))
		args.set("etcd-certfile", pki(constants.APIServerEtcdClientCertAndKeyBaseName+".crt"))
		args.set("etcd-keyfile", pki(constants.APIServerEtcdClientCertAndKeyBaseName+".key"))
	}
	// A user authorization-mode replaces the default through the extraArgs
	// rule below; with authorization-config the flag is left out entirely.
	if _, ok := argValue(cl.APIServer.ExtraArgs, "authorization-config"); !ok {
		args.set("authorization-mode", "Node,RBAC")
	}
	return append([]string{constants.KubeAPIServer}, ArgumentsToCommand(args, cl.APIServer.ExtraArgs)...)
}

// ControllerManagerCommand returns the kube-controller-manager command line.
func (r Renderer) ControllerManagerCommand(cfg *config.InitConfig) []string {
	cl := &cfg.Cluster
	kubeconfig := filepath.Join(constants.KubernetesDir, constants.ControllerManagerKubeConfigFile)
	caFile := filepath.Join(cl.CertificatesDir, constants.CACertAndKeyBaseName+".crt")
	args := argSet{
		{Name: "bind-address", Value: "127.0.0.1"},
		{Name: "leader-elect", Value: "true"},
		{Name: "kubeconfig", Value: kubeconfig},
		{Name: "authentication-kubeconfig", Value: kubeconfig},
		{Name: "authorization-kubeconfig", Value: kubeconfig},
		{Name: "client-ca-file", Value: caFile},
		{Name: "requestheader-client-ca-file", Value: filepath.Join(cl.CertificatesDir, constants.FrontProxyCACertAndKeyBaseName+".crt")},
		{Name: "root-ca-file", Value: caFile},
		{Name: "service-account-private-key-file", Value: filepath.Join(cl.CertificatesDir, constants.ServiceAccountPrivateKeyName)},
		{Name: "cluster-signing-cert-file", Value: caFile},
		{Name: "cluster-signing-key-file", Value: filepath.Join(cl.CertificatesDir, constants.CACertAndKeyBaseName+".key")},
		{Name: "use-service-account-credentials", Value: "true"},
		{Name: "controllers", Value: "*,bootstrapsigner,tokencleaner"},
	}
	if r.ExternalCA {
		// Empty signing files make the csrsigning controller fail to start
		// instead of signing with a CA key kubeadmin does not have.
		args.set("cluster-signing-key-file", "")
		args.set("cluster-signing-cert-file", "")
	}
	if cl.Networking.PodSubnet != "" {
		args.set("allocate-node-cidrs", "true")
		args.set("cluster-cidr", cl.Networking.PodSubnet)
		if cl.Networking.ServiceSubnet != "" {
			args.set("service-cluster-ip-range", cl.Networking.ServiceSubnet)
		}
	}
	if cl.ClusterName != "" {
		args.set("cluster-name", cl.ClusterName)
	}
	return append([]string{constants.KubeControllerManager}, ArgumentsToCommand(args, cl.ControllerManager.ExtraArgs)...)
}

// SchedulerCommand returns the kube-scheduler command line.
func SchedulerCommand(cfg *config.InitConfig) []string {
	kubeconfig := filepath.Join(constants.KubernetesDir, constants.SchedulerKubeConfigFile)
	args := []config.Arg{
		{Name: "bind-address", Value: "127.0.0.1"},
		{Name: "leader-elect", Value: "true"},
		{Name: "kubeconfig", Value: kubeconfig},
		{Name: "authentication-kubeconfig", Value: kubeconfig},
		{Name: "authorization-kubeconfig", Value: kubeconfig},
	}
	return append([]string{constants.KubeScheduler}, ArgumentsToCommand(args, cfg.Cluster.Scheduler.ExtraArgs)...)
}

// localhostFor returns the loopback address of the advertise address's IP
// family: "::1" for IPv6, "127.0.0.1" otherwise.
func localhostFor(advertise string) string {
	if netutils.IsIPv6String(advertise) {
		return "::1"
	}
	return "127.0.0.1"
}

// clientURL and peerURL are the etcd URLs of an address.
func clientURL(addr string) string {
	return fmt.Sprintf("https://%s", net.JoinHostPort(addr, strconv.Itoa(constants.EtcdListenClientPort)))
}

func peerURL(addr string) string {
	return fmt.Sprintf("https://%s", net.JoinHostPort(addr, strconv.Itoa(constants.EtcdListenPeerPort)))
}
