package preflight

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kubeadmin/kubeadmin/internal/constants"
	"github.com/kubeadmin/kubeadmin/kubelet/cri"
)

// Classes of container runtime failures, for errors.Is on the errors
// returned by CRIStatus and the CRI checks.
var (
	// ErrCRINotRunning: the socket is missing or nothing answers on it.
	ErrCRINotRunning = errors.New("container runtime is not running")
	// ErrCRIDisabled: the process answers but does not serve the CRI API
	// (containerd with its "cri" plugin disabled).
	ErrCRIDisabled = errors.New("container runtime does not serve the CRI API")
	// ErrCRINotReady: the runtime answers but is not ready yet.
	ErrCRINotReady = errors.New("container runtime is not ready")
)

// criError is a container runtime failure with a user-facing message, a
// class (one of the ErrCRI* values) and the underlying cause.
type criError struct {
	class error
	msg   string
	cause error
}

func (e *criError) Error() string        { return e.msg }
func (e *criError) Unwrap() error        { return e.cause }
func (e *criError) Is(target error) bool { return target == e.class }

// CRIClient is what the checks ask the container runtime. The node agent's
// client (kubelet/cri.Remote) is one; tests may use a stand-in.
type CRIClient interface {
	Status(ctx context.Context, verbose bool) (*runtimeapi.StatusResponse, error)
	ImageStatus(ctx context.Context, image *runtimeapi.ImageSpec, verbose bool) (*runtimeapi.ImageStatusResponse, error)
	Close() error
}

// runtimeConfigClient is a CRIClient that can also ask RuntimeConfig, the
// call ContainerRuntimeVersion checks for.
type runtimeConfigClient interface {
	RuntimeConfig(ctx context.Context) (*runtimeapi.RuntimeConfigResponse, error)
}

// dialCRI connects to the runtime with the node agent's CRI client: one
// endpoint parser and one dialer for the agent, preflight, reset and
// diagnostics.
func dialCRI(endpoint string) (CRIClient, error) {
	return cri.NewRemote(endpoint)
}

// criConn is a client of one endpoint that explains its failures.
type criConn struct {
	CRIClient
	endpoint string
	// socket is the socket file, to tell "missing" from "not answering".
	socket string
}

// connect prepares a client of endpoint ("" means kubeadm's default). The
// connection is lazy: the first call, bounded by its context, reports an
// unreachable runtime.
func connect(h Host, endpoint string) (*criConn, error) {
	if endpoint == "" {
		endpoint = constants.DefaultCRISocket
	}
	target, err := cri.Target(endpoint)
	if err != nil {
		return nil, fmt.Errorf("%w; set nodeRegistration.criSocket or --cri-socket", err)
	}
	c, err := h.CRI(endpoint)
	if err != nil {
		return nil, err
	}
	return &criConn{CRIClient: c, endpoint: endpoint, socket: strings.TrimPrefix(target, "unix://")}, nil
}

// status calls Status and turns a failure into a classified error.
func (c *criConn) status(ctx context.Context, verbose bool) (*runtimeapi.StatusResponse, error) {
	resp, err := c.Status(ctx, verbose)
	if err != nil {
		return nil, c.classify(err)
	}
	return resp, nil
}

// classify explains why a CRI call failed, with the fix.
func (c *criConn) classify(err error) error {
	start := "start containerd (e.g. \"hack/containerd.sh start\")"
	if _, statErr := os.Stat(c.socket); errors.Is(statErr, os.ErrNotExist) {
		return &criError{class: ErrCRINotRunning, cause: err, msg: fmt.Sprintf(
			"container runtime is not running: the CRI socket %q does not exist; %s", c.endpoint, start)}
	}
	st, _ := status.FromError(err)
	switch {
	case st.Code() == codes.Unimplemented && strings.Contains(st.Message(), "unknown service"):
		return &criError{class: ErrCRIDisabled, cause: err, msg: fmt.Sprintf(
			"the container runtime at %q does not serve the CRI API (%s): containerd's CRI plugin is disabled; "+
				"remove \"cri\" from disabled_plugins in %s and restart containerd", c.endpoint, st.Message(), constants.ContainerdConfigFile)}
	case strings.Contains(st.Message(), "server is not initialized yet"):
		return &criError{class: ErrCRINotReady, cause: err, msg: fmt.Sprintf(
			"container runtime at %q is still starting (its CRI plugin says %q); wait until it is ready and retry", c.endpoint, st.Message())}
	case st.Code() == codes.DeadlineExceeded:
		return &criError{class: ErrCRINotRunning, cause: err, msg: fmt.Sprintf(
			"container runtime is not running: the CRI socket %q did not answer in time (%v); check that containerd is healthy or restart it", c.endpoint, err)}
	case st.Code() == codes.Unavailable:
		return &criError{class: ErrCRINotRunning, cause: err, msg: fmt.Sprintf(
			"container runtime is not running: cannot connect to the CRI socket %q: %s; %s", c.endpoint, st.Message(), start)}
	}
	return &criError{class: ErrCRINotRunning, cause: err, msg: fmt.Sprintf(
		"container runtime is not running: CRI call to %q failed: %v", c.endpoint, err)}
}

// runtimeReady returns an error naming every required condition that is
// false. NetworkReady is not required: there is no pod network before init.
func runtimeReady(st *runtimeapi.RuntimeStatus) error {
	var bad []string
	found := false
	for _, cond := range st.GetConditions() {
		if cond.GetType() != runtimeapi.RuntimeReady {
			continue
		}
		found = true
		if !cond.GetStatus() {
			bad = append(bad, fmt.Sprintf("condition %q is false (reason: %q, message: %q)", cond.GetType(), cond.GetReason(), cond.GetMessage()))
		}
	}
	if !found {
		bad = append(bad, fmt.Sprintf("condition %q is missing from the runtime status", runtimeapi.RuntimeReady))
	}
	if len(bad) > 0 {
		return &criError{class: ErrCRINotReady, msg: "container runtime is not ready: " + strings.Join(bad, "; ")}
	}
	return nil
}

// withTimeout bounds ctx by d unless it already has a deadline.
func withTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}

// CRIStatus connects to the CRI endpoint (e.g.
// "unix:///var/run/containerd/containerd.sock"; "" means that default)
// and returns nil when the runtime answers Status with RuntimeReady true.
// A ctx without a deadline is bounded by constants.PreflightCRITimeout.
// Errors explain the cause and the fix, and match ErrCRINotRunning,
// ErrCRIDisabled or ErrCRINotReady with errors.Is.
func CRIStatus(ctx context.Context, endpoint string) error {
	return criStatus(ctx, Host{}.withDefaults(), endpoint)
}

func criStatus(ctx context.Context, h Host, endpoint string) error {
	ctx, cancel := withTimeout(ctx, constants.PreflightCRITimeout)
	defer cancel()
	c, err := connect(h, endpoint)
	if err != nil {
		return err
	}
	defer c.Close()
	resp, err := c.status(ctx, false)
	if err != nil {
		return err
	}
	return runtimeReady(resp.GetStatus())
}

// criCheck fails when the runtime cannot be reached or is not ready.
func criCheck(h Host, endpoint string) Checker {
	return Check{Label: "CRI", Run: func() (_, errs []error) {
		ctx, cancel := context.WithTimeout(context.Background(), h.CRITimeout)
		defer cancel()
		if err := criStatus(ctx, h, endpoint); err != nil {
			return nil, []error{err}
		}
		return nil, nil
	}}
}

// runtimeConfigWarning is kubeadm's warning for runtimes without the
// RuntimeConfig call (containerd 1.6): the kubelet then falls back to the
// cgroup driver of its own configuration.
const runtimeConfigWarning = "You must update your container runtime to a version that supports the CRI method RuntimeConfig. " +
	"Falling back to using cgroupDriver from kubelet config will be removed in 1.38. " +
	"For more information, see https://git.k8s.io/enhancements/keps/sig-node/4033-group-driver-detection-over-cri"

// runtimeVersionCheck warns when the runtime lacks RuntimeConfig and
// fails when the runtime cannot be asked. A client without the
// RuntimeConfig call can only check that the runtime answers.
func runtimeVersionCheck(h Host, endpoint string) Checker {
	return Check{Label: "ContainerRuntimeVersion", Run: func() (warnings, errs []error) {
		c, err := connect(h, endpoint)
		if err != nil {
			return nil, []error{err}
		}
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), h.CRITimeout)
		defer cancel()
		rc, ok := c.CRIClient.(runtimeConfigClient)
		if !ok {
			if _, err := c.Status(ctx, false); err != nil {
				return nil, []error{fmt.Errorf("could not check if the runtime config is available: %w", c.classify(err))}
			}
			return nil, nil
		}
		_, err = rc.RuntimeConfig(ctx)
		if err == nil {
			return nil, nil
		}
		if st, _ := status.FromError(err); st.Code() == codes.Unimplemented && !strings.Contains(st.Message(), "unknown service") {
			return []error{errors.New(runtimeConfigWarning)}, nil
		}
		return nil, []error{fmt.Errorf("could not check if the runtime config is available: %w", c.classify(err))}
	}}
}
