// Package workflow is kubeadmin's generic phase runner. A phase is a plain
// value (name, help, run function, run-if predicate, children); a Runner
// flattens a phase tree into an ordered list of paths such as
// "certs/apiserver", decides which of them run from --skip-phases and from a
// "run only this phase" filter, checks dependencies, runs them in order,
// wraps a failure once with the phase path and records each phase's
// duration. The cobra binding (the "init phase ..." subcommands) lives in
// cmd/kubeadmin; this package knows nothing about cobra.
package workflow

import "github.com/spf13/pflag"

// RunData is the data shared by the phases of one workflow. Each workflow
// asserts it to its own type at the top of a phase's Run function.
type RunData = any

// Phase is one step of a workflow. New phases are made by filling this value.
type Phase struct {
	// Name of the phase. Text after a space is an argument hint for help
	// ("preflight [api-server-endpoint]"); only the first word counts.
	Name string
	// Aliases are alternative names for the phase's subcommand.
	Aliases []string
	// Short, Long and Example are the help texts of the phase's subcommand.
	Short, Long, Example string
	// Hidden phases run but have no subcommand and are not listed in help.
	Hidden bool
	// Phases are the ordered children of the phase.
	Phases []Phase
	// RunAllSiblings marks the "all" child whose subcommand runs every
	// sibling; such a phase has no Run or RunIf of its own.
	RunAllSiblings bool
	// Run does the work of the phase.
	Run func(data RunData) error
	// RunIf, when set and false, skips the phase (and not its children).
	RunIf func(data RunData) (bool, error)
	// InheritFlags names the flags of the parent command that the phase's
	// subcommand offers.
	InheritFlags []string
	// LocalFlags are flags only the phase's subcommand has.
	LocalFlags *pflag.FlagSet
	// Dependencies are phase paths that must run before this one in the same
	// run.
	Dependencies []string
}
