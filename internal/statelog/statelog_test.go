package statelog

import (
	"fmt"
	"reflect"
	"testing"
)

func TestStateLogsChangesOnly(t *testing.T) {
	var got []string
	l := New(func(v ...any) { got = append(got, fmt.Sprint(v...)) })
	for _, m := range []struct{ topic, msg string }{
		{"api", "unreachable"}, {"api", "unreachable"}, {"lease", "renewed"},
		{"api", "reachable"}, {"api", "unreachable"}, {"lease", "renewed"},
	} {
		l.State(m.topic, m.msg)
	}
	want := []string{"unreachable", "renewed", "reachable", "unreachable"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("logged %q, want %q", got, want)
	}
}
