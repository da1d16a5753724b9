package phases

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kubeadmin/kubeadmin/internal/constants"
	"github.com/kubeadmin/kubeadmin/kubelet/cri"
	"github.com/kubeadmin/kubeadmin/kubelet/crilog"
)

// Limits of a failure report.
const (
	// diagnoseLogLines is how many log lines a failure report shows.
	diagnoseLogLines = 20
	// diagnoseTimeout bounds the runtime calls of one report.
	diagnoseTimeout = 5 * time.Second
	// shortIDLen is how much of a CRI ID messages show, as crictl.
	shortIDLen = 13
)

// DescribeComponent explains why a control-plane component is not healthy
// from what the container runtime knows: the state, exit code and restart
// count of its newest container and the last lines of its log.
func DescribeComponent(ctx context.Context, criEndpoint, component string) string {
	ctx, cancel := context.WithTimeout(ctx, diagnoseTimeout)
	defer cancel()
	rt, err := cri.NewRemote(criEndpoint)
	if err != nil {
		return fmt.Sprintf("cannot reach the container runtime at %s: %v", criEndpoint, err)
	}
	defer rt.Close()
	containers, err := rt.ListContainers(ctx, &runtimeapi.ContainerFilter{
		LabelSelector: map[string]string{"io.kubernetes.container.name": component},
	})
	if err != nil {
		return fmt.Sprintf("cannot list containers at %s: %v", criEndpoint, err)
	}
	if len(containers) == 0 {
		return fmt.Sprintf("no %s container exists: the node agent has not started it (see its log in %s and the manifest in %s)",
			component, constants.KubeletLogFile, constants.KubernetesDir+"/"+constants.ManifestsSubDirName)
	}
	sort.Slice(containers, func(i, j int) bool { return containers[i].CreatedAt > containers[j].CreatedAt })
	c := containers[0]
	st, err := rt.ContainerStatus(ctx, c.Id, false)
	if err != nil {
		return fmt.Sprintf("container %s: cannot read its status: %v", ShortID(c.Id), err)
	}
	s := st.Status
	var b strings.Builder
	fmt.Fprintf(&b, "container %s (%s): state %s, restarts %d", ShortID(c.Id), s.Image.GetImage(), strings.TrimPrefix(s.State.String(), "CONTAINER_"), c.Metadata.GetAttempt())
	if s.State == runtimeapi.ContainerState_CONTAINER_EXITED {
		fmt.Fprintf(&b, ", exit code %d", s.ExitCode)
		if s.Reason != "" {
			fmt.Fprintf(&b, " (%s)", s.Reason)
		}
	}
	if s.Message != "" {
		fmt.Fprintf(&b, ", message: %s", s.Message)
	}
	if lines := tailFile(s.LogPath, diagnoseLogLines); len(lines) > 0 {
		fmt.Fprintf(&b, "\nlast %d log lines (%s):\n", len(lines), s.LogPath)
		for _, l := range lines {
			b.WriteString("\t" + l + "\n")
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

// ShortID shortens a CRI container or sandbox ID for messages.
func ShortID(id string) string {
	if len(id) > shortIDLen {
		return id[:shortIDLen]
	}
	return id
}

// tailFile returns the last n lines of a CRI log file as the node agent's
// kubelet API serves them (CRI prefix stripped, partial lines joined).
func tailFile(path string, n int) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var b strings.Builder
	opts := crilog.Options{TailLines: int64(n), LimitBytes: -1}
	if err := crilog.Write(context.Background(), f, &b, opts, nil); err != nil || b.Len() == 0 {
		return nil
	}
	return strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
}
