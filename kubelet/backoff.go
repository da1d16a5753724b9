package kubelet

import (
	"time"

	"k8s.io/client-go/util/flowcontrol"
	"k8s.io/utils/clock"
)

// Restart and image-pull back-off, as the upstream kubelet: 10 s doubling
// to 5 min, forgotten once a container ran 10 minutes (flowcontrol's
// default expiry of twice the maximum).
const (
	initialBackOff = 10 * time.Second
	maxBackOff     = 5 * time.Minute
)

// backOff is client-go's per-key back-off on the agent's clock. The first
// restart of a key is immediate; each later one waits the current delay
// after the previous instance failed.
type backOff struct{ *flowcontrol.Backoff }

func newBackOff(clk clock.Clock) backOff {
	b := flowcontrol.NewBackOff(initialBackOff, maxBackOff)
	b.Clock = clk
	return backOff{b}
}

// wait is how long a restart of key must still wait after a failure at
// failedAt (a container's finish time, or when its start failed).
func (b backOff) wait(key string, failedAt time.Time) time.Duration {
	if !b.IsInBackOffSince(key, failedAt) {
		return 0
	}
	return b.Get(key) - b.Clock.Since(failedAt)
}

// next records a restart of key now and grows its delay.
func (b backOff) next(key string) { b.Next(key, b.Clock.Now()) }
