package kubelet

import (
	"testing"
	"time"

	testingclock "k8s.io/utils/clock/testing"
)

func newFakeClock() *testingclock.FakeClock {
	return testingclock.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
}

func TestBackOffSequence(t *testing.T) {
	clk := newFakeClock()
	b := newBackOff(clk)
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
