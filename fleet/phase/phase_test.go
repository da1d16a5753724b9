package phase

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

func TestRunLeavesAFailedHostOutAndGoesOn(t *testing.T) {
	var mu sync.Mutex
	ran := map[string][]string{}
	record := func(title string) func(context.Context, string) error {
		return func(_ context.Context, h string) error {
			mu.Lock()
			ran[h] = append(ran[h], title)
			mu.Unlock()
			if title == "join" && h == "w1" {
				return errors.New("exit status 1")
			}
			return nil
		}
	}
	var out bytes.Buffer
	r := &Runner{Limit: 2, Out: &out}
	workers := func(hs []string) []string {
		var w []string
		for _, h := range hs {
			if strings.HasPrefix(h, "w") {
				w = append(w, h)
			}
		}
		return w
	}
	err := r.Run(context.Background(), []string{"cp", "w1", "w2"}, []Phase{
		{Title: "facts", Run: record("facts")},
		{Title: "join", Hosts: workers, Run: record("join")},
		{Title: "labels", Run: record("labels")},
	})
	if err == nil || !strings.Contains(err.Error(), "1 of 3 hosts failed: w1") {
		t.Fatalf("err = %v", err)
	}
	if got := strings.Join(ran["w1"], ","); got != "facts,join" {
		t.Errorf("w1 ran %s, want facts,join (nothing after its failure)", got)
	}
	if got := strings.Join(ran["w2"], ","); got != "facts,join,labels" {
		t.Errorf("w2 ran %s: another host's failure stopped it", got)
	}
	if got := strings.Join(ran["cp"], ","); got != "facts,labels" {
		t.Errorf("cp ran %s", got)
	}
	var sum bytes.Buffer
	r.PrintSummary(&sum, 0)
	if !strings.Contains(sum.String(), "FAILED in join") || !strings.Contains(sum.String(), "exit status 1") {
		t.Errorf("summary:\n%s", sum.String())
	}
}

func TestRunRespectsTheLimit(t *testing.T) {
	var inFlight, most atomic.Int32
	block := make(chan struct{})
	r := &Runner{Limit: 2}
	hosts := []string{"a", "b", "c", "d", "e"}
	done := make(chan error)
	go func() {
		done <- r.Run(context.Background(), hosts, []Phase{{Title: "x", Run: func(context.Context, string) error {
			n := inFlight.Add(1)
			for {
				m := most.Load()
				if n <= m || most.CompareAndSwap(m, n) {
					break
				}
			}
			<-block
			inFlight.Add(-1)
			return nil
		}}})
	}()
	for range hosts {
		block <- struct{}{}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if most.Load() > 2 {
		t.Fatalf("%d hosts ran at once, limit 2", most.Load())
	}
}

func TestOnceFailureEndsTheRun(t *testing.T) {
	r := &Runner{}
	later := false
	err := r.Run(context.Background(), []string{"cp"}, []Phase{
		{Title: "fetch the kubeconfig", Once: func(context.Context) error { return errors.New("no admin.conf") }},
		{Title: "after", Run: func(context.Context, string) error { later = true; return nil }},
	})
	if err == nil || !strings.Contains(err.Error(), "fetch the kubeconfig: no admin.conf") || later {
		t.Fatalf("err = %v, later phase ran = %v", err, later)
	}
}
