//go:build e2e

package e2e

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestPoll checks the one poll helper the other tests wait and watch with.
func TestPoll(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name         string
		doneAt       int   // check reports done on this call (0: never)
		failAt       int   // check returns boom on this call (0: never)
		wantCalls    int   // at least this many calls
		wantTimedOut bool  // time ran out first
		wantErr      error // poll's error
	}{
		{name: "done at once", doneAt: 1, wantCalls: 1},
		{name: "done on the third check", doneAt: 3, wantCalls: 3},
		{name: "an error stops it", failAt: 2, wantCalls: 2, wantErr: boom},
		{name: "never done times out", wantCalls: 2, wantTimedOut: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			timedOut, err := poll(3*pollInterval, func() (bool, error) {
				calls++
				if calls == tc.failAt {
					return false, boom
				}
				return calls == tc.doneAt, nil
			})
			if timedOut != tc.wantTimedOut || !errors.Is(err, tc.wantErr) {
				t.Errorf("poll = %v, %v; want %v, %v", timedOut, err, tc.wantTimedOut, tc.wantErr)
			}
			if calls < tc.wantCalls || (!tc.wantTimedOut && calls != tc.wantCalls) {
				t.Errorf("check ran %d times, want %d", calls, tc.wantCalls)
			}
		})
	}
}

// TestConsistentlyWatchesTheWholeWindow: consistently keeps checking until
// the window ends, so a change late in the window is caught.
func TestConsistentlyWatchesTheWholeWindow(t *testing.T) {
	start := time.Now()
	calls := 0
	consistently(t, "nothing", 2*pollInterval, func() error { calls++; return nil })
	if d := time.Since(start); d < 2*pollInterval || calls < 2 {
		t.Errorf("consistently returned after %s and %d checks, want the whole window of %s", d, calls, 2*pollInterval)
	}
}

// fatalRecorder records a Fatalf instead of stopping the test.
type fatalRecorder struct {
	testing.TB
	failed string
}

func (r *fatalRecorder) Helper() {}
func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
}

// TestEventuallyStopsOnAPermanentError: a broken invariant fails at once,
// with its own error, instead of being retried until the timeout.
func TestEventuallyStopsOnAPermanentError(t *testing.T) {
	r := &fatalRecorder{TB: t}
	calls := 0
	start := time.Now()
	eventually(r, "the thing", time.Minute, func() error {
		calls++
		return permanent(errors.New("a container restarted"))
	})
	if calls != 1 || time.Since(start) > 10*time.Second || !strings.Contains(r.failed, "a container restarted") {
		t.Errorf("after %d calls in %s: failure %q; want one call and a failure naming the error", calls, time.Since(start), r.failed)
	}
	r.failed = ""
	eventually(r, "the thing", 2*pollInterval, func() error { return errors.New("not yet") })
	if !strings.Contains(r.failed, "not true after") || !strings.Contains(r.failed, "not yet") {
		t.Errorf("timeout failure %q; want it to say so with the last error", r.failed)
	}
}
