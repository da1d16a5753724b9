package config

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// validInitConfig returns a fully defaulted configuration that validates.
func validInitConfig() *InitConfig {
	cfg := DefaultInitConfig()
	cfg.Init.NodeRegistration.Name = "node-1"
	cfg.Init.NodeRegistration.CRISocket = "unix:///var/run/containerd/containerd.sock"
	cfg.Init.NodeRegistration.Taints = []corev1.Taint{ControlPlaneTaint}
	cfg.Init.LocalAPIEndpoint.AdvertiseAddress = "10.0.0.10"
	cfg.Init.BootstrapTokens[0].Token = &BootstrapTokenString{ID: "abcdef", Secret: "0123456789abcdef"}
	cfg.Cluster.KubernetesVersion = "v1.37.2"
	return cfg
}

func validJoinConfig() *JoinConfiguration {
	cfg := &JoinConfiguration{Discovery: Discovery{BootstrapToken: &BootstrapTokenDiscovery{
		Token:             "abcdef.0123456789abcdef",
		APIServerEndpoint: "10.0.0.10:6443",
		CACertHashes:      []string{"sha256:" + strings.Repeat("ab", 32)},
	}}}
	SetDefaultsJoin(cfg)
	cfg.NodeRegistration.Name = "worker-1"
	cfg.NodeRegistration.CRISocket = "unix:///var/run/containerd/containerd.sock"
	return cfg
}

func validResetConfig() *ResetConfiguration {
	cfg := &ResetConfiguration{CRISocket: "unix:///var/run/containerd/containerd.sock"}
	SetDefaultsReset(cfg)
	return cfg
}

// quietWarnings collects warnings for the duration of a test.
func quietWarnings(t *testing.T) *[]string {
	t.Helper()
	var got []string
	old := Warn
	Warn = func(msg string) { got = append(got, msg) }
	t.Cleanup(func() { Warn = old })
	return &got
}

func fieldsOf(errs field.ErrorList) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Field)
	}
	return out
}

func TestValidConfigsPass(t *testing.T) {
	quietWarnings(t)
	if errs := validateInit(validInitConfig()); len(errs) != 0 {
		t.Errorf("valid init config: %v", errs)
	}
	if errs := validateJoin(validJoinConfig()); len(errs) != 0 {
		t.Errorf("valid join config: %v", errs)
	}
	if errs := validateReset(validResetConfig()); len(errs) != 0 {
		t.Errorf("valid reset config: %v", errs)
	}
}

func TestValidateInitFailures(t *testing.T) {
	quietWarnings(t)
	dur := func(d time.Duration) *metav1.Duration { return &metav1.Duration{Duration: d} }
	cases := []struct {
		name   string
		mutate func(c *InitConfig)
		field  string
		detail string // substring of the error message
	}{
		{"node name empty", func(c *InitConfig) { c.Init.NodeRegistration.Name = "" }, "nodeRegistration.name", "required"},
		{"node name not DNS-1123", func(c *InitConfig) { c.Init.NodeRegistration.Name = "Node_1" }, "nodeRegistration.name", "Node_1"},
		{"cri socket empty", func(c *InitConfig) { c.Init.NodeRegistration.CRISocket = "" }, "nodeRegistration.criSocket", "empty CRI socket"},
		{"cri socket scheme", func(c *InitConfig) { c.Init.NodeRegistration.CRISocket = "tcp://1.2.3.4:1" }, "nodeRegistration.criSocket", `got "tcp"`},
		{"cri socket unparsable", func(c *InitConfig) { c.Init.NodeRegistration.CRISocket = "unix://%zz" }, "nodeRegistration.criSocket", "URL parsing error"},
		{"kubelet extra arg without name", func(c *InitConfig) {
			c.Init.NodeRegistration.KubeletExtraArgs = []Arg{{Name: "", Value: "x"}}
		}, "nodeRegistration.kubeletExtraArgs[0].name", "no name"},
		{"kubelet extra arg with dashes", func(c *InitConfig) {
			c.Init.NodeRegistration.KubeletExtraArgs = []Arg{{Name: "--v", Value: "2"}}
		}, "nodeRegistration.kubeletExtraArgs[0].name", "without leading dashes"},
		{"image pull policy", func(c *InitConfig) { c.Init.NodeRegistration.ImagePullPolicy = "Sometimes" }, "nodeRegistration.imagePullPolicy", "Sometimes"},
		{"taint key", func(c *InitConfig) {
			c.Init.NodeRegistration.Taints = []corev1.Taint{{Key: "bad key", Effect: corev1.TaintEffectNoSchedule}}
		}, "nodeRegistration.taints[0].key", "bad key"},
		{"taint value", func(c *InitConfig) {
			c.Init.NodeRegistration.Taints = []corev1.Taint{{Key: "a", Value: "bad value!", Effect: corev1.TaintEffectNoSchedule}}
		}, "nodeRegistration.taints[0].value", "bad value!"},
		{"taint effect", func(c *InitConfig) {
			c.Init.NodeRegistration.Taints = []corev1.Taint{{Key: "a", Effect: "NoWay"}}
		}, "nodeRegistration.taints[0].effect", "NoWay"},
		{"token format", func(c *InitConfig) {
			c.Init.BootstrapTokens[0].Token = &BootstrapTokenString{ID: "ABCDEF", Secret: "0123456789abcdef"}
		}, "bootstrapTokens[0].token", "ABCDEF.<16 characters withheld>"},
		{"token missing", func(c *InitConfig) { c.Init.BootstrapTokens[0].Token = nil }, "bootstrapTokens[0].token", "invalid"},
		{"token usages", func(c *InitConfig) { c.Init.BootstrapTokens[0].Usages = []string{"signing", "flying"} }, "bootstrapTokens[0].usages", "flying"},
		{"token groups without authentication", func(c *InitConfig) {
			c.Init.BootstrapTokens[0].Usages = []string{"signing"}
		}, "bootstrapTokens[0].groups", "authentication"},
		{"token group name", func(c *InitConfig) {
			c.Init.BootstrapTokens[0].Groups = []string{"system:nodes"}
		}, "bootstrapTokens[0].groups", "system:nodes"},
		{"token ttl and expires", func(c *InitConfig) {
			c.Init.BootstrapTokens[0].Expires = &metav1.Time{Time: time.Unix(2000000000, 0)}
		}, "bootstrapTokens[0]", "mutually exclusive"},
		{"token ttl negative", func(c *InitConfig) { c.Init.BootstrapTokens[0].TTL = dur(-time.Hour) }, "bootstrapTokens[0].ttl", "-1h0m0s"},
		{"advertise address not an IP", func(c *InitConfig) { c.Init.LocalAPIEndpoint.AdvertiseAddress = "example.com" }, "localAPIEndpoint.advertiseAddress", "example.com"},
		{"bind port zero", func(c *InitConfig) { c.Init.LocalAPIEndpoint.BindPort = 0 }, "localAPIEndpoint.bindPort", "between 1 and 65535"},
		{"bind port too big", func(c *InitConfig) { c.Init.LocalAPIEndpoint.BindPort = 70000 }, "localAPIEndpoint.bindPort", "70000"},
		{"certificate key not hex", func(c *InitConfig) { c.Init.CertificateKey = "zz" }, "certificateKey", "decoding error"},
		{"certificate key short", func(c *InitConfig) { c.Init.CertificateKey = "abcd" }, "certificateKey", "size 2"},
		{"patches relative", func(c *InitConfig) { c.Init.Patches = &Patches{Directory: "patches"} }, "patches.directory", "not absolute"},
		{"timeout zero", func(c *InitConfig) { c.Init.Timeouts.KubeletHealthCheck = dur(0) }, "timeouts.kubeletHealthCheck", "positive"},
		{"dns image repository", func(c *InitConfig) { c.Cluster.DNS.ImageRepository = "Bad Repo" }, "dns.imageRepository", "Bad Repo"},
		{"dns image tag", func(c *InitConfig) { c.Cluster.DNS.ImageTag = "-bad" }, "dns.imageTag", "-bad"},
		{"dns domain", func(c *InitConfig) { c.Cluster.Networking.DNSDomain = "Cluster_Local" }, "networking.dnsDomain", "Cluster_Local"},
		{"service subnet malformed", func(c *InitConfig) { c.Cluster.Networking.ServiceSubnet = "10.96.0.0/33" }, "networking.serviceSubnet", "couldn't parse subnet"},
		{"service subnet empty", func(c *InitConfig) { c.Cluster.Networking.ServiceSubnet = "" }, "networking.serviceSubnet", "Required"},
		{"service subnet too small", func(c *InitConfig) { c.Cluster.Networking.ServiceSubnet = "10.96.0.0/30" }, "networking.serviceSubnet", "too small"},
		{"service subnet too large", func(c *InitConfig) { c.Cluster.Networking.ServiceSubnet = "10.0.0.0/8" }, "networking.serviceSubnet", "too large"},
		{"service subnet IPv6 too large", func(c *InitConfig) { c.Cluster.Networking.ServiceSubnet = "fd00::/64" }, "networking.serviceSubnet", "mask must be >= 108"},
		{"service subnet two IPv4", func(c *InitConfig) {
			c.Cluster.Networking.ServiceSubnet = "10.96.0.0/16,10.97.0.0/16"
		}, "networking.serviceSubnet", "dual-stack"},
		{"service subnet three CIDRs", func(c *InitConfig) {
			c.Cluster.Networking.ServiceSubnet = "10.96.0.0/16,fd00::/112,10.97.0.0/16"
		}, "networking.serviceSubnet", "dual-stack"},
		{"pod subnet malformed", func(c *InitConfig) { c.Cluster.Networking.PodSubnet = "10.244.0.0" }, "networking.podSubnet", "couldn't parse"},
		{"pod subnet too small", func(c *InitConfig) { c.Cluster.Networking.PodSubnet = "10.244.0.0/29" }, "networking.podSubnet", "too small"},
		{"pod subnet smaller than node mask", func(c *InitConfig) { c.Cluster.Networking.PodSubnet = "10.244.0.0/25" }, "networking.podSubnet", "smaller than the size of node subnet"},
		{"pod subnet node mask difference", func(c *InitConfig) { c.Cluster.Networking.PodSubnet = "10.0.0.0/7" }, "networking.podSubnet", "difference is greater than 16"},
		{"pod subnet node mask arg not a number", func(c *InitConfig) {
			c.Cluster.Networking.PodSubnet = "10.244.0.0/16"
			c.Cluster.ControllerManager.ExtraArgs = []Arg{{Name: "node-cidr-mask-size-ipv4", Value: "x"}}
		}, "networking.podSubnet", "node-cidr-mask-size-ipv4"},
		{"pod subnet IPv6 node mask", func(c *InitConfig) { c.Cluster.Networking.PodSubnet = "fd00::/100" }, "networking.podSubnet", "smaller than the size of node subnet with mask 64"},
		{"pod subnet dual stack same family", func(c *InitConfig) {
			c.Cluster.Networking.PodSubnet = "fd00::/56,fd01::/56"
		}, "networking.podSubnet", "dual-stack"},
		{"cert SAN", func(c *InitConfig) { c.Cluster.APIServer.CertSANs = []string{"ok.example.com", "not valid!"} }, "apiServer.certSANs[1]", "not valid!"},
		{"apiserver extra arg without name", func(c *InitConfig) {
			c.Cluster.APIServer.ExtraArgs = []Arg{{Value: "x"}}
		}, "apiServer.extraArgs[0].name", "no name"},
		{"controller manager extra arg without name", func(c *InitConfig) {
			c.Cluster.ControllerManager.ExtraArgs = []Arg{{Name: " "}}
		}, "controllerManager.extraArgs[0].name", "no name"},
		{"scheduler extra arg without name", func(c *InitConfig) {
			c.Cluster.Scheduler.ExtraArgs = []Arg{{Name: "v", Value: "1"}, {}}
		}, "scheduler.extraArgs[1].name", "no name"},
		{"extra env without name", func(c *InitConfig) {
			c.Cluster.APIServer.ExtraEnvs = []EnvVar{{EnvVar: corev1.EnvVar{Value: "x"}}}
		}, "apiServer.extraEnvs[0].name", "name"},
		{"extra volume without name", func(c *InitConfig) {
			c.Cluster.APIServer.ExtraVolumes = []HostPathMount{{HostPath: "/a", MountPath: "/b"}}
		}, "apiServer.extraVolumes[0].name", "Required"},
		{"extra volume bad name", func(c *InitConfig) {
			c.Cluster.APIServer.ExtraVolumes = []HostPathMount{{Name: "Bad_Name", HostPath: "/a", MountPath: "/b"}}
		}, "apiServer.extraVolumes[0].name", "Bad_Name"},
		{"extra volume without hostPath", func(c *InitConfig) {
			c.Cluster.ControllerManager.ExtraVolumes = []HostPathMount{{Name: "v", MountPath: "/b"}}
		}, "controllerManager.extraVolumes[0].hostPath", "Required"},
		{"extra volume relative hostPath", func(c *InitConfig) {
			c.Cluster.Scheduler.ExtraVolumes = []HostPathMount{{Name: "v", HostPath: "a", MountPath: "/b"}}
		}, "scheduler.extraVolumes[0].hostPath", "not absolute"},
		{"extra volume relative mountPath", func(c *InitConfig) {
			c.Cluster.APIServer.ExtraVolumes = []HostPathMount{{Name: "v", HostPath: "/a", MountPath: "b"}}
		}, "apiServer.extraVolumes[0].mountPath", "not absolute"},
		{"extra volume pathType", func(c *InitConfig) {
			c.Cluster.APIServer.ExtraVolumes = []HostPathMount{{Name: "v", HostPath: "/a", MountPath: "/b", PathType: "Folder"}}
		}, "apiServer.extraVolumes[0].pathType", "Folder"},
		{"certificatesDir relative", func(c *InitConfig) { c.Cluster.CertificatesDir = "pki" }, "certificatesDir", "not absolute"},
		{"unknown feature gate", func(c *InitConfig) { c.Cluster.FeatureGates = map[string]bool{"EtcdLearnerMode": true} }, "featureGates[EtcdLearnerMode]", "not a valid feature name"},
		{"control plane endpoint host", func(c *InitConfig) { c.Cluster.ControlPlaneEndpoint = "bad_host:6443" }, "controlPlaneEndpoint", "bad_host"},
		{"control plane endpoint port", func(c *InitConfig) { c.Cluster.ControlPlaneEndpoint = "lb.example.com:99999" }, "controlPlaneEndpoint", "99999"},
		{"image repository", func(c *InitConfig) { c.Cluster.ImageRepository = "https://registry.k8s.io" }, "imageRepository", "invalid image repository"},
		{"etcd neither", func(c *InitConfig) { c.Cluster.Etcd = Etcd{} }, "etcd", "either etcd.local or etcd.external"},
		{"etcd both", func(c *InitConfig) {
			c.Cluster.Etcd.External = &ExternalEtcd{Endpoints: []string{"https://10.0.0.5:2379"}}
		}, "etcd", "mutually exclusive"},
		{"etcd local dataDir", func(c *InitConfig) { c.Cluster.Etcd.Local.DataDir = "etcd" }, "etcd.local.dataDir", "not absolute"},
		{"etcd local serverCertSANs", func(c *InitConfig) { c.Cluster.Etcd.Local.ServerCertSANs = []string{"a b"} }, "etcd.local.serverCertSANs[0]", "a b"},
		{"etcd local peerCertSANs", func(c *InitConfig) { c.Cluster.Etcd.Local.PeerCertSANs = []string{"_x"} }, "etcd.local.peerCertSANs[0]", "_x"},
		{"etcd local imageRepository", func(c *InitConfig) { c.Cluster.Etcd.Local.ImageRepository = "x/UPPER" }, "etcd.local.imageRepository", "x/UPPER"},
		{"etcd local imageTag", func(c *InitConfig) { c.Cluster.Etcd.Local.ImageTag = "a:b" }, "etcd.local.imageTag", "a:b"},
		{"etcd local extra arg", func(c *InitConfig) { c.Cluster.Etcd.Local.ExtraArgs = []Arg{{}} }, "etcd.local.extraArgs[0].name", "no name"},
		{"etcd local extra env", func(c *InitConfig) { c.Cluster.Etcd.Local.ExtraEnvs = []EnvVar{{}} }, "etcd.local.extraEnvs[0].name", "name"},
		{"external etcd cert without key", func(c *InitConfig) {
			c.Cluster.Etcd = Etcd{External: &ExternalEtcd{Endpoints: []string{"https://10.0.0.5:2379"}, CAFile: "/ca.crt", CertFile: "/c.crt"}}
		}, "etcd.external", "both or none"},
		{"external etcd cert and key without CA", func(c *InitConfig) {
			c.Cluster.Etcd = Etcd{External: &ExternalEtcd{Endpoints: []string{"https://10.0.0.5:2379"}, CertFile: "/c.crt", KeyFile: "/c.key"}}
		}, "etcd.external.caFile", "requires"},
		{"external etcd no endpoints", func(c *InitConfig) { c.Cluster.Etcd = Etcd{External: &ExternalEtcd{}} }, "etcd.external.endpoints", "at least one endpoint"},
		{"external etcd endpoint http with certs", func(c *InitConfig) {
			c.Cluster.Etcd = Etcd{External: &ExternalEtcd{Endpoints: []string{"http://10.0.0.5:2379"}, CAFile: "/ca.crt"}}
		}, "etcd.external.endpoints[0]", "HTTPS"},
		{"external etcd endpoint without scheme", func(c *InitConfig) {
			c.Cluster.Etcd = Etcd{External: &ExternalEtcd{Endpoints: []string{"etcd-0"}}}
		}, "etcd.external.endpoints[0]", "scheme"},
		{"external etcd endpoint unparsable", func(c *InitConfig) {
			c.Cluster.Etcd = Etcd{External: &ExternalEtcd{Endpoints: []string{"http://[::1"}}}
		}, "etcd.external.endpoints[0]", "URL parse error"},
		{"external etcd httpEndpoint", func(c *InitConfig) {
			c.Cluster.Etcd = Etcd{External: &ExternalEtcd{Endpoints: []string{"http://10.0.0.5:2379"}, HTTPEndpoints: []string{"nothing"}}}
		}, "etcd.external.httpEndpoints[0]", "scheme"},
		{"external etcd relative caFile", func(c *InitConfig) {
			c.Cluster.Etcd = Etcd{External: &ExternalEtcd{Endpoints: []string{"https://10.0.0.5:2379"}, CAFile: "ca.crt"}}
		}, "etcd.external.caFile", "not absolute"},
		{"external etcd relative certFile", func(c *InitConfig) {
			c.Cluster.Etcd = Etcd{External: &ExternalEtcd{Endpoints: []string{"https://10.0.0.5:2379"}, CAFile: "/ca.crt", CertFile: "c.crt", KeyFile: "/c.key"}}
		}, "etcd.external.certFile", "not absolute"},
		{"external etcd relative keyFile", func(c *InitConfig) {
			c.Cluster.Etcd = Etcd{External: &ExternalEtcd{Endpoints: []string{"https://10.0.0.5:2379"}, CAFile: "/ca.crt", CertFile: "/c.crt", KeyFile: "c.key"}}
		}, "etcd.external.keyFile", "not absolute"},
		{"encryption algorithm", func(c *InitConfig) { c.Cluster.EncryptionAlgorithm = "RSA-1024" }, "encryptionAlgorithm", "RSA-1024"},
		{"kubernetes version not semver", func(c *InitConfig) { c.Cluster.KubernetesVersion = "one.two" }, "kubernetesVersion", "one.two"},
		{"kubernetes version too old", func(c *InitConfig) { c.Cluster.KubernetesVersion = "v1.35.4" }, "kubernetesVersion", ">= v1.36.0"},
		{"kubernetes version empty", func(c *InitConfig) { c.Cluster.KubernetesVersion = "" }, "kubernetesVersion", "Required"},
		{"certificate validity zero", func(c *InitConfig) { c.Cluster.CertificateValidityPeriod = dur(0) }, "certificateValidityPeriod", "positive"},
		{"CA certificate validity negative", func(c *InitConfig) { c.Cluster.CACertificateValidityPeriod = dur(-time.Hour) }, "caCertificateValidityPeriod", "positive"},
		{"cluster name empty", func(c *InitConfig) { c.Cluster.ClusterName = "" }, "clusterName", "Required"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := validInitConfig()
			tc.mutate(cfg)
			assertFieldError(t, validateInit(cfg), tc.field, tc.detail)
			err := ValidateInitConfig(cfg)
			if err == nil || !strings.Contains(err.Error(), tc.field+": ") {
				t.Errorf("ValidateInitConfig() = %v, want an error naming %q", err, tc.field)
			}
		})
	}
}

func assertFieldError(t *testing.T, errs field.ErrorList, path, detail string) {
	t.Helper()
	for _, e := range errs {
		if e.Field == path && strings.Contains(e.Error(), detail) {
			return
		}
	}
	t.Errorf("want an error for %q containing %q, got %v", path, detail, errs)
}

func TestValidateJoinFailures(t *testing.T) {
	old := fileExists
	fileExists = func(p string) bool { return p == "/etc/kubernetes/discovery.conf" }
	t.Cleanup(func() { fileExists = old })
	cases := []struct {
		name   string
		mutate func(c *JoinConfiguration)
		field  string
		detail string
	}{
		{"no discovery", func(c *JoinConfiguration) { c.Discovery = Discovery{} }, "discovery", "bootstrapToken or file must be set"},
		{"both discoveries", func(c *JoinConfiguration) {
			c.Discovery.File = &FileDiscovery{KubeConfigPath: "/etc/kubernetes/discovery.conf"}
		}, "discovery", "cannot both be set"},
		{"no api server endpoint", func(c *JoinConfiguration) { c.Discovery.BootstrapToken.APIServerEndpoint = "" }, "discovery.bootstrapToken.apiServerEndpoint", "Required"},
		{"api server endpoint without port", func(c *JoinConfiguration) {
			c.Discovery.BootstrapToken.APIServerEndpoint = "10.0.0.10"
		}, "discovery.bootstrapToken.apiServerEndpoint", "missing port"},
		{"no CA pinning", func(c *JoinConfiguration) { c.Discovery.BootstrapToken.CACertHashes = nil }, "discovery.bootstrapToken.caCertHashes", "unsafeSkipCAVerification"},
		{"bad CA hash", func(c *JoinConfiguration) { c.Discovery.BootstrapToken.CACertHashes = []string{"md5:abc"} }, "discovery.bootstrapToken.caCertHashes[0]", "md5:abc"},
		{"bad discovery token", func(c *JoinConfiguration) { c.Discovery.BootstrapToken.Token = "abc" }, "discovery.bootstrapToken.token", "abc"},
		{"bad tls bootstrap token", func(c *JoinConfiguration) { c.Discovery.TLSBootstrapToken = "x.y" }, "discovery.tlsBootstrapToken", "x.<1 characters withheld>"},
		{"file discovery missing file", func(c *JoinConfiguration) {
			c.Discovery = Discovery{File: &FileDiscovery{KubeConfigPath: "/nonexistent.conf"}}
		}, "discovery.file.kubeConfigPath", "not a valid HTTPS URL or a file on disk"},
		{"file discovery http", func(c *JoinConfiguration) {
			c.Discovery = Discovery{File: &FileDiscovery{KubeConfigPath: "http://example.com/x"}}
		}, "discovery.file.kubeConfigPath", "must be https"},
		{"file discovery bad tls token", func(c *JoinConfiguration) {
			c.Discovery = Discovery{File: &FileDiscovery{KubeConfigPath: "/etc/kubernetes/discovery.conf"}, TLSBootstrapToken: "nope"}
		}, "discovery.tlsBootstrapToken", "must match"},
		{"node name", func(c *JoinConfiguration) { c.NodeRegistration.Name = "UPPER" }, "nodeRegistration.name", "UPPER"},
		{"control plane advertise address", func(c *JoinConfiguration) {
			c.ControlPlane = &JoinControlPlane{LocalAPIEndpoint: APIEndpoint{AdvertiseAddress: "x", BindPort: 6443}}
		}, "controlPlane.localAPIEndpoint.advertiseAddress", "not valid"},
		{"control plane bind port", func(c *JoinConfiguration) {
			c.ControlPlane = &JoinControlPlane{LocalAPIEndpoint: APIEndpoint{AdvertiseAddress: "10.0.0.11", BindPort: -1}}
		}, "controlPlane.localAPIEndpoint.bindPort", "-1"},
		{"control plane certificate key", func(c *JoinConfiguration) {
			c.ControlPlane = &JoinControlPlane{LocalAPIEndpoint: APIEndpoint{AdvertiseAddress: "10.0.0.11", BindPort: 6443}, CertificateKey: "123"}
		}, "controlPlane.certificateKey", "decoding error"},
		{"caCertPath relative", func(c *JoinConfiguration) { c.CACertPath = "pki/ca.crt" }, "caCertPath", "absolute"},
		{"caCertPath not crt", func(c *JoinConfiguration) { c.CACertPath = "/etc/kubernetes/pki/ca.pem" }, "caCertPath", ".crt"},
		{"patches", func(c *JoinConfiguration) { c.Patches = &Patches{Directory: "./p"} }, "patches.directory", "not absolute"},
		{"timeout", func(c *JoinConfiguration) { c.Timeouts.Discovery = &metav1.Duration{Duration: -time.Second} }, "timeouts.discovery", "positive"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := validJoinConfig()
			tc.mutate(cfg)
			assertFieldError(t, validateJoin(cfg), tc.field, tc.detail)
			if ValidateJoinConfig(cfg) == nil {
				t.Error("ValidateJoinConfig() = nil")
			}
		})
	}
	t.Run("file discovery ok", func(t *testing.T) {
		cfg := validJoinConfig()
		cfg.Discovery = Discovery{File: &FileDiscovery{KubeConfigPath: "/etc/kubernetes/discovery.conf"}}
		if errs := validateJoin(cfg); len(errs) != 0 {
			t.Errorf("unexpected errors %v", errs)
		}
	})
}

func TestValidateResetFailures(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(c *ResetConfiguration)
		field  string
		detail string
	}{
		{"cri socket", func(c *ResetConfiguration) { c.CRISocket = "/run/containerd/containerd.sock" }, "criSocket", `only URL scheme "unix"`},
		{"certificatesDir", func(c *ResetConfiguration) { c.CertificatesDir = "" }, "certificatesDir", "not absolute"},
		{"unmount flag", func(c *ResetConfiguration) { c.UnmountFlags = []string{"MNT_FORCE", "MNT_LAZY"} }, "unmountFlags[1]", "MNT_LAZY"},
		{"timeout", func(c *ResetConfiguration) { c.Timeouts.EtcdAPICall = &metav1.Duration{} }, "timeouts.etcdAPICall", "positive"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := validResetConfig()
			tc.mutate(cfg)
			assertFieldError(t, validateReset(cfg), tc.field, tc.detail)
			if ValidateResetConfig(cfg) == nil {
				t.Error("ValidateResetConfig() = nil")
			}
		})
	}
}

func TestValidationErrorListsEveryProblem(t *testing.T) {
	cfg := validInitConfig()
	cfg.Init.LocalAPIEndpoint.AdvertiseAddress = "nope"
	cfg.Cluster.Networking.PodSubnet = "bad"
	err := ValidateInitConfig(cfg)
	var verr *ValidationError
	if err == nil {
		t.Fatal("want an error")
	}
	verr, ok := err.(*ValidationError)
	if !ok {
		t.Fatalf("error type %T, want *ValidationError", err)
	}
	if got := fieldsOf(verr.Errors); len(got) != 2 {
		t.Errorf("fields %v, want two", got)
	}
	want := `localAPIEndpoint.advertiseAddress: Invalid value: "nope": ip address is not valid`
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not contain %q", err, want)
	}
	if len(strings.Split(err.Error(), "\n")) != 2 {
		t.Errorf("want one line per problem, got %q", err)
	}
}

func TestValidateAcceptsVariants(t *testing.T) {
	quietWarnings(t)
	cases := []struct {
		name   string
		mutate func(c *InitConfig)
	}{
		{"dual-stack subnets", func(c *InitConfig) {
			c.Cluster.Networking.ServiceSubnet = "10.96.0.0/16,fd00:10:96::/112"
			c.Cluster.Networking.PodSubnet = "10.244.0.0/16,fd00:10:244::/56"
		}},
		{"IPv6 advertise address", func(c *InitConfig) { c.Init.LocalAPIEndpoint.AdvertiseAddress = "fd00::10" }},
		{"version label", func(c *InitConfig) { c.Cluster.KubernetesVersion = "stable-1" }},
		{"version without v", func(c *InitConfig) { c.Cluster.KubernetesVersion = "1.36.3" }},
		{"wildcard and IP SANs", func(c *InitConfig) { c.Cluster.APIServer.CertSANs = []string{"*.example.com", "10.0.0.1", "fd00::1"} }},
		{"allocate-node-cidrs false skips node mask", func(c *InitConfig) {
			c.Cluster.Networking.PodSubnet = "10.244.0.0/28"
			c.Cluster.ControllerManager.ExtraArgs = []Arg{{Name: "allocate-node-cidrs", Value: "false"}}
		}},
		{"external etcd over http", func(c *InitConfig) {
			c.Cluster.Etcd = Etcd{External: &ExternalEtcd{Endpoints: []string{"http://10.0.0.5:2379"}}}
		}},
		{"registry with port and path", func(c *InitConfig) { c.Cluster.ImageRepository = "localhost:5000/k8s" }},
		{"RootlessControlPlane gate", func(c *InitConfig) { c.Cluster.FeatureGates = map[string]bool{FeatureRootlessControlPlane: true} }},
		{"empty taints", func(c *InitConfig) { c.Init.NodeRegistration.Taints = []corev1.Taint{} }},
		{"token TTL zero", func(c *InitConfig) { c.Init.BootstrapTokens[0].TTL = &metav1.Duration{} }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := validInitConfig()
			tc.mutate(cfg)
			if errs := validateInit(cfg); len(errs) != 0 {
				t.Errorf("unexpected errors: %v", errs)
			}
		})
	}
}

func TestCertValidityWarnings(t *testing.T) {
	cases := []struct {
		name     string
		leaf, ca time.Duration
		want     string
	}{
		{"leaf above default", 2 * 8760 * time.Hour, 87600 * time.Hour, "more than the recommended default for certificate expiration"},
		{"CA above default", 8760 * time.Hour, 2 * 87600 * time.Hour, "more than the recommended default for CA certificate expiration"},
		{"leaf above CA", 8000 * time.Hour, 7000 * time.Hour, "more than the caCertificateValidityPeriod"},
		{"defaults", 8760 * time.Hour, 87600 * time.Hour, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			warnings := quietWarnings(t)
			cfg := validInitConfig()
			cfg.Cluster.CertificateValidityPeriod = &metav1.Duration{Duration: tc.leaf}
			cfg.Cluster.CACertificateValidityPeriod = &metav1.Duration{Duration: tc.ca}
			if err := ValidateInitConfig(cfg); err != nil {
				t.Fatalf("a warning must not fail validation: %v", err)
			}
			got := strings.Join(*warnings, "\n")
			if tc.want == "" && got != "" {
				t.Errorf("unexpected warnings %q", got)
			}
			if !strings.Contains(got, tc.want) {
				t.Errorf("warnings %q, want %q", got, tc.want)
			}
		})
	}
}

func TestTokenErrorsWithholdTheSecret(t *testing.T) {
	for _, tok := range []string{"abcdef.0123456789ABCDEF", "abcdef0123456789abcdefzz", "abcdef.short"} {
		errs := validateToken(tok, field.NewPath("discovery", "tlsBootstrapToken"))
		if len(errs) != 1 {
			t.Fatalf("%q: want one error, got %v", tok, errs)
		}
		msg := errs.ToAggregate().Error()
		_, secret, _ := strings.Cut(tok, ".")
		if secret == "" {
			secret = tok
		}
		if strings.Contains(msg, secret) {
			t.Errorf("the error shows the token's secret part: %s", msg)
		}
		if !strings.Contains(msg, "discovery.tlsBootstrapToken") {
			t.Errorf("the error does not name the field: %s", msg)
		}
	}
}
