package main

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/kubeadmin/kubeadmin/internal/constants"
	"github.com/kubeadmin/kubeadmin/phases"
	"github.com/kubeadmin/kubeadmin/phases/resetphases"
	"github.com/kubeadmin/kubeadmin/phases/workflow"
)

// newCmdReset wires `kubeadmin reset` and its phase subcommands.
func newCmdReset(in io.Reader, out io.Writer) *cobra.Command {
	o := &resetphases.ResetOptions{In: in}
	runner := workflow.NewRunner(resetphases.Phases()...)
	cmd := &cobra.Command{
		Use:   "reset",
		Short: "Performs a best effort revert of changes made to this host by 'kubeadmin init' or 'kubeadmin join'",
		Args:  cobra.NoArgs,
	}
	run := func(c *cobra.Command, _ []string) error {
		o.ChangedFlags = changedFlags(c.Flags())
		runner.SetDataInitializer(func() (workflow.RunData, error) { return resetphases.NewResetData(o, out) })
		return runner.Run()
	}
	cmd.RunE = run
	f := cmd.Flags()
	f.StringVar(&o.ConfigPath, phases.FlagConfig, "", "Path to a kubeadm configuration file.")
	f.StringVar(&o.CertDir, phases.FlagCertDir, constants.DefaultCertDir, "The path to the directory where the certificates are stored. If specified, clean this directory.")
	f.StringVar(&o.CRISocket, phases.FlagCRISocket, "", "Path to the CRI socket to connect. If empty kubeadmin will try to auto-detect this value; use this option only if you have more than one CRI installed or if you have non-standard CRI socket.")
	f.BoolVarP(&o.Force, "force", "f", false, "Reset the node without prompting for confirmation.")
	f.BoolVar(&o.DryRun, phases.FlagDryRun, false, "Don't apply any changes; just output what would be done.")
	f.BoolVar(&o.CleanupTmpDir, "cleanup-tmp-dir", false, `Cleanup the "/etc/kubernetes/tmp" directory`)
	f.StringSliceVar(&o.IgnorePreflightErrors, phases.FlagIgnorePreflightErrors, nil, "A list of checks whose errors will be shown as warnings. Example: 'IsPrivilegedUser,Swap'. Value 'all' ignores errors from all checks.")
	f.StringVar(&o.KubeconfigPath, phases.FlagKubeconfig, constants.KubernetesDir+"/"+constants.AdminKubeConfigFile, "The kubeconfig file to use when talking to the cluster. If the flag is not set, a set of standard locations can be searched for an existing kubeconfig file.")
	bindPhases(cmd, runner, nil, run)
	return cmd
}
