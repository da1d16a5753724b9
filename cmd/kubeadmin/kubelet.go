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
	"github.com/kubeadmin/kubeadmin/kubelet"
	"github.com/kubeadmin/kubeadmin/kubelet/status"
)

// newCmdKubelet is `kubeadmin kubelet`: the node agent, and its `status`
// subcommand.
func newCmdKubelet(out io.Writer) *cobra.Command {
	o := kubelet.RunOptions{}
	var ignoredTaints string
	cmd := &cobra.Command{
		Use:   "kubelet",
		Short: "Run the node agent: static pods from a manifest directory through the CRI",
		Long: `Run kubeadmin's node agent. It reads a KubeletConfiguration (--config),
runs the static pods of staticPodPath through the container runtime at
containerRuntimeEndpoint, and serves /healthz and /status on
healthzBindAddress:healthzPort (default 127.0.0.1:10248).

SIGTERM or SIGINT stops the agent but not its pods; the next start adopts them.
Without --kubeconfig or --bootstrap-kubeconfig it runs standalone.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runKubelet(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.ConfigFile, "config", "", "KubeletConfiguration file (kubelet.config.k8s.io/v1beta1)")
	f.StringVar(&o.KubeConfig, "kubeconfig", "", "kubeconfig of the node; without it (and --bootstrap-kubeconfig) the agent runs standalone")
	f.StringVar(&o.BootstrapKubeConfig, "bootstrap-kubeconfig", "", "kubeconfig used to obtain the node's client certificate")
	f.StringVar(&o.RootDir, "root-dir", kubelet.DefaultRootDir, "directory for the pods' volumes and files")
	f.StringVar(&o.HostnameOverride, "hostname-override", "", "node name to use instead of the hostname")
	f.StringVar(&o.NodeIP, "node-ip", "", "IP address of the node")
	f.StringVar(&o.ContainerRuntimeEndpoint, "container-runtime-endpoint", "", "CRI endpoint; overrides containerRuntimeEndpoint of --config")
	f.StringVar(&o.NodeLabels, "node-labels", "", "labels to register the node with (key=value pairs separated by commas)")
	f.StringVar(&ignoredTaints, "register-with-taints", "", "taints to register the node with (accepted for kubeadm compatibility; use registerWithTaints in --config)")
	cmd.AddCommand(newCmdKubeletStatus(out))
	return cmd
}

// runKubelet runs the agent until SIGTERM or SIGINT.
func runKubelet(parent context.Context, o kubelet.RunOptions) error {
	if parent == nil {
		parent = context.Background()
	}
	ctx, stop := signal.NotifyContext(parent, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	logger := log.New(os.Stderr, "kubelet ", log.LstdFlags|log.Lmicroseconds)
	return kubelet.Run(ctx, o, logger)
}

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
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
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
		kc, err := kubelet.ParseKubeletConfiguration(data, configFile)
		if err != nil {
			return "", err
		}
		kubelet.SetKubeletDefaults(kc)
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
