package clusterobjects

import (
	"crypto/x509"
	"fmt"
	"io"
	"strings"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	certutil "k8s.io/client-go/util/cert"

	"github.com/kubeadmin/kubeadmin/certs"
)

// withheld replaces a secret value with --skip-token-print or
// --skip-certificate-key-print.
const withheld = "<value withheld>"

// JoinCommandOptions select the join command to render.
type JoinCommandOptions struct {
	// Token is the bootstrap token "<id>.<secret>".
	Token string
	// CertificateKey is added with --certificate-key for control planes.
	CertificateKey string
	// ControlPlane renders a control-plane join command.
	ControlPlane bool
	// SkipTokenPrint and SkipCertificateKeyPrint print "<value withheld>".
	SkipTokenPrint          bool
	SkipCertificateKeyPrint bool
}

// JoinCommand renders the join command for the cluster of the admin
// kubeconfig, exactly as kubeadm (with "kubeadmin join"): the API server
// host:port from the cluster's server URL, the token, one
// --discovery-token-ca-cert-hash per CA certificate of the cluster and,
// for control planes, --control-plane and --certificate-key.
func JoinCommand(admin *clientcmdapi.Config, o JoinCommandOptions) (string, error) {
	cluster, err := joinCluster(admin)
	if err != nil {
		return "", err
	}
	cas, err := clusterCAs(cluster)
	if err != nil {
		return "", err
	}
	token, key := o.Token, o.CertificateKey
	if o.SkipTokenPrint {
		token = withheld
	}
	if o.SkipCertificateKeyPrint {
		key = withheld
	}
	var b strings.Builder
	fmt.Fprintf(&b, "kubeadmin join %s --token %s \\\n\t", strings.ReplaceAll(cluster.Server, "https://", ""), token)
	for _, ca := range cas {
		fmt.Fprintf(&b, "--discovery-token-ca-cert-hash %s ", certs.CAPinHash(ca))
	}
	if o.ControlPlane {
		b.WriteString("\\\n\t--control-plane ")
		if key != "" {
			b.WriteString("--certificate-key " + key)
		}
	}
	return b.String(), nil
}

// JoinCommandFromFile is JoinCommand for the kubeconfig file at path.
func JoinCommandFromFile(path string, o JoinCommandOptions) (string, error) {
	admin, err := clientcmd.LoadFromFile(path)
	if err != nil {
		return "", fmt.Errorf("failed to load kubeconfig %q: %w", path, err)
	}
	return JoinCommand(admin, o)
}

// joinCluster is the unnamed cluster of a kubeconfig, else the current
// context's cluster (kubeadm's GetClusterFromKubeConfig).
func joinCluster(cfg *clientcmdapi.Config) (*clientcmdapi.Cluster, error) {
	if c := cfg.Clusters[""]; c != nil {
		return c, nil
	}
	ctx := cfg.Contexts[cfg.CurrentContext]
	if ctx == nil {
		return nil, fmt.Errorf("malformed kubeconfig: the current context %q is invalid", cfg.CurrentContext)
	}
	c := cfg.Clusters[ctx.Cluster]
	if c == nil {
		return nil, fmt.Errorf("malformed kubeconfig: no matching cluster for the current context %q", cfg.CurrentContext)
	}
	return c, nil
}

// clusterCAs are the CA certificates of c, embedded or from a file.
func clusterCAs(c *clientcmdapi.Cluster) ([]*x509.Certificate, error) {
	switch {
	case len(c.CertificateAuthorityData) > 0:
		cas, err := certutil.ParseCertsPEM(c.CertificateAuthorityData)
		if err != nil {
			return nil, fmt.Errorf("failed to parse CA certificate from kubeconfig: %w", err)
		}
		return cas, nil
	case c.CertificateAuthority != "":
		cas, err := certutil.CertsFromFile(c.CertificateAuthority)
		if err != nil {
			return nil, fmt.Errorf("failed to load CA certificate %q referenced by kubeconfig: %w", c.CertificateAuthority, err)
		}
		return cas, nil
	default:
		return nil, fmt.Errorf("no CA certificates found in kubeconfig")
	}
}

// BannerOptions are the inputs of the success banner of init.
type BannerOptions struct {
	// KubeConfigPath is the admin kubeconfig path shown in the copy hint
	// (the --kubeconfig value, /etc/kubernetes/admin.conf by default).
	KubeConfigPath string
	// Admin is the admin kubeconfig the join commands are built from.
	Admin *clientcmdapi.Config
	// ControlPlaneEndpoint enables the control-plane join section.
	ControlPlaneEndpoint string
	// UploadCerts selects the --certificate-key variant of that section.
	UploadCerts bool
	// Tokens are the bootstrap tokens; the banner is printed once per token.
	Tokens []string
	// CertificateKey is the key of the kubeadm-certs Secret.
	CertificateKey          string
	SkipTokenPrint          bool
	SkipCertificateKeyPrint bool
}

// PrintSuccessBanner prints kubeadm's "Your Kubernetes control-plane has
// initialized successfully!" text with the join commands, once per token,
// as the show-join-command phase does.
func PrintSuccessBanner(out io.Writer, o BannerOptions) error {
	for _, token := range o.Tokens {
		s, err := successBanner(o, token)
		if err != nil {
			return fmt.Errorf("failed to print join command: %w", err)
		}
		if _, err := io.WriteString(out, s); err != nil {
			return fmt.Errorf("failed to print join command: %w", err)
		}
	}
	return nil
}

// successBanner renders the banner for one token.
func successBanner(o BannerOptions, token string) (string, error) {
	jo := JoinCommandOptions{Token: token, CertificateKey: o.CertificateKey, ControlPlane: true,
		SkipTokenPrint: o.SkipTokenPrint, SkipCertificateKeyPrint: o.SkipCertificateKeyPrint}
	cpCmd, err := JoinCommand(o.Admin, jo)
	if err != nil {
		return "", err
	}
	jo.ControlPlane, jo.CertificateKey, jo.SkipCertificateKeyPrint = false, "", false
	workerCmd, err := JoinCommand(o.Admin, jo)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("\nYour Kubernetes control-plane has initialized successfully!\n\n")
	b.WriteString("To start using your cluster, you need to run the following as a regular user:\n\n")
	b.WriteString("  mkdir -p $HOME/.kube\n")
	fmt.Fprintf(&b, "  sudo cp -i %s $HOME/.kube/config\n", o.KubeConfigPath)
	b.WriteString("  sudo chown $(id -u):$(id -g) $HOME/.kube/config\n\n")
	b.WriteString("Alternatively, if you are the root user, you can run:\n\n")
	b.WriteString("  export KUBECONFIG=/etc/kubernetes/admin.conf\n\n")
	b.WriteString("You should now deploy a pod network to the cluster.\n")
	b.WriteString("Run \"kubectl apply -f [podnetwork].yaml\" with one of the options listed at:\n")
	b.WriteString("  https://kubernetes.io/docs/concepts/cluster-administration/addons/\n\n")
	if o.ControlPlaneEndpoint != "" {
		if o.UploadCerts {
			b.WriteString("You can now join any number of control-plane nodes running the following command on each as root:\n\n")
			fmt.Fprintf(&b, "  %s\n\n", cpCmd)
			b.WriteString("Please note that the certificate-key gives access to cluster sensitive data, keep it secret!\n")
			b.WriteString("As a safeguard, uploaded-certs will be deleted in two hours; If necessary, you can use\n")
			b.WriteString("\"kubeadmin init phase upload-certs --upload-certs\" to reload certs afterward.\n\n")
		} else {
			b.WriteString("You can now join any number of control-plane nodes by copying certificate authorities\n")
			b.WriteString("and service account keys on each node and then running the following as root:\n\n")
			fmt.Fprintf(&b, "  %s\n\n", cpCmd)
		}
	}
	b.WriteString("Then you can join any number of worker nodes by running the following on each as root:\n\n")
	fmt.Fprintf(&b, "%s\n", workerCmd)
	return b.String(), nil
}

// SingleLineJoinCommand joins the continuation lines of a join command, as
// `token create --print-join-command` prints it.
func SingleLineJoinCommand(cmd string) string {
	cmd = strings.ReplaceAll(cmd, "\\\n", "")
	return strings.ReplaceAll(cmd, "\t", "")
}
