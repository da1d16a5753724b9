// Command kubeadmin bootstraps Kubernetes clusters: a drop-in for kubeadm
// v1.37 with its own node agent. This package only wires cobra commands to
// the packages that do the work.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// Exit codes by error class, as kubeadm: 1 generic, 2 preflight, 3 validation.
const (
	exitGeneric    = 1
	exitPreflight  = 2
	exitValidation = 3
)

func main() {
	cmd := newCmdRoot(os.Stdin, os.Stdout, os.Stderr)
	if err := cmd.Execute(); err != nil {
		os.Exit(handleError(os.Stderr, err))
	}
}

func newCmdRoot(in io.Reader, out, errOut io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "kubeadmin",
		Short: "kubeadmin: easily bootstrap a secure Kubernetes cluster",
		Long: `kubeadmin bootstraps Kubernetes clusters. It reads kubeadm's v1beta4
configuration files, writes the same files as kubeadm, and runs the control
plane with its own node agent ("kubeadmin kubelet") over the CRI API.

    ┌──────────────────────────────────────────────────────────┐
    │ On the first control-plane machine:                      │
    │ control-plane# kubeadmin init                            │
    └──────────────────────────────────────────────────────────┘

    ┌──────────────────────────────────────────────────────────┐
    │ On the second, third ... machine:                        │
    │ worker# kubeadmin join <arguments-returned-from-init>    │
    └──────────────────────────────────────────────────────────┘
`,
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetIn(in)
	root.SetOut(out)
	root.SetErr(errOut)
	root.PersistentFlags().IntVarP(&verbosity, "v", "v", 0, "number for the log level verbosity")
	// Every command is listed here; no file registers itself.
	root.AddCommand(
		newCmdInit(out),
		newCmdJoin(out),
		newCmdFleet(out),
		newCmdReset(in, out),
		newCmdCerts(out),
		newCmdConfig(out),
		newCmdToken(out, errOut),
		newCmdVersion(out),
		newCmdKubelet(out),
		newCmdSupervise(),
	)
	return root
}

// verbosity is the global -v level.
var verbosity int

// handleError prints err the way kubeadm does and returns the exit code.
func handleError(w io.Writer, err error) int {
	if errors.Is(err, errSubcommandRequired) {
		return exitGeneric
	}
	// A phase failure already reads "error execution phase <path>: ...",
	// as kubeadm prints it.
	if msg := err.Error(); strings.HasPrefix(msg, "error execution phase") {
		fmt.Fprintln(w, msg)
	} else {
		fmt.Fprintf(w, "error: %s\n", msg)
	}
	switch {
	case isPreflightError(err):
		return exitPreflight
	case isValidationError(err):
		return exitValidation
	}
	return exitGeneric
}
