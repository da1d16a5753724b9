package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/kubeadmin/kubeadmin/internal/constants"
	"github.com/kubeadmin/kubeadmin/kubelet/app"
	"github.com/kubeadmin/kubeadmin/kubelet/options"
	"github.com/kubeadmin/kubeadmin/kubelet/status"
)

// newCmdKubelet is `kubeadmin kubelet`: the node agent, and its `status`
// subcommand.
func newCmdKubelet(out io.Writer) *cobra.Command {
	o := options.Flags{}
	cmd := &cobra.Command{
		Use:   "kubelet",
		Short: "Run the node agent: static pods from a manifest directory through the CRI",
		Long: `Run kubeadmin's node agent. It reads a KubeletConfiguration (--config),
runs the static pods of staticPodPath through the container runtime at
containerRuntimeEndpoint, and serves /healthz and /status on
healthzBindAddress:healthzPort (default 127.0.0.1:10248). /healthz answers
500, naming the part and the reason, once the node loop, the pod status loop
or the kubelet API has failed; a kubelet API port that is taken stops the
start.

SIGTERM or SIGINT stops the agent but not its pods; the next start adopts them.
Without --kubeconfig or --bootstrap-kubeconfig it runs standalone.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runKubelet(cmd.Context(), o)
		},
	}
	cmd.Flags().AddFlagSet(options.NewFlagSet(&o))
	cmd.AddCommand(newCmdKubeletStatus(out))
	return cmd
}

// runKubelet runs the agent until SIGTERM or SIGINT.
func runKubelet(parent context.Context, o options.Flags) error {
	if parent == nil {
		parent = context.Background()
	}
	ctx, stop := signal.NotifyContext(parent, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	keepRunningWithoutLogReader()
	logger := log.New(os.Stderr, "kubelet ", log.LstdFlags|log.Lmicroseconds)
	return app.Run(ctx, o, logger)
}

// kubeletStatusTimeout bounds `kubeadmin kubelet status`'s request.
const kubeletStatusTimeout = 10 * time.Second

// keepRunningWithoutLogReader makes a write to a closed log pipe an error
// instead of a fatal SIGPIPE. Under the supervisor the agent's output is a
// pipe to it; if the supervisor is killed, the agent must keep its pods'
// control loops running (only its log lines are lost).
func keepRunningWithoutLogReader() { signal.Ignore(syscall.SIGPIPE) }

// newCmdKubeletStatus is `kubeadmin kubelet status`.
func newCmdKubeletStatus(out io.Writer) *cobra.Command {
	var server, configFile, output string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the node agent's pods and containers",
		Long: `Show the pods and containers of the running node agent, read from its
/status endpoint: one line per container with POD, CONTAINER, STATE,
RESTARTS, LAST EXIT and REASON, then any manifest files that could not be
used (FILE, ERROR). -o json prints the report as JSON.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			url, err := statusURL(server, configFile)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(context.Background(), kubeletStatusTimeout)
			defer cancel()
			r, err := status.Fetch(ctx, url)
			if err != nil {
				return err
			}
			switch output {
			case "json":
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(r)
			case "", "table":
				return status.PrintTable(out, r)
			}
			return fmt.Errorf("invalid flag -o=%q: use \"table\" or \"json\"", output)
		},
	}
	cmd.Flags().StringVar(&server, "server", "", "base URL of the agent (default http://127.0.0.1:10248, or the healthz address of --config)")
	cmd.Flags().StringVar(&configFile, "config", "", "KubeletConfiguration file to take healthzBindAddress and healthzPort from")
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table or json")
	return cmd
}

// statusURL is the agent's /status URL.
func statusURL(server, configFile string) (string, error) {
	if server != "" {
		return server + constants.KubeletStatusPath, nil
	}
	host, port := constants.KubeletHealthzBindAddress, constants.KubeletHealthzPort
	if configFile != "" {
		data, err := os.ReadFile(configFile)
		if err != nil {
			return "", fmt.Errorf("failed to read the kubelet configuration %q: %w", configFile, err)
		}
		kc, err := options.ParseKubeletConfiguration(data, configFile)
		if err != nil {
			return "", err
		}
		options.SetKubeletDefaults(kc)
		host, port = kc.HealthzBindAddress, int(*kc.HealthzPort)
		if port == 0 {
			return "", fmt.Errorf("the kubelet configuration %q disables the health endpoint (healthzPort: 0); pass --server", configFile)
		}
		if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
			host = "127.0.0.1"
		}
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(port)) + constants.KubeletStatusPath, nil
}
