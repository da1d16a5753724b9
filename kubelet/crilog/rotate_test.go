package crilog

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	critest "k8s.io/cri-api/pkg/apis/testing"
	"k8s.io/utils/ptr"

	"github.com/kubeadmin/kubeadmin/internal/constants"
	"github.com/kubeadmin/kubeadmin/internal/testutil"
)

// fakeRuntime is the cri-api fake whose ReopenContainerLog, like
// containerd's, creates the log file again when it is missing.
type fakeRuntime struct {
	*critest.FakeRuntimeService
}

func (f fakeRuntime) ReopenContainerLog(ctx context.Context, id string) error {
	if err := f.FakeRuntimeService.ReopenContainerLog(ctx, id); err != nil {
		return err
	}
	f.Lock()
	path := f.Containers[id].LogPath
	f.Unlock()
	fh, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o640)
	if err != nil {
		return err
	}
	return fh.Close()
}

func (f fakeRuntime) reopens() int {
	n := 0
	for _, c := range f.GetCalls() {
		if c == "ReopenContainerLog" {
			n++
		}
	}
	return n
}

func fakeContainer(id, node string, state runtimeapi.ContainerState, logPath string) *critest.FakeContainer {
	return &critest.FakeContainer{ContainerStatus: runtimeapi.ContainerStatus{
		Id: id, State: state, LogPath: logPath,
		Metadata: &runtimeapi.ContainerMetadata{Name: id},
		Labels:   map[string]string{constants.KubeletNodeLabel: node},
	}}
}

const linePrefix = "2026-01-01T00:00:00Z stdout F "

// rotEnv is one running container of node1 whose log is dir/0.log, and a
// rotator with a 100-byte, 3-file policy and a clock the test moves.
type rotEnv struct {
	dir, log string
	rt       fakeRuntime
	r        *Rotator
	clock    time.Time
	lines    []string // what the test wrote, in order
}

func newRotEnv(t *testing.T) *rotEnv {
	t.Helper()
	e := &rotEnv{dir: t.TempDir()}
	e.log = filepath.Join(e.dir, "0.log")
	e.rt = fakeRuntime{critest.NewFakeRuntimeService()}
	e.rt.SetFakeContainers([]*critest.FakeContainer{fakeContainer("c1", "node1", runtimeapi.ContainerState_CONTAINER_RUNNING, e.log)})
	e.clock = time.Date(2026, 1, 1, 0, 0, 0, 0, time.Local)
	e.r = NewRotator(e.rt, RotatePolicy{MaxSize: 100, MaxFiles: 3, Interval: time.Second}, "node1", t.Logf)
	e.r.now = func() time.Time { return e.clock }
	return e
}

// fill appends one numbered log line of n bytes (n >= 34) to the
// current log.
func (e *rotEnv) fill(t *testing.T, n int) {
	t.Helper()
	head := fmt.Sprintf("%s%03d", linePrefix, len(e.lines))
	line := head + strings.Repeat("x", n-len(head)-1) + "\n"
	f, err := os.OpenFile(e.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o640)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(line); err != nil {
		t.Fatal(err)
	}
	e.lines = append(e.lines, line)
}

func (e *rotEnv) check(t *testing.T) {
	t.Helper()
	if err := e.r.checkAll(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func (e *rotEnv) files(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(e.dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, en := range entries {
		names = append(names, en.Name())
	}
	return names
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(path, gzSuffix) {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if b, err = io.ReadAll(zr); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	return string(b)
}

func TestRotateBelowMaxSizeLeavesTheLog(t *testing.T) {
	e := newRotEnv(t)
	e.fill(t, 99)
	e.check(t)
	if got := e.files(t); !slices.Equal(got, []string{"0.log"}) || e.rt.reopens() != 0 {
		t.Errorf("files = %v, reopens = %d; want only 0.log and no reopen", got, e.rt.reopens())
	}
}

func TestRotateRenamesAndReopens(t *testing.T) {
	e := newRotEnv(t)
	e.fill(t, 100)
	e.check(t)
	rotated := "0.log." + e.clock.Format("20060102-150405")
	if got := e.files(t); !slices.Equal(got, []string{"0.log", rotated}) {
		t.Fatalf("files = %v, want [0.log %s]", got, rotated)
	}
	if e.rt.reopens() != 1 {
		t.Errorf("reopens = %d, want 1", e.rt.reopens())
	}
	if got := readFile(t, filepath.Join(e.dir, rotated)); got != e.lines[0] {
		t.Errorf("rotated file = %q, want the old log", got)
	}
	if got := readFile(t, e.log); got != "" {
		t.Errorf("current log = %q, want the new empty file", got)
	}
}

// Over many rotations at most MaxFiles files remain: the current log, the
// newest rotated file as it was, and older ones gzipped; the oldest go.
func TestRotateKeepsAtMostMaxFiles(t *testing.T) {
	e := newRotEnv(t)
	stamp := func(minute int) string {
		return "0.log." + time.Date(2026, 1, 1, 0, minute, 0, 0, time.Local).Format("20060102-150405")
	}
	for i := range 6 {
		e.fill(t, 150)
		e.check(t)
		e.clock = e.clock.Add(time.Minute)

		// Rotation i (at minute i) moved line i away; MaxFiles 3 keeps
		// minutes i-1 (gzipped) and i.
		want := []string{"0.log"}
		content := map[string]string{}
		if i > 0 {
			want = append(want, stamp(i-1)+".gz")
			content[stamp(i-1)+".gz"] = e.lines[i-1]
		}
		want = append(want, stamp(i))
		content[stamp(i)] = e.lines[i]
		if got := e.files(t); !slices.Equal(got, want) {
			t.Fatalf("after rotation %d: files = %v, want %v", i+1, got, want)
		}
		for name, line := range content {
			if got := readFile(t, filepath.Join(e.dir, name)); got != line {
				t.Errorf("after rotation %d: %s = %q, want %q", i+1, name, got, line)
			}
		}
	}
}

func TestRotateCleansUpLeftovers(t *testing.T) {
	e := newRotEnv(t)
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(e.dir, name), []byte(content), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	// A compression cut short, one whose source was not removed, and a
	// file that is not a rotated log.
	write("0.log.20251231-000000.tmp", "half")
	write("0.log.20251231-000001", "done")
	write("0.log.keep", "mine")
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	_, _ = zw.Write([]byte("done"))
	_ = zw.Close()
	write("0.log.20251231-000001.gz", zipped.String())
	e.fill(t, 100)
	e.check(t)
	want := []string{"0.log", "0.log.20251231-000001.gz", "0.log.20260101-000000", "0.log.keep"}
	if got := e.files(t); !slices.Equal(got, want) {
		t.Fatalf("files = %v, want %v", got, want)
	}
	if got := readFile(t, filepath.Join(e.dir, "0.log.20251231-000001.gz")); got != "done" {
		t.Errorf("kept compressed file = %q", got)
	}
}

func TestRotateReopenFailurePutsTheLogBack(t *testing.T) {
	e := newRotEnv(t)
	e.fill(t, 100)
	e.rt.InjectError("ReopenContainerLog", errors.New("boom"))
	if _, err := e.r.rotate(context.Background(), "c1", e.log); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("rotate error = %v, want the reopen failure", err)
	}
	if got := e.files(t); !slices.Equal(got, []string{"0.log"}) || readFile(t, e.log) != e.lines[0] {
		t.Fatalf("after a failed reopen: files = %v, want 0.log with its content", got)
	}
	e.check(t)
	if got := e.files(t); len(got) != 2 {
		t.Errorf("the next check did not rotate: files = %v", got)
	}
}

// A log renamed by a rotation whose reopen never came is reopened.
func TestRotateReopensAMissingLog(t *testing.T) {
	e := newRotEnv(t)
	e.check(t)
	if e.rt.reopens() != 1 {
		t.Fatalf("reopens = %d, want 1", e.rt.reopens())
	}
	if got := e.files(t); !slices.Equal(got, []string{"0.log"}) {
		t.Errorf("files = %v, want the reopened 0.log", got)
	}
}

func TestRotateOnlyThisNodesRunningContainers(t *testing.T) {
	e := newRotEnv(t)
	other := filepath.Join(e.dir, "other.log")
	exited := filepath.Join(e.dir, "exited.log")
	for _, p := range []string{other, exited} {
		if err := os.WriteFile(p, bytes.Repeat([]byte("x"), 500), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	e.rt.SetFakeContainers([]*critest.FakeContainer{
		fakeContainer("c2", "node2", runtimeapi.ContainerState_CONTAINER_RUNNING, other),
		fakeContainer("c3", "node1", runtimeapi.ContainerState_CONTAINER_EXITED, exited),
	})
	e.check(t)
	if got := e.files(t); !slices.Equal(got, []string{"exited.log", "other.log"}) || e.rt.reopens() != 0 {
		t.Errorf("files = %v, reopens = %d; want both logs untouched", got, e.rt.reopens())
	}
}

// Two rotations within one second would give the same name: the second
// waits for the next check instead of overwriting the first.
func TestRotateTwiceInOneSecondKeepsBoth(t *testing.T) {
	e := newRotEnv(t)
	e.fill(t, 100)
	e.check(t)
	e.fill(t, 100)
	e.check(t)
	if got := e.files(t); len(got) != 2 || readFile(t, filepath.Join(e.dir, got[1])) != e.lines[0] {
		t.Fatalf("files = %v, want the first rotated file kept as it was", got)
	}
	if readFile(t, e.log) != e.lines[1] {
		t.Errorf("current log lost its content")
	}
	e.clock = e.clock.Add(time.Second)
	e.check(t)
	if got := e.files(t); len(got) != 3 {
		t.Errorf("next second: files = %v, want a second rotation", got)
	}
}

func TestRunRotatesAndStops(t *testing.T) {
	e := newRotEnv(t)
	e.fill(t, 100)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		e.r.Run(ctx)
		close(done)
	}()
	testutil.Eventually(t, "the first check to rotate", func() bool { return e.rt.reopens() == 1 })
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return when its context ended")
	}
	if got := e.files(t); len(got) != 2 {
		t.Errorf("files = %v, want a rotated file", got)
	}

	off := NewRotator(e.rt, RotatePolicy{MaxSize: -1, MaxFiles: 5, Interval: time.Second}, "node1", t.Logf)
	offDone := make(chan struct{})
	go func() {
		off.Run(context.Background())
		close(offDone)
	}()
	select {
	case <-offDone:
	case <-time.After(5 * time.Second):
		t.Fatal("Run with rotation turned off did not return")
	}
}

// A follower (kubectl logs -f) goes on in the new file after a rotation.
func TestFollowerSurvivesRotation(t *testing.T) {
	e := newRotEnv(t)
	e.fill(t, 100)
	out, stop := follow(t, e.log)
	testutil.Eventually(t, "the first entry", func() bool { return out.String() != "" })
	e.check(t)
	if e.rt.reopens() != 1 {
		t.Fatalf("no rotation happened")
	}
	e.fill(t, 60)
	testutil.Eventually(t, "the entry written after the rotation", func() bool { return strings.Count(out.String(), "\n") == 2 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	var want string
	for _, l := range e.lines {
		want += strings.TrimPrefix(l, linePrefix)
	}
	if got := out.String(); got != want {
		t.Errorf("followed = %q, want %q", got, want)
	}
}

func TestNewRotatePolicy(t *testing.T) {
	tests := []struct {
		name     string
		size     string
		files    *int32
		interval *metav1.Duration
		want     RotatePolicy
		wantErr  string
	}{
		{"defaults", "", nil, nil, RotatePolicy{MaxSize: 10 << 20, MaxFiles: 5, Interval: 10 * time.Second}, ""},
		{"set", "1Ki", ptr.To[int32](2), &metav1.Duration{Duration: 3 * time.Second}, RotatePolicy{MaxSize: 1024, MaxFiles: 2, Interval: 3 * time.Second}, ""},
		{"negative size turns rotation off", "-1", nil, nil, RotatePolicy{MaxSize: -1, MaxFiles: 5, Interval: 10 * time.Second}, ""},
		{"bad size", "ten megs", nil, nil, RotatePolicy{}, `field "containerLogMaxSize" has a bad value "ten megs": use a size such as 10Mi`},
		{"fractional size", "0.5", nil, nil, RotatePolicy{}, `field "containerLogMaxSize" has a bad value "0.5": use a whole number`},
		{"one file", "", ptr.To[int32](1), nil, RotatePolicy{}, `field "containerLogMaxFiles" has a bad value 1: use 2 or more`},
		{"short interval", "", nil, &metav1.Duration{Duration: time.Second}, RotatePolicy{}, `field "containerLogMonitorInterval" has a bad value 1s: use 3s or more`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NewRotatePolicy(tt.size, tt.files, tt.interval)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}
