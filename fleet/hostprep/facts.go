package hostprep

import (
	"bufio"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/kubeadmin/kubeadmin/fleet/remote"
	"github.com/kubeadmin/kubeadmin/internal/constants"
)

//go:embed facts.sh
var factsScript string

// Facts is what apply, plan and status know about a host.
type Facts struct {
	// OSID, OSVersion and OSLike are ID, VERSION_ID and ID_LIKE of
	// /etc/os-release.
	OSID, OSVersion, OSLike string
	// Arch is `uname -m`; Hostname is `uname -n`.
	Arch, Hostname string
	// Systemd is true when systemd runs (/run/systemd/system exists).
	Systemd bool

	// ContainerdInstalled is true when the containerd command is there.
	ContainerdInstalled bool
	// ContainerdRunning is true when containerd answers on its socket.
	ContainerdRunning bool
	// ContainerdEnabled is true when systemd starts containerd at boot.
	ContainerdEnabled bool
	// ContainerdVersion is the version `containerd --version` prints.
	ContainerdVersion string
	// MissingPackages are the Debian packages that would provide what the
	// container runtime needs and the host lacks (containerd, runc, the
	// CNI plugins in CNIBinDir, iptables), in install order.
	MissingPackages []string

	// KubeadminSHA256 is the hex SHA-256 of RemoteKubeadmin, "" if absent.
	KubeadminSHA256 string
	// KubeadminVersion is what `kubeadmin version -o short` prints there.
	KubeadminVersion string

	// AdminConf, KubeletConf and BootstrapKubeletConf tell whether
	// /etc/kubernetes/{admin.conf,kubelet.conf,bootstrap-kubelet.conf}
	// exist; StaticPods whether /etc/kubernetes/manifests holds a *.yaml.
	AdminConf, KubeletConf, BootstrapKubeletConf, StaticPods bool
	// KubeadminLeftovers are the files of an init or join that exist: the
	// above, the other kubeconfigs, the CA, the kubelet's configuration,
	// etcd's data. Empty on a bare host.
	KubeadminLeftovers []string

	// IPForward is true when net.ipv4.ip_forward is 1 (kubeadm's preflight
	// requires it).
	IPForward bool
	// BundleImages maps each image imported from a bundle to the SHA-256
	// of its tarball (the BundleLabel), when containerd runs.
	BundleImages map[string]string
}

// Debian packages and what each provides.
const (
	pkgContainerd = "containerd"
	pkgRunc       = "runc"
	pkgCNI        = "containernetworking-plugins"
	pkgIptables   = "iptables"
)

// runtimeCommands maps each command the runtime needs to its package (ctr
// comes with containerd).
var runtimeCommands = []struct{ command, pkg string }{
	{"containerd", pkgContainerd},
	{"ctr", pkgContainerd},
	{"runc", pkgRunc},
	{"iptables", pkgIptables},
}

// cniPlugins are the plugins kubeadmin's pod network uses (bridge with
// host-local IPAM, portmap), all in containernetworking-plugins.
var cniPlugins = []string{"bridge", "host-local", "portmap"}

// leftoverFiles are the files whose presence means an init or a join ran
// (or half ran) on the host.
var leftoverFiles = []string{
	path.Join(constants.KubernetesDir, constants.AdminKubeConfigFile),
	path.Join(constants.KubernetesDir, constants.SuperAdminKubeConfigFile),
	path.Join(constants.KubernetesDir, constants.KubeletKubeConfigFile),
	path.Join(constants.KubernetesDir, constants.KubeletBootstrapKubeConfigFile),
	path.Join(constants.KubernetesDir, constants.ControllerManagerKubeConfigFile),
	path.Join(constants.KubernetesDir, constants.SchedulerKubeConfigFile),
	constants.DefaultCACertPath,
	path.Join(constants.KubeletRunDir, constants.KubeletConfigFile),
	path.Join(constants.DefaultEtcdDataDir, "member"),
}

// GatherFacts learns the host's facts with one remote command.
func GatherFacts(ctx context.Context, r remote.Runner) (*Facts, error) {
	return gatherFacts(ctx, r, "")
}

// gatherFacts runs the facts script with every host path below root.
func gatherFacts(ctx context.Context, r remote.Runner, root string) (*Facts, error) {
	out, err := r.Run(ctx, "sh -s # facts", remote.RunOptions{Stdin: strings.NewReader(factsCommand(root)), Timeout: FactsTimeout})
	if err != nil {
		return nil, stepError(r, "gather facts", err)
	}
	f, err := ParseFacts(out.Stdout)
	if err != nil {
		return nil, stepError(r, "gather facts", err)
	}
	return f, nil
}

// factsCommand is the facts script with its settings in front.
func factsCommand(root string) string {
	var cmds []string
	for _, c := range runtimeCommands {
		cmds = append(cmds, c.command)
	}
	vars := []struct{ k, v string }{
		{"R", root},
		{"KUBEADMIN", RemoteKubeadmin},
		{"SOCK", ContainerdSocket},
		{"CNI_DIR", CNIBinDir},
		{"CNI_PLUGINS", strings.Join(cniPlugins, " ")},
		{"COMMANDS", strings.Join(cmds, " ")},
		{"FILES", strings.Join(leftoverFiles, " ")},
		{"MANIFESTS", constants.DefaultManifestsDir},
		{"IP_FORWARD", IPForwardSysctl},
		{"VERSION_TIMEOUT", versionTimeout},
	}
	var b strings.Builder
	for _, kv := range vars {
		fmt.Fprintf(&b, "%s=%s\n", kv.k, shellQuote(kv.v))
	}
	b.WriteString(remote.SHA256Func)
	b.WriteString(factsScript)
	return b.String()
}

// ParseFacts reads the output of the facts script.
func ParseFacts(out string) (*Facts, error) {
	f := &Facts{BundleImages: map[string]string{}}
	commands := map[string]bool{}
	cni := map[string]bool{}
	complete := false
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			continue
		}
		switch k {
		case "os_id":
			f.OSID = unquoteOSRelease(v)
		case "os_version":
			f.OSVersion = unquoteOSRelease(v)
		case "os_like":
			f.OSLike = unquoteOSRelease(v)
		case "arch":
			f.Arch = v
		case "hostname":
			f.Hostname = v
		case "systemd":
			f.Systemd = true
		case "command":
			commands[v] = true
		case "cni":
			cni[v] = true
		case "containerd_version":
			// "containerd github.com/containerd/containerd 1.6.20~ds1 <commit>"
			if fs := strings.Fields(v); len(fs) >= 3 {
				f.ContainerdVersion = fs[2]
			} else {
				f.ContainerdVersion = v
			}
		case "containerd_enabled":
			f.ContainerdEnabled = true
		case "containerd_running":
			f.ContainerdRunning = true
		case "image":
			if ref, sum, ok := parseImageLine(v); ok {
				f.BundleImages[ref] = sum
			}
		case "kubeadmin_sha256":
			f.KubeadminSHA256 = v
		case "kubeadmin_version":
			f.KubeadminVersion = strings.TrimSpace(v)
		case "file":
			f.KubeadminLeftovers = append(f.KubeadminLeftovers, v)
			switch {
			case v == path.Join(constants.KubernetesDir, constants.AdminKubeConfigFile):
				f.AdminConf = true
			case v == path.Join(constants.KubernetesDir, constants.KubeletKubeConfigFile):
				f.KubeletConf = true
			case v == path.Join(constants.KubernetesDir, constants.KubeletBootstrapKubeConfigFile):
				f.BootstrapKubeletConf = true
			case path.Dir(v) == constants.DefaultManifestsDir:
				f.StaticPods = true
			}
		case "ip_forward":
			f.IPForward = strings.TrimSpace(v) == "1"
		case "end":
			complete = true
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading the facts: %w", err)
	}
	if !complete || f.Arch == "" {
		return nil, errors.New("the facts script's output is incomplete (no end marker or no arch): is the host's /bin/sh a POSIX shell?")
	}
	f.ContainerdInstalled = commands["containerd"]
	for _, c := range runtimeCommands {
		if !commands[c.command] && !slices.Contains(f.MissingPackages, c.pkg) {
			f.MissingPackages = append(f.MissingPackages, c.pkg)
		}
	}
	for _, p := range cniPlugins {
		if !cni[p] {
			f.MissingPackages = append(f.MissingPackages, pkgCNI)
			break
		}
	}
	// Install order: the runtime first, as in the documented apt-get line.
	order := []string{pkgContainerd, pkgRunc, pkgCNI, pkgIptables}
	slices.SortFunc(f.MissingPackages, func(a, b string) int { return slices.Index(order, a) - slices.Index(order, b) })
	return f, nil
}

// unquoteOSRelease strips the quotes os-release(5) allows around a value.
func unquoteOSRelease(v string) string {
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		v = v[1 : len(v)-1]
	}
	return strings.ReplaceAll(v, `\`, "")
}

// parseImageLine reads one line of `ctr images ls` (REF TYPE DIGEST SIZE
// PLATFORMS LABELS) and returns the image's reference and BundleLabel.
func parseImageLine(line string) (ref, sum string, ok bool) {
	fs := strings.Fields(line)
	if len(fs) < 2 {
		return "", "", false
	}
	labels := fs[len(fs)-1]
	for _, l := range strings.Split(labels, ",") {
		if k, v, found := strings.Cut(l, "="); found && k == BundleLabel {
			return fs[0], v, true
		}
	}
	return "", "", false
}

// SupportsApt tells whether kubeadmin may install packages on the host:
// Debian, Ubuntu, and the distributions that name one of them in ID_LIKE.
func (f *Facts) SupportsApt() bool {
	for _, id := range append([]string{f.OSID}, strings.Fields(f.OSLike)...) {
		if id == "debian" || id == "ubuntu" {
			return true
		}
	}
	return false
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
