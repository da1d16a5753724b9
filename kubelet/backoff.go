package kubelet

import (
	"sync"
	"time"
)

// Restart back-off, as the upstream kubelet: 10 s doubling to 5 min,
// forgotten once a container ran 10 minutes (twice the maximum).
const (
	initialBackOff = 10 * time.Second
	maxBackOff     = 5 * time.Minute
)

// backOff tracks per-key exponential back-off with the upstream
// semantics: the first restart is immediate; each later one waits the
// current delay after the previous instance finished, and the delay
// doubles up to max. An entry whose last restart is more than 2*max before
// the failure is reset.
type backOff struct {
	mu      sync.Mutex
	initial time.Duration
	max     time.Duration
	now     func() time.Time
	entries map[string]*backOffEntry
}

type backOffEntry struct {
	delay time.Duration
	last  time.Time
}

func newBackOff(initial, max time.Duration, now func() time.Time) *backOff {
	return &backOff{initial: initial, max: max, now: now, entries: map[string]*backOffEntry{}}
}

// wait returns how long a restart of key must still wait, given the time
// the failure happened (the container's finish time).
func (b *backOff) wait(key string, failedAt time.Time) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.entries[key]
	if e == nil || failedAt.Sub(e.last) > 2*b.max {
		return 0
	}
	return max(e.delay-b.now().Sub(failedAt), 0)
}

// next records a restart of key now and grows its delay.
func (b *backOff) next(key string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	e := b.entries[key]
	if e == nil || now.Sub(e.last) > 2*b.max {
		b.entries[key] = &backOffEntry{delay: b.initial, last: now}
		return
	}
	e.delay = min(2*e.delay, b.max)
	e.last = now
}

// forget drops key.
func (b *backOff) forget(key string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.entries, key)
}
