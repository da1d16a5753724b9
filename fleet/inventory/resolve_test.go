package inventory

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

const testSSHConfig = `# A user's ~/.ssh/config.
Host cp
  HostName 10.1.0.10
  User admin
  Port 2201
  IdentityFile ~/.ssh/cp_key
  IdentityFile %d/.ssh/%r@%h

Host w?
  HostName %h.lab.example
  ProxyJump jumper@gate:2022,inner

Host inner
  HostName 10.1.0.2
  User innie

Host gate
  HostName gate.example.com
  ProxyJump outer

Host *.direct !no.direct
  User direct

Host *
  User everyone
`

// resolveInventory parses data as dir/cluster.yaml and resolves it with
// the given ssh config text ("" for no file).
func resolveInventory(t *testing.T, data, sshConfig string) (Hosts, error) {
	t.Helper()
	dir := t.TempDir()
	c, err := Parse([]byte(data), filepath.Join(dir, "cluster.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	opts := ResolveOptions{Home: "/home/op", LocalUser: "op", SSHConfig: filepath.Join(dir, "missing")}
	if sshConfig != "" {
		opts.SSHConfig = filepath.Join(dir, "ssh_config")
		if err := os.WriteFile(opts.SSHConfig, []byte(sshConfig), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return c.Resolve(opts)
}

func endpoint(name, host string, port int, user string, ids ...string) Endpoint {
	e := Endpoint{Name: name, HostName: host, Port: port, User: user, IdentityFiles: ids, UseAgent: true,
		KnownHosts: "/home/op/.ssh/known_hosts", ConnectTimeout: DefaultConnectTimeout}
	if len(ids) == 0 {
		e.IdentityFiles = []string{"/home/op/.ssh/id_ed25519", "/home/op/.ssh/id_ecdsa", "/home/op/.ssh/id_rsa"}
		e.DefaultIdentityFiles = true
	}
	return e
}

func TestResolvePrecedence(t *testing.T) {
	const inv = `apiVersion: kubeadmin.io/v1alpha1
kind: Cluster
spec:
  ssh:
    user: fromspec
    port: 2000
    identityFiles: [keys/spec_key]
  hosts:
  - address: cp
    role: control-plane
  - address: cp
    port: 2202
    user: hostuser
    identityFiles: [/keys/host_key]
    useAgent: false
    role: worker
  - address: w1
    role: worker
  - address: other
    role: worker
`
	hosts, err := resolveInventory(t, inv, testSSHConfig)
	if err != nil {
		t.Fatal(err)
	}
	strip := func(e Endpoint) Endpoint { e.KnownHosts, e.ConnectTimeout = "", 0; return e }
	specKey := ""
	for _, h := range hosts {
		if h.Index == 3 {
			specKey = h.IdentityFiles[0]
		}
	}
	if !strings.HasSuffix(specKey, "/keys/spec_key") || !filepath.IsAbs(specKey) {
		t.Fatalf("spec.ssh.identityFiles not made absolute next to the inventory: %q", specKey)
	}
	for _, tc := range []struct {
		name  string
		got   Endpoint
		want  Endpoint
		jumps []Endpoint
	}{
		{
			name: "ssh config over spec.ssh",
			got:  hosts[0].Endpoint,
			want: Endpoint{Name: "cp", HostName: "10.1.0.10", Port: 2201, User: "admin", IdentityFiles: []string{"/home/op/.ssh/cp_key", "/home/op/.ssh/admin@10.1.0.10"}, UseAgent: true},
		},
		{
			name: "host fields over ssh config",
			got:  hosts[1].Endpoint,
			want: Endpoint{Name: "cp", HostName: "10.1.0.10", Port: 2202, User: "hostuser", IdentityFiles: []string{"/keys/host_key"}},
		},
		{
			name: "pattern, %h and ProxyJump",
			got:  hosts[2].Endpoint,
			want: Endpoint{Name: "w1", HostName: "w1.lab.example", Port: 2000, User: "everyone", IdentityFiles: []string{specKey}, UseAgent: true},
			jumps: []Endpoint{
				{Name: "outer", HostName: "outer", Port: 2000, User: "everyone", IdentityFiles: []string{specKey}, UseAgent: true},
				{Name: "gate", HostName: "gate.example.com", Port: 2022, User: "jumper", IdentityFiles: []string{specKey}, UseAgent: true},
				{Name: "inner", HostName: "10.1.0.2", Port: 2000, User: "innie", IdentityFiles: []string{specKey}, UseAgent: true},
			},
		},
		{
			name: "Host * over spec.ssh",
			got:  hosts[3].Endpoint,
			want: Endpoint{Name: "other", HostName: "other", Port: 2000, User: "everyone", IdentityFiles: []string{specKey}, UseAgent: true},
		},
	} {
		if got := strip(tc.got); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.name, got, tc.want)
		}
		if tc.jumps != nil {
			var got []Endpoint
			for _, j := range hosts[2].Jumps {
				got = append(got, strip(j))
			}
			if !reflect.DeepEqual(got, tc.jumps) {
				t.Errorf("%s: jumps\n got %+v\nwant %+v", tc.name, got, tc.jumps)
			}
		}
	}
	if hosts[0].KnownHosts != "/home/op/.ssh/known_hosts" || hosts[0].ConnectTimeout != DefaultConnectTimeout || hosts[0].CommandTimeout != DefaultCommandTimeout {
		t.Errorf("built-in defaults not applied: %+v", hosts[0])
	}
}

func TestResolveBuiltInDefaults(t *testing.T) {
	hosts, err := resolveInventory(t, base, "")
	if err != nil {
		t.Fatal(err)
	}
	want := endpoint("10.0.0.10", "10.0.0.10", DefaultSSHPort, DefaultSSHUser)
	if !reflect.DeepEqual(hosts[0].Endpoint, want) {
		t.Errorf("got %+v\nwant %+v", hosts[0].Endpoint, want)
	}
	if hosts[0].Addr() != "10.0.0.10:22" || hosts[0].String() != "spec.hosts[0] (10.0.0.10)" {
		t.Errorf("Addr %q, String %q", hosts[0].Addr(), hosts[0].String())
	}
}

func TestResolveNoSSHConfig(t *testing.T) {
	c, err := Parse([]byte(strings.Replace(base, "10.0.0.11", "w1", 1)), "cluster.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// "none" must not read the file even where one would match.
	hosts, err := c.Resolve(ResolveOptions{SSHConfig: NoSSHConfig, Home: "/home/op"})
	if err != nil {
		t.Fatal(err)
	}
	if h := hosts[1]; h.HostName != "w1" || h.User != DefaultSSHUser || len(h.Jumps) != 0 {
		t.Errorf("ssh config applied with NoSSHConfig: %+v", h)
	}
}

func TestResolveSpecDefaults(t *testing.T) {
	inv := strings.Replace(base, "spec:\n", `spec:
  ssh:
    useAgent: false
    knownHosts: known
    connectTimeout: 3s
    commandTimeout: 1m
`, 1) + "    useAgent: true\n"
	hosts, err := resolveInventory(t, inv, "")
	if err != nil {
		t.Fatal(err)
	}
	cp, w := hosts[0], hosts[1]
	if cp.UseAgent || !w.UseAgent {
		t.Errorf("useAgent: control plane %v (want false from spec.ssh), worker %v (want true from the host)", cp.UseAgent, w.UseAgent)
	}
	if !filepath.IsAbs(cp.KnownHosts) || filepath.Base(cp.KnownHosts) != "known" {
		t.Errorf("knownHosts = %q, want an absolute path next to the inventory", cp.KnownHosts)
	}
	if cp.ConnectTimeout != 3*time.Second || cp.CommandTimeout != time.Minute {
		t.Errorf("timeouts %v %v", cp.ConnectTimeout, cp.CommandTimeout)
	}
}

func TestResolveBastions(t *testing.T) {
	const inv = `apiVersion: kubeadmin.io/v1alpha1
kind: Cluster
spec:
  hosts:
  - address: 10.0.0.10
    nodeName: cp
    role: control-plane
    bastion:
      address: jump.example.com
      port: 2222
      user: jumper
      hostKey: SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8
  - address: 10.0.0.11
    nodeName: w1
    role: worker
    bastion:
      host: cp
  - address: w2
    role: worker
    bastion:
      host: 10.0.0.11
`
	// w2's ProxyJump in the ssh config is overridden by its bastion.
	hosts, err := resolveInventory(t, inv, "Host w2\n  ProxyJump elsewhere\nHost jump.example.com\n  HostName 203.0.113.5\n  ProxyJump edge\n")
	if err != nil {
		t.Fatal(err)
	}
	names := func(h *Resolved) []string {
		var out []string
		for _, j := range h.Jumps {
			out = append(out, j.String())
		}
		return out
	}
	for _, tc := range []struct {
		host int
		want []string
	}{
		{0, []string{"root@edge:22", "jumper@203.0.113.5:2222"}},
		{1, []string{"root@edge:22", "jumper@203.0.113.5:2222", "root@10.0.0.10:22"}},
		{2, []string{"root@edge:22", "jumper@203.0.113.5:2222", "root@10.0.0.10:22", "root@10.0.0.11:22"}},
	} {
		if got := names(hosts[tc.host]); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("spec.hosts[%d] jumps = %q, want %q", tc.host, got, tc.want)
		}
	}
	if hosts[0].Jumps[1].HostKey == "" || hosts[0].HostKey != "" {
		t.Errorf("pinned key of the bastion: bastion %q, host %q", hosts[0].Jumps[1].HostKey, hosts[0].HostKey)
	}
}

func TestResolveErrors(t *testing.T) {
	for _, tc := range []struct {
		name, inv, ssh, want string
	}{
		{
			name: "two aliases of one machine",
			inv:  strings.Replace(strings.Replace(base, "10.0.0.10", "a", 1), "10.0.0.11", "b", 1),
			ssh:  "Host a b\n  HostName 10.9.9.9\n",
			want: "spec.hosts[0] and spec.hosts[1] both reach 10.9.9.9:22 (after /",
		},
		{
			name: "unparsable ssh config",
			inv:  base,
			ssh:  "Match exec \"true\"\n  User x\n",
			want: "kubeadmin fleet reads Host blocks (and Match host/all) for HostName, User, Port, IdentityFile and ProxyJump: fix the file, or do not read it",
		},
		{
			name: "ProxyJump loop",
			inv:  strings.Replace(base, "10.0.0.11", "w", 1),
			ssh:  "Host w\n  ProxyJump j1\nHost j1\n  ProxyJump j2\nHost j2\n  ProxyJump j1\n",
			want: "spec.hosts[1]: the ProxyJump chain from ",
		},
		{
			name: "bad ProxyJump port",
			inv:  strings.Replace(base, "10.0.0.11", "w", 1),
			ssh:  "Host w\n  ProxyJump j:99999\n",
			want: `spec.hosts[1]: ProxyJump "j:99999" for w in `,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := resolveInventory(t, tc.inv, tc.ssh)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestHostsHelpers(t *testing.T) {
	inv := base + "    reset: true\n  - address: 10.0.0.12\n    role: worker\n"
	hosts, err := resolveInventory(t, inv, "")
	if err != nil {
		t.Fatal(err)
	}
	if cp := hosts.ControlPlane(); cp == nil || cp.Index != 0 {
		t.Errorf("ControlPlane = %v", cp)
	}
	if w := hosts.Workers(); len(w) != 1 || w[0].Index != 2 {
		t.Errorf("Workers = %v, want spec.hosts[2] only", w)
	}
	if r := hosts.ToReset(); len(r) != 1 || r[0].Index != 1 {
		t.Errorf("ToReset = %v, want spec.hosts[1]", r)
	}

	all := strings.Replace(base, "role: control-plane\n", "role: control-plane\n    reset: true\n", 1) + "    reset: true\n"
	hosts, err = resolveInventory(t, all, "")
	if err != nil {
		t.Fatal(err)
	}
	if r := hosts.ToReset(); len(r) != 2 || r[0].Role != RoleWorker || r[1].Role != RoleControlPlane {
		t.Errorf("ToReset = %v, want the worker, then the control plane", r)
	}
}
