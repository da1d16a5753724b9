// Package status holds the node agent's status report: the JSON document
// served at /status and the table `kubeadmin kubelet status` prints. The
// JSON field names and the table columns are a stable interface for
// scripts and end-to-end tests.
//
// Container states are "Waiting", "Running" and "Terminated"; reasons are
// the upstream ones: ContainerCreating, PodInitializing, CrashLoopBackOff,
// ErrImagePull, ImagePullBackOff, ErrImageNeverPull,
// CreateContainerConfigError, CreateContainerError, RunContainerError,
// ContainerStatusUnknown, Completed, Error, OOMKilled. A pod the agent
// refuses (fields it cannot honour) has Reason CreateContainerConfigError
// and a Message naming the fields.
package status

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"text/tabwriter"
	"time"
)

// Container states.
const (
	StateWaiting    = "Waiting"
	StateRunning    = "Running"
	StateTerminated = "Terminated"
)

// Report is the whole status of one node agent.
type Report struct {
	Node string `json:"node"`
	// RuntimeReady is false while the container runtime cannot be reached.
	RuntimeReady bool   `json:"runtimeReady"`
	RuntimeError string `json:"runtimeError,omitempty"`
	Pods         []Pod  `json:"pods"`
	// FileErrors are static-pod manifests that could not be used.
	FileErrors []FileError `json:"fileErrors"`
}

// FileError is a manifest file that could not be used, and why.
type FileError struct {
	File  string `json:"file"`
	Error string `json:"error"`
}

// Pod is one static pod.
type Pod struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	UID       string `json:"uid"`
	File      string `json:"file,omitempty"`
	// Phase is Pending, Running, Succeeded, Failed, or Terminating while
	// the pod is being stopped.
	Phase string `json:"phase"`
	// Waiting is set while a pod waits for a previous pod with the same
	// name to be gone.
	Waiting string `json:"waiting,omitempty"`
	// Reason and Message say why the agent does not run the pod at all,
	// e.g. CreateContainerConfigError for fields it cannot honour; the
	// message names them.
	Reason     string      `json:"reason,omitempty"`
	Message    string      `json:"message,omitempty"`
	SandboxID  string      `json:"sandboxID,omitempty"`
	PodIP      string      `json:"podIP,omitempty"`
	Containers []Container `json:"containers"`
}

// Container is one container of a pod (init containers first).
type Container struct {
	Name         string `json:"name"`
	Init         bool   `json:"init,omitempty"`
	ID           string `json:"id,omitempty"`
	Image        string `json:"image"`
	State        string `json:"state"`
	Reason       string `json:"reason,omitempty"`
	Message      string `json:"message,omitempty"`
	Ready        bool   `json:"ready"`
	Started      bool   `json:"started"`
	RestartCount int32  `json:"restartCount"`
	// ImageID is the runtime's reference of the image the container runs.
	ImageID    string     `json:"imageID,omitempty"`
	StartedAt  *time.Time `json:"startedAt,omitempty"`
	FinishedAt *time.Time `json:"finishedAt,omitempty"`
	ExitCode   *int32     `json:"exitCode,omitempty"`
	// LastExitCode, LastReason, LastID and the times describe the
	// previous instance, if any.
	LastExitCode   *int32     `json:"lastExitCode,omitempty"`
	LastReason     string     `json:"lastReason,omitempty"`
	LastID         string     `json:"lastID,omitempty"`
	LastStartedAt  *time.Time `json:"lastStartedAt,omitempty"`
	LastFinishedAt *time.Time `json:"lastFinishedAt,omitempty"`
}

// Sort orders pods by namespace and name.
func (r *Report) Sort() {
	sort.Slice(r.Pods, func(i, j int) bool {
		if r.Pods[i].Namespace != r.Pods[j].Namespace {
			return r.Pods[i].Namespace < r.Pods[j].Namespace
		}
		return r.Pods[i].Name < r.Pods[j].Name
	})
	sort.Slice(r.FileErrors, func(i, j int) bool { return r.FileErrors[i].File < r.FileErrors[j].File })
}

// Fetch reads the report from an agent's status URL.
func Fetch(ctx context.Context, url string) (*Report, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("failed to build a request for %q: %w", url, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("failed to reach the node agent at %q (is `kubeadmin kubelet` running?): %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("failed to read %q: HTTP %d", url, resp.StatusCode)
	}
	r := &Report{}
	if err := json.NewDecoder(resp.Body).Decode(r); err != nil {
		return nil, fmt.Errorf("failed to decode the status from %q: %w", url, err)
	}
	return r, nil
}

// PrintTable prints one line per container:
// POD, CONTAINER, STATE, RESTARTS, LAST EXIT, REASON; pods without
// containers yet get one line with CONTAINER "-"; the messages of refused
// pods and waiting containers follow under POD, CONTAINER, MESSAGE
// (CONTAINER "-" for the pod's own), unusable manifests under FILE, ERROR.
func PrintTable(w io.Writer, r *Report) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "POD\tCONTAINER\tSTATE\tRESTARTS\tLAST EXIT\tREASON")
	for _, p := range r.Pods {
		pod := p.Namespace + "/" + p.Name
		if len(p.Containers) == 0 {
			reason := p.Phase
			switch {
			case p.Waiting != "":
				reason = p.Waiting
			case p.Reason != "":
				reason = p.Reason
			}
			fmt.Fprintf(tw, "%s\t-\t%s\t0\t-\t%s\n", pod, p.Phase, reason)
			continue
		}
		for _, c := range p.Containers {
			name := c.Name
			if c.Init {
				name += " (init)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", pod, name, c.State, c.RestartCount, exitString(c), dash(c.Reason))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if err := printMessages(w, r); err != nil {
		return err
	}
	if !r.RuntimeReady && r.RuntimeError != "" {
		fmt.Fprintf(w, "\ncontainer runtime not ready: %s\n", r.RuntimeError)
	}
	if len(r.FileErrors) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
		fmt.Fprintln(tw, "FILE\tERROR")
		for _, e := range r.FileErrors {
			fmt.Fprintf(tw, "%s\t%s\n", e.File, e.Error)
		}
		return tw.Flush()
	}
	return nil
}

// printMessages prints why refused pods and waiting containers do not run.
func printMessages(w io.Writer, r *Report) error {
	var lines []string
	for _, p := range r.Pods {
		pod := p.Namespace + "/" + p.Name
		if p.Message != "" {
			lines = append(lines, pod+"\t-\t"+p.Message)
		}
		for _, c := range p.Containers {
			// A refused pod's containers repeat its message: print it once.
			if c.State == StateWaiting && c.Message != "" && c.Message != p.Message {
				lines = append(lines, pod+"\t"+c.Name+"\t"+c.Message)
			}
		}
	}
	if len(lines) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "POD\tCONTAINER\tMESSAGE")
	for _, l := range lines {
		fmt.Fprintln(tw, l)
	}
	return tw.Flush()
}

// exitString is the exit code of a terminated container, else that of its
// previous instance, else "-".
func exitString(c Container) string {
	switch {
	case c.ExitCode != nil:
		return strconv.Itoa(int(*c.ExitCode))
	case c.LastExitCode != nil:
		return strconv.Itoa(int(*c.LastExitCode))
	}
	return "-"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
