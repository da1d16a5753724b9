package main

import (
	"context"
	"io"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/kubeadmin/kubeadmin/fleet"
)

const fleetLong = `Provision a whole cluster over SSH from one inventory file.

The inventory (apiVersion kubeadmin.io/v1alpha1, kind Cluster) lists the
hosts, how to reach them (user, keys or ssh-agent, bastion, pinned host
key; ~/.ssh/config is read for HostName, User, Port, IdentityFile and
ProxyJump), their roles, labels and taints, the kubeadm settings passed
through to init and join, and the kubeadmin binary and image bundle to
upload. Host keys are checked against known_hosts; unknown ones are
refused unless --trust-new-host-keys is given.

  kubeadmin fleet apply -f cluster.yaml --kubeconfig-out admin.conf
  kubeadmin fleet status -f cluster.yaml`

// newCmdFleet wires `kubeadmin fleet` and its subcommands.
func newCmdFleet(out io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "fleet", Short: "Provision a whole cluster over SSH from one inventory file", Long: fleetLong, RunE: requireSubcommand}
	common := func(c *cobra.Command, o *fleet.Options) {
		o.Out = out
		c.Flags().StringVarP(&o.File, "file", "f", "", "The inventory file (kind Cluster, apiVersion kubeadmin.io/v1alpha1).")
		c.Flags().BoolVar(&o.TrustNewHostKeys, "trust-new-host-keys", false, "Accept the host key of a host that known_hosts does not know, print its fingerprint and record it in known_hosts. A changed key is refused all the same.")
		c.Flags().StringVar(&o.SSHConfig, "ssh-config", "", `The ssh config file read for host defaults (default ~/.ssh/config; "none" reads none).`)
		_ = c.MarkFlagRequired("file")
	}
	run := func(f func(ctx context.Context) error) func(*cobra.Command, []string) error {
		return func(*cobra.Command, []string) error {
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			return f(ctx)
		}
	}

	apply := &fleet.ApplyOptions{}
	applyCmd := &cobra.Command{Use: "apply", Short: "Bring every host to what the inventory says: prepare, init, join, label, reset", Args: cobra.NoArgs,
		RunE: run(func(ctx context.Context) error { return fleet.Apply(ctx, *apply) })}
	common(applyCmd, &apply.Options)
	applyCmd.Flags().StringVar(&apply.KubeconfigOut, "kubeconfig-out", "", "Write the cluster's admin kubeconfig to this file (0600), its server the control-plane endpoint.")

	plan := &fleet.Options{}
	planCmd := &cobra.Command{Use: "plan", Short: "Show, per host, what apply would do, changing nothing", Args: cobra.NoArgs,
		RunE: run(func(ctx context.Context) error { return fleet.Plan(ctx, *plan) })}
	common(planCmd, plan)

	status := &fleet.Options{}
	statusCmd := &cobra.Command{Use: "status", Short: "Show, per host, reachability, OS, containerd and kubeadmin versions, role and Node state", Args: cobra.NoArgs,
		RunE: run(func(ctx context.Context) error { return fleet.Status(ctx, *status) })}
	common(statusCmd, status)

	kc := &fleet.KubeconfigOptions{}
	kcCmd := &cobra.Command{Use: "kubeconfig", Short: "Print the cluster's admin kubeconfig, or write or merge it into a file", Args: cobra.NoArgs,
		RunE: run(func(ctx context.Context) error { return fleet.Kubeconfig(ctx, *kc) })}
	common(kcCmd, &kc.Options)
	kcCmd.Flags().StringVarP(&kc.Output, "output", "o", "", "Write the kubeconfig to this file (0600) instead of printing it.")
	kcCmd.Flags().StringVar(&kc.Merge, "merge", "", "Merge the kubeconfig into this file and make its context the current one.")

	reset := &fleet.ResetOptions{}
	resetCmd := &cobra.Command{Use: "reset", Short: "Reset every host of the cluster (workers drained first), or only the hosts marked reset: true", Args: cobra.NoArgs,
		RunE: run(func(ctx context.Context) error { return fleet.Reset(ctx, *reset) })}
	common(resetCmd, &reset.Options)
	resetCmd.Flags().BoolVar(&reset.MarkedOnly, "marked-only", false, "Reset only the hosts marked reset: true in the inventory.")

	cmd.AddCommand(applyCmd, planCmd, statusCmd, kcCmd, resetCmd)
	return cmd
}
