package kubelet

import (
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable clock, safe for concurrent use.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Step(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestBackOffSequence(t *testing.T) {
	clk := newFakeClock()
	b := newBackOff(initialBackOff, maxBackOff, clk.Now)
	const key = "pod/c"
	// Each crash happens right after the restart; the wait before the next
	// restart must be 0, 10, 20, 40, 80, 160, 300, 300 seconds.
	want := []time.Duration{0, 10, 20, 40, 80, 160, 300, 300}
	for i, w := range want {
		failedAt := clk.Now()
		got := b.wait(key, failedAt)
		if got != w*time.Second {
			t.Fatalf("crash %d: wait %v, want %v", i+1, got, w*time.Second)
		}
		clk.Step(got)
		if b.wait(key, failedAt) != 0 {
			t.Fatalf("crash %d: still waiting after the delay", i+1)
		}
		b.next(key)
		clk.Step(time.Second) // runs one second, then crashes
	}
	// A container that ran more than 10 minutes starts over.
	clk.Step(11 * time.Minute)
	if got := b.wait(key, clk.Now()); got != 0 {
		t.Fatalf("after 11 min of running: wait %v, want 0", got)
	}
	b.next(key)
	clk.Step(time.Second)
	if got := b.wait(key, clk.Now()); got != initialBackOff {
		t.Errorf("after a reset: wait %v, want %v", got, initialBackOff)
	}
}
