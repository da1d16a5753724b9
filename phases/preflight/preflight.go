// Package preflight runs kubeadm's pre-flight checks before init, join and
// reset: host facts (root, CPUs, memory, swap, free ports, empty
// directories, IP forwarding, executables, hostname, proxies) and the
// container runtime (CRI reachable and ready, required images present).
//
// A check reports warnings and errors. RunChecks prints every warning as
// "\t[WARNING <Name>]: <msg>", downgrades the errors of ignored checks
// (--ignore-preflight-errors, case-insensitive, or "all") to warnings, and
// returns an *Error listing the remaining errors in kubeadm's format. The
// command layer maps that error class to exit code 2 (IsPreflightError).
//
// Unlike kubeadm, kubeadmin never pulls images: the ImagePull check only
// asks the runtime whether each required image is present.
package preflight

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// Checker is one pre-flight check.
type Checker interface {
	// Name is the check's label, used in the output and matched
	// (case-insensitively) against the ignored checks.
	Name() string
	// Check returns the problems found: warnings never abort, errors do
	// unless the check is ignored.
	Check() (warnings, errorList []error)
}

// Check is a Checker made of a label and a function.
type Check struct {
	// Label is the check's name, e.g. "Port-6443".
	Label string
	// Run performs the check.
	Run func() (warnings, errorList []error)
}

// Name returns the check's label.
func (c Check) Name() string { return c.Label }

// Check runs the check.
func (c Check) Check() (warnings, errorList []error) { return c.Run() }

// ignoreAll is the special ignore value that downgrades every check.
const ignoreAll = "all"

// ignoreHint ends kubeadm's fatal preflight message.
const ignoreHint = "[preflight] If you know what you are doing, you can make a check non-fatal with `--ignore-preflight-errors=...`"

// Failure is one fatal problem found by a check.
type Failure struct {
	// Check is the name of the check that failed.
	Check string
	// Err is the problem.
	Err error
}

// Error is returned by RunChecks when at least one check failed and was
// not ignored. Its message is kubeadm's fatal preflight message.
type Error struct {
	// Failures lists the errors in the order the checks ran.
	Failures []Failure
}

// Error returns "[preflight] Some fatal errors occurred:", one
// "\t[ERROR <Name>]: <msg>" line per failure and the ignore hint.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("[preflight] Some fatal errors occurred:\n")
	for _, f := range e.Failures {
		fmt.Fprintf(&b, "\t[ERROR %s]: %v\n", f.Check, f.Err)
	}
	b.WriteString(ignoreHint)
	return b.String()
}

// Preflight marks the error as a preflight failure (exit code 2).
func (e *Error) Preflight() bool { return true }

// IsPreflightError reports whether err, or an error it wraps, is a
// preflight failure.
func IsPreflightError(err error) bool {
	var p interface{ Preflight() bool }
	return errors.As(err, &p) && p.Preflight()
}

// RunChecks runs every check in order and writes its warnings to out. The
// errors of a check named in ignore (case-insensitive; the key "all"
// matches every check) are written as warnings instead. If any error
// remains, RunChecks returns an *Error listing all of them.
func RunChecks(checks []Checker, out io.Writer, ignore map[string]bool) error {
	ignored := normalizeIgnore(ignore)
	var failures []Failure
	for _, c := range checks {
		name := c.Name()
		warnings, errs := c.Check()
		if ignored[ignoreAll] || ignored[strings.ToLower(name)] {
			warnings = append(warnings, errs...)
			errs = nil
		}
		for _, w := range warnings {
			fmt.Fprintf(out, "\t[WARNING %s]: %v\n", name, w)
		}
		for _, err := range errs {
			failures = append(failures, Failure{Check: name, Err: err})
		}
	}
	if len(failures) > 0 {
		return &Error{Failures: failures}
	}
	return nil
}

// normalizeIgnore lower-cases the ignored check names.
func normalizeIgnore(ignore map[string]bool) map[string]bool {
	out := make(map[string]bool, len(ignore))
	for name, on := range ignore {
		if on {
			out[strings.ToLower(strings.TrimSpace(name))] = true
		}
	}
	return out
}

// pathCheckName derives a check name from a path the way kubeadm does:
// every "/" becomes "-", so "/var/lib/etcd" gives "DirAvailable--var-lib-etcd".
func pathCheckName(prefix, path string) string {
	return prefix + "-" + strings.ReplaceAll(path, "/", "-")
}
