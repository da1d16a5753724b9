package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/kubeadmin/kubeadmin/internal/config"
	"github.com/kubeadmin/kubeadmin/internal/constants"
	"github.com/kubeadmin/kubeadmin/phases/preflight"
)

// newCmdConfig wires `kubeadmin config`.
func newCmdConfig(out io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Manage configuration for a kubeadm cluster persisted in a ConfigMap in the cluster",
		RunE:  requireSubcommand,
	}
	cmd.AddCommand(newCmdConfigPrint(out), newCmdConfigImages(out), newCmdConfigValidate(out))
	return cmd
}

func newCmdConfigPrint(out io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "print",
		Short: "Print configuration",
		RunE:  requireSubcommand,
	}
	var kinds []string
	initDefaults := &cobra.Command{
		Use:   "init-defaults",
		Short: "Print default init configuration, that can be used for 'kubeadmin init'",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			b, err := config.PrintInitDefaults(kinds)
			if err != nil {
				return err
			}
			_, err = out.Write(b)
			return err
		},
	}
	initDefaults.Flags().StringSliceVar(&kinds, "component-configs", nil, fmt.Sprintf("A comma-separated list for component config API objects to print the default values for. Available values: %v. If this flag is not set, no component configs will be printed.", config.ComponentConfigKinds()))
	joinDefaults := &cobra.Command{
		Use:   "join-defaults",
		Short: "Print default join configuration, that can be used for 'kubeadmin join'",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			j, err := config.JoinDefaultsForPrint()
			if err != nil {
				return err
			}
			b, err := config.MarshalJoinConfig(j)
			if err != nil {
				return err
			}
			_, err = out.Write(b)
			return err
		},
	}
	resetDefaults := &cobra.Command{
		Use:   "reset-defaults",
		Short: "Print default reset configuration, that can be used for 'kubeadmin reset'",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			b, err := config.MarshalResetConfig(config.ResetDefaultsForPrint())
			if err != nil {
				return err
			}
			_, err = out.Write(b)
			return err
		},
	}
	cmd.AddCommand(initDefaults, joinDefaults, resetDefaults)
	return cmd
}

func newCmdConfigImages(out io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "images",
		Short: "Interact with container images used by kubeadmin",
		RunE:  requireSubcommand,
	}
	var cfgPath, output string
	cluster := config.ClusterConfiguration{}
	list := &cobra.Command{
		Use:   "list",
		Short: "Print a list of images kubeadmin will use. The configuration file is used in case any images or image repositories are customized",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := config.CheckMixedConfigFlags(cfgPath, changedFlags(c.Flags())); err != nil {
				return err
			}
			cc := cluster
			if cfgPath != "" {
				cfg, err := config.LoadInitConfigFile(cfgPath)
				if err != nil {
					return err
				}
				cc = cfg.Cluster
			}
			config.SetDefaultsCluster(&cc)
			v, err := config.NormalizeKubernetesVersion(cc.KubernetesVersion)
			if err != nil {
				return fmt.Errorf("invalid Kubernetes version %q: %w", cc.KubernetesVersion, err)
			}
			cc.KubernetesVersion = v
			b, err := config.MarshalImages(config.Images(&cc), output)
			if err != nil {
				return err
			}
			_, err = out.Write(b)
			return err
		},
	}
	f := list.Flags()
	f.StringVar(&cfgPath, "config", "", "Path to a kubeadm configuration file.")
	f.StringVarP(&output, "output", "o", "text", "Output format. One of: text|json|yaml.")
	f.StringVar(&cluster.KubernetesVersion, "kubernetes-version", constants.DefaultKubernetesVersionLabel, "Choose a specific Kubernetes version for the control plane.")
	f.StringVar(&cluster.ImageRepository, "image-repository", constants.DefaultImageRepository, "Choose a container registry to pull control plane images from")
	cmd.AddCommand(list)
	return cmd
}

func newCmdConfigValidate(out io.Writer) *cobra.Command {
	var cfgPath string
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Read a file containing the kubeadm configuration API and report any validation problems",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if cfgPath == "" {
				return errors.New("the --config flag is required: name the configuration file to validate")
			}
			cfg, err := config.LoadInitConfigFile(cfgPath)
			if err != nil {
				return err
			}
			config.SetDefaultsInit(&cfg.Init)
			config.SetDefaultsCluster(&cfg.Cluster)
			if err := config.SetDynamicDefaultsInit(cfg, config.DynamicOptions{}); err != nil {
				return err
			}
			if err := config.ValidateInitConfig(cfg); err != nil {
				return err
			}
			fmt.Fprintln(out, "ok")
			return nil
		},
	}
	cmd.Flags().StringVar(&cfgPath, "config", "", "Path to a kubeadm configuration file.")
	return cmd
}

func isPreflightError(err error) bool { return preflight.IsPreflightError(err) }

func isValidationError(err error) bool {
	var ve *config.ValidationError
	var le *config.LoadError
	return errors.As(err, &ve) || errors.As(err, &le)
}
