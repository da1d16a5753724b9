package preflight

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/version"

	"github.com/kubeadmin/kubeadmin/internal/constants"
	"github.com/kubeadmin/kubeadmin/internal/hostinfo"
)

// Canonical /proc paths; the checks read them below Host.ProcDir.
const (
	procIPv4Forward = "/proc/sys/net/ipv4/ip_forward"
	procIPv6Forward = "/proc/sys/net/ipv6/conf/default/forwarding"
	procSwaps       = "/proc/swaps"
	procMeminfo     = hostinfo.ProcMeminfo
)

// procPath maps a canonical /proc path below h.ProcDir.
func (h Host) procPath(canonical string) string {
	return filepath.Join(h.ProcDir, strings.TrimPrefix(canonical, "/proc"))
}

// privilegedUserCheck fails unless the user is root.
func privilegedUserCheck(h Host) Checker {
	return Check{Label: "IsPrivilegedUser", Run: func() (_, errs []error) {
		if h.Getuid() != 0 {
			return nil, []error{errors.New("user is not running as root")}
		}
		return nil, nil
	}}
}

// numCPUCheck fails with fewer than min CPUs.
func numCPUCheck(h Host, min int) Checker {
	return Check{Label: "NumCPU", Run: func() (_, errs []error) {
		if n := h.NumCPU(); n < min {
			return nil, []error{fmt.Errorf("the number of available CPUs %d is less than the required %d", n, min)}
		}
		return nil, nil
	}}
}

// memCheck fails with less than minMB megabytes of RAM (MemTotal).
func memCheck(h Host, minMB uint64) Checker {
	return Check{Label: "Mem", Run: func() (_, errs []error) {
		path := h.procPath(procMeminfo)
		bytes, err := hostinfo.MemTotal(path)
		mb := uint64(bytes) >> 20
		if err != nil {
			return nil, []error{fmt.Errorf("failed to read the system RAM from %q: %w", path, err)}
		}
		if mb < minMB {
			return nil, []error{fmt.Errorf("the system RAM (%d MB) is less than the minimum %d MB", mb, minMB)}
		}
		return nil, nil
	}}
}

// swapCheck warns when /proc/swaps lists a swap device.
func swapCheck(h Host) Checker {
	return Check{Label: "Swap", Run: func() (warnings, _ []error) {
		data, err := os.ReadFile(h.procPath(procSwaps))
		if err != nil {
			return nil, nil // no /proc/swaps: nothing to warn about
		}
		lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		if len(lines) > 1 { // the first line is the header
			return []error{errors.New("swap is supported for cgroup v2 only. " +
				"The kubelet must be properly configured to use swap. Please refer to " +
				"https://kubernetes.io/docs/concepts/architecture/nodes/#swap-memory, or disable swap on the node")}, nil
		}
		return nil, nil
	}}
}

// kubernetesVersionCheck warns when the target version is newer than the
// minor release kubeadmin implements.
func kubernetesVersionCheck(target string) Checker {
	return Check{Label: "KubernetesVersion", Run: func() (warnings, errs []error) {
		if target == constants.DefaultKubernetesVersionLabel || target == "" {
			target = constants.KubernetesVersion // kubeadmin resolves the label offline
		}
		v, err := version.ParseSemantic(target)
		if err != nil {
			return nil, []error{fmt.Errorf("failed to parse kubernetesVersion %q: %w; use a version such as %q", target, err, constants.KubernetesVersion)}
		}
		own := version.MustParseSemantic(constants.KubernetesVersion)
		firstUnsupported := version.MustParseSemantic(fmt.Sprintf("%d.%d.0-0", own.Major(), own.Minor()+1))
		if v.AtLeast(firstUnsupported) {
			return []error{fmt.Errorf("Kubernetes version is greater than kubeadm version. Please consider to upgrade kubeadm. "+
				"Kubernetes version: %s. Kubeadm version: %d.%d.x", v, own.Major(), own.Minor())}, nil
		}
		return nil, nil
	}}
}

// portCheck fails when nothing can listen on address:port (address ""
// means every address).
func portCheck(h Host, address string, port int) Checker {
	return Check{Label: fmt.Sprintf("Port-%d", port), Run: func() (warnings, errs []error) {
		addr := net.JoinHostPort(address, strconv.Itoa(port))
		ln, err := h.Listen("tcp", addr)
		if errors.Is(err, syscall.EADDRNOTAVAIL) {
			return nil, []error{fmt.Errorf("Port %d cannot be opened: the address %q is not assigned to this host; "+
				"check the advertise address and the bind-address extraArgs", port, address)}
		}
		if err != nil {
			return nil, []error{fmt.Errorf("Port %d is in use", port)}
		}
		if err := ln.Close(); err != nil {
			return []error{fmt.Errorf("when closing port %d, encountered %v", port, err)}, nil
		}
		return nil, nil
	}}
}

// fileAvailableCheck fails when path exists.
func fileAvailableCheck(path, label string) Checker {
	if label == "" {
		label = pathCheckName("FileAvailable", path)
	}
	return Check{Label: label, Run: func() (_, errs []error) {
		if _, err := os.Stat(path); err == nil {
			return nil, []error{fmt.Errorf("%s already exists", path)}
		}
		return nil, nil
	}}
}

// fileExistingCheck fails when path does not exist.
func fileExistingCheck(path, label string) Checker {
	if label == "" {
		label = pathCheckName("FileExisting", path)
	}
	return Check{Label: label, Run: func() (_, errs []error) {
		if _, err := os.Stat(path); err != nil {
			return nil, []error{fmt.Errorf("%s doesn't exist", path)}
		}
		return nil, nil
	}}
}

// dirAvailableCheck fails when path is a directory that is not empty.
func dirAvailableCheck(path string) Checker {
	return Check{Label: pathCheckName("DirAvailable", path), Run: func() (_, errs []error) {
		f, err := os.Open(path)
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		if err != nil {
			return nil, []error{fmt.Errorf("unable to check if %s is empty: %w", path, err)}
		}
		defer f.Close()
		if _, err := f.Readdirnames(1); err != io.EOF {
			return nil, []error{fmt.Errorf("%s is not empty", path)}
		}
		return nil, nil
	}}
}

// forwardingCheck fails unless the /proc file canonical (read below
// h.ProcDir) starts with "1". sysctl names the setting in the hint.
func forwardingCheck(h Host, canonical, sysctl string) Checker {
	path := h.procPath(canonical)
	return Check{Label: pathCheckName("FileContent", canonical), Run: func() (_, errs []error) {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, []error{fmt.Errorf("%s does not exist", path)}
		}
		if !bytes.HasPrefix(data, []byte("1")) {
			return nil, []error{fmt.Errorf("%s contents are not set to 1; enable forwarding with \"sysctl -w %s=1\"", path, sysctl)}
		}
		return nil, nil
	}}
}

// ipv4ForwardCheck requires net.ipv4.ip_forward=1.
func ipv4ForwardCheck(h Host) Checker {
	return forwardingCheck(h, procIPv4Forward, "net.ipv4.ip_forward")
}

// ipv6ForwardCheck requires net.ipv6.conf.default.forwarding=1.
func ipv6ForwardCheck(h Host) Checker {
	return forwardingCheck(h, procIPv6Forward, "net.ipv6.conf.default.forwarding")
}

// inPathCheck fails when executable is not in PATH.
func inPathCheck(h Host, executable string) Checker {
	return Check{Label: pathCheckName("FileExisting", executable), Run: func() (_, errs []error) {
		if _, err := h.LookPath(executable); err != nil {
			return nil, []error{fmt.Errorf("%s not found in system path", executable)}
		}
		return nil, nil
	}}
}

// hostnameCheck warns when the node name is not a DNS-1123 subdomain or
// does not resolve within h.LookupTimeout.
func hostnameCheck(h Host, nodeName string) Checker {
	return Check{Label: "Hostname", Run: func() (warnings, _ []error) {
		for _, msg := range validation.IsDNS1123Subdomain(nodeName) {
			warnings = append(warnings, fmt.Errorf("invalid node name format %q: %s", nodeName, msg))
		}
		ctx, cancel := context.WithTimeout(context.Background(), h.LookupTimeout)
		defer cancel()
		addrs, err := h.LookupHost(ctx, nodeName)
		if len(addrs) == 0 {
			warnings = append(warnings, fmt.Errorf("hostname \"%s\" could not be reached", nodeName))
		}
		if err != nil {
			warnings = append(warnings, fmt.Errorf("hostname \"%s\": %w", nodeName, err))
		}
		return warnings, nil
	}}
}

// httpProxyCheck warns when an https connection to host would go through
// a proxy.
func httpProxyCheck(h Host, host string) Checker {
	return Check{Label: "HTTPProxy", Run: func() (warnings, errs []error) {
		if host == "" {
			return nil, nil
		}
		u := &url.URL{Scheme: "https", Host: host}
		if ip := net.ParseIP(host); ip != nil && ip.To4() == nil {
			u.Host = net.JoinHostPort(host, "1234")
		}
		proxy, err := h.Proxy(u)
		if err != nil {
			return nil, []error{fmt.Errorf("failed to read the proxy settings for %q: %w", u, err)}
		}
		if proxy != nil {
			return []error{fmt.Errorf("Connection to %q uses proxy %q. If that is not intended, adjust your proxy settings", u, proxy)}, nil
		}
		return nil, nil
	}}
}

// httpProxyCIDRCheck warns when an https connection to the first address
// of cidr would go through a proxy. An empty cidr passes.
func httpProxyCIDRCheck(h Host, cidr string) Checker {
	return Check{Label: "HTTPProxyCIDR", Run: func() (warnings, errs []error) {
		cidr = strings.TrimSpace(cidr)
		if cidr == "" {
			return nil, nil
		}
		_, ipnet, err := net.ParseCIDR(cidr)
		if err != nil {
			return nil, []error{fmt.Errorf("failed to parse CIDR %q: %w", cidr, err)}
		}
		first := firstAddress(ipnet)
		u := &url.URL{Scheme: "https", Host: net.JoinHostPort(first.String(), "1234"), Path: "/"}
		proxy, err := h.Proxy(u)
		if err != nil {
			return nil, []error{fmt.Errorf("failed to read the proxy settings for %q: %w", u, err)}
		}
		if proxy != nil {
			return []error{fmt.Errorf("connection to %q uses proxy %q. This may lead to malfunctional cluster setup. "+
				"Make sure that Pod and Services IP ranges specified correctly as exceptions in proxy configuration", cidr, proxy)}, nil
		}
		return nil, nil
	}}
}

// firstAddress returns the network address of n plus one.
func firstAddress(n *net.IPNet) net.IP {
	ip := make(net.IP, len(n.IP))
	copy(ip, n.IP)
	for i := len(ip) - 1; i >= 0; i-- {
		ip[i]++
		if ip[i] != 0 {
			break
		}
	}
	return ip
}
