package resetphases

import (
	"bufio"
	"errors"
	"fmt"
	"strings"

	"github.com/kubeadmin/kubeadmin/phases/preflight"
	"github.com/kubeadmin/kubeadmin/phases/workflow"
)

func newPreflightPhase() workflow.Phase {
	return workflow.Phase{Name: "preflight", Aliases: []string{"pre-flight"}, Short: "Run reset pre-flight checks", Run: workflow.RunAs(runPreflight)}
}

func runPreflight(d preflightData) error {
	cfg, out := d.Cfg(), d.Out()
	if !cfg.Force && !cfg.DryRun {
		fmt.Fprintln(out, "[reset] WARNING: Changes made to this host by 'kubeadmin init' or 'kubeadmin join' will be reverted.")
		fmt.Fprint(out, "[reset] Are you sure you want to proceed? [y/N]: ")
		answer, _ := bufio.NewReader(d.In()).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
			return errors.New("aborted reset operation")
		}
	}
	fmt.Fprintln(out, "[preflight] Running pre-flight checks")
	return preflight.RunChecks(preflight.ResetChecks(preflight.Host{}), out, d.IgnorePreflightErrors())
}
