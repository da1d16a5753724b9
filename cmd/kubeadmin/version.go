package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/kubeadmin/kubeadmin/internal/version"
)

// newCmdVersion prints kubeadmin's version and the Kubernetes version it
// deploys. "-o short" prints kubeadmin's version alone, as kubeadm does.
func newCmdVersion(out io.Writer) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version of kubeadmin",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := version.Get()
			switch output {
			case "":
				fmt.Fprintf(out, "kubeadmin version: %#v\n", v)
			case "short":
				fmt.Fprintln(out, v.GitVersion)
			case "json":
				b, err := json.MarshalIndent(map[string]version.Info{"clientVersion": v}, "", "  ")
				if err != nil {
					return err
				}
				fmt.Fprintln(out, string(b))
			case "yaml":
				b, err := yaml.Marshal(map[string]version.Info{"clientVersion": v})
				if err != nil {
					return err
				}
				fmt.Fprint(out, string(b))
			default:
				return fmt.Errorf("invalid value %q for flag --output (-o): use one of short, json, yaml", output)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "Output format; available options are 'yaml', 'json' and 'short'")
	return cmd
}
