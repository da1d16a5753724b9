// Command crismoke checks a CRI runtime end to end the way a kubelet uses it:
// it runs a host-network pod sandbox (the pause image), creates and starts a
// container from an image (default the test image, which must serve
// /healthz on --port), waits for /healthz, stops the container (SIGTERM) and
// removes everything. Exit 0 means sandboxes and containers work.
//
//	crismoke --address unix:///run/containerd/containerd.sock
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kubeadmin/kubeadmin/hack/tools/crirun"
)

// options are crismoke's flags.
type options struct {
	address, image, port, logDir, cgroupParent string
	timeout                                    time.Duration
}

func main() {
	o := &options{}
	flag.StringVar(&o.address, "address", "unix:///run/containerd/containerd.sock", "CRI endpoint")
	flag.StringVar(&o.image, "image", "kubeadmin.test/testapp:v1", "image to run; it must serve GET /healthz on --port")
	flag.StringVar(&o.port, "port", "18091", "host port the container listens on (host network)")
	flag.StringVar(&o.logDir, "log-dir", "/tmp/kubeadmin-crismoke", "pod log directory")
	flag.StringVar(&o.cgroupParent, "cgroup-parent", "/kubeadmin-crismoke", "cgroup parent of the sandbox (cgroupfs)")
	flag.DurationVar(&o.timeout, "timeout", 60*time.Second, "overall deadline")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintf(os.Stderr, "crismoke: %v\n", err)
		os.Exit(1)
	}
	fmt.Println("crismoke: ok")
}

func run(o *options) error {
	rt, closeConn, err := crirun.Dial(o.address)
	if err != nil {
		return err
	}
	defer closeConn()
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	if err := os.MkdirAll(o.logDir, 0o755); err != nil {
		return fmt.Errorf("failed to create log dir %q: %w", o.logDir, err)
	}
	sbCfg := sandboxConfig(o)
	t0 := time.Now()
	sb, err := rt.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: sbCfg})
	if err != nil {
		return fmt.Errorf("failed to run pod sandbox: %w", err)
	}
	fmt.Printf("sandbox %s running after %s\n", crirun.Short(sb.PodSandboxId), time.Since(t0).Round(time.Millisecond))
	defer cleanup(rt, sb.PodSandboxId)
	return runContainer(ctx, rt, o, sb.PodSandboxId, sbCfg)
}

func sandboxConfig(o *options) *runtimeapi.PodSandboxConfig {
	return &runtimeapi.PodSandboxConfig{
		Metadata:     &runtimeapi.PodSandboxMetadata{Name: "crismoke", Uid: fmt.Sprintf("crismoke-%d", time.Now().UnixNano()), Namespace: "kubeadmin-test"},
		LogDirectory: o.logDir,
		Linux: &runtimeapi.LinuxPodSandboxConfig{
			CgroupParent: o.cgroupParent,
			SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{
				NamespaceOptions: &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_NODE},
			},
		},
	}
}

func runContainer(ctx context.Context, rt runtimeapi.RuntimeServiceClient, o *options, sbID string, sbCfg *runtimeapi.PodSandboxConfig) error {
	id, err := crirun.StartApp(ctx, rt, sbID, sbCfg, o.image, "--port="+o.port)
	if err != nil {
		return err
	}
	if err := crirun.WaitHTTP(ctx, "http://127.0.0.1:"+o.port+"/healthz", 100*time.Millisecond); err != nil {
		return err
	}
	fmt.Printf("container %s serves /healthz\n", crirun.Short(id))
	if _, err := rt.StopContainer(ctx, &runtimeapi.StopContainerRequest{ContainerId: id, Timeout: 10}); err != nil {
		return fmt.Errorf("failed to stop container %s: %w", crirun.Short(id), err)
	}
	st, err := rt.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: id})
	if err != nil {
		return fmt.Errorf("failed to get status of container %s: %w", crirun.Short(id), err)
	}
	if code := st.GetStatus().GetExitCode(); code != 0 {
		return fmt.Errorf("container %s exited %d after SIGTERM, want 0 (log %s/app.log)", crirun.Short(id), code, o.logDir)
	}
	fmt.Printf("container %s stopped, exit code 0\n", crirun.Short(id))
	return nil
}

// cleanup removes the sandbox, reporting a failure.
func cleanup(rt runtimeapi.RuntimeServiceClient, id string) {
	if err := crirun.RemoveSandbox(rt, id); err != nil {
		fmt.Fprintf(os.Stderr, "crismoke: %v\n", err)
	}
}
