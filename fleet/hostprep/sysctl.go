package hostprep

import (
	"context"

	"github.com/kubeadmin/kubeadmin/fleet/remote"
)

// SysctlFile persists the kernel settings kubeadmin needs across reboots.
const SysctlFile = "/etc/sysctl.d/99-kubeadmin.conf"

// sysctlConfig is SysctlFile's content.
const sysctlConfig = "# written by kubeadmin fleet: kubeadm's preflight requires it\nnet.ipv4.ip_forward = 1\n"

// EnsureIPForward turns on net.ipv4.ip_forward (kubeadm's preflight fails
// without it) now and at boot, when the facts say it is off.
func EnsureIPForward(ctx context.Context, r remote.Runner, f *Facts) (changed bool, err error) {
	if f.IPForward {
		return false, nil
	}
	if _, err := writeFileIfChanged(ctx, r, SysctlFile, []byte(sysctlConfig), configMode); err != nil {
		return false, stepError(r, "write "+SysctlFile, err)
	}
	cmd := "echo 1 >" + shellQuote(IPForwardSysctl)
	if _, err := r.Run(ctx, cmd, remote.RunOptions{Timeout: shortTimeout}); err != nil {
		return true, stepError(r, "turn on net.ipv4.ip_forward", err)
	}
	return true, nil
}
