// Command cristatus asks a CRI runtime for its Status and prints the runtime
// conditions. It exits 0 when RuntimeReady is true, 1 otherwise. With --wait
// it polls until RuntimeReady or the deadline, because containerd answers
// `ctr version` before its CRI plugin is initialised.
//
//	cristatus --address unix:///run/containerd/containerd.sock --wait 60s
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

const defaultAddress = "unix:///run/containerd/containerd.sock"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("cristatus", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("address", defaultAddress, "CRI endpoint (unix socket path or unix:// URL)")
	wait := fs.Duration("wait", 0, "poll until RuntimeReady for at most this long (0: ask once)")
	quiet := fs.Bool("quiet", false, "print nothing on success")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	target := endpoint(*addr)
	deadline := time.Now().Add(*wait)
	for {
		ready, report, err := query(target)
		if ready {
			if !*quiet {
				fmt.Fprint(stdout, report)
			}
			return 0
		}
		if time.Now().After(deadline) {
			if err != nil {
				fmt.Fprintf(stderr, "cristatus: %s: %v\n", target, err)
			} else {
				fmt.Fprint(stdout, report)
				fmt.Fprintf(stderr, "cristatus: %s: RuntimeReady is not true\n", target)
			}
			return 1
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// endpoint turns a bare socket path into a unix:// URL.
func endpoint(addr string) string {
	if strings.Contains(addr, "://") {
		return addr
	}
	return "unix://" + addr
}

// query calls Status once and returns whether RuntimeReady is true and a
// printable list of conditions.
func query(target string) (bool, string, error) {
	conn, err := grpc.NewClient(target, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return false, "", fmt.Errorf("failed to create CRI client for %q: %w", target, err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	resp, err := runtimeapi.NewRuntimeServiceClient(conn).Status(ctx, &runtimeapi.StatusRequest{})
	if err != nil {
		return false, "", fmt.Errorf("failed to get CRI status: %w", err)
	}
	ready, report := summarize(resp.GetStatus())
	return ready, report, nil
}

// summarize reports each condition on its own line and whether RuntimeReady
// is true.
func summarize(st *runtimeapi.RuntimeStatus) (bool, string) {
	if st == nil {
		return false, "no runtime status\n"
	}
	var b strings.Builder
	ready := false
	for _, c := range st.GetConditions() {
		fmt.Fprintf(&b, "%s=%t", c.GetType(), c.GetStatus())
		if c.GetReason() != "" || c.GetMessage() != "" {
			fmt.Fprintf(&b, " reason=%q message=%q", c.GetReason(), c.GetMessage())
		}
		b.WriteString("\n")
		if c.GetType() == runtimeapi.RuntimeReady && c.GetStatus() {
			ready = true
		}
	}
	return ready, b.String()
}
