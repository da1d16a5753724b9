package kubelet

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubeadmin/kubeadmin/internal/constants"
	"github.com/kubeadmin/kubeadmin/internal/procutil"
	"github.com/kubeadmin/kubeadmin/kubelet/cri"
	"github.com/kubeadmin/kubeadmin/kubelet/node"
	"github.com/kubeadmin/kubeadmin/kubelet/podstatus"
	"github.com/kubeadmin/kubeadmin/kubelet/server"
)

// The agent and its runtime client plug into the cluster side directly.
var (
	_ podstatus.Provider = (*Agent)(nil)
	_ podstatus.Node     = (*node.Node)(nil)
	_ server.Provider    = (*Agent)(nil)
	_ node.Runtime       = (cri.RuntimeService)(nil)
)

// RunOptions are the command-line inputs of a full agent run.
type RunOptions struct {
	Options
	// NodeLabels are --node-labels (k=v,k2=v2), applied at registration.
	NodeLabels string
}

// Run runs the agent until ctx ends: the static pods always, and — when a
// kubeconfig is given — the node registration, status, lease, mirror pods
// and the kubelet API on port 10250.
func Run(ctx context.Context, o RunOptions, logger *log.Logger) error {
	cfg, err := LoadConfig(o.Options)
	if err != nil {
		return err
	}
	labels, err := parseLabels(o.NodeLabels)
	if err != nil {
		return err
	}
	rt, err := cri.NewRemote(cfg.RuntimeEndpoint)
	if err != nil {
		return err
	}
	defer rt.Close()
	agent := New(cfg, rt, rt, logger)
	// Once started, give back the pages of the shared binary that only
	// start-up touched.
	t := time.AfterFunc(constants.ReleaseStartupPagesAfter, procutil.ReleaseStartupPages)
	defer t.Stop()
	if !cfg.Standalone {
		if err := startClusterSide(ctx, cfg, agent, rt, o.NodeIP, labels, logger); err != nil {
			return err
		}
	}
	return agent.Run(ctx)
}

// startClusterSide starts the node and kubelet-API loops in the background.
func startClusterSide(ctx context.Context, cfg *Config, agent *Agent, streamer server.Streamer, flagNodeIP string, labels map[string]string, logger *log.Logger) error {
	kubeconfig := cfg.KubeConfig
	if _, err := os.Stat(kubeconfig); err != nil {
		// TLS bootstrap is not implemented yet: without the node's own
		// kubeconfig the agent runs the static pods only.
		logger.Printf("no usable --kubeconfig %q (%v): running standalone; TLS bootstrap from %q is not supported yet", kubeconfig, err, cfg.BootstrapKubeConfig)
		return nil
	}
	rest, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return fmt.Errorf("failed to load the kubeconfig %q: %w", kubeconfig, err)
	}
	rest.QPS, rest.Burst = constants.ClientQPS, constants.ClientBurst
	client, err := kubernetes.NewForConfig(rest)
	if err != nil {
		return fmt.Errorf("failed to create a client from %q: %w", kubeconfig, err)
	}
	kc := cfg.Kubelet
	n, err := node.New(node.Options{
		NodeName: cfg.NodeName, NodeIP: flagNodeIP, APIServer: rest.Host, Client: client,
		Runtime: agent.Runtime(), Labels: labels, Taints: kc.RegisterWithTaints,
		KubeletPort: int(kc.Port), RootDir: cfg.RootDir, Logger: logger,
	})
	if err != nil {
		return err
	}
	go func() {
		if err := n.Run(ctx); err != nil {
			logger.Printf("node loop stopped: %v", err)
		}
	}()
	go func() {
		_ = podstatus.Run(ctx, podstatus.Options{NodeName: cfg.NodeName, NodeIP: n.IP(), Client: client, Logger: logger}, agent, n)
	}()
	go func() {
		err := server.Serve(ctx, server.Options{
			NodeName: cfg.NodeName, NodeIP: cfg.NodeIP, Address: kc.Address, Port: int(kc.Port),
			TLSCertFile: kc.TLSCertFile, TLSKeyFile: kc.TLSPrivateKeyFile, CertDir: filepath.Join(cfg.RootDir, "pki"),
			ClientCAFile:            kc.Authentication.X509.ClientCAFile,
			WebhookAuthentication:   kc.Authentication.Webhook.Enabled != nil && *kc.Authentication.Webhook.Enabled,
			AnonymousAuthentication: kc.Authentication.Anonymous.Enabled != nil && *kc.Authentication.Anonymous.Enabled,
			AuthorizationMode:       string(kc.Authorization.Mode),
			Client:                  client, PodLogsDir: cfg.PodLogsDir, Logger: logger,
		}, agent, streamer)
		if err != nil {
			logger.Printf("kubelet API stopped: %v", err)
		}
	}()
	return nil
}

// parseLabels parses --node-labels.
func parseLabels(s string) (map[string]string, error) {
	labels := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		if kv = strings.TrimSpace(kv); kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("invalid --node-labels entry %q: use key=value pairs separated by commas", kv)
		}
		labels[k] = v
	}
	return labels, nil
}
