package server

import (
	"net/url"
	"reflect"
	"testing"
	"time"
)

func TestParseLogOptions(t *testing.T) {
	now := time.Date(2026, 1, 1, 1, 0, 0, 0, time.UTC)
	q, _ := url.ParseQuery("follow=true&tailLines=10&sinceSeconds=60&limitBytes=7&timestamps=1")
	o, err := ParseLogOptions(q, now)
	want := LogOptions{Follow: true, Timestamps: true, TailLines: 10, LimitBytes: 7, Since: now.Add(-time.Minute)}
	if err != nil || !reflect.DeepEqual(o, want) {
		t.Errorf("got %+v, %v; want %+v", o, err, want)
	}
	for _, bad := range []string{"follow=maybe", "tailLines=-1", "sinceTime=yesterday"} {
		q, _ := url.ParseQuery(bad)
		if _, err := ParseLogOptions(q, now); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}
