package main

// One-shot subcommands, for `kubectl exec` and Job-style tests in an image
// that has no shell. Each prints its result to stdout and exits 0, or prints
// the reason to stderr and exits 1 (2 for bad usage):
//
//	testapp get URL          HTTP GET; body to stdout; exit 0 only on 2xx
//	testapp cat FILE...      print the files
//	testapp lookup NAME      resolve NAME (resolv.conf search list and ndots
//	                         apply); one address a line, sorted
//	testapp env              the environment, KEY=VALUE a line, sorted
//	testapp api [--token-file F] [--ca-file F] PATH
//	                         GET https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT/PATH
//	                         with the service account token; exit 0 only on 2xx
//	testapp echo             copy stdin to stdout a line at a time until EOF
//	testapp hostname         the hostname, then the first /etc/hosts line
//	                         naming it (fields joined by one space)

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"
)

// Timeouts and in-cluster paths of the subcommands.
const (
	requestTimeout = 5 * time.Second
	lookupTimeout  = 10 * time.Second

	serviceAccountDir   = "/var/run/secrets/kubernetes.io/serviceaccount"
	defaultTokenFile    = serviceAccountDir + "/token"
	defaultCAFile       = serviceAccountDir + "/ca.crt"
	envServiceHost      = "KUBERNETES_SERVICE_HOST"
	envServicePort      = "KUBERNETES_SERVICE_PORT"
	defaultHostsFile    = "/etc/hosts"
	exitUsage, exitFail = 2, 1
)

// cli is what a subcommand may touch; tests replace parts of it.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	environ        func() []string
	lookupHost     func(ctx context.Context, name string) ([]string, error)
	hostname       func() (string, error)
	hostsFile      string
}

func osCLI() *cli {
	return &cli{
		stdin:      os.Stdin,
		stdout:     os.Stdout,
		stderr:     os.Stderr,
		getenv:     os.Getenv,
		environ:    os.Environ,
		lookupHost: net.DefaultResolver.LookupHost,
		hostname:   os.Hostname,
		hostsFile:  defaultHostsFile,
	}
}

// commands maps each subcommand to its implementation.
var commands = map[string]func(c *cli, args []string) int{
	"get":      cmdGet,
	"cat":      cmdCat,
	"lookup":   cmdLookup,
	"env":      cmdEnv,
	"api":      cmdAPI,
	"echo":     cmdEcho,
	"hostname": cmdHostname,
}

// runCommand runs subcommand name and returns its exit code.
func runCommand(name string, args []string, c *cli) int {
	f, ok := commands[name]
	if !ok {
		names := make([]string, 0, len(commands))
		for n := range commands {
			names = append(names, n)
		}
		sort.Strings(names)
		fmt.Fprintf(c.stderr, "testapp: unknown subcommand %q: want one of %s, or only flags to serve HTTP\n", name, strings.Join(names, ", "))
		return exitUsage
	}
	return f(c, args)
}

// failf prints "testapp NAME: ..." to stderr and returns exit code 1.
func (c *cli) failf(name, format string, a ...any) int {
	fmt.Fprintf(c.stderr, "testapp %s: %s\n", name, fmt.Sprintf(format, a...))
	return exitFail
}

func (c *cli) usage(name, args string) int {
	fmt.Fprintln(c.stderr, strings.TrimSpace("usage: testapp "+name+" "+args))
	return exitUsage
}

func cmdGet(c *cli, args []string) int {
	if len(args) != 1 {
		return c.usage("get", "URL")
	}
	return c.fetch("get", &http.Client{Timeout: requestTimeout}, args[0], "")
}

// fetch GETs url (with a bearer token if set), copies the body to stdout and
// fails unless the status is 2xx.
func (c *cli) fetch(name string, client *http.Client, url, token string) int {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return c.failf(name, "invalid URL %q: %v", url, err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return c.failf(name, "GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if _, err := io.Copy(c.stdout, resp.Body); err != nil {
		return c.failf(name, "GET %s: reading the body: %v", url, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return c.failf(name, "GET %s: status %s", url, resp.Status)
	}
	return 0
}

func cmdCat(c *cli, args []string) int {
	if len(args) == 0 {
		return c.usage("cat", "FILE...")
	}
	code := 0
	for _, f := range args {
		b, err := os.ReadFile(f)
		if err != nil {
			code = c.failf("cat", "%v", err) // names the file
			continue
		}
		_, _ = c.stdout.Write(b)
	}
	return code
}

// cmdLookup uses the process resolver: in the static image that is Go's own,
// which reads /etc/resolv.conf and tries the search domains for names with
// fewer dots than ndots, as libc does ("web", "web.default" work in a pod).
func cmdLookup(c *cli, args []string) int {
	if len(args) != 1 {
		return c.usage("lookup", "NAME")
	}
	ctx, cancel := context.WithTimeout(context.Background(), lookupTimeout)
	defer cancel()
	addrs, err := c.lookupHost(ctx, args[0])
	if err != nil {
		return c.failf("lookup", "%s: %v", args[0], err)
	}
	if len(addrs) == 0 {
		return c.failf("lookup", "%s: no addresses", args[0])
	}
	sort.Strings(addrs)
	for _, a := range addrs {
		fmt.Fprintln(c.stdout, a)
	}
	return 0
}

func cmdEnv(c *cli, args []string) int {
	if len(args) != 0 {
		return c.usage("env", "")
	}
	env := c.environ()
	sort.Strings(env)
	for _, kv := range env {
		fmt.Fprintln(c.stdout, kv)
	}
	return 0
}

func cmdAPI(c *cli, args []string) int {
	fs := flag.NewFlagSet("testapp api", flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	tokenFile := fs.String("token-file", defaultTokenFile, "bearer token file")
	caFile := fs.String("ca-file", defaultCAFile, "CA bundle (PEM) of the API server")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() != 1 {
		return c.usage("api", "[--token-file FILE] [--ca-file FILE] PATH")
	}
	host, port := c.getenv(envServiceHost), c.getenv(envServicePort)
	if host == "" || port == "" {
		return c.failf("api", "$%s and $%s must be set (they are in a pod with enableServiceLinks or the kubernetes service)", envServiceHost, envServicePort)
	}
	token, err := os.ReadFile(*tokenFile)
	if err != nil {
		return c.failf("api", "reading the token (--token-file): %v", err)
	}
	pem, err := os.ReadFile(*caFile)
	if err != nil {
		return c.failf("api", "reading the CA (--ca-file): %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return c.failf("api", "%s (--ca-file) holds no PEM certificate", *caFile)
	}
	client := &http.Client{
		Timeout:   requestTimeout,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}},
	}
	url := "https://" + net.JoinHostPort(host, port) + "/" + strings.TrimPrefix(fs.Arg(0), "/")
	return c.fetch("api", client, url, strings.TrimSpace(string(token)))
}

// cmdEcho writes each line as soon as it is complete (a TTY's line
// discipline hands over whole lines too), and a final partial line at EOF.
func cmdEcho(c *cli, args []string) int {
	if len(args) != 0 {
		return c.usage("echo", "")
	}
	r := bufio.NewReader(c.stdin)
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 {
			if _, werr := c.stdout.Write(line); werr != nil {
				return c.failf("echo", "writing stdout: %v", werr)
			}
		}
		if errors.Is(err, io.EOF) {
			return 0
		}
		if err != nil {
			return c.failf("echo", "reading stdin: %v", err)
		}
	}
}

// cmdHostname prints the hostname and the first hosts-file line that names
// it (the kubelet writes "IP FQDN hostname" there for a pod with a
// subdomain). Without such a line it still prints the hostname, says so on
// stderr and exits 1.
func cmdHostname(c *cli, args []string) int {
	if len(args) != 0 {
		return c.usage("hostname", "")
	}
	h, err := c.hostname()
	if err != nil {
		return c.failf("hostname", "%v", err)
	}
	fmt.Fprintln(c.stdout, h)
	b, err := os.ReadFile(c.hostsFile)
	if err != nil {
		return c.failf("hostname", "%v", err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if i := strings.IndexByte(l, '#'); i >= 0 {
			l = l[:i]
		}
		f := strings.Fields(l)
		for _, name := range f[min(1, len(f)):] {
			if strings.EqualFold(name, h) {
				fmt.Fprintln(c.stdout, strings.Join(f, " "))
				return 0
			}
		}
	}
	return c.failf("hostname", "no line of %s names %q", c.hostsFile, h)
}
