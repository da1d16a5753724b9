package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kubeadmin/kubeadmin/phases/workflow"
)

// errSubcommandRequired is returned by a command that only groups others.
var errSubcommandRequired = errors.New("subcommand is required")

// phaseFlags are flags that only "phase" subcommands have, as in kubeadm.
type phaseFlags struct {
	kubeconfigPath string
	kubeconfigDir  string
}

// bindPhases adds a "phase" subcommand tree for runner to cmd, the
// --skip-phases flag, and the list of phases to cmd's long help. extra holds
// flags that only phase subcommands offer; run executes the runner once the
// filter is set, so the parent's pre-run logic (data building, timing) is the
// same for "init" and "init phase x".
func bindPhases(cmd *cobra.Command, r *workflow.Runner, extra *pflag.FlagSet, run func(cmd *cobra.Command, args []string) error) {
	phaseCmd := &cobra.Command{
		Use:   "phase",
		Short: fmt.Sprintf("Use this command to invoke single phase of the %q workflow", cmd.Name()),
		RunE:  requireSubcommand,
	}
	cmd.AddCommand(phaseCmd)

	parents := map[string]*cobra.Command{}
	for _, n := range r.Nodes() {
		if n.Hidden {
			continue
		}
		n := n
		selector := n.Path
		if n.RunAllSiblings && n.Parent != nil {
			selector = n.Parent.Path
		}
		c := &cobra.Command{
			Use:     strings.ToLower(n.Name),
			Short:   n.Short,
			Long:    n.Long,
			Example: n.Example,
			Aliases: n.Aliases,
			RunE: func(c *cobra.Command, args []string) error {
				if len(n.Phases) > 0 {
					_ = c.Help()
					return errSubcommandRequired
				}
				r.Options.FilterPhases = []string{selector}
				return run(c, args)
			},
		}
		inheritFlags(cmd.Flags(), c.Flags(), n.InheritFlags)
		if extra != nil {
			inheritFlags(extra, c.Flags(), n.InheritFlags)
		}
		if n.LocalFlags != nil {
			n.LocalFlags.VisitAll(func(f *pflag.Flag) { c.Flags().AddFlag(f) })
		}
		if len(n.Phases) > 0 {
			c.Args = cobra.NoArgs
		} else {
			c.Args = cmd.Args
		}
		if n.Parent == nil {
			phaseCmd.AddCommand(c)
		} else {
			parents[n.Parent.Path].AddCommand(c)
		}
		parents[n.Path] = c
	}
	long := cmd.Long
	if long == "" {
		long = cmd.Short
	}
	cmd.Long = fmt.Sprintf("%s\n\n%s\n", long, r.HelpText(cmd.Use))
	cmd.Flags().StringSliceVar(&r.Options.SkipPhases, "skip-phases", nil, "List of phases to be skipped")
}

func inheritFlags(from, to *pflag.FlagSet, names []string) {
	for _, name := range names {
		if f := from.Lookup(name); f != nil && to.Lookup(name) == nil {
			to.AddFlag(f)
		}
	}
}

func requireSubcommand(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("unknown command %q for %q", args[0], cmd.CommandPath())
	}
	_ = cmd.Help()
	return errSubcommandRequired
}
