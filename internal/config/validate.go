package config

import (
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	bootstrapapi "k8s.io/cluster-bootstrap/token/api"
	bootstraputil "k8s.io/cluster-bootstrap/token/util"
	netutils "k8s.io/utils/net"

	"github.com/kubeadmin/kubeadmin/internal/constants"
)

// Feature gates kubeadm v1.37 knows.
const (
	// FeatureRootlessControlPlane runs the control-plane static pods as
	// non-root users (alpha, deprecated in kubeadm).
	FeatureRootlessControlPlane = "RootlessControlPlane"
)

// KnownFeatureGates lists the feature gates accepted in featureGates.
var KnownFeatureGates = []string{FeatureRootlessControlPlane}

// Unmount flags accepted in ResetConfiguration.unmountFlags.
var validUnmountFlags = []string{"MNT_FORCE", "MNT_DETACH", "MNT_EXPIRE", "UMOUNT_NOFOLLOW"}

// ValidationError lists every problem validation found, each as
// `<field.path>: Invalid value: "<value>": <what is expected>`.
type ValidationError struct {
	Errors field.ErrorList
}

// Error prints one problem per line.
func (e *ValidationError) Error() string {
	msgs := make([]string, len(e.Errors))
	for i, err := range e.Errors {
		msgs[i] = err.Error()
	}
	return strings.Join(msgs, "\n")
}

func toError(errs field.ErrorList) error {
	if len(errs) == 0 {
		return nil
	}
	return &ValidationError{Errors: errs}
}

// fileExists is replaced in tests; validation of discovery.file checks that
// a kubeconfig path exists, as kubeadm does.
var fileExists = func(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// ValidateInitConfig validates a defaulted InitConfig (after
// SetDynamicDefaultsInit) and returns a *ValidationError listing every
// problem, or nil. Warnings (such as a certificate validity above kubeadm's
// recommendation) go to Warn.
func ValidateInitConfig(cfg *InitConfig) error {
	return toError(validateInit(cfg))
}

// ValidateJoinConfig validates a defaulted JoinConfiguration.
func ValidateJoinConfig(cfg *JoinConfiguration) error {
	return toError(validateJoin(cfg))
}

// ValidateResetConfig validates a defaulted ResetConfiguration.
func ValidateResetConfig(cfg *ResetConfiguration) error {
	return toError(validateReset(cfg))
}

// ValidateClusterConfig validates a ClusterConfiguration on its own (for
// example one downloaded from the kubeadm-config ConfigMap).
func ValidateClusterConfig(cfg *ClusterConfiguration) error {
	return toError(validateCluster(cfg))
}

func validateInit(cfg *InitConfig) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, validateNodeRegistration(&cfg.Init.NodeRegistration, field.NewPath("nodeRegistration"))...)
	errs = append(errs, validateBootstrapTokens(cfg.Init.BootstrapTokens, field.NewPath("bootstrapTokens"))...)
	errs = append(errs, validateCluster(&cfg.Cluster)...)
	errs = append(errs, validateAPIEndpoint(&cfg.Init.LocalAPIEndpoint, field.NewPath("localAPIEndpoint"))...)
	errs = append(errs, validateCertificateKey(cfg.Init.CertificateKey, field.NewPath("certificateKey"))...)
	errs = append(errs, validatePatches(cfg.Init.Patches, field.NewPath("patches"))...)
	errs = append(errs, validateTimeouts(cfg.Init.Timeouts, field.NewPath("timeouts"))...)
	return errs
}

func validateCluster(c *ClusterConfiguration) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, validateDNS(&c.DNS, field.NewPath("dns"))...)
	errs = append(errs, validateNetworking(c, field.NewPath("networking"))...)
	errs = append(errs, validateCertSANs(c.APIServer.CertSANs, field.NewPath("apiServer", "certSANs"))...)
	errs = append(errs, validateComponent(&c.APIServer.ControlPlaneComponent, field.NewPath("apiServer"))...)
	errs = append(errs, validateComponent(&c.ControllerManager, field.NewPath("controllerManager"))...)
	errs = append(errs, validateComponent(&c.Scheduler, field.NewPath("scheduler"))...)
	errs = append(errs, validateAbsolutePath(c.CertificatesDir, field.NewPath("certificatesDir"))...)
	errs = append(errs, validateFeatureGates(c.FeatureGates, field.NewPath("featureGates"))...)
	errs = append(errs, validateHostPort(c.ControlPlaneEndpoint, field.NewPath("controlPlaneEndpoint"))...)
	errs = append(errs, validateImageRepository(c.ImageRepository, field.NewPath("imageRepository"))...)
	errs = append(errs, validateEtcd(&c.Etcd, field.NewPath("etcd"))...)
	errs = append(errs, validateEncryptionAlgorithm(c.EncryptionAlgorithm, field.NewPath("encryptionAlgorithm"))...)
	errs = append(errs, validateKubernetesVersion(c.KubernetesVersion, field.NewPath("kubernetesVersion"))...)
	errs = append(errs, validateCertValidity(c)...)
	if c.ClusterName == "" {
		errs = append(errs, field.Required(field.NewPath("clusterName"), "set a cluster name, for example \"kubernetes\""))
	}
	return errs
}

func validateJoin(c *JoinConfiguration) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, validateDiscovery(&c.Discovery, field.NewPath("discovery"))...)
	errs = append(errs, validateNodeRegistration(&c.NodeRegistration, field.NewPath("nodeRegistration"))...)
	if c.ControlPlane != nil {
		p := field.NewPath("controlPlane")
		errs = append(errs, validateAPIEndpoint(&c.ControlPlane.LocalAPIEndpoint, p.Child("localAPIEndpoint"))...)
		errs = append(errs, validateCertificateKey(c.ControlPlane.CertificateKey, p.Child("certificateKey"))...)
	}
	if !filepath.IsAbs(c.CACertPath) || !strings.HasSuffix(c.CACertPath, ".crt") {
		errs = append(errs, field.Invalid(field.NewPath("caCertPath"), c.CACertPath,
			"the CA certificate path must be an absolute path to a .crt file, for example "+constants.DefaultCACertPath))
	}
	errs = append(errs, validatePatches(c.Patches, field.NewPath("patches"))...)
	errs = append(errs, validateTimeouts(c.Timeouts, field.NewPath("timeouts"))...)
	return errs
}

func validateReset(c *ResetConfiguration) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, validateSocketPath(c.CRISocket, field.NewPath("criSocket"))...)
	errs = append(errs, validateAbsolutePath(c.CertificatesDir, field.NewPath("certificatesDir"))...)
	for i, f := range c.UnmountFlags {
		if !contains(validUnmountFlags, f) {
			errs = append(errs, field.NotSupported(field.NewPath("unmountFlags").Index(i), f, validUnmountFlags))
		}
	}
	errs = append(errs, validateTimeouts(c.Timeouts, field.NewPath("timeouts"))...)
	return errs
}

func validateNodeRegistration(n *NodeRegistrationOptions, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if n.Name == "" {
		errs = append(errs, field.Required(p.Child("name"),
			"--node-name or .nodeRegistration.name in the config file is a required value; it could not be detected automatically, so set it"))
	} else {
		for _, msg := range validation.IsDNS1123Subdomain(n.Name) {
			errs = append(errs, field.Invalid(p.Child("name"), n.Name, msg))
		}
	}
	errs = append(errs, validateSocketPath(n.CRISocket, p.Child("criSocket"))...)
	errs = append(errs, validateArgs(n.KubeletExtraArgs, p.Child("kubeletExtraArgs"))...)
	errs = append(errs, validateImagePullPolicy(n.ImagePullPolicy, p.Child("imagePullPolicy"))...)
	errs = append(errs, validateTaints(n.Taints, p.Child("taints"))...)
	return errs
}

func validateTaints(taints []corev1.Taint, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	effects := []string{string(corev1.TaintEffectNoSchedule), string(corev1.TaintEffectPreferNoSchedule), string(corev1.TaintEffectNoExecute)}
	for i, t := range taints {
		tp := p.Index(i)
		for _, msg := range validation.IsQualifiedName(t.Key) {
			errs = append(errs, field.Invalid(tp.Child("key"), t.Key, msg))
		}
		for _, msg := range validation.IsValidLabelValue(t.Value) {
			errs = append(errs, field.Invalid(tp.Child("value"), t.Value, msg))
		}
		if !contains(effects, string(t.Effect)) {
			errs = append(errs, field.NotSupported(tp.Child("effect"), t.Effect, effects))
		}
	}
	return errs
}

func validateImagePullPolicy(policy corev1.PullPolicy, p *field.Path) field.ErrorList {
	switch policy {
	case "", corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever:
		return nil
	}
	return field.ErrorList{field.NotSupported(p, policy, []string{string(corev1.PullAlways), string(corev1.PullIfNotPresent), string(corev1.PullNever)})}
}

// validateSocketPath requires a unix:// URL, as kubeadm does after
// defaulting.
func validateSocketPath(socket string, p *field.Path) field.ErrorList {
	if socket == "" {
		return field.ErrorList{field.Invalid(p, socket, "empty CRI socket; set it to a unix:// URL such as "+constants.DefaultCRISocket)}
	}
	u, err := url.Parse(socket)
	if err != nil {
		return field.ErrorList{field.Invalid(p, socket, fmt.Sprintf("URL parsing error: %v", err))}
	}
	if u.Scheme != "unix" {
		return field.ErrorList{field.Invalid(p, socket, fmt.Sprintf("only URL scheme %q is supported, got %q; use for example %s", "unix", u.Scheme, constants.DefaultCRISocket))}
	}
	return nil
}

func validateArgs(args []Arg, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, a := range args {
		if strings.TrimSpace(a.Name) == "" {
			errs = append(errs, field.Required(p.Index(i).Child("name"), "argument has no name; give the flag name without leading dashes"))
		} else if strings.HasPrefix(a.Name, "-") {
			errs = append(errs, field.Invalid(p.Index(i).Child("name"), a.Name, "give the flag name without leading dashes"))
		}
	}
	return errs
}

func validateComponent(c *ControlPlaneComponent, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, validateArgs(c.ExtraArgs, p.Child("extraArgs"))...)
	errs = append(errs, validateEnvs(c.ExtraEnvs, p.Child("extraEnvs"))...)
	pathTypes := []string{"", string(corev1.HostPathDirectoryOrCreate), string(corev1.HostPathDirectory), string(corev1.HostPathFileOrCreate),
		string(corev1.HostPathFile), string(corev1.HostPathSocket), string(corev1.HostPathCharDev), string(corev1.HostPathBlockDev)}
	for i, v := range c.ExtraVolumes {
		vp := p.Child("extraVolumes").Index(i)
		if v.Name == "" {
			errs = append(errs, field.Required(vp.Child("name"), "give the volume a name"))
		} else {
			for _, msg := range validation.IsDNS1123Label(v.Name) {
				errs = append(errs, field.Invalid(vp.Child("name"), v.Name, msg))
			}
		}
		errs = append(errs, validateRequiredAbsolutePath(v.HostPath, vp.Child("hostPath"))...)
		errs = append(errs, validateRequiredAbsolutePath(v.MountPath, vp.Child("mountPath"))...)
		if !contains(pathTypes, string(v.PathType)) {
			errs = append(errs, field.NotSupported(vp.Child("pathType"), v.PathType, pathTypes[1:]))
		}
	}
	return errs
}

func validateEnvs(envs []EnvVar, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, e := range envs {
		if e.Name == "" {
			errs = append(errs, field.Required(p.Index(i).Child("name"), "give the environment variable a name"))
		}
	}
	return errs
}

func validateRequiredAbsolutePath(path string, p *field.Path) field.ErrorList {
	if path == "" {
		return field.ErrorList{field.Required(p, "give an absolute path")}
	}
	return validateAbsolutePath(path, p)
}

func validateAbsolutePath(path string, p *field.Path) field.ErrorList {
	if !filepath.IsAbs(path) {
		return field.ErrorList{field.Invalid(p, path, "path is not absolute; give a path that starts with /")}
	}
	return nil
}

func validatePatches(patches *Patches, p *field.Path) field.ErrorList {
	if patches == nil || patches.Directory == "" {
		return nil
	}
	return validateAbsolutePath(patches.Directory, p.Child("directory"))
}

func validateBootstrapTokens(tokens []BootstrapToken, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i := range tokens {
		errs = append(errs, ValidateBootstrapToken(&tokens[i], p.Index(i))...)
	}
	return errs
}

// ValidateBootstrapToken checks one token: its format, usages, groups and
// TTL against expires. The fields are named below p; a nil p gives the
// bare names ("token", "usages", "groups", "ttl"), which are also the
// names of the `token create` flags.
func ValidateBootstrapToken(bt *BootstrapToken, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	tok := ""
	if bt.Token != nil {
		tok = bt.Token.String()
	}
	errs = append(errs, validateToken(tok, p.Child("token"))...)
	if err := bootstraputil.ValidateUsages(bt.Usages); err != nil {
		errs = append(errs, field.Invalid(p.Child("usages"), strings.Join(bt.Usages, ","), err.Error()))
	}
	errs = append(errs, validateTokenGroups(bt.Usages, bt.Groups, p.Child("groups"))...)
	if bt.Expires != nil && bt.TTL != nil {
		errs = append(errs, field.Invalid(p, "", "the BootstrapToken .TTL and .Expires fields are mutually exclusive; set only one"))
	}
	if bt.TTL != nil && bt.TTL.Duration < 0 {
		errs = append(errs, field.Invalid(p.Child("ttl"), bt.TTL.Duration.String(), "must be 0 (never expires) or positive"))
	}
	return errs
}

// ValidateBootstrapTokens checks the bootstrapTokens of a configuration
// file; it returns a *ValidationError or nil.
func ValidateBootstrapTokens(tokens []BootstrapToken) error {
	return toError(validateBootstrapTokens(tokens, field.NewPath("bootstrapTokens")))
}

// ValidateCertificateKey checks a --certificate-key value (64 hex
// characters); p names the flag or field in the error.
func ValidateCertificateKey(key string, p *field.Path) error {
	return toError(validateCertificateKey(key, p))
}

func validateToken(token string, p *field.Path) field.ErrorList {
	if !bootstraputil.IsValidBootstrapToken(token) {
		return field.ErrorList{field.Invalid(p, redactToken(token), `the bootstrap token is invalid; it must match "[a-z0-9]{6}.[a-z0-9]{16}", e.g. "abcdef.0123456789abcdef"`)}
	}
	return nil
}

// redactToken is what an error may show of a token: its ID part, never
// what could be its secret.
func redactToken(token string) string {
	id, secret, found := strings.Cut(token, ".")
	if !found {
		return fmt.Sprintf("<%d characters, no \".\">", len(token))
	}
	return fmt.Sprintf("%s.<%d characters withheld>", id, len(secret))
}

func validateTokenGroups(usages, groups []string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	auth := strings.TrimPrefix(bootstrapapi.BootstrapTokenUsageAuthentication, bootstrapapi.BootstrapTokenUsagePrefix)
	if len(groups) > 0 && !contains(usages, auth) {
		errs = append(errs, field.Invalid(p, strings.Join(groups, ","), fmt.Sprintf("token groups cannot be specified unless usages includes %q", auth)))
	}
	for _, g := range groups {
		if err := bootstraputil.ValidateBootstrapGroupName(g); err != nil {
			errs = append(errs, field.Invalid(p, g, err.Error()))
		}
	}
	return errs
}

func validateCertificateKey(key string, p *field.Path) field.ErrorList {
	if key == "" {
		return nil
	}
	decoded, err := hex.DecodeString(key)
	if err != nil {
		return field.ErrorList{field.Invalid(p, key, fmt.Sprintf("certificate key decoding error: %v; give 64 hexadecimal characters (see 'kubeadmin certs certificate-key')", err))}
	}
	if len(decoded) != constants.CertificateKeySize {
		return field.ErrorList{field.Invalid(p, key, fmt.Sprintf("invalid certificate key size %d, the key must be an AES key of size %d (64 hexadecimal characters)", len(decoded), constants.CertificateKeySize))}
	}
	return nil
}

func validateAPIEndpoint(e *APIEndpoint, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if netutils.ParseIPSloppy(e.AdvertiseAddress) == nil {
		errs = append(errs, field.Invalid(p.Child("advertiseAddress"), e.AdvertiseAddress, "ip address is not valid; give an IPv4 or IPv6 address of this host"))
	}
	errs = append(errs, validatePort(e.BindPort, p.Child("bindPort"))...)
	return errs
}

func validatePort(port int32, p *field.Path) field.ErrorList {
	if port < 1 || port > 65535 {
		return field.ErrorList{field.Invalid(p, port, "port number is not valid; it must be between 1 and 65535, inclusive")}
	}
	return nil
}

// validateHostPort accepts "" or host[:port] with host an IP or a DNS-1123
// subdomain.
func validateHostPort(endpoint string, p *field.Path) field.ErrorList {
	if endpoint == "" {
		return nil
	}
	if _, _, err := ParseHostPort(endpoint); err != nil {
		return field.ErrorList{field.Invalid(p, endpoint, "endpoint is not valid: "+err.Error())}
	}
	return nil
}

// ParseHostPort splits host[:port]; host must be an IP address or a
// DNS-1123 subdomain and port, when present, a number in 1-65535.
func ParseHostPort(hostport string) (host, port string, err error) {
	host, port, err = net.SplitHostPort(hostport)
	if err != nil {
		host, port = hostport, ""
	}
	if port != "" {
		if n, convErr := strconv.Atoi(port); convErr != nil || n < 1 || n > 65535 {
			return "", "", fmt.Errorf("hostport %s: port %s must be a valid number between 1 and 65535, inclusive", hostport, port)
		}
	}
	if netutils.ParseIPSloppy(host) != nil {
		return host, port, nil
	}
	if len(validation.IsDNS1123Subdomain(host)) == 0 {
		return host, port, nil
	}
	return "", "", fmt.Errorf("hostport %s: host '%s' must be a valid IP address or a valid RFC-1123 DNS subdomain", hostport, host)
}

func validateFeatureGates(gates map[string]bool, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, name := range sortedKeys(gates) {
		if !contains(KnownFeatureGates, name) {
			errs = append(errs, field.Invalid(p.Key(name), gates[name],
				fmt.Sprintf("%s is not a valid feature name; known feature gates: %s", name, strings.Join(KnownFeatureGates, ", "))))
		}
	}
	return errs
}

func validateEncryptionAlgorithm(algo EncryptionAlgorithm, p *field.Path) field.ErrorList {
	for _, a := range EncryptionAlgorithms {
		if a == algo {
			return nil
		}
	}
	names := make([]string, len(EncryptionAlgorithms))
	for i, a := range EncryptionAlgorithms {
		names[i] = string(a)
	}
	return field.ErrorList{field.NotSupported(p, algo, names)}
}

func validateCertSANs(sans []string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, san := range sans {
		if len(validation.IsDNS1123Subdomain(san)) == 0 || len(validation.IsWildcardDNS1123Subdomain(san)) == 0 || netutils.ParseIPSloppy(san) != nil {
			continue
		}
		errs = append(errs, field.Invalid(p.Index(i), san, "altname is not a valid IP address, DNS name or wildcard DNS name (*.example.com)"))
	}
	return errs
}

// Image reference pieces, after github.com/distribution/reference.
var (
	imageDomainComponent = `(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])`
	imageDomain          = `(?:` + imageDomainComponent + `(?:\.` + imageDomainComponent + `)*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?`
	imagePathComponent   = `[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*`
	imageRepositoryRE    = regexp.MustCompile(`^(?:` + imageDomain + `/)?` + imagePathComponent + `(?:/` + imagePathComponent + `)*$`)
	imageTagRE           = regexp.MustCompile(`^[\w][\w.-]{0,127}$`)
)

func validateImageRepository(repo string, p *field.Path) field.ErrorList {
	if !imageRepositoryRE.MatchString(repo + "/name") {
		return field.ErrorList{field.Invalid(p, repo, "invalid image repository format; give a registry and path such as \"registry.k8s.io\" or \"myregistry:5000/k8s\"")}
	}
	return nil
}

func validateImageTag(tag string, p *field.Path) field.ErrorList {
	if tag != "" && !imageTagRE.MatchString(tag) {
		return field.ErrorList{field.Invalid(p, tag, "invalid image tag; use letters, digits, '_', '.' and '-' (at most 128, not starting with '.' or '-')")}
	}
	return nil
}

func validateDNS(dns *DNS, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if dns.ImageRepository != "" {
		errs = append(errs, validateImageRepository(dns.ImageRepository, p.Child("imageRepository"))...)
	}
	errs = append(errs, validateImageTag(dns.ImageTag, p.Child("imageTag"))...)
	return errs
}

func validateEtcd(e *Etcd, p *field.Path) field.ErrorList {
	if e.Local == nil && e.External == nil {
		return field.ErrorList{field.Invalid(p, "", "either etcd.local or etcd.external is required")}
	}
	if e.Local != nil && e.External != nil {
		return field.ErrorList{field.Invalid(p, "", "etcd.local and etcd.external are mutually exclusive; keep only one")}
	}
	if e.Local != nil {
		return validateLocalEtcd(e.Local, p.Child("local"))
	}
	return validateExternalEtcd(e.External, p.Child("external"))
}

func validateLocalEtcd(l *LocalEtcd, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, validateAbsolutePath(l.DataDir, p.Child("dataDir"))...)
	errs = append(errs, validateCertSANs(l.ServerCertSANs, p.Child("serverCertSANs"))...)
	errs = append(errs, validateCertSANs(l.PeerCertSANs, p.Child("peerCertSANs"))...)
	if l.ImageRepository != "" {
		errs = append(errs, validateImageRepository(l.ImageRepository, p.Child("imageRepository"))...)
	}
	errs = append(errs, validateImageTag(l.ImageTag, p.Child("imageTag"))...)
	errs = append(errs, validateArgs(l.ExtraArgs, p.Child("extraArgs"))...)
	errs = append(errs, validateEnvs(l.ExtraEnvs, p.Child("extraEnvs"))...)
	return errs
}

func validateExternalEtcd(x *ExternalEtcd, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	requireHTTPS := x.CAFile != "" || x.CertFile != "" || x.KeyFile != ""
	if (x.CertFile == "") != (x.KeyFile == "") {
		errs = append(errs, field.Invalid(p, "", "either both or none of etcd.external.certFile and etcd.external.keyFile must be set"))
	}
	if x.CertFile != "" && x.KeyFile != "" && x.CAFile == "" {
		errs = append(errs, field.Invalid(p.Child("caFile"), "", "setting etcd.external.certFile and etcd.external.keyFile requires etcd.external.caFile"))
	}
	if len(x.Endpoints) == 0 {
		errs = append(errs, field.Required(p.Child("endpoints"), "at least one endpoint must be specified, such as https://10.0.0.5:2379"))
	}
	errs = append(errs, validateURLs(x.Endpoints, requireHTTPS, p.Child("endpoints"))...)
	errs = append(errs, validateURLs(x.HTTPEndpoints, false, p.Child("httpEndpoints"))...)
	for name, path := range map[string]string{"caFile": x.CAFile, "certFile": x.CertFile, "keyFile": x.KeyFile} {
		if path != "" {
			errs = append(errs, validateAbsolutePath(path, p.Child(name))...)
		}
	}
	return sortErrors(errs)
}

func validateURLs(urls []string, requireHTTPS bool, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, s := range urls {
		u, err := url.Parse(s)
		switch {
		case err != nil:
			errs = append(errs, field.Invalid(p.Index(i), s, fmt.Sprintf("URL parse error: %v", err)))
		case u.Scheme == "" || u.Host == "":
			errs = append(errs, field.Invalid(p.Index(i), s, "the URL needs a scheme and a host, such as https://10.0.0.5:2379"))
		case requireHTTPS && u.Scheme != "https":
			errs = append(errs, field.Invalid(p.Index(i), s, "the URL must be using the HTTPS scheme when certificates are given"))
		}
	}
	return errs
}

func validateNetworking(c *ClusterConfiguration, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsDNS1123Subdomain(c.Networking.DNSDomain) {
		errs = append(errs, field.Invalid(p.Child("dnsDomain"), c.Networking.DNSDomain, msg))
	}
	if s := c.Networking.ServiceSubnet; s != "" {
		sp := p.Child("serviceSubnet")
		subnetErrs := validateSubnets(s, constants.ServiceSubnetMinAddresses, sp)
		errs = append(errs, subnetErrs...)
		if len(subnetErrs) == 0 {
			errs = append(errs, validateServiceSubnetSize(s, sp)...)
		}
	} else {
		errs = append(errs, field.Required(p.Child("serviceSubnet"), "give a CIDR such as "+constants.DefaultServicesSubnet))
	}
	if s := c.Networking.PodSubnet; s != "" {
		pp := p.Child("podSubnet")
		subnetErrs := validateSubnets(s, constants.PodSubnetMinAddresses, pp)
		errs = append(errs, subnetErrs...)
		if len(subnetErrs) == 0 && ArgValue(c.ControllerManager.ExtraArgs, "allocate-node-cidrs") != "false" {
			errs = append(errs, validatePodSubnetNodeMask(s, c, pp)...)
		}
	}
	return errs
}

// validateSubnets checks a CIDR or a dual-stack pair of CIDRs.
func validateSubnets(subnets string, minAddrs int64, p *field.Path) field.ErrorList {
	cidrs, err := netutils.ParseCIDRs(strings.Split(subnets, ","))
	if err != nil {
		return field.ErrorList{field.Invalid(p, subnets, "couldn't parse subnet; give a CIDR such as 10.244.0.0/16, or an IPv4 and an IPv6 CIDR separated by a comma")}
	}
	var errs field.ErrorList
	switch {
	case len(cidrs) > 2:
		errs = append(errs, field.Invalid(p, subnets, "expected one (IPv4 or IPv6) CIDR or two CIDRs from each family for dual-stack networking"))
	case len(cidrs) == 2:
		if dual, _ := netutils.IsDualStackCIDRs(cidrs); !dual {
			errs = append(errs, field.Invalid(p, subnets, "expected one (IPv4 or IPv6) CIDR or two CIDRs from each family for dual-stack networking"))
		}
	}
	for _, c := range cidrs {
		if n := netutils.RangeSize(c); n < minAddrs {
			errs = append(errs, field.Invalid(p, c.String(), fmt.Sprintf("subnet with %d address(es) is too small, the minimum is %d", n, minAddrs)))
		}
	}
	return errs
}

func validateServiceSubnetSize(subnets string, p *field.Path) field.ErrorList {
	cidrs, _ := netutils.ParseCIDRs(strings.Split(subnets, ","))
	var errs field.ErrorList
	for _, c := range cidrs {
		ones, bits := c.Mask.Size()
		if bits-ones > constants.ServiceSubnetMaxHostBits {
			errs = append(errs, field.Invalid(p, c.String(), fmt.Sprintf("specified service subnet is too large; for %d-bit addresses, the mask must be >= %d", bits, bits-constants.ServiceSubnetMaxHostBits)))
		}
	}
	return errs
}

// validatePodSubnetNodeMask checks the pod subnet against the controller
// manager's node CIDR mask (24 for IPv4 and 64 for IPv6 by default).
func validatePodSubnetNodeMask(subnets string, c *ClusterConfiguration, p *field.Path) field.ErrorList {
	cidrs, _ := netutils.ParseCIDRs(strings.Split(subnets, ","))
	var errs field.ErrorList
	for _, cidr := range cidrs {
		maskSize, _ := cidr.Mask.Size()
		arg, nodeMask := "node-cidr-mask-size-ipv4", 24
		if netutils.IsIPv6(cidr.IP) {
			arg, nodeMask = "node-cidr-mask-size-ipv6", 64
		}
		if v := ArgValue(c.ControllerManager.ExtraArgs, arg); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				errs = append(errs, field.Invalid(p, cidr.String(), fmt.Sprintf("could not parse the value %q of the kube-controller-manager flag %s as an integer", v, arg)))
				continue
			}
			nodeMask = n
		}
		if maskSize > nodeMask {
			errs = append(errs, field.Invalid(p, cidr.String(), fmt.Sprintf("the size of pod subnet with mask %d is smaller than the size of node subnet with mask %d", maskSize, nodeMask)))
		} else if nodeMask-maskSize > constants.PodSubnetMaxNodeMaskDifference {
			errs = append(errs, field.Invalid(p, cidr.String(), fmt.Sprintf("pod subnet mask (%d) and node-mask (%d) difference is greater than %d", maskSize, nodeMask, constants.PodSubnetMaxNodeMaskDifference)))
		}
	}
	return errs
}

// ArgValue returns the value of the last argument called name, or "".
func ArgValue(args []Arg, name string) string {
	v := ""
	for _, a := range args {
		if a.Name == name {
			v = a.Value
		}
	}
	return v
}

// validateKubernetesVersion accepts a version label (resolved later) or a
// semantic version not older than the minimum control-plane version.
func validateKubernetesVersion(v string, p *field.Path) field.ErrorList {
	if v == "" {
		return field.ErrorList{field.Required(p, "give a version such as "+constants.KubernetesVersion)}
	}
	if versionLabelRE.MatchString(strings.TrimPrefix(v, "release/")) {
		return nil
	}
	if _, err := checkKubernetesVersion(v); err != nil {
		return field.ErrorList{field.Invalid(p, v, err.Error())}
	}
	return nil
}

func validateCertValidity(c *ClusterConfiguration) field.ErrorList {
	var errs field.ErrorList
	leaf, ca := c.CertificateValidityPeriod, c.CACertificateValidityPeriod
	if leaf != nil && leaf.Duration <= 0 {
		errs = append(errs, field.Invalid(field.NewPath("certificateValidityPeriod"), leaf.Duration.String(), "must be a positive duration such as \"8760h0m0s\""))
	}
	if ca != nil && ca.Duration <= 0 {
		errs = append(errs, field.Invalid(field.NewPath("caCertificateValidityPeriod"), ca.Duration.String(), "must be a positive duration such as \"87600h0m0s\""))
	}
	if len(errs) > 0 {
		return errs
	}
	if leaf != nil && leaf.Duration > constants.CertificateValidityPeriod {
		warnf("WARNING: certificateValidityPeriod: the value %v is more than the recommended default for certificate expiration: %v", leaf.Duration, constants.CertificateValidityPeriod)
	}
	if ca != nil && ca.Duration > constants.CACertificateValidityPeriod {
		warnf("WARNING: caCertificateValidityPeriod: the value %v is more than the recommended default for CA certificate expiration: %v", ca.Duration, constants.CACertificateValidityPeriod)
	}
	if leaf != nil && ca != nil && leaf.Duration > ca.Duration {
		warnf("WARNING: certificateValidityPeriod: the value %v is more than the caCertificateValidityPeriod: %v", leaf.Duration, ca.Duration)
	}
	return nil
}

func validateTimeouts(t *Timeouts, p *field.Path) field.ErrorList {
	if t == nil {
		return nil
	}
	var errs field.ErrorList
	for _, d := range []struct {
		name  string
		value *metav1.Duration
	}{
		{"controlPlaneComponentHealthCheck", t.ControlPlaneComponentHealthCheck},
		{"kubeletHealthCheck", t.KubeletHealthCheck},
		{"kubernetesAPICall", t.KubernetesAPICall},
		{"etcdAPICall", t.EtcdAPICall},
		{"tlsBootstrap", t.TLSBootstrap},
		{"discovery", t.Discovery},
		{"upgradeManifests", t.UpgradeManifests},
	} {
		if d.value != nil && d.value.Duration <= 0 {
			errs = append(errs, field.Invalid(p.Child(d.name), d.value.Duration.String(), "must be a positive duration such as \"4m0s\""))
		}
	}
	return errs
}

func validateDiscovery(d *Discovery, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if d.BootstrapToken == nil && d.File == nil {
		errs = append(errs, field.Invalid(p, "", "bootstrapToken or file must be set"))
	}
	if d.BootstrapToken != nil && d.File != nil {
		errs = append(errs, field.Invalid(p, "", "bootstrapToken and file cannot both be set"))
	}
	if bt := d.BootstrapToken; bt != nil {
		bp := p.Child("bootstrapToken")
		if bt.APIServerEndpoint == "" {
			errs = append(errs, field.Required(bp.Child("apiServerEndpoint"), "APIServerEndpoint is not set; give the API server as host:port"))
		} else if _, _, err := net.SplitHostPort(bt.APIServerEndpoint); err != nil {
			errs = append(errs, field.Invalid(bp.Child("apiServerEndpoint"), bt.APIServerEndpoint, err.Error()+"; give host:port, such as 10.0.0.10:6443"))
		}
		if len(bt.CACertHashes) == 0 && !bt.UnsafeSkipCAVerification {
			errs = append(errs, field.Invalid(bp.Child("caCertHashes"), "", "using token-based discovery without caCertHashes can be unsafe. Set unsafeSkipCAVerification as true in your kubeadm config file or pass --discovery-token-unsafe-skip-ca-verification flag to continue"))
		}
		for i, h := range bt.CACertHashes {
			errs = append(errs, validateCACertHash(h, bp.Child("caCertHashes").Index(i))...)
		}
		errs = append(errs, validateToken(bt.Token, bp.Child("token"))...)
		errs = append(errs, validateToken(d.TLSBootstrapToken, p.Child("tlsBootstrapToken"))...)
	}
	if d.File != nil {
		errs = append(errs, validateDiscoveryFile(d.File.KubeConfigPath, p.Child("file", "kubeConfigPath"))...)
		if d.TLSBootstrapToken != "" {
			errs = append(errs, validateToken(d.TLSBootstrapToken, p.Child("tlsBootstrapToken"))...)
		}
	}
	return errs
}

var caCertHashRE = regexp.MustCompile(`^sha256:[0-9a-fA-F]{64}$`)

func validateCACertHash(h string, p *field.Path) field.ErrorList {
	if !caCertHashRE.MatchString(h) {
		return field.ErrorList{field.Invalid(p, h, "a CA certificate hash must be \"sha256:\" followed by 64 hexadecimal characters")}
	}
	return nil
}

func validateDiscoveryFile(path string, p *field.Path) field.ErrorList {
	u, err := url.Parse(path)
	if err != nil {
		return field.ErrorList{field.Invalid(p, path, "not a valid HTTPS URL or a file on disk")}
	}
	if u.Scheme == "" {
		if !fileExists(path) {
			return field.ErrorList{field.Invalid(p, path, "not a valid HTTPS URL or a file on disk")}
		}
		return nil
	}
	if u.Scheme != "https" {
		return field.ErrorList{field.Invalid(p, path, "if a URL is used, the scheme must be https")}
	}
	return nil
}

// sortErrors orders errors by field path so that messages are stable.
func sortErrors(errs field.ErrorList) field.ErrorList {
	for i := 1; i < len(errs); i++ {
		for j := i; j > 0 && errs[j].Field < errs[j-1].Field; j-- {
			errs[j], errs[j-1] = errs[j-1], errs[j]
		}
	}
	return errs
}
