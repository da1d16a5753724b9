// Package statelog logs a state once, not once per retry: a loop that
// retries every few seconds reports "API server unreachable" when it
// becomes so, and again only when the message changes.
package statelog

import "sync"

// Log remembers the last message logged per topic. The zero value is not
// usable; use New.
type Log struct {
	print func(v ...any)
	mu    sync.Mutex
	last  map[string]string
}

// New returns a Log that writes through print (for example
// (*log.Logger).Print).
func New(print func(v ...any)) *Log {
	return &Log{print: print, last: map[string]string{}}
}

// State logs msg under topic unless it is what was last logged there.
func (l *Log) State(topic, msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last[topic] == msg {
		return
	}
	l.last[topic] = msg
	l.print(msg)
}
