package workflow

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// tree builds a small workflow that records the phases it runs.
func tree(ran *[]string) []Phase {
	rec := func(name string) func(RunData) error {
		return func(RunData) error { *ran = append(*ran, name); return nil }
	}
	return []Phase{
		{Name: "preflight", Short: "Run checks", Run: rec("preflight")},
		{Name: "certs", Short: "Certificate generation", Phases: []Phase{
			{Name: "all", RunAllSiblings: true},
			{Name: "ca", Short: "CA", Run: rec("certs/ca")},
			{Name: "apiserver", Short: "API server", Run: rec("certs/apiserver")},
		}},
		{Name: "kubeconfig", Short: "Kubeconfigs", Run: rec("kubeconfig")},
		{Name: "hidden", Hidden: true, Run: rec("hidden")},
		{Name: "show-join-command", Short: "Join", Run: rec("show-join-command"), Dependencies: []string{"kubeconfig"}},
	}
}

func TestRunnerSelection(t *testing.T) {
	cases := []struct {
		name    string
		opts    Options
		want    []string
		wantErr string
	}{
		{name: "everything", want: []string{"preflight", "certs/ca", "certs/apiserver", "kubeconfig", "hidden", "show-join-command"}},
		{name: "skip a parent skips its children", opts: Options{SkipPhases: []string{"certs"}},
			want: []string{"preflight", "kubeconfig", "hidden", "show-join-command"}},
		{name: "skip a child", opts: Options{SkipPhases: []string{"certs/apiserver"}},
			want: []string{"preflight", "certs/ca", "kubeconfig", "hidden", "show-join-command"}},
		{name: "filter selects a subtree", opts: Options{FilterPhases: []string{"certs"}},
			want: []string{"certs/ca", "certs/apiserver"}},
		{name: "skip wins over filter", opts: Options{FilterPhases: []string{"certs"}, SkipPhases: []string{"certs/ca"}},
			want: []string{"certs/apiserver"}},
		{name: "unknown skip", opts: Options{SkipPhases: []string{"nope"}}, wantErr: "invalid phase name: nope"},
		{name: "unknown filter", opts: Options{FilterPhases: []string{"certs/nope"}}, wantErr: "invalid phase name: certs/nope"},
		{name: "missing dependency", opts: Options{FilterPhases: []string{"show-join-command"}},
			wantErr: "unresolved dependencies:\n\tmissing [kubeconfig] phase(s) needed by \"show-join-command\" phase"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var ran []string
			r := NewRunner(tree(&ran)...)
			r.Options = tc.opts
			err := r.Run()
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(ran, tc.want) {
				t.Errorf("ran %v, want %v", ran, tc.want)
			}
		})
	}
}

func TestRunnerWrapsErrorOnceAndStops(t *testing.T) {
	var ran []string
	boom := errors.New("boom")
	r := NewRunner(
		Phase{Name: "a", Phases: []Phase{{Name: "b", Run: func(RunData) error { return boom }}}},
		Phase{Name: "c", Run: func(RunData) error { ran = append(ran, "c"); return nil }},
	)
	err := r.Run()
	if err == nil || err.Error() != "error execution phase a/b: boom" {
		t.Fatalf("error = %v", err)
	}
	if !errors.Is(err, boom) {
		t.Error("the phase error is not unwrappable")
	}
	if p, ok := FailedPhase(err); !ok || p != "a/b" {
		t.Errorf("FailedPhase = %q, %v", p, ok)
	}
	if len(ran) != 0 {
		t.Errorf("phases after the failure ran: %v", ran)
	}
}

func TestRunIfAndDataInitializedOnce(t *testing.T) {
	calls := 0
	var got []RunData
	r := NewRunner(
		Phase{Name: "a", RunIf: func(RunData) (bool, error) { return false, nil }, Run: func(RunData) error { t.Error("a ran"); return nil }},
		Phase{Name: "b", Run: func(d RunData) error { got = append(got, d); return nil }},
		Phase{Name: "c", Run: func(d RunData) error { got = append(got, d); return nil }},
	)
	r.SetDataInitializer(func() (RunData, error) { calls++; return "data", nil })
	if err := r.Run(); err != nil {
		t.Fatal(err)
	}
	if calls != 1 || !reflect.DeepEqual(got, []RunData{"data", "data"}) {
		t.Errorf("initializer calls = %d, data = %v", calls, got)
	}
	if len(r.Timings) != 3 || !r.Timings[0].Skipped {
		t.Errorf("timings = %+v", r.Timings)
	}
}

func TestTimingsUseClock(t *testing.T) {
	now := time.Unix(0, 0)
	r := NewRunner(Phase{Name: "a", Run: func(RunData) error { now = now.Add(1500 * time.Millisecond); return nil }})
	r.Now = func() time.Time { return now }
	if err := r.Run(); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	r.PrintTimings(&b, 2*time.Second)
	if !strings.Contains(b.String(), "a      1.5s") || !strings.Contains(b.String(), "total  2s") {
		t.Errorf("timings output:\n%s", b.String())
	}
}

func TestHelpText(t *testing.T) {
	var ran []string
	r := NewRunner(tree(&ran)...)
	want := "The \"init\" command executes the following phases:\n```\n" +
		"preflight          Run checks\n" +
		"certs              Certificate generation\n" +
		"  /ca                CA\n" +
		"  /apiserver         API server\n" +
		"kubeconfig         Kubeconfigs\n" +
		"show-join-command  Join\n```"
	if got := r.HelpText("init"); got != want {
		t.Errorf("help:\n%s\nwant:\n%s", got, want)
	}
}

func TestTimingsOfAParentIncludeItsChildren(t *testing.T) {
	now := time.Unix(0, 0)
	step := func(d time.Duration) func(RunData) error {
		return func(RunData) error { now = now.Add(d); return nil }
	}
	r := NewRunner(
		Phase{Name: "certs", Run: step(10 * time.Millisecond), Phases: []Phase{
			{Name: "ca", Run: step(100 * time.Millisecond)},
			{Name: "sa", Run: step(200 * time.Millisecond)},
		}},
		Phase{Name: "upload", Phases: []Phase{
			{Name: "a", Run: step(30 * time.Millisecond)},
			{Name: "b", Run: step(40 * time.Millisecond)},
		}},
		Phase{Name: "last", Run: step(time.Second)},
	)
	r.Now = func() time.Time { return now }
	if err := r.Run(); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	r.PrintTimings(&b, 2*time.Second)
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(b.String()), "\n")[1:] {
		got = append(got, strings.Join(strings.Fields(strings.TrimPrefix(l, "[timing]")), " "))
	}
	want := []string{"certs 310ms", "certs/ca 100ms", "certs/sa 200ms", "upload 70ms", "upload/a 30ms", "upload/b 40ms", "last 1s", "total 2s"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("timings:\n got %q\nwant %q", got, want)
	}
}
