package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/kubeadmin/kubeadmin/kubelet/service"
)

// newCmdSupervise is the hidden command the detached supervisor runs:
// `kubeadmin supervise --pid-file F --log-file L -- CMD ARGS...`.
func newCmdSupervise() *cobra.Command {
	o := service.Options{}
	cmd := &cobra.Command{
		Use:    service.SuperviseCommand + " --pid-file FILE --log-file FILE -- COMMAND [ARGS...]",
		Short:  "Run a command and restart it when it exits (used where systemd does not run)",
		Hidden: true,
		Args:   cobra.MinimumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			o.Command, o.Args = args[0], args[1:]
			return service.Run(context.Background(), o)
		},
	}
	cmd.Flags().StringVar(&o.Name, "name", "kubelet", "Name of the supervised process in log lines")
	cmd.Flags().StringVar(&o.PIDFile, "pid-file", "", "File that holds the supervisor's PID")
	cmd.Flags().StringVar(&o.LogFile, "log-file", "", "File that receives the command's output")
	_ = cmd.MarkFlagRequired("pid-file")
	_ = cmd.MarkFlagRequired("log-file")
	return cmd
}
