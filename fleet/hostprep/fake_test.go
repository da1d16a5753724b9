package hostprep

import (
	"context"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/kubeadmin/kubeadmin/fleet/remote"
)

// fakeRunner records what a step asks of a host and answers from a table:
// the first rule whose substring is in the command gives the output.
type fakeRunner struct {
	mu       sync.Mutex
	rules    []fakeRule
	commands []string
	stdins   []string
	uploads  []string // remote paths
	skip     bool     // uploads find the file present
}

type fakeRule struct {
	match  string
	stdout string
	err    error
}

var _ remote.Runner = (*fakeRunner)(nil)

func (f *fakeRunner) Name() string { return "fake" }

func (f *fakeRunner) Run(_ context.Context, cmd string, opts remote.RunOptions) (remote.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	in := ""
	if opts.Stdin != nil {
		b, _ := io.ReadAll(opts.Stdin)
		in = string(b)
	}
	f.commands = append(f.commands, cmd)
	f.stdins = append(f.stdins, in)
	for _, r := range f.rules {
		if strings.Contains(cmd, r.match) || strings.Contains(in, r.match) {
			return remote.Result{Stdout: r.stdout}, r.err
		}
	}
	return remote.Result{}, nil
}

func (f *fakeRunner) Upload(_ context.Context, local, remotePath string, _ os.FileMode, progress remote.ProgressFunc) (remote.UploadResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st, err := os.Stat(local)
	if err != nil {
		return remote.UploadResult{}, err
	}
	f.uploads = append(f.uploads, remotePath)
	if progress != nil {
		progress(st.Size()/2, st.Size())
		progress(st.Size(), st.Size())
	}
	return remote.UploadResult{Skipped: f.skip, Bytes: st.Size()}, nil
}

func (f *fakeRunner) Fetch(context.Context, string) ([]byte, error) { return nil, nil }
func (f *fakeRunner) Redact(string)                                 {}
func (f *fakeRunner) Redacted(s string) string                      { return s }

func runOpts(stdin string) remote.RunOptions {
	return remote.RunOptions{Stdin: strings.NewReader(stdin)}
}
