package main

import (
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/kubeadmin/kubeadmin/certs"
	"github.com/kubeadmin/kubeadmin/internal/config"
	"github.com/kubeadmin/kubeadmin/internal/constants"
)

const certRenewLongFmt = `Renew the %s.

Renewals run unconditionally, regardless of certificate expiration date; extra attributes such as SANs will
be based on the existing file/certificates, there is no need to resupply them.

Renewal uses the certificate authority in the local PKI managed by kubeadmin.

After renewal, in order to make changes effective, is required to restart control-plane components and
eventually re-distribute the renewed certificate in case the file is used elsewhere.
`

// certsOptions are the flags shared by the certs subcommands.
type certsOptions struct {
	configPath     string
	certDir        string
	kubeconfigPath string
	kubeconfigDir  string
}

func (o *certsOptions) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.configPath, "config", "", "Path to a kubeadm configuration file.")
	f.StringVar(&o.certDir, "cert-dir", constants.DefaultCertDir, "The path where to save the certificates")
	f.StringVar(&o.kubeconfigPath, "kubeconfig", constants.KubernetesDir+"/"+constants.AdminKubeConfigFile,
		"The kubeconfig file to use when talking to the cluster. If the flag is not set, a set of standard locations can be searched for an existing kubeconfig file.")
	f.StringVar(&o.kubeconfigDir, "kubeconfig-dir", constants.KubernetesDir, "The path where the kubeconfig files are")
	_ = f.MarkHidden("kubeconfig-dir")
}

// load returns the configuration of --config (defaults without it); an
// explicit --cert-dir overrides its certificatesDir. kubeadm would first try
// the cluster's kubeadm-config ConfigMap through --kubeconfig; kubeadmin
// reads only local files here, so the commands work on a broken cluster.
func (o *certsOptions) load(cmd *cobra.Command) (*config.InitConfig, error) {
	cfg := config.DefaultInitConfig()
	if o.configPath != "" {
		c, err := config.LoadInitConfigFile(o.configPath)
		if err != nil {
			return nil, err
		}
		cfg = c
	}
	if cmd.Flags().Changed("cert-dir") || cfg.Cluster.CertificatesDir == "" {
		cfg.Cluster.CertificatesDir = o.certDir
	}
	return cfg, nil
}

// newCmdCerts returns `kubeadmin certs` (alias certificates).
func newCmdCerts(out io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "certs",
		Aliases: []string{"certificates"},
		Short:   "Commands related to handling Kubernetes certificates",
		RunE:    requireSubcommand,
	}
	cmd.AddCommand(newCmdCertsRenew(out), newCmdCertsCheckExpiration(out), newCmdCertificateKey(out))
	return cmd
}

func newCmdCertsRenew(out io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "renew",
		Short: "Renew certificates for a Kubernetes cluster",
		RunE:  requireSubcommand,
	}
	for _, t := range certs.RenewTargets(config.DefaultInitConfig()) {
		o := &certsOptions{}
		name := t.Name
		sub := &cobra.Command{
			Use:   name,
			Short: "Renew the " + t.LongName,
			Long:  fmt.Sprintf(certRenewLongFmt, t.LongName),
			Args:  cobra.NoArgs,
			RunE: func(c *cobra.Command, _ []string) error {
				cfg, err := o.load(c)
				if err != nil {
					return err
				}
				return certs.Renew(name, cfg, cfg.Cluster.CertificatesDir, o.kubeconfigDir, out)
			},
		}
		o.addFlags(sub)
		cmd.AddCommand(sub)
	}
	o := &certsOptions{}
	all := &cobra.Command{
		Use:   "all",
		Short: "Renew all available certificates",
		Long: `Renew all known certificates necessary to run the control plane. Renewals are run unconditionally, regardless
of expiration date. Renewals can also be run individually for more control.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			cfg, err := o.load(c)
			if err != nil {
				return err
			}
			return certs.RenewAll(cfg, cfg.Cluster.CertificatesDir, o.kubeconfigDir, out)
		},
	}
	o.addFlags(all)
	cmd.AddCommand(all)
	return cmd
}

func newCmdCertsCheckExpiration(out io.Writer) *cobra.Command {
	o := &certsOptions{}
	var output string
	cmd := &cobra.Command{
		Use:   "check-expiration",
		Short: "Check certificates expiration for a Kubernetes cluster",
		Long:  "Checks expiration for the certificates in the local PKI managed by kubeadmin.",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			cfg, err := o.load(c)
			if err != nil {
				return err
			}
			now := time.Now()
			info, err := certs.CheckExpiration(cfg, cfg.Cluster.CertificatesDir, o.kubeconfigDir, now)
			if err != nil {
				return err
			}
			if info.KubeletClient, err = certs.KubeletClientExpiration(filepath.Join(o.kubeconfigDir, constants.KubeletKubeConfigFile), now); err != nil {
				return err
			}
			return certs.PrintExpiration(out, info, output)
		},
	}
	o.addFlags(cmd)
	cmd.Flags().StringVarP(&output, "output", "o", certs.OutputText, "Output format. One of: text|json|yaml.")
	return cmd
}

func newCmdCertificateKey(out io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "certificate-key",
		Short: "Generate certificate keys",
		Long: `This command will print out a secure randomly-generated certificate key that can be used with
the "init" command.

You can also use "kubeadmin init --upload-certs" without specifying a certificate key and it will
generate and print one for you.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			key, err := certs.CreateCertificateKey()
			if err != nil {
				return err
			}
			fmt.Fprintln(out, key)
			return nil
		},
	}
}
