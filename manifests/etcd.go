package manifests

import (
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	netutils "k8s.io/utils/net"

	"github.com/kubeadmin/kubeadmin/internal/config"
	"github.com/kubeadmin/kubeadmin/internal/constants"
)

// Member is an etcd cluster member as listed in --initial-cluster.
type Member struct {
	Name    string
	PeerURL string
}

// EtcdPod renders the local etcd static pod of a new cluster
// (kubeadm-reference §9.6). cfg must use local etcd.
func EtcdPod(cfg *config.InitConfig) *corev1.Pod {
	return EtcdPodWithMembers(cfg, nil)
}

// EtcdPodWithMembers renders the local etcd static pod of a member joining
// an existing cluster: members (which include the new one) become
// --initial-cluster and --initial-cluster-state=existing is added. With no
// members it is EtcdPod.
func EtcdPodWithMembers(cfg *config.InitConfig, members []Member) *corev1.Pod {
	cl := &cfg.Cluster
	local := cl.Etcd.Local
	if local == nil {
		local = &config.LocalEtcd{DataDir: constants.DefaultEtcdDataDir}
	}
	certsDir := cl.CertificatesDir + "/etcd"
	volumes := []corev1.Volume{
		hostPathVolume(etcdCertsVolumeName, certsDir, corev1.HostPathDirectoryOrCreate),
		hostPathVolume(etcdDataVolumeName, local.DataDir, corev1.HostPathDirectoryOrCreate),
	}
	// kubeadm lists the etcd mounts in this fixed order (data, then certs),
	// while the volumes are sorted by name.
	mounts := []corev1.VolumeMount{
		{Name: etcdDataVolumeName, MountPath: local.DataDir},
		{Name: etcdCertsVolumeName, MountPath: certsDir},
	}
	adv := cfg.Init.LocalAPIEndpoint.AdvertiseAddress
	host, port, scheme := etcdProbeEndpoint(local.ExtraArgs, netutils.IsIPv6String(adv))
	c := corev1.Container{
		Name:            constants.Etcd,
		Image:           config.ImageFor(cl, constants.Etcd),
		ImagePullPolicy: corev1.PullIfNotPresent,
		Command:         EtcdCommand(cfg, members),
		VolumeMounts:    mounts,
		LivenessProbe:   livenessProbe(host, "/livez", scheme),
		ReadinessProbe:  readinessProbe(host, "/readyz", scheme),
		StartupProbe:    startupProbe(host, "/readyz", scheme, healthCheckTimeout(cfg)),
		Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{
				corev1.ResourceCPU:    resource.MustParse("100m"),
				corev1.ResourceMemory: resource.MustParse("100Mi"),
			},
		},
		Env:   mergeEnvVars(local.ExtraEnvs),
		Ports: probePort(port),
	}
	return componentPod(c, volumes, map[string]string{
		constants.EtcdAdvertiseClientUrlsAnnotationKey: clientURL(adv),
	})
}

// EtcdCommand returns the etcd command line; see EtcdPodWithMembers.
func EtcdCommand(cfg *config.InitConfig, members []Member) []string {
	cl := &cfg.Cluster
	local := cl.Etcd.Local
	if local == nil {
		local = &config.LocalEtcd{DataDir: constants.DefaultEtcdDataDir}
	}
	adv := cfg.Init.LocalAPIEndpoint.AdvertiseAddress
	name := cfg.Init.NodeRegistration.Name
	lo := localhostFor(adv)
	pki := func(base string) string { return filepath.Join(cl.CertificatesDir, base) }
	args := argSet{
		{Name: "name", Value: name},
		{Name: "listen-client-urls", Value: clientURL(lo) + "," + clientURL(adv)},
		{Name: "advertise-client-urls", Value: clientURL(adv)},
		{Name: "listen-peer-urls", Value: peerURL(adv)},
		{Name: "initial-advertise-peer-urls", Value: peerURL(adv)},
		{Name: "data-dir", Value: local.DataDir},
		{Name: "cert-file", Value: pki(constants.EtcdServerCertAndKeyBaseName + ".crt")},
		{Name: "key-file", Value: pki(constants.EtcdServerCertAndKeyBaseName + ".key")},
		{Name: "trusted-ca-file", Value: pki(constants.EtcdCACertAndKeyBaseName + ".crt")},
		{Name: "client-cert-auth", Value: "true"},
		{Name: "peer-cert-file", Value: pki(constants.EtcdPeerCertAndKeyBaseName + ".crt")},
		{Name: "peer-key-file", Value: pki(constants.EtcdPeerCertAndKeyBaseName + ".key")},
		{Name: "peer-trusted-ca-file", Value: pki(constants.EtcdCACertAndKeyBaseName + ".crt")},
		{Name: "peer-client-cert-auth", Value: "true"},
		{Name: "snapshot-count", Value: "10000"},
		{Name: "listen-metrics-urls", Value: "http://" + net.JoinHostPort(lo, strconv.Itoa(constants.EtcdMetricsPort))},
		{Name: "feature-gates", Value: "InitialCorruptCheck=true"},
		{Name: "watch-progress-notify-interval", Value: "5s"},
	}
	if len(members) == 0 {
		args.set("initial-cluster", name+"="+peerURL(adv))
	} else {
		list := make([]string, 0, len(members))
		for _, m := range members {
			list = append(list, m.Name+"="+m.PeerURL)
		}
		args.set("initial-cluster", strings.Join(list, ","))
		args.set("initial-cluster-state", "existing")
	}
	return append([]string{constants.Etcd}, ArgumentsToCommand(args, local.ExtraArgs)...)
}

// etcdProbeEndpoint returns the host, port and scheme of the etcd probes:
// the loopback metrics endpoint, or the first URL of a user
// listen-metrics-urls.
func etcdProbeEndpoint(extraArgs []config.Arg, ipv6 bool) (string, int32, corev1.URIScheme) {
	host := "127.0.0.1"
	if ipv6 {
		host = "::1"
	}
	port, scheme := int32(constants.EtcdMetricsPort), corev1.URISchemeHTTP
	v, ok := argValue(extraArgs, "listen-metrics-urls")
	if !ok {
		return host, port, scheme
	}
	u, err := url.Parse(strings.Split(v, ",")[0])
	if err != nil {
		return host, port, scheme
	}
	if u.Scheme == "https" {
		scheme = corev1.URISchemeHTTPS
	}
	if h := u.Hostname(); h != "" {
		host = h
	}
	if p, err := strconv.ParseUint(u.Port(), 10, 16); err == nil && p > 0 {
		port = int32(p)
	}
	return host, port, scheme
}

// EtcdPeerURL returns the peer URL of a member advertising addr
// (https://<addr>:2380), the form --initial-cluster uses.
func EtcdPeerURL(addr string) string { return peerURL(addr) }
