package joinphases

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kubeadmin/kubeadmin/internal/constants"
	"github.com/kubeadmin/kubeadmin/phases"
	"github.com/kubeadmin/kubeadmin/phases/workflow"
)

// bootstrapPollInterval is how often the wait looks for kubelet.conf and
// the Node (kubeadm: every second; the agent is usually done sooner).
const bootstrapPollInterval = 50 * time.Millisecond

func newKubeletWaitBootstrapPhase() workflow.Phase {
	return workflow.Phase{
		Name:         "kubelet-wait-bootstrap",
		Short:        "Wait for the kubelet to bootstrap itself",
		Long:         "Wait for the node agent to finish its TLS bootstrap and register its Node, then remove the bootstrap kubeconfig.",
		InheritFlags: []string{phases.FlagConfig, phases.FlagDryRun},
		Run:          workflow.RunAs(runKubeletWaitBootstrap),
	}
}

func runKubeletWaitBootstrap(d kubeletWaitData) error {
	out := d.Out()
	if d.DryRun() {
		fmt.Fprintln(out, "[kubelet-wait] Would wait for the kubelet to be bootstrapped")
		return nil
	}
	cfg := d.Cfg()
	// The token's credentials leave the disk however the wait ends.
	bootstrapPath := filepath.Join(d.KubeConfigDir(), constants.KubeletBootstrapKubeConfigFile)
	defer os.Remove(bootstrapPath)

	healthTimeout, tlsTimeout := constants.KubeletHealthCheckTimeout, constants.TLSBootstrapTimeout
	if t := cfg.Timeouts; t != nil {
		if t.KubeletHealthCheck != nil {
			healthTimeout = t.KubeletHealthCheck.Duration
		}
		if t.TLSBootstrap != nil {
			tlsTimeout = t.TLSBootstrap.Duration
		}
	}
	ctx := context.Background()
	if err := phases.WaitKubelet(ctx, out, healthTimeout); err != nil {
		return fmt.Errorf("failed while waiting for the kubelet to start: %w", err)
	}
	fmt.Fprintln(out, "[kubelet-start] Waiting for the kubelet to perform the TLS Bootstrap")
	kubeletConf := filepath.Join(d.KubeConfigDir(), constants.KubeletKubeConfigFile)
	name := cfg.NodeRegistration.Name
	var last error
	err := wait.PollUntilContextTimeout(ctx, bootstrapPollInterval, tlsTimeout, true, func(ctx context.Context) (bool, error) {
		client, err := phases.ClientFromKubeconfig(kubeletConf, "")
		if err != nil {
			last = err
			return false, nil
		}
		if _, err := client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{}); err != nil {
			last = fmt.Errorf("the Node %q is not registered yet: %w", name, err)
			return false, nil
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("failed while waiting for TLS bootstrap: the node agent did not obtain its client certificate and register Node %q within %s (last: %v). "+
			"Check its log (%s) and, on the control plane, \"kubectl get csr\" for a pending request", name, tlsTimeout, last, constants.KubeletLogFile)
	}
	return nil
}
