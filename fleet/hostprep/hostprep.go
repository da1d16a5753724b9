// Package hostprep makes a bare Debian or Ubuntu host ready for
// `kubeadmin init` and `kubeadmin join`, over a remote.Runner: it gathers
// the host's facts in one command, uploads the kubeadmin binary and the
// image bundle (skipped by SHA-256), installs containerd from the host's
// own package sources only when it is missing, writes its configuration,
// starts it, and imports the images a host's role needs. Nothing on the
// host downloads anything. The fleet's orchestration calls these steps.
package hostprep

import (
	"errors"
	"fmt"
	"time"

	"github.com/kubeadmin/kubeadmin/fleet/remote"
	"github.com/kubeadmin/kubeadmin/internal/constants"
)

// Well-known paths on a host. Uploads go to root-owned, host-private
// places, never /tmp or a home folder.
const (
	// RemoteKubeadmin is where the kubeadmin binary is installed. The fleet
	// calls it by this absolute path: /usr/local/bin may be shared (test
	// nodes share the host's /usr) and sudo's secure_path may not hold it.
	RemoteKubeadmin = "/opt/kubeadmin/bin/kubeadmin"
	// RemoteBundle is where the image bundle is uploaded.
	RemoteBundle = "/var/lib/kubeadmin/images.tar"
	// ContainerdConfigFile is containerd's default configuration file.
	ContainerdConfigFile = "/etc/containerd/config.toml"
	// ContainerdSocket is containerd's default socket.
	ContainerdSocket = "/run/containerd/containerd.sock"
	// ContainerdLogFile receives containerd's output where systemd does not
	// run (kubeadmin starts it then).
	ContainerdLogFile = "/var/log/kubeadmin/containerd.log"
	// ContainerdPidFile holds the PID of a containerd kubeadmin started
	// without systemd, so that a new configuration can restart it.
	ContainerdPidFile = "/run/kubeadmin/containerd.pid"
	// ContainerdUnit is the systemd unit of Debian's containerd package.
	ContainerdUnit = "containerd"
	// CNIBinDir is where Debian's containernetworking-plugins puts the
	// plugins; the containerd configuration points there.
	CNIBinDir = "/usr/lib/cni"
	// IPForwardSysctl is the file of net.ipv4.ip_forward.
	IPForwardSysctl = "/proc/sys/net/ipv4/ip_forward"
	// BundleLabel marks an image imported from a bundle; its value is the
	// SHA-256 of the image's tarball in the bundle.
	BundleLabel = "kubeadmin.bundle.sha256"
	// CRINamespace is the containerd namespace of the CRI's images.
	CRINamespace = "k8s.io"
)

// Timeouts of the host steps.
const (
	// FactsTimeout bounds the facts command.
	FactsTimeout = 30 * time.Second
	// versionTimeout bounds `kubeadmin version` inside the facts command.
	versionTimeout = "10"
	// InstallTimeout bounds the apt-get install of containerd.
	InstallTimeout = 10 * time.Minute
	// ContainerdStartTimeout bounds the (re)start of containerd, including
	// the wait for its socket.
	ContainerdStartTimeout = 90 * time.Second
	// containerdWaitSeconds is how long the start script waits for the
	// socket to answer (in the script's half-second polls: twice this).
	containerdWaitSeconds = 60
	// ImageImportTimeout bounds the import of one image.
	ImageImportTimeout = 5 * time.Minute
	// importParallel is how many images a host imports at once.
	importParallel = 2
	// shortTimeout bounds small commands (a file write, an image list).
	shortTimeout = 30 * time.Second
)

// DefaultSandboxImage is the pause image kubeadmin's control plane uses.
const DefaultSandboxImage = constants.DefaultImageRepository + "/" + constants.Pause + ":" + constants.PauseVersion

// stepError names the host step that failed. A CommandError already names
// the host, the command, its exit code and output tail.
func stepError(r remote.Runner, step string, err error) error {
	var ce *remote.CommandError
	if errors.As(err, &ce) {
		return fmt.Errorf("%s: %w", step, err)
	}
	return fmt.Errorf("host %s: %s: %w", r.Name(), step, err)
}
