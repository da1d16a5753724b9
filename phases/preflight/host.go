package preflight

import (
	"context"
	"net"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"time"

	"golang.org/x/net/http/httpproxy"

	"github.com/kubeadmin/kubeadmin/internal/constants"
)

// Host is how the checks see the machine. The zero value is the real
// machine; tests replace single fields.
type Host struct {
	// ProcDir is where procfs is mounted ("/proc").
	ProcDir string
	// Getuid returns the user id (os.Getuid).
	Getuid func() int
	// NumCPU returns the usable CPUs (runtime.NumCPU).
	NumCPU func() int
	// LookPath finds an executable in PATH (exec.LookPath).
	LookPath func(file string) (string, error)
	// Listen opens a listener (net.Listen).
	Listen func(network, address string) (net.Listener, error)
	// LookupHost resolves a host name (net.DefaultResolver.LookupHost).
	LookupHost func(ctx context.Context, host string) ([]string, error)
	// Proxy returns the proxy for a URL, or nil for a direct connection
	// (HTTP_PROXY, HTTPS_PROXY and NO_PROXY, read at each call).
	Proxy func(u *url.URL) (*url.URL, error)
	// CRI connects to a container runtime endpoint (the node agent's CRI
	// client).
	CRI func(endpoint string) (CRIClient, error)
	// CRITimeout bounds each container runtime call, dial included.
	CRITimeout time.Duration
	// LookupTimeout bounds the Hostname check's name lookup.
	LookupTimeout time.Duration
}

// withDefaults fills every unset field with the real machine's.
func (h Host) withDefaults() Host {
	if h.ProcDir == "" {
		h.ProcDir = "/proc"
	}
	if h.Getuid == nil {
		h.Getuid = os.Getuid
	}
	if h.NumCPU == nil {
		h.NumCPU = runtime.NumCPU
	}
	if h.LookPath == nil {
		h.LookPath = exec.LookPath
	}
	if h.Listen == nil {
		h.Listen = net.Listen
	}
	if h.LookupHost == nil {
		h.LookupHost = net.DefaultResolver.LookupHost
	}
	if h.Proxy == nil {
		h.Proxy = func(u *url.URL) (*url.URL, error) {
			return httpproxy.FromEnvironment().ProxyFunc()(u)
		}
	}
	if h.CRI == nil {
		h.CRI = dialCRI
	}
	if h.CRITimeout == 0 {
		h.CRITimeout = constants.PreflightCRITimeout
	}
	if h.LookupTimeout == 0 {
		h.LookupTimeout = constants.PreflightHostnameLookupTimeout
	}
	return h
}
