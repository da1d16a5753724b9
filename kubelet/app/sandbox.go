package app

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Sandbox image check timing: how often the runtime is asked until it
// answers, and how long one round may take.
const (
	sandboxCheckInterval = 2 * time.Second
	sandboxCheckTimeout  = 10 * time.Second
)

// sandboxRuntime is the part of the CRI the sandbox image check uses;
// cri.Remote satisfies it.
type sandboxRuntime interface {
	Status(ctx context.Context, verbose bool) (*runtimeapi.StatusResponse, error)
	ImageStatus(ctx context.Context, image *runtimeapi.ImageSpec, verbose bool) (*runtimeapi.ImageStatusResponse, error)
}

// runtimeSandboxImage is the sandbox image containerd's CRI plugin is
// configured with, from the "config" entry of its verbose status:
// sandboxImage in containerd 1.x, pinnedImages.sandbox in 2.x. "" when
// the runtime does not say.
func runtimeSandboxImage(info map[string]string) string {
	var cfg struct {
		SandboxImage string            `json:"sandboxImage"`
		PinnedImages map[string]string `json:"pinnedImages"`
	}
	if json.Unmarshal([]byte(info["config"]), &cfg) != nil {
		return ""
	}
	if cfg.SandboxImage != "" {
		return cfg.SandboxImage
	}
	return cfg.PinnedImages["sandbox"]
}

// checkSandboxImage compares the sandbox image the agent was given
// (--pod-infra-container-image, may be "") with the one the runtime uses
// and looks the runtime's image up. It returns the lines to log: the
// image in use, and a warning with the fix for a mismatch or a missing
// image. CRI has no field to pass the image, so the runtime's own
// configuration decides.
func checkSandboxImage(ctx context.Context, rt sandboxRuntime, want string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, sandboxCheckTimeout)
	defer cancel()
	st, err := rt.Status(ctx, true)
	if err != nil {
		return nil, err
	}
	used := runtimeSandboxImage(st.GetInfo())
	var lines []string
	switch {
	case used == "" && want == "":
		return nil, nil
	case used == "":
		return []string{fmt.Sprintf("warning: --pod-infra-container-image=%s: the container runtime does not report its sandbox image; make sure its configuration (containerd: sandbox_image) names this image", want)}, nil
	case want != "" && used != want:
		lines = append(lines, fmt.Sprintf("warning: --pod-infra-container-image=%s, but the container runtime creates sandboxes from %s; set sandbox_image = %q in containerd's configuration (/etc/containerd/config.toml) and restart containerd, or drop the flag", want, used, want))
	default:
		lines = append(lines, fmt.Sprintf("pod sandboxes use the image %s", used))
	}
	img, err := rt.ImageStatus(ctx, &runtimeapi.ImageSpec{Image: used}, false)
	if err != nil {
		return nil, err
	}
	if img.GetImage() == nil {
		lines = append(lines, fmt.Sprintf("warning: the sandbox image %s is not present; the container runtime pulls it when it creates the first sandbox, which fails without access to its registry (pull it beforehand, e.g. crictl pull %s)", used, used))
	}
	return lines, nil
}

// reportSandboxImage runs checkSandboxImage once the runtime answers and
// logs its lines; it gives up when ctx ends.
func reportSandboxImage(ctx context.Context, rt sandboxRuntime, want string, logf func(string, ...any)) {
	_ = wait.PollUntilContextCancel(ctx, sandboxCheckInterval, true, func(ctx context.Context) (bool, error) {
		lines, err := checkSandboxImage(ctx, rt, want)
		if err != nil {
			return false, nil
		}
		for _, l := range lines {
			logf("%s", l)
		}
		return true, nil
	})
}
