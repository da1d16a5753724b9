package preflight

import (
	"context"
	"errors"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// outcome is what a check reported, as strings.
type outcome struct{ warnings, errors []string }

func run(c Checker) outcome {
	w, e := c.Check()
	var o outcome
	for _, x := range w {
		o.warnings = append(o.warnings, x.Error())
	}
	for _, x := range e {
		o.errors = append(o.errors, x.Error())
	}
	return o
}

// expect compares an outcome with the wanted substrings: each wanted
// message must be contained in the reported one at the same position.
func expect(t *testing.T, got outcome, warnings, errs []string) {
	t.Helper()
	match := func(kind string, got, want []string) {
		if len(got) != len(want) {
			t.Errorf("%s = %q, want %d matching %q", kind, got, len(want), want)
			return
		}
		for i := range want {
			if !strings.Contains(got[i], want[i]) {
				t.Errorf("%s[%d] = %q, want it to contain %q", kind, i, got[i], want[i])
			}
		}
	}
	match("warnings", got.warnings, warnings)
	match("errors", got.errors, errs)
}

// procWith makes a fake /proc with the given files (relative paths).
func procWith(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestPrivilegedUserCheck(t *testing.T) {
	tests := []struct {
		uid  int
		errs []string
	}{
		{0, nil},
		{1000, []string{"user is not running as root"}},
	}
	for _, tt := range tests {
		h := Host{Getuid: func() int { return tt.uid }}.withDefaults()
		c := privilegedUserCheck(h)
		if c.Name() != "IsPrivilegedUser" {
			t.Errorf("name = %q", c.Name())
		}
		expect(t, run(c), nil, tt.errs)
	}
}

func TestNumCPUCheck(t *testing.T) {
	tests := []struct {
		cpus int
		errs []string
	}{
		{2, nil},
		{8, nil},
		{1, []string{"the number of available CPUs 1 is less than the required 2"}},
	}
	for _, tt := range tests {
		h := Host{NumCPU: func() int { return tt.cpus }}.withDefaults()
		expect(t, run(numCPUCheck(h, 2)), nil, tt.errs)
	}
}

func TestMemCheck(t *testing.T) {
	tests := []struct {
		name    string
		meminfo *string
		errs    []string
	}{
		{"enough", ptr("MemTotal:       24591668 kB\nMemFree: 1 kB\n"), nil},
		{"exactly the minimum", ptr("MemFree: 1 kB\nMemTotal: 1740800 kB\n"), nil},
		{"too little", ptr("MemTotal: 1048576 kB\n"), []string{"the system RAM (1024 MB) is less than the minimum 1700 MB"}},
		{"no MemTotal", ptr("MemFree: 1 kB\n"), []string{"no MemTotal line"}},
		{"bad value", ptr("MemTotal: lots kB\n"), []string{`invalid MemTotal value "lots"`}},
		{"no meminfo", nil, []string{"failed to read the system RAM"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{}
			if tt.meminfo != nil {
				files["meminfo"] = *tt.meminfo
			}
			h := Host{ProcDir: procWith(t, files)}.withDefaults()
			expect(t, run(memCheck(h, 1700)), nil, tt.errs)
		})
	}
}

func ptr(s string) *string { return &s }

func TestSwapCheck(t *testing.T) {
	const header = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
	tests := []struct {
		name     string
		swaps    *string
		warnings []string
	}{
		{"header only", ptr(header), nil},
		{"no /proc/swaps", nil, nil},
		{"swap on", ptr(header + "/swapfile file 1048572 0 -2\n"), []string{"swap is supported for cgroup v2 only"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{}
			if tt.swaps != nil {
				files["swaps"] = *tt.swaps
			}
			h := Host{ProcDir: procWith(t, files)}.withDefaults()
			expect(t, run(swapCheck(h)), tt.warnings, nil)
		})
	}
}

func TestKubernetesVersionCheck(t *testing.T) {
	tests := []struct {
		version        string
		warnings, errs []string
	}{
		{"v1.37.2", nil, nil},
		{"v1.37.9", nil, nil},
		{"v1.36.0", nil, nil},
		{"stable-1", nil, nil},
		{"", nil, nil},
		{"v1.38.0-alpha.1", []string{"Kubernetes version is greater than kubeadm version. Please consider to upgrade kubeadm. Kubernetes version: 1.38.0-alpha.1. Kubeadm version: 1.37.x"}, nil},
		{"v2.0.0", []string{"Kubernetes version: 2.0.0"}, nil},
		{"banana", nil, []string{`failed to parse kubernetesVersion "banana"`}},
	}
	for _, tt := range tests {
		t.Run(tt.version, func(t *testing.T) {
			expect(t, run(kubernetesVersionCheck(tt.version)), tt.warnings, tt.errs)
		})
	}
}

func TestPortCheck(t *testing.T) {
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	heldPort := held.Addr().(*net.TCPAddr).Port

	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	freePort := free.Addr().(*net.TCPAddr).Port
	free.Close()

	var asked []string
	recording := func(network, address string) (net.Listener, error) {
		asked = append(asked, address)
		return net.Listen(network, address)
	}
	tests := []struct {
		name     string
		address  string
		port     int
		wantAddr string
		errs     []string
	}{
		{"held port on all addresses", "", heldPort, net.JoinHostPort("", itoa(heldPort)), []string{"Port " + itoa(heldPort) + " is in use"}},
		{"held port on its address", "127.0.0.1", heldPort, net.JoinHostPort("127.0.0.1", itoa(heldPort)), []string{"is in use"}},
		{"free port", "127.0.0.1", freePort, net.JoinHostPort("127.0.0.1", itoa(freePort)), nil},
		{"address not on this host", "192.0.2.1", freePort, net.JoinHostPort("192.0.2.1", itoa(freePort)),
			[]string{`Port ` + itoa(freePort) + ` cannot be opened: the address "192.0.2.1" is not assigned to this host`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			asked = nil
			h := Host{Listen: recording}.withDefaults()
			c := portCheck(h, tt.address, tt.port)
			if c.Name() != "Port-"+itoa(tt.port) {
				t.Errorf("name = %q", c.Name())
			}
			expect(t, run(c), nil, tt.errs)
			if len(asked) != 1 || asked[0] != tt.wantAddr {
				t.Errorf("listened on %q, want %q", asked, tt.wantAddr)
			}
		})
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestFileAndDirChecks(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "etcd.yaml")
	if err := os.WriteFile(existing, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "kube-apiserver.yaml")
	empty := filepath.Join(dir, "empty")
	full := filepath.Join(dir, "full")
	for _, d := range []string{empty, full} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(full, "member"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		check Checker
		label string
		errs  []string
	}{
		{"file available: missing", fileAvailableCheck(missing, ""), pathCheckName("FileAvailable", missing), nil},
		{"file available: exists", fileAvailableCheck(existing, ""), pathCheckName("FileAvailable", existing), []string{existing + " already exists"}},
		{"file existing: exists", fileExistingCheck(existing, "ExternalEtcdClientCertificates"), "ExternalEtcdClientCertificates", nil},
		{"file existing: missing", fileExistingCheck(missing, ""), pathCheckName("FileExisting", missing), []string{missing + " doesn't exist"}},
		{"dir available: missing", dirAvailableCheck(filepath.Join(dir, "nope")), pathCheckName("DirAvailable", filepath.Join(dir, "nope")), nil},
		{"dir available: empty", dirAvailableCheck(empty), pathCheckName("DirAvailable", empty), nil},
		{"dir available: not empty", dirAvailableCheck(full), pathCheckName("DirAvailable", full), []string{full + " is not empty"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.check.Name() != tt.label {
				t.Errorf("name = %q, want %q", tt.check.Name(), tt.label)
			}
			expect(t, run(tt.check), nil, tt.errs)
		})
	}
}

func TestForwardingChecks(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		v6    bool
		label string
		errs  []string
	}{
		{"ipv4 on", map[string]string{"sys/net/ipv4/ip_forward": "1\n"}, false, "FileContent--proc-sys-net-ipv4-ip_forward", nil},
		{"ipv4 off", map[string]string{"sys/net/ipv4/ip_forward": "0\n"}, false, "FileContent--proc-sys-net-ipv4-ip_forward",
			[]string{`contents are not set to 1; enable forwarding with "sysctl -w net.ipv4.ip_forward=1"`}},
		{"ipv4 missing", nil, false, "FileContent--proc-sys-net-ipv4-ip_forward", []string{"ip_forward does not exist"}},
		{"ipv6 on", map[string]string{"sys/net/ipv6/conf/default/forwarding": "1\n"}, true, "FileContent--proc-sys-net-ipv6-conf-default-forwarding", nil},
		{"ipv6 off", map[string]string{"sys/net/ipv6/conf/default/forwarding": "0\n"}, true, "FileContent--proc-sys-net-ipv6-conf-default-forwarding",
			[]string{"net.ipv6.conf.default.forwarding=1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := Host{ProcDir: procWith(t, tt.files)}.withDefaults()
			c := ipv4ForwardCheck(h)
			if tt.v6 {
				c = ipv6ForwardCheck(h)
			}
			if c.Name() != tt.label {
				t.Errorf("name = %q, want %q", c.Name(), tt.label)
			}
			expect(t, run(c), nil, tt.errs)
		})
	}
}

func TestInPathCheck(t *testing.T) {
	lookPath := func(file string) (string, error) {
		if file == "mount" {
			return "/usr/bin/mount", nil
		}
		return "", errors.New("not found")
	}
	h := Host{LookPath: lookPath}.withDefaults()
	tests := []struct {
		exe  string
		errs []string
	}{
		{"mount", nil},
		{"losetup", []string{"losetup not found in system path"}},
	}
	for _, tt := range tests {
		c := inPathCheck(h, tt.exe)
		if c.Name() != "FileExisting-"+tt.exe {
			t.Errorf("name = %q", c.Name())
		}
		expect(t, run(c), nil, tt.errs)
	}
}

func TestHostnameCheck(t *testing.T) {
	lookup := func(ctx context.Context, host string) ([]string, error) {
		if _, ok := ctx.Deadline(); !ok {
			return nil, errors.New("lookup without a deadline")
		}
		if host == "node-1" || host == "Node_1" {
			return []string{"10.0.0.10"}, nil
		}
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	h := Host{LookupHost: lookup}.withDefaults()
	tests := []struct {
		name     string
		warnings []string
	}{
		{"node-1", nil},
		{"Node_1", []string{`invalid node name format "Node_1"`}},
		{"ghost", []string{`hostname "ghost" could not be reached`, `hostname "ghost": lookup ghost: no such host`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expect(t, run(hostnameCheck(h, tt.name)), tt.warnings, nil)
		})
	}
}

func TestHostnameCheckIsBounded(t *testing.T) {
	blocking := func(ctx context.Context, host string) ([]string, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	h := Host{LookupHost: blocking, LookupTimeout: 50 * time.Millisecond}.withDefaults()
	expect(t, run(hostnameCheck(h, "slow")), []string{"could not be reached", "context deadline exceeded"}, nil)
}

func TestHTTPProxyChecks(t *testing.T) {
	proxyURL, _ := url.Parse("http://proxy.example:3128")
	// The fake proxies everything except 10.96.0.0/12 and 10.0.0.10.
	proxy := func(u *url.URL) (*url.URL, error) {
		host := u.Hostname()
		if ip := net.ParseIP(host); ip != nil {
			_, svc, _ := net.ParseCIDR("10.96.0.0/12")
			if svc.Contains(ip) || host == "10.0.0.10" {
				return nil, nil
			}
		}
		return proxyURL, nil
	}
	h := Host{Proxy: proxy}.withDefaults()
	tests := []struct {
		name     string
		check    Checker
		label    string
		warnings []string
		errs     []string
	}{
		{"direct host", httpProxyCheck(h, "10.0.0.10"), "HTTPProxy", nil, nil},
		{"proxied host", httpProxyCheck(h, "10.0.0.11"), "HTTPProxy",
			[]string{`Connection to "https://10.0.0.11" uses proxy "http://proxy.example:3128". If that is not intended, adjust your proxy settings`}, nil},
		{"proxied ipv6 host", httpProxyCheck(h, "fd00::1"), "HTTPProxy", []string{`"https://[fd00::1]:1234"`}, nil},
		{"empty host", httpProxyCheck(h, ""), "HTTPProxy", nil, nil},
		{"direct cidr", httpProxyCIDRCheck(h, "10.96.0.0/12"), "HTTPProxyCIDR", nil, nil},
		{"proxied cidr", httpProxyCIDRCheck(h, "192.168.0.0/16"), "HTTPProxyCIDR",
			[]string{`connection to "192.168.0.0/16" uses proxy "http://proxy.example:3128". This may lead to malfunctional cluster setup`}, nil},
		{"empty cidr", httpProxyCIDRCheck(h, ""), "HTTPProxyCIDR", nil, nil},
		{"bad cidr", httpProxyCIDRCheck(h, "10.96.0.0/99"), "HTTPProxyCIDR", nil, []string{`failed to parse CIDR "10.96.0.0/99"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.check.Name() != tt.label {
				t.Errorf("name = %q, want %q", tt.check.Name(), tt.label)
			}
			expect(t, run(tt.check), tt.warnings, tt.errs)
		})
	}
}

func TestHTTPProxyFromEnvironment(t *testing.T) {
	t.Setenv("HTTPS_PROXY", "http://proxy.example:3128")
	t.Setenv("NO_PROXY", "10.96.0.0/12")
	for _, k := range []string{"https_proxy", "no_proxy", "HTTP_PROXY", "http_proxy"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	h := Host{}.withDefaults()
	expect(t, run(httpProxyCIDRCheck(h, "10.96.0.0/12")), nil, nil)
	expect(t, run(httpProxyCheck(h, "10.0.0.10")), []string{`uses proxy "http://proxy.example:3128"`}, nil)
}

func TestFirstAddress(t *testing.T) {
	tests := []struct{ cidr, want string }{
		{"10.96.0.0/12", "10.96.0.1"},
		{"10.244.0.0/16", "10.244.0.1"},
		{"fd00:10:96::/112", "fd00:10:96::1"},
		{"10.0.0.255/24", "10.0.0.1"},
	}
	for _, tt := range tests {
		_, n, err := net.ParseCIDR(tt.cidr)
		if err != nil {
			t.Fatal(err)
		}
		if got := firstAddress(n).String(); got != tt.want {
			t.Errorf("firstAddress(%s) = %s, want %s", tt.cidr, got, tt.want)
		}
	}
}
