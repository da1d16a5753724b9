package main

import (
	"bufio"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		wantPort string
		wantCode int
		wantErr  string
	}{
		{name: "defaults", wantPort: "8080", wantCode: 1},
		{name: "PORT env", env: map[string]string{"PORT": "9090"}, wantPort: "9090", wantCode: 1},
		{name: "flag beats env", args: []string{"--port=7070"}, env: map[string]string{"PORT": "9090"}, wantPort: "7070", wantCode: 1},
		{name: "exit code", args: []string{"--crash-after=2s", "--exit-code=3"}, wantPort: "8080", wantCode: 3},
		{name: "bad exit code", args: []string{"--exit-code=300"}, wantErr: "invalid --exit-code 300"},
		{name: "bad duration", args: []string{"--start-delay=soon"}, wantErr: "invalid value"},
		{name: "positional", args: []string{"serve"}, wantErr: `unexpected argument "serve"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseFlags(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseFlags(%v) error = %v, want containing %q", tt.args, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseFlags(%v): %v", tt.args, err)
			}
			if o.port != tt.wantPort || o.exitCode != tt.wantCode {
				t.Errorf("parseFlags(%v) = port %q code %d, want %q %d", tt.args, o.port, o.exitCode, tt.wantPort, tt.wantCode)
			}
		})
	}
}

func TestHealthy(t *testing.T) {
	start := time.Unix(1000, 0)
	tests := []struct {
		name      string
		unhealthy time.Duration
		elapsed   time.Duration
		want      bool
	}{
		{name: "never unhealthy", elapsed: time.Hour, want: true},
		{name: "before threshold", unhealthy: 3 * time.Second, elapsed: 2 * time.Second, want: true},
		{name: "at threshold", unhealthy: 3 * time.Second, elapsed: 3 * time.Second, want: false},
		{name: "after threshold", unhealthy: 3 * time.Second, elapsed: 10 * time.Second, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &app{start: start, opts: &options{unhealthyAfter: tt.unhealthy}}
			if got := a.healthy(start.Add(tt.elapsed)); got != tt.want {
				t.Errorf("healthy after %s = %t, want %t", tt.elapsed, got, tt.want)
			}
		})
	}
}

// startApp runs the app on a free port and returns its base URL, the signal
// channel, the exit code channel and the stdout lines seen so far.
func startApp(t *testing.T, o *options) (string, chan os.Signal, chan int, *lines) {
	t.Helper()
	o.port = "0"
	pr, pw := io.Pipe()
	sigs := make(chan os.Signal, 1)
	code := make(chan int, 1)
	go func() {
		code <- run(o, sigs, pw, io.Discard)
		pw.Close()
	}()
	out := &lines{ch: make(chan string, 100)}
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			out.ch <- sc.Text()
		}
		close(out.ch)
	}()
	re := regexp.MustCompile(`listening on .*:(\d+)$`)
	for {
		l, ok := out.next(t, 10*time.Second)
		if !ok {
			t.Fatalf("app exited before listening")
		}
		if m := re.FindStringSubmatch(l); m != nil {
			return "http://127.0.0.1:" + m[1], sigs, code, out
		}
	}
}

// lines is the app's stdout, one line at a time.
type lines struct{ ch chan string }

func (l *lines) next(t *testing.T, d time.Duration) (string, bool) {
	t.Helper()
	select {
	case s, ok := <-l.ch:
		return s, ok
	case <-time.After(d):
		t.Fatalf("no output line within %s", d)
		return "", false
	}
}

// waitFor reads lines until one contains want.
func (l *lines) waitFor(t *testing.T, want string) {
	t.Helper()
	for {
		s, ok := l.next(t, 10*time.Second)
		if !ok {
			t.Fatalf("output ended without a line containing %q", want)
		}
		if strings.Contains(s, want) {
			return
		}
	}
}

func getStatus(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func waitCode(t *testing.T, code chan int) int {
	t.Helper()
	select {
	case c := <-code:
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("app did not exit within 10s")
		return -1
	}
}

func TestRunServesAndTerminates(t *testing.T) {
	base, sigs, code, out := startApp(t, &options{termDelay: 50 * time.Millisecond})
	for _, p := range []string{"/healthz", "/readyz", "/"} {
		if got := getStatus(t, base+p); got != http.StatusOK {
			t.Errorf("GET %s = %d, want 200", p, got)
		}
	}
	sigs <- syscall.SIGTERM
	out.waitFor(t, "terminating")
	if c := waitCode(t, code); c != 0 {
		t.Errorf("exit code after SIGTERM = %d, want 0", c)
	}
}

func TestRunCrashAfter(t *testing.T) {
	_, _, code, _ := startApp(t, &options{crashAfter: 200 * time.Millisecond, exitCode: 7})
	if c := waitCode(t, code); c != 7 {
		t.Errorf("exit code after --crash-after = %d, want 7", c)
	}
}

func TestRunUnhealthyAfter(t *testing.T) {
	base, sigs, code, _ := startApp(t, &options{unhealthyAfter: 100 * time.Millisecond})
	deadline := time.Now().Add(5 * time.Second)
	for getStatus(t, base+"/healthz") != http.StatusInternalServerError {
		if time.Now().After(deadline) {
			t.Fatal("/healthz still 200 after 5s with --unhealthy-after=100ms")
		}
		time.Sleep(20 * time.Millisecond)
	}
	sigs <- syscall.SIGTERM
	waitCode(t, code)
}

func TestRunStartDelayThenSignal(t *testing.T) {
	pr, pw := io.Pipe()
	sigs := make(chan os.Signal, 1)
	code := make(chan int, 1)
	go func() {
		code <- run(&options{port: "0", startDelay: time.Hour}, sigs, pw, io.Discard)
		pw.Close()
	}()
	go io.Copy(io.Discard, pr)
	sigs <- syscall.SIGTERM
	if c := waitCode(t, code); c != 0 {
		t.Errorf("exit code after SIGTERM during start delay = %d, want 0", c)
	}
}
