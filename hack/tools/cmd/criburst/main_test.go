package main

import (
	"testing"
	"time"
)

func TestPctIsNearestRank(t *testing.T) {
	var ds []time.Duration
	for i := 30; i >= 1; i-- { // unsorted on purpose
		ds = append(ds, time.Duration(i)*time.Second)
	}
	for _, c := range []struct {
		p    int
		want time.Duration
	}{{50, 15 * time.Second}, {99, 30 * time.Second}, {1, time.Second}} {
		if got := pct(ds, c.p); got != c.want {
			t.Errorf("p%d of 1..30 s = %v, want %v", c.p, got, c.want)
		}
	}
	if got := pct([]time.Duration{7}, 99); got != 7 {
		t.Errorf("p99 of one value = %v", got)
	}
	if ds[0] != 30*time.Second {
		t.Error("pct sorted its argument in place")
	}
}
