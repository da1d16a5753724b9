package testutil

import (
	"context"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes/fake"
)

// RunUntilCleanup runs run in the background until the test ends, then
// cancels it and fails the test if it returns an error or does not return
// within Timeout.
func RunUntilCleanup(t testing.TB, run func(context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run: %v", err)
			}
		case <-time.After(Timeout):
			t.Errorf("run did not return within %s after cancel", Timeout)
		}
	})
}

// CountActions counts the fake client's actions with verb on resource
// (and subresource; "" for none).
func CountActions(c *fake.Clientset, verb, resource, sub string) int {
	n := 0
	for _, a := range c.Actions() {
		if a.GetVerb() == verb && a.GetResource().Resource == resource && a.GetSubresource() == sub {
			n++
		}
	}
	return n
}
