// Package phase runs the fleet's workflows: an ordered list of phases,
// each fanned out over the hosts it concerns with a concurrency limit. A
// host that fails a phase is left out of the later ones while the others
// go on; the run records each host's result and each phase's time for the
// summary.
package phase

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// Phase is one step of a workflow.
type Phase struct {
	// Title is printed as "[fleet] <Title>" when the phase starts.
	Title string
	// Hosts selects the hosts the phase runs on from those still in the
	// run; nil means all of them. An empty selection skips the phase.
	Hosts func(hosts []string) []string
	// Limit bounds the hosts in flight (0: the runner's limit).
	Limit int
	// Run does the work on one host.
	Run func(ctx context.Context, host string) error
	// Once, instead of Run, does the work once for the whole cluster (for
	// example fetching the kubeconfig); a failure ends the run.
	Once func(ctx context.Context) error
}

// Result is how one host fared.
type Result struct {
	Host string
	// Phases are the titles of the phases the host went through, with
	// their durations, in order.
	Phases []Timing
	// Err is the first failure, nil when every phase succeeded.
	Err error
	// Failed is the title of the phase that failed.
	Failed string
}

// Timing is the time one phase took on one host (or once).
type Timing struct {
	Title    string
	Duration time.Duration
}

// Runner runs phases over hosts.
type Runner struct {
	// Limit bounds the hosts in flight in a phase (default 5).
	Limit int
	// Out receives the progress lines.
	Out io.Writer
	// Now is the clock (tests replace it).
	Now func() time.Time

	mu      sync.Mutex // guards results during a fan-out
	results map[string]*Result
	once    []Timing
	order   []string
}

// Run runs phases over hosts in order. It returns an error when a host or
// a Once phase failed; Results has the details either way.
func (r *Runner) Run(ctx context.Context, hosts []string, phases []Phase) error {
	if r.Now == nil {
		r.Now = time.Now
	}
	if r.Out == nil {
		r.Out = io.Discard
	}
	r.results = map[string]*Result{}
	r.order = append([]string(nil), hosts...)
	for _, h := range hosts {
		r.results[h] = &Result{Host: h}
	}
	for _, p := range phases {
		if err := ctx.Err(); err != nil {
			return err
		}
		if p.Once != nil {
			fmt.Fprintf(r.Out, "[fleet] %s\n", p.Title)
			start := r.Now()
			err := p.Once(ctx)
			r.once = append(r.once, Timing{Title: p.Title, Duration: r.Now().Sub(start)})
			if err != nil {
				return fmt.Errorf("%s: %w", p.Title, err)
			}
			continue
		}
		selected := r.alive()
		if p.Hosts != nil {
			selected = p.Hosts(selected)
		}
		if len(selected) == 0 {
			continue
		}
		fmt.Fprintf(r.Out, "[fleet] %s: %s\n", p.Title, strings.Join(selected, ", "))
		r.fanOut(ctx, p, selected)
	}
	if failed := r.failed(); len(failed) > 0 {
		return fmt.Errorf("%d of %d hosts failed: %s", len(failed), len(hosts), strings.Join(failed, ", "))
	}
	return nil
}

// fanOut runs p on hosts, at most limit at a time.
func (r *Runner) fanOut(ctx context.Context, p Phase, hosts []string) {
	limit := p.Limit
	if limit <= 0 {
		limit = r.Limit
	}
	if limit <= 0 {
		limit = DefaultLimit
	}
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for _, h := range hosts {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			start := r.Now()
			err := p.Run(ctx, h)
			took := r.Now().Sub(start)
			r.mu.Lock()
			defer r.mu.Unlock()
			res := r.results[h]
			res.Phases = append(res.Phases, Timing{Title: p.Title, Duration: took})
			if err != nil {
				res.Err, res.Failed = err, p.Title
				fmt.Fprintf(r.Out, "[fleet] %s: %s FAILED: %v\n", h, p.Title, err)
			}
		}()
	}
	wg.Wait()
}

// Record adds a step's time to the host's row of the summary, for a phase
// whose Run does several steps (safe to call from Run).
func (r *Runner) Record(host, title string, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if res := r.results[host]; res != nil {
		res.Phases = append(res.Phases, Timing{Title: title, Duration: d})
	}
}

// DefaultLimit is the number of hosts a phase runs on at once by default.
const DefaultLimit = 5

// alive are the hosts without a failure, in the run's order.
func (r *Runner) alive() []string {
	var hs []string
	for _, h := range r.order {
		if r.results[h].Err == nil {
			hs = append(hs, h)
		}
	}
	return hs
}

func (r *Runner) failed() []string {
	var hs []string
	for _, h := range r.order {
		if r.results[h].Err != nil {
			hs = append(hs, h)
		}
	}
	return hs
}

// Results are the hosts' results in the run's order.
func (r *Runner) Results() []Result {
	out := make([]Result, 0, len(r.order))
	for _, h := range r.order {
		out = append(out, *r.results[h])
	}
	return out
}

// PrintSummary writes one row per host: its result and the time of each
// phase it went through, then the cluster-wide phases.
func (r *Runner) PrintSummary(w io.Writer, total time.Duration) {
	titles := []string{}
	seen := map[string]bool{}
	for _, h := range r.order {
		for _, t := range r.results[h].Phases {
			if !seen[t.Title] {
				seen[t.Title] = true
				titles = append(titles, t.Title)
			}
		}
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "HOST\tRESULT\t%s\n", strings.ToUpper(strings.Join(titles, "\t")))
	for _, h := range r.order {
		res := r.results[h]
		status := "ok"
		if res.Err != nil {
			status = "FAILED in " + res.Failed
		}
		took := map[string]time.Duration{}
		for _, t := range res.Phases {
			took[t.Title] = t.Duration
		}
		cells := make([]string, len(titles))
		for i, t := range titles {
			if d, ok := took[t]; ok {
				cells[i] = d.Round(time.Millisecond).String()
			} else {
				cells[i] = "-"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", h, status, strings.Join(cells, "\t"))
	}
	_ = tw.Flush()
	for _, t := range r.once {
		fmt.Fprintf(w, "[fleet] %s took %s\n", t.Title, t.Duration.Round(time.Millisecond))
	}
	fmt.Fprintf(w, "[fleet] total %s\n", total.Round(time.Millisecond))
	for _, h := range r.failed() {
		fmt.Fprintf(w, "\n%s failed in %s:\n%v\n", h, r.results[h].Failed, r.results[h].Err)
	}
}
