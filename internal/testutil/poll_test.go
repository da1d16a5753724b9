package testutil

import (
	"sync/atomic"
	"testing"
	"time"
)

// recorder is a testing.TB that records a failure instead of stopping.
type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(string, ...any) {
	r.failed = true
}

func TestEventually(t *testing.T) {
	var n atomic.Int32
	r := &recorder{TB: t}
	Eventually(r, "three looks", func() bool { return n.Add(1) >= 3 })
	if r.failed || n.Load() != 3 {
		t.Errorf("failed=%v after %d looks; want success after 3", r.failed, n.Load())
	}
	r = &recorder{TB: t}
	EventuallyWithin(r, 30*time.Millisecond, "never", func() bool { return false })
	if !r.failed {
		t.Error("a condition that never holds did not fail the test")
	}
}

func TestConsistently(t *testing.T) {
	r := &recorder{TB: t}
	start := time.Now()
	Consistently(r, 50*time.Millisecond, "always", func() bool { return true })
	if r.failed || time.Since(start) < 50*time.Millisecond {
		t.Errorf("failed=%v after %s; want success after the whole window", r.failed, time.Since(start))
	}
	var n atomic.Int32
	r = &recorder{TB: t}
	Consistently(r, time.Second, "breaks on the third look", func() bool { return n.Add(1) < 3 })
	if !r.failed || n.Load() != 3 {
		t.Errorf("failed=%v after %d looks; want a failure at the third", r.failed, n.Load())
	}
}
