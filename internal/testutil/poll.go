// Package testutil holds the helpers the unit tests of several packages
// share. Only tests import it.
package testutil

import (
	"context"
	"errors"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// PollInterval is how often Eventually and Consistently look.
const PollInterval = 5 * time.Millisecond

// Timeout is how long Eventually waits when the test does not say.
const Timeout = 5 * time.Second

// Eventually polls cond until it holds, failing the test after Timeout.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	EventuallyWithin(t, Timeout, what, cond)
}

// EventuallyWithin polls cond until it holds, failing the test after d.
func EventuallyWithin(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), PollInterval, d, true, func(context.Context) (bool, error) {
		return cond(), nil
	})
	if err != nil {
		t.Fatalf("timed out after %s waiting for %s", d, what)
	}
}

// errBroken ends Consistently's poll when its condition fails.
var errBroken = errors.New("condition broken")

// Consistently fails the test if cond is false at any look during d.
func Consistently(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), PollInterval, d, true, func(context.Context) (bool, error) {
		if !cond() {
			return false, errBroken
		}
		return false, nil
	})
	if errors.Is(err, errBroken) {
		t.Fatalf("%s did not hold for %s", what, d)
	}
}
