// Command testapp is the program in the kubeadmin.test/testapp:v1 and :v2
// images used by the node-agent and end-to-end tests. It serves HTTP on
// $PORT (default 8080) with /healthz and /readyz, logs a few lines to stdout
// and stderr, and can be told to misbehave:
//
//	--start-delay=5s      wait before listening (slow start)
//	--crash-after=2s      exit with --exit-code after this long
//	--unhealthy-after=3s  /healthz answers 500 from then on
//	--term-delay=1s       on SIGTERM, log "terminating", wait, then exit 0
//
// A first argument that is not a flag selects a one-shot subcommand instead
// (get, cat, lookup, env, api, echo, hostname; see cmds.go), so tests can
// probe the cluster from inside a pod of this shell-less image.
//
// GET / answers "<--message> pod=<$POD_NAME or hostname> version=<$VERSION
// or v1>", so a test can see which replica and version answered.
//
// Build it static (CGO_ENABLED=0); hack/testimage.sh does.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// options are testapp's flags.
type options struct {
	port           string
	startDelay     time.Duration
	crashAfter     time.Duration
	exitCode       int
	unhealthyAfter time.Duration
	termDelay      time.Duration
	message        string
}

func main() {
	if len(os.Args) > 1 && !strings.HasPrefix(os.Args[1], "-") {
		os.Exit(runCommand(os.Args[1], os.Args[2:], osCLI()))
	}
	o, err := parseFlags(os.Args[1:], os.Getenv, os.Stderr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "testapp: %v\n", err)
		os.Exit(2)
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	os.Exit(run(o, sigs, os.Stdout, os.Stderr))
}

func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("testapp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	port := getenv("PORT")
	if port == "" {
		port = "8080"
	}
	fs.StringVar(&o.port, "port", port, "TCP port to listen on (default $PORT or 8080)")
	fs.DurationVar(&o.startDelay, "start-delay", 0, "wait this long before listening")
	fs.DurationVar(&o.crashAfter, "crash-after", 0, "exit with --exit-code this long after start (0: never)")
	fs.IntVar(&o.exitCode, "exit-code", 1, "exit code for --crash-after")
	fs.DurationVar(&o.unhealthyAfter, "unhealthy-after", 0, "/healthz returns 500 from this long after start (0: never)")
	fs.DurationVar(&o.termDelay, "term-delay", 0, "on SIGTERM, wait this long before exiting 0")
	fs.StringVar(&o.message, "message", "hello from testapp", "body of GET /")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q: testapp takes only flags, see --help", fs.Arg(0))
	}
	if o.exitCode < 0 || o.exitCode > 255 {
		return nil, fmt.Errorf("invalid --exit-code %d: want 0..255", o.exitCode)
	}
	return o, nil
}

// Defaults of the identity GET / reports.
const (
	envPodName     = "POD_NAME"
	envVersion     = "VERSION"
	defaultVersion = "v1"
)

// podName is $POD_NAME, else the hostname (a pod's name by default).
func podName(getenv func(string) string, hostname func() (string, error)) string {
	if n := getenv(envPodName); n != "" {
		return n
	}
	if h, err := hostname(); err == nil {
		return h
	}
	return "unknown"
}

// version is $VERSION, else "v1".
func version(getenv func(string) string) string {
	if v := getenv(envVersion); v != "" {
		return v
	}
	return defaultVersion
}

// app is the running server's state.
type app struct {
	start time.Time
	opts  *options
	ready atomic.Bool
}

// healthy reports whether /healthz should answer 200 at now.
func (a *app) healthy(now time.Time) bool {
	return a.opts.unhealthyAfter <= 0 || now.Sub(a.start) < a.opts.unhealthyAfter
}

func (a *app) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		if !a.healthy(time.Now()) {
			http.Error(w, "unhealthy", http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !a.ready.Load() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "%s pod=%s version=%s\n", a.opts.message, podName(os.Getenv, os.Hostname), version(os.Getenv))
	})
	return mux
}

// run starts the app and returns its exit code: 0 after SIGTERM/SIGINT, the
// --exit-code after --crash-after, 1 if listening fails.
func run(o *options, sigs <-chan os.Signal, stdout, stderr io.Writer) int {
	a := &app{start: time.Now(), opts: o}
	fmt.Fprintf(stdout, "testapp starting pid=%d port=%s\n", os.Getpid(), o.port)
	fmt.Fprintf(stderr, "testapp stderr line: start-delay=%s crash-after=%s unhealthy-after=%s\n", o.startDelay, o.crashAfter, o.unhealthyAfter)
	crash := after(o.crashAfter)
	if code, done := waitStart(o, sigs, crash, stdout); done {
		return code
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("", o.port))
	if err != nil {
		fmt.Fprintf(stderr, "testapp: failed to listen on port %q: %v\n", o.port, err)
		return 1
	}
	srv := &http.Server{Handler: a.handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintf(stderr, "testapp: serve: %v\n", err)
		}
	}()
	a.ready.Store(true)
	fmt.Fprintf(stdout, "testapp listening on %s\n", ln.Addr())
	return waitEnd(o, srv, sigs, crash, stdout)
}

// after returns a channel that fires after d, or never when d <= 0.
func after(d time.Duration) <-chan time.Time {
	if d <= 0 {
		return nil
	}
	return time.After(d)
}

// waitStart sleeps --start-delay; a signal or crash during it ends the app.
func waitStart(o *options, sigs <-chan os.Signal, crash <-chan time.Time, stdout io.Writer) (int, bool) {
	if o.startDelay <= 0 {
		return 0, false
	}
	select {
	case <-time.After(o.startDelay):
		return 0, false
	case sig := <-sigs:
		return terminate(o, nil, sig, stdout), true
	case <-crash:
		fmt.Fprintf(stdout, "testapp crashing with exit code %d\n", o.exitCode)
		return o.exitCode, true
	}
}

// waitEnd blocks until a signal or the crash timer.
func waitEnd(o *options, srv *http.Server, sigs <-chan os.Signal, crash <-chan time.Time, stdout io.Writer) int {
	select {
	case sig := <-sigs:
		return terminate(o, srv, sig, stdout)
	case <-crash:
		fmt.Fprintf(stdout, "testapp crashing with exit code %d\n", o.exitCode)
		return o.exitCode
	}
}

// terminate logs, waits --term-delay, shuts the server down and returns 0.
func terminate(o *options, srv *http.Server, sig os.Signal, stdout io.Writer) int {
	fmt.Fprintf(stdout, "terminating on signal %v (term-delay %s)\n", sig, o.termDelay)
	if o.termDelay > 0 {
		time.Sleep(o.termDelay)
	}
	if srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}
	fmt.Fprintln(stdout, "testapp exited cleanly")
	return 0
}
