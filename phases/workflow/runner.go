package workflow

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Separator joins the names of a phase path ("certs/apiserver").
const Separator = "/"

// Options select which phases run.
type Options struct {
	// FilterPhases, when not empty, runs only these phases and their
	// children (used by "init phase <name>").
	FilterPhases []string
	// SkipPhases never run, nor do their children.
	SkipPhases []string
}

// Node is one phase of the flattened tree, with its generated path.
type Node struct {
	Phase
	// Path is the generated name, e.g. "certs/apiserver".
	Path string
	// Level is the depth in the tree; top-level phases are 0.
	Level int
	// Parent is nil for top-level phases.
	Parent *Node
}

// Timing is how long one phase took.
type Timing struct {
	Path     string
	Level    int
	Duration time.Duration
	Skipped  bool
}

// Runner runs a tree of phases.
type Runner struct {
	Options Options
	phases  []Phase
	nodes   []*Node

	dataInit func() (RunData, error)
	data     RunData

	// Timings of the last Run, in execution order.
	Timings []Timing
	// Now is the clock; tests may replace it.
	Now func() time.Time
}

// NewRunner returns a runner for the given phase tree.
func NewRunner(phases ...Phase) *Runner {
	r := &Runner{phases: phases, Now: time.Now}
	for _, p := range phases {
		r.flatten(p, nil, 0)
	}
	return r
}

// SetDataInitializer sets the function that builds the shared RunData; it
// is called once, lazily, before the first phase runs.
func (r *Runner) SetDataInitializer(f func() (RunData, error)) { r.dataInit = f }

// Data returns the shared RunData, building it on first use.
func (r *Runner) Data() (RunData, error) {
	if r.data == nil && r.dataInit != nil {
		d, err := r.dataInit()
		if err != nil {
			return nil, err
		}
		r.data = d
	}
	return r.data, nil
}

// BuiltData returns the shared RunData if a phase already built it.
func (r *Runner) BuiltData() RunData { return r.data }

// Nodes returns the flattened tree, parents before children.
func (r *Runner) Nodes() []*Node { return r.nodes }

// Phases returns the top-level phases as given.
func (r *Runner) Phases() []Phase { return r.phases }

// Lookup returns the node with the given path.
func (r *Runner) Lookup(path string) *Node {
	for _, n := range r.nodes {
		if n.Path == path {
			return n
		}
	}
	return nil
}

func (r *Runner) flatten(p Phase, parent *Node, level int) {
	path := phaseName(p.Name)
	if parent != nil {
		path = parent.Path + Separator + path
	}
	n := &Node{Phase: p, Path: path, Level: level, Parent: parent}
	r.nodes = append(r.nodes, n)
	for _, c := range p.Phases {
		r.flatten(c, n, level+1)
	}
}

// phaseName is the lower-cased first word of a phase name.
func phaseName(name string) string {
	name, _, _ = strings.Cut(name, " ")
	return strings.ToLower(name)
}

// Selection returns, for every path, whether it runs under Options.
func (r *Runner) Selection() (map[string]bool, error) {
	run := map[string]bool{}
	for _, n := range r.nodes {
		run[n.Path] = len(r.Options.FilterPhases) == 0
	}
	mark := func(name string, v bool) error {
		if _, ok := run[name]; !ok {
			return fmt.Errorf("invalid phase name: %s", name)
		}
		for _, n := range r.nodes {
			if n.Path == name || strings.HasPrefix(n.Path, name+Separator) {
				run[n.Path] = v
			}
		}
		return nil
	}
	for _, f := range r.Options.FilterPhases {
		if err := mark(f, true); err != nil {
			return nil, err
		}
	}
	for _, s := range r.Options.SkipPhases {
		if err := mark(s, false); err != nil {
			return nil, err
		}
	}
	return run, nil
}

// Run executes the selected phases in order. A failing phase stops the run
// and its error is wrapped once as "error execution phase <path>: ...".
func (r *Runner) Run() error {
	run, err := r.Selection()
	if err != nil {
		return err
	}
	if err := r.checkDependencies(run); err != nil {
		return err
	}
	r.Timings = nil
	for _, n := range r.nodes {
		if !run[n.Path] || n.RunAllSiblings {
			continue
		}
		if n.Run == nil && n.RunIf == nil {
			// A pure grouping phase: its children do the work; its row
			// in the timings is their total.
			r.Timings = append(r.Timings, Timing{Path: n.Path, Level: n.Level})
			continue
		}
		data, err := r.Data()
		if err != nil {
			return err
		}
		start := r.Now()
		if n.RunIf != nil {
			ok, err := n.RunIf(data)
			if err != nil {
				return &PhaseError{Path: n.Path, Err: err}
			}
			if !ok {
				r.Timings = append(r.Timings, Timing{Path: n.Path, Level: n.Level, Skipped: true})
				continue
			}
		}
		if n.Run != nil {
			if err := n.Run(data); err != nil {
				return &PhaseError{Path: n.Path, Err: err}
			}
		}
		r.Timings = append(r.Timings, Timing{Path: n.Path, Level: n.Level, Duration: r.Now().Sub(start)})
	}
	return nil
}

func (r *Runner) checkDependencies(run map[string]bool) error {
	visited := map[string]bool{}
	var msg strings.Builder
	for _, n := range r.nodes {
		if !run[n.Path] {
			continue
		}
		var missing []string
		for _, d := range n.Dependencies {
			if !visited[d] {
				missing = append(missing, d)
			}
		}
		if len(missing) > 0 {
			fmt.Fprintf(&msg, "\n\tmissing %v phase(s) needed by %q phase", missing, n.Path)
		}
		visited[n.Path] = true
	}
	if msg.Len() > 0 {
		return errors.New("unresolved dependencies:" + msg.String())
	}
	return nil
}

// PhaseError is the error of a failed phase.
type PhaseError struct {
	Path string
	Err  error
}

func (e *PhaseError) Error() string { return "error execution phase " + e.Path + ": " + e.Err.Error() }

// Unwrap returns the phase's own error.
func (e *PhaseError) Unwrap() error { return e.Err }

// FailedPhase returns the path of the failed phase in err, if any.
func FailedPhase(err error) (string, bool) {
	var pe *PhaseError
	if errors.As(err, &pe) {
		return pe.Path, true
	}
	return "", false
}

// HelpText lists the phases the way kubeadm appends them to a command's long
// help: children indented two spaces per level and shown as "/name", the
// short help aligned after the longest name; hidden and "all" phases are
// left out.
func (r *Runner) HelpText(use string) string {
	const offset = 2
	var b strings.Builder
	fmt.Fprintf(&b, "The %q command executes the following phases:\n```\n", use)
	width := 0
	for _, n := range r.nodes {
		if l := len(helpName(n)); !n.Hidden && !n.RunAllSiblings && l > width {
			width = l
		}
	}
	for _, n := range r.nodes {
		if n.Hidden || n.RunAllSiblings {
			continue
		}
		name := helpName(n)
		b.WriteString(strings.Repeat(" ", offset*n.Level))
		b.WriteString(name)
		b.WriteString(strings.Repeat(" ", width-len(name)+offset))
		b.WriteString(n.Short)
		b.WriteString("\n")
	}
	b.WriteString("```")
	return b.String()
}

func helpName(n *Node) string {
	name := phaseName(n.Name)
	if n.Level == 0 {
		return name
	}
	return "/" + name
}

// PrintTimings writes the duration of each phase that ran, a parent with the
// total of its own work and its children's, children indented below it, and
// the total of the run.
func (r *Runner) PrintTimings(w io.Writer, total time.Duration) {
	if len(r.Timings) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\n[timing] Phase durations:")
	for i, t := range r.Timings {
		sum := t.Duration
		for _, c := range r.Timings[i+1:] {
			if c.Level <= t.Level {
				break
			}
			sum += c.Duration
		}
		d := sum.Round(time.Millisecond).String()
		if t.Skipped {
			d = "skipped"
		}
		fmt.Fprintf(tw, "[timing]   %s%s\t%s\n", strings.Repeat("  ", t.Level), t.Path, d)
	}
	fmt.Fprintf(tw, "[timing]   total\t%s\n", total.Round(time.Millisecond))
	_ = tw.Flush()
}
