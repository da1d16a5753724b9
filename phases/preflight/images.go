package preflight

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kubeadmin/kubeadmin/internal/constants"
)

// importHint tells the user how to make an image present.
const importHint = "kubeadmin never pulls images; import it with \"ctr -n " + constants.ContainerdNamespace +
	" images import <image.tar>\" (the project's images: \"hack/images.sh import\")"

// imagePresenceCheck is kubeadm's ImagePull check without the pull: every
// image must already be present in the runtime, whatever the pull policy
// (kubeadmin never pulls; Always only adds a warning). It also warns when
// the runtime's sandbox image differs from sandboxImage, and fails when
// that other sandbox image is missing, since every pod would need it.
func imagePresenceCheck(h Host, endpoint string, images []string, sandboxImage string, policy corev1.PullPolicy) Checker {
	return Check{Label: "ImagePull", Run: func() (warnings, errs []error) {
		switch policy {
		case corev1.PullIfNotPresent, corev1.PullNever, "":
		case corev1.PullAlways:
			warnings = append(warnings, fmt.Errorf("imagePullPolicy is %q but kubeadmin never pulls images: the images already present in the container runtime are used", policy))
		default:
			return nil, []error{fmt.Errorf("unsupported pull policy %q in nodeRegistration.imagePullPolicy; use %q, %q or %q",
				policy, corev1.PullIfNotPresent, corev1.PullNever, corev1.PullAlways)}
		}
		c, err := connect(h, endpoint)
		if err != nil {
			return warnings, []error{err}
		}
		defer c.Close()
		warn, err := c.checkSandboxImage(h, sandboxImage)
		if warn != nil {
			warnings = append(warnings, warn)
		}
		if err != nil {
			return warnings, []error{err}
		}
		for _, image := range images {
			if err := c.imagePresent(h, image); err != nil {
				errs = append(errs, err)
			}
		}
		return warnings, errs
	}}
}

// imagePresent returns nil when the runtime has image.
func (c *criConn) imagePresent(h Host, image string) error {
	ctx, cancel := context.WithTimeout(context.Background(), h.CRITimeout)
	defer cancel()
	resp, err := c.ImageStatus(ctx, &runtimeapi.ImageSpec{Image: image}, false)
	if err != nil {
		return fmt.Errorf("failed to get the status of image %q: %w", image, c.classify(err))
	}
	if resp.GetImage() == nil {
		return fmt.Errorf("image %q is not present in the container runtime; %s", image, importHint)
	}
	return nil
}

// checkSandboxImage compares the runtime's sandbox image with want. It
// returns a warning when they differ, and an error when the runtime cannot
// be reached or its own sandbox image is missing. A runtime that does not
// report its sandbox image passes.
func (c *criConn) checkSandboxImage(h Host, want string) (warning, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), h.CRITimeout)
	defer cancel()
	resp, err := c.status(ctx, true)
	if err != nil {
		return nil, err
	}
	got := sandboxImageOf(resp.GetInfo())
	if got == "" || want == "" || got == want {
		return nil, nil
	}
	warning = fmt.Errorf("detected that the sandbox image %q of the container runtime is inconsistent with that used by kubeadm. "+
		"It is recommended to use %q as the CRI sandbox image (sandbox_image in %s)", got, want, constants.ContainerdConfigFile)
	if err := c.imagePresent(h, got); err != nil {
		if errors.Is(err, ErrCRINotRunning) || errors.Is(err, ErrCRIDisabled) {
			return warning, err
		}
		return warning, fmt.Errorf("the container runtime's sandbox image is missing, so no pod can start: %w; "+
			"or set sandbox_image = %q in %s and restart containerd", err, want, constants.ContainerdConfigFile)
	}
	return warning, nil
}

// sandboxImageOf reads the sandbox image from the verbose Status info:
// containerd 1.x reports config.sandboxImage, 2.x config.pinnedImages.sandbox.
func sandboxImageOf(info map[string]string) string {
	raw, ok := info["config"]
	if !ok {
		return ""
	}
	var cfg struct {
		SandboxImage string `json:"sandboxImage"`
		PinnedImages struct {
			Sandbox string `json:"sandbox"`
		} `json:"pinnedImages"`
	}
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		return ""
	}
	if cfg.SandboxImage != "" {
		return cfg.SandboxImage
	}
	return cfg.PinnedImages.Sandbox
}
