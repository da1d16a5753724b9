package hostprep

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/kubeadmin/kubeadmin/fleet/remote"
)

// containerdConfigTemplate is the one source of containerd's configuration:
// hack/containerd.sh renders the same file.
//
//go:embed containerd-config.toml
var containerdConfigTemplate string

// sandboxPlaceholder is replaced by the pause image in the template.
const sandboxPlaceholder = "@SANDBOX_IMAGE@"

// configMode is the mode of written configuration files.
const configMode = 0o644

// RenderContainerdConfig returns /etc/containerd/config.toml for the given
// pause image: CRI on, the CNI plugins where Debian puts them, runc v2.
func RenderContainerdConfig(sandboxImage string) []byte {
	return []byte(strings.ReplaceAll(containerdConfigTemplate, sandboxPlaceholder, sandboxImage))
}

// checkImageRef refuses what cannot go into the TOML string or a command.
func checkImageRef(ref string) error {
	if ref == "" || strings.ContainsAny(ref, "\"'\\ \t\r\n$`") {
		return fmt.Errorf("invalid sandbox image %q: want an image reference like %s", ref, DefaultSandboxImage)
	}
	return nil
}

// EnsureContainerd makes containerd run on the host with kubeadmin's
// configuration: it installs the missing packages (Debian and Ubuntu only,
// from the host's own package sources), writes ContainerdConfigFile when
// it differs, and (re)starts containerd when the configuration changed or
// it does not run, then waits until it answers. An empty sandboxImage means
// DefaultSandboxImage.
func EnsureContainerd(ctx context.Context, r remote.Runner, f *Facts, sandboxImage string) (changed bool, err error) {
	if sandboxImage == "" {
		sandboxImage = DefaultSandboxImage
	}
	if err := checkImageRef(sandboxImage); err != nil {
		return false, stepError(r, "configure containerd", err)
	}
	if len(f.MissingPackages) > 0 {
		if !f.SupportsApt() {
			return false, stepError(r, "install containerd", fmt.Errorf(
				"the host runs %s %s, and kubeadmin installs the container runtime only on Debian and Ubuntu; "+
					"install %s (containerd, runc, the CNI plugins bridge, host-local and portmap in %s, iptables) with the host's package manager, then run apply again",
				osName(f), f.OSVersion, strings.Join(f.MissingPackages, ", "), CNIBinDir))
		}
		if _, err := r.Run(ctx, aptInstallCommand(f.MissingPackages), remote.RunOptions{Timeout: InstallTimeout}); err != nil {
			return false, stepError(r, "install containerd (apt-get, from the host's package sources)", err)
		}
		changed = true
	}
	wrote, err := writeFileIfChanged(ctx, r, ContainerdConfigFile, RenderContainerdConfig(sandboxImage), configMode)
	if err != nil {
		return changed, stepError(r, "write "+ContainerdConfigFile, err)
	}
	// A fresh install under systemd starts containerd with the package's
	// configuration: restart it with ours.
	restart := wrote || changed
	if !restart && f.ContainerdRunning && (!f.Systemd || f.ContainerdEnabled) {
		return changed || wrote, nil
	}
	if _, err := r.Run(ctx, "sh -s # start containerd", remote.RunOptions{Stdin: strings.NewReader(startContainerdScript(f.Systemd, restart)), Timeout: ContainerdStartTimeout}); err != nil {
		return true, stepError(r, "start containerd", err)
	}
	return true, nil
}

func osName(f *Facts) string {
	if f.OSID == "" {
		return "an unknown OS (no /etc/os-release)"
	}
	return f.OSID
}

// aptInstallCommand installs pkgs without prompts. When the package lists
// are missing (a fresh image) or stale (the install fails), it updates them
// from the host's configured sources first.
func aptInstallCommand(pkgs []string) string {
	install := "apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends " + strings.Join(pkgs, " ")
	update := "apt-get -o DPkg::Lock::Timeout=300 update -qq"
	return "export DEBIAN_FRONTEND=noninteractive; " +
		"if ! ls /var/lib/apt/lists/*_Packages* >/dev/null 2>&1; then " + update + "; fi; " +
		install + " || { " + update + " && " + install + "; }"
}

// writeFileIfChanged writes data to p (through a temporary file, renamed)
// unless p already holds it; one command either way.
func writeFileIfChanged(ctx context.Context, r remote.Runner, p string, data []byte, mode uint32) (bool, error) {
	q := shellQuote(p)
	tmp := shellQuote(path.Join(path.Dir(p), "."+path.Base(p)+".kubeadmin-tmp"))
	script := strings.Join([]string{
		"set -e",
		"mkdir -p " + shellQuote(path.Dir(p)),
		"cat >" + tmp,
		"if cmp -s " + tmp + " " + q + "; then rm -f " + tmp + "; echo unchanged; exit 0; fi",
		"chmod " + strconv.FormatUint(uint64(mode), 8) + " " + tmp,
		"sync " + tmp + " 2>/dev/null || true",
		"mv -f " + tmp + " " + q,
		"echo written",
	}, "; ")
	out, err := r.Run(ctx, script, remote.RunOptions{Stdin: bytes.NewReader(data), Timeout: shortTimeout})
	if err != nil {
		return false, err
	}
	return strings.TrimSpace(out.Stdout) == "written", nil
}

// startContainerdScript (re)starts containerd and waits until it answers.
// Under systemd it enables and (re)starts the unit; elsewhere it starts
// containerd in its own session, logging to ContainerdLogFile, after
// stopping one that kubeadmin started before (its pid file) when restart
// is set. A containerd that someone else started is never killed.
func startContainerdScript(systemd, restart bool) string {
	return startScript(systemd, restart, ContainerdSocket, ContainerdPidFile, ContainerdLogFile)
}

// startScript is startContainerdScript with its paths (tests move them).
func startScript(systemd, restart bool, sock, pidFile, logFile string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "set -e\nSOCK=%s\nPIDFILE=%s\nLOG=%s\n", shellQuote(sock), shellQuote(pidFile), shellQuote(logFile))
	b.WriteString(`up() { [ -S "$SOCK" ] && ctr -a "$SOCK" --connect-timeout 1s version >/dev/null 2>&1; }` + "\n")
	if systemd {
		fmt.Fprintf(&b, "systemctl enable --quiet %s\n", ContainerdUnit)
		if restart {
			fmt.Fprintf(&b, "systemctl restart %s\n", ContainerdUnit)
		} else {
			fmt.Fprintf(&b, "systemctl start %s\n", ContainerdUnit)
		}
	} else {
		b.WriteString(`p=$(cat "$PIDFILE" 2>/dev/null || true)` + "\n")
		b.WriteString(`ours() { [ -n "$p" ] && [ "$(cat /proc/$p/comm 2>/dev/null)" = containerd ]; }` + "\n")
		if restart {
			b.WriteString(`if ours; then kill -TERM "$p"; i=0; while [ -d /proc/$p ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; fi` + "\n")
			fmt.Fprintf(&b, `if ! ours && up; then echo "containerd runs on this host but was started neither by kubeadmin (no $PIDFILE) nor by systemd: restart it yourself so that it reads %s" >&2; exit 1; fi`+"\n", ContainerdConfigFile)
		}
		b.WriteString(`if ! up; then
  mkdir -p "$(dirname "$LOG")" "$(dirname "$PIDFILE")"
  PIDFILE="$PIDFILE" setsid -f sh -c 'echo $$ >"$PIDFILE"; exec containerd' </dev/null >>"$LOG" 2>&1
fi
`)
	}
	fmt.Fprintf(&b, "i=0; until up; do\n  i=$((i+1)); if [ $i -ge %d ]; then echo \"containerd does not answer on $SOCK after %d s\" >&2; ", 2*containerdWaitSeconds, containerdWaitSeconds)
	if systemd {
		fmt.Fprintf(&b, "systemctl status --no-pager %s >&2 || true; ", ContainerdUnit)
	} else {
		b.WriteString(`tail -n 20 "$LOG" >&2 || true; `)
	}
	b.WriteString("exit 1; fi\n  sleep 0.5\ndone\n")
	return b.String()
}
