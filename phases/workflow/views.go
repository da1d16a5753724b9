package workflow

import "fmt"

// View asserts the runner's data to the view D a phase needs. Each workflow
// offers its phases narrow interfaces of its data; a phase names only what
// it uses, so another workflow can reuse it by offering the same methods.
func View[D any](rd RunData) (D, error) {
	d, ok := rd.(D)
	if !ok {
		return d, fmt.Errorf("phase invoked with an invalid data struct %T", rd)
	}
	return d, nil
}

// RunAs adapts a function of the view D to a phase's Run.
func RunAs[D any](f func(D) error) func(RunData) error {
	return func(rd RunData) error {
		d, err := View[D](rd)
		if err != nil {
			return err
		}
		return f(d)
	}
}

// RunIfAs adapts a predicate of the view D to a phase's RunIf.
func RunIfAs[D any](f func(D) bool) func(RunData) (bool, error) {
	return func(rd RunData) (bool, error) {
		d, err := View[D](rd)
		if err != nil {
			return false, err
		}
		return f(d), nil
	}
}

// AllPhase is the "all" child of a group phase: its subcommand runs every
// sibling.
func AllPhase(short string, flags []string) Phase {
	return Phase{Name: "all", Short: short, InheritFlags: flags, RunAllSiblings: true}
}
