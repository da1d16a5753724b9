//go:build e2e

package e2e

// TestFleet drives `kubeadmin fleet` from the host, over real OpenSSH
// servers in bare test nodes, through the life of one cluster: apply, a
// no-op apply, an added worker (its first apply killed half-way, the next
// one completing it), host-key refusals, a worker removed with reset:
// true, status, kubeconfig, reset --marked-only and fleet reset. The steps share the
// cluster; the checks between them that only read run in parallel.
//
// The file's name sorts after the other tests', so that it runs last.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/kubeadmin/kubeadmin/test/e2e/nodes"
)

// The fleet test's nodes, its sudo user and its limits.
const (
	fleetCP = "fe-cp"
	fleetW1 = "fe-w1" // logs in as fleetUser, a sudo user
	fleetW2 = "fe-w2" // reachable only through fleetCP
	fleetW3 = "fe-w3" // added later
	// fleetUser is a host user (users are shared by every node).
	fleetUser = "fedeploy"
	// fleetApplyTimeout bounds one fleet command; a run that hangs fails
	// the test instead of eating the suite's time.
	fleetApplyTimeout = 6 * time.Minute
	// fleetReadyTimeout bounds a Node becoming Ready after apply.
	fleetReadyTimeout = 2 * time.Minute
	// kubectlRequestTimeout bounds one kubectl call from the host.
	kubectlRequestTimeout = "20s"
	// fleetTrustFlag is apply's trust-on-first-use flag.
	fleetTrustFlag = "--trust-new-host-keys"
	// fleetPodNS holds the test's workload.
	fleetPodNS = "fleet"
	// fleetZoneLabel is set on fe-w1 by the inventory; the test pod selects it.
	fleetZoneLabel = "example.com/zone"
)

// fleetEnv is what every step shares: the files on the host and the
// nodes' addresses.
type fleetEnv struct {
	dir        string // the test's temporary folder
	home       string // HOME of the fleet commands (no ~/.ssh/config)
	key        string // private key; key+".pub" is authorized in every node
	knownHosts string // known_hosts of fe-cp, fe-w1 and fe-w2
	bundle     string // the image bundle
	bin        string // bin/kubeadmin
	kubectl    string // the upstream kubectl
	kubeconfig string // written by the first apply (--kubeconfig-out)
	ip         map[string]string
}

// fleetHost is one host of a test inventory.
type fleetHost struct {
	name    string // the test node; also the inventory's nodeName
	role    string
	user    string
	bastion string
	hostKey string
	labels  map[string]string
	taints  []string // "key=value:Effect"
	reset   bool
}

// The hosts as the first apply knows them.
func fleetHosts() []fleetHost {
	return []fleetHost{
		{name: fleetCP, role: "control-plane"},
		{name: fleetW1, role: "worker", user: fleetUser,
			labels: map[string]string{"node-role.kubernetes.io/worker": "", fleetZoneLabel: "a"}},
		{name: fleetW2, role: "worker", bastion: fleetCP,
			labels: map[string]string{"node-role.kubernetes.io/worker": ""},
			taints: []string{"dedicated=batch:NoSchedule"}},
	}
}

// fleetW3Host is the worker added later.
var fleetW3Host = fleetHost{name: fleetW3, role: "worker", labels: map[string]string{fleetZoneLabel: "b"}}

// inventory writes an inventory of hosts that checks host keys against
// knownHosts, and returns its path.
func (e *fleetEnv) inventory(t testing.TB, file, knownHosts string, hosts []fleetHost) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, `apiVersion: kubeadmin.io/v1alpha1
kind: Cluster
metadata:
  name: fleet-e2e
spec:
  ssh:
    user: root
    identityFiles: [%q]
    useAgent: false
    knownHosts: %q
  artifacts:
    kubeadminBinary: %q
    imageBundle: %q
  concurrency:
    hosts: 10
    uploads: 5
  hosts:
`, e.key, knownHosts, e.bin, e.bundle)
	for _, h := range hosts {
		fmt.Fprintf(&b, "  - address: %q\n    role: %s\n    nodeName: %s\n", e.ip[h.name], h.role, h.name)
		if h.user != "" {
			fmt.Fprintf(&b, "    user: %s\n", h.user)
		}
		if h.bastion != "" {
			fmt.Fprintf(&b, "    bastion: {host: %s}\n", h.bastion)
		}
		if h.hostKey != "" {
			fmt.Fprintf(&b, "    hostKey: %q\n", h.hostKey)
		}
		if len(h.labels) > 0 {
			b.WriteString("    labels:\n")
			for _, k := range sortedKeys(h.labels) {
				fmt.Fprintf(&b, "      %q: %q\n", k, h.labels[k])
			}
		}
		if len(h.taints) > 0 {
			b.WriteString("    taints:\n")
			for _, tt := range h.taints {
				kv, effect, _ := strings.Cut(tt, ":")
				k, v, _ := strings.Cut(kv, "=")
				fmt.Fprintf(&b, "      - {key: %q, value: %q, effect: %s}\n", k, v, effect)
			}
		}
		if h.reset {
			b.WriteString("    reset: true\n")
		}
	}
	p := filepath.Join(e.dir, file)
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// fleetRun is one finished fleet command.
type fleetRun struct {
	args []string
	out  string // stdout and stderr, interleaved
	took time.Duration
	err  error
}

func (r fleetRun) String() string {
	return fmt.Sprintf("kubeadmin fleet %s (%s, err %v):\n%s", strings.Join(r.args, " "), r.took.Round(time.Millisecond), r.err, r.out)
}

// fleet runs `kubeadmin fleet args...` on the host, with a HOME of its own
// (so the machine's ~/.ssh/config and known_hosts play no part).
func (e *fleetEnv) fleet(t testing.TB, args ...string) fleetRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), fleetApplyTimeout)
	defer cancel()
	cmd := e.fleetCmd(ctx, args)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	r := fleetRun{args: args, out: out.String(), took: time.Since(start), err: err}
	if ctx.Err() != nil {
		t.Fatalf("timed out after %s: %s", fleetApplyTimeout, r)
	}
	t.Logf("kubeadmin fleet %s: %s, err %v", strings.Join(args, " "), r.took.Round(time.Millisecond), err)
	return r
}

// fleetCmd is `kubeadmin fleet args...` with a HOME of its own.
func (e *fleetEnv) fleetCmd(ctx context.Context, args []string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, e.bin, append([]string{"fleet"}, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+e.home)
	cmd.Dir = e.dir
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// fleetKilledAt runs `kubeadmin fleet args...` like fleet, but SIGKILLs it
// (a dead workstation: no clean-up of its own) as soon as a line of its
// output contains marker; it fails the test if the run ends first.
func (e *fleetEnv) fleetKilledAt(t testing.TB, marker string, args ...string) fleetRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), fleetApplyTimeout)
	defer cancel()
	cmd := e.fleetCmd(ctx, args)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	var out strings.Builder
	killed := false
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
		if !killed && strings.Contains(sc.Text(), marker) {
			_ = cmd.Process.Kill()
			killed = true
		}
	}
	err = cmd.Wait()
	pr.Close()
	r := fleetRun{args: args, out: out.String(), took: time.Since(start), err: err}
	if !killed {
		t.Fatalf("no line with %q before the run ended: %s", marker, r)
	}
	t.Logf("kubeadmin fleet %s: killed after %s at %q", strings.Join(args, " "), r.took.Round(time.Millisecond), marker)
	return r
}

// mustSucceed fails the test unless the run exited 0.
func (r fleetRun) mustSucceed(t testing.TB) fleetRun {
	t.Helper()
	if r.err != nil {
		t.Fatalf("want exit 0: %s", r)
	}
	return r
}

// mustFail fails the test unless the run exited non-zero.
func (r fleetRun) mustFail(t testing.TB) fleetRun {
	t.Helper()
	var ee *exec.ExitError
	if !errors.As(r.err, &ee) {
		t.Fatalf("want a non-zero exit: %s", r)
	}
	return r
}

// names reports whether a line names host h, by node name or address.
func (e *fleetEnv) names(line, h string) bool {
	return regexp.MustCompile(`(^|[^\w.-])(` + regexp.QuoteMeta(h) + `|` + regexp.QuoteMeta(e.ip[h]) + `)($|[^\w.-])`).MatchString(line)
}

// joined lists the hosts among hosts that have a "<host>: joined" line
// (<host> the node name or address, also as "spec.hosts[i] (name)").
func (e *fleetEnv) joined(out string, hosts ...string) []string {
	var got []string
	for _, h := range hosts {
		re := regexp.MustCompile(`(^|[^\w.-])(` + regexp.QuoteMeta(h) + `|` + regexp.QuoteMeta(e.ip[h]) + `)\)?: joined`)
		if re.MatchString(out) {
			got = append(got, h)
		}
	}
	return got
}

// summary is the rows of apply's summary table (after "HOST  RESULT ...").
func summary(out string) (header string, rows []string) {
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		f := strings.Fields(l)
		if len(f) >= 2 && f[0] == "HOST" && f[1] == "RESULT" {
			for _, r := range lines[i+1:] {
				if strings.TrimSpace(r) == "" {
					break
				}
				rows = append(rows, r)
			}
			return l, rows
		}
	}
	return "", nil
}

// checkSummary checks the progress lines and that the summary table has a
// row for every host.
func (e *fleetEnv) checkSummary(t testing.TB, r fleetRun, hosts ...string) {
	t.Helper()
	if !regexp.MustCompile(`(?m)^\[fleet\] [^:\n]+: `).MatchString(r.out) {
		t.Errorf("no progress line \"[fleet] <phase>: <hosts>\" in the output:\n%s", r.out)
	}
	header, rows := summary(r.out)
	if header == "" {
		t.Errorf("no summary table (a header line \"HOST  RESULT ...\") in the output:\n%s", r.out)
		return
	}
	for _, h := range hosts {
		found := false
		for _, row := range rows {
			found = found || e.names(row, h)
		}
		if !found {
			t.Errorf("the summary table has no row for %s:\n%s\n%s", h, header, strings.Join(rows, "\n"))
		}
	}
}

// hostKubectl runs the upstream kubectl on the host with kubeconfig.
func (e *fleetEnv) hostKubectl(t testing.TB, kubeconfig string, stdin string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(e.kubectl, append([]string{"--kubeconfig", kubeconfig, "--request-timeout", kubectlRequestTimeout}, args...)...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return out.String() + errOut.String(), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(errOut.String()))
	}
	return out.String(), nil
}

func (e *fleetEnv) k(t testing.TB, args ...string) (string, error) {
	t.Helper()
	return e.hostKubectl(t, e.kubeconfig, "", args...)
}

// nodeStates maps each Node's name to its Ready condition's status.
func (e *fleetEnv) nodeStates(t testing.TB, kubeconfig string) (map[string]string, error) {
	t.Helper()
	out, err := e.hostKubectl(t, kubeconfig, "", "get", "nodes", "-o", `jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status} {end}`)
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	for _, f := range strings.Fields(out) {
		n, s, _ := strings.Cut(f, "=")
		m[n] = s
	}
	return m, nil
}

// waitNodes waits until exactly the named Nodes exist and are Ready.
func (e *fleetEnv) waitNodes(t testing.TB, kubeconfig string, want ...string) {
	t.Helper()
	sort.Strings(want)
	eventually(t, fmt.Sprintf("exactly the Nodes %v, all Ready", want), fleetReadyTimeout, func() error {
		m, err := e.nodeStates(t, kubeconfig)
		if err != nil {
			return err
		}
		if got := sortedKeys(m); strings.Join(got, " ") != strings.Join(want, " ") {
			return fmt.Errorf("Nodes %v", m)
		}
		for n, s := range m {
			if s != "True" {
				return fmt.Errorf("%s is not Ready: %v", n, m)
			}
		}
		return nil
	})
}

// filesUnder lists the files under the node's private dirs (its
// /etc/kubernetes for "etc/kubernetes"); a missing dir has none.
func filesUnder(t testing.TB, node string, dirs ...string) []string {
	t.Helper()
	root := nodes.Root(t, node)
	var left []string
	for _, d := range dirs {
		_ = filepath.Walk(filepath.Join(root, d), func(p string, fi os.FileInfo, err error) error {
			if err == nil && !fi.IsDir() {
				left = append(left, strings.TrimPrefix(p, root))
			}
			return nil
		})
	}
	return left
}

// kubernetesDirs are what init and join write and reset must empty.
var kubernetesDirs = []string{"etc/kubernetes", "var/lib/kubelet"}

// provisionDirs are what provisioning writes before init or join: the
// bundle, containerd's configuration (and nodeBinary, the binary).
var provisionDirs = []string{"var/lib/kubeadmin", "etc/containerd", "etc/kubernetes", "var/lib/kubelet"}

// nodeBinary is where the fleet installs kubeadmin on a host. (Its folder
// in a test node also holds hack/nodes' go stub.)
const nodeBinary = "opt/kubeadmin/bin/kubeadmin"

// fingerprints are the SHA-256 fingerprints of every host key of node.
func fingerprints(t testing.TB, node string) []string {
	t.Helper()
	var fps []string
	for _, kt := range nodes.HostKeyTypes {
		fps = append(fps, nodes.HostKey(t, node, kt))
	}
	return fps
}

func containsAny(s string, subs []string) bool {
	for _, x := range subs {
		if strings.Contains(s, x) {
			return true
		}
	}
	return false
}

// recordedKeys returns the "TYPE KEY" of every known_hosts entry for ip in
// file, hashed entries included (ssh-keygen -F).
func recordedKeys(t testing.TB, file, ip string) []string {
	t.Helper()
	out, err := exec.Command("ssh-keygen", "-F", ip, "-f", file).Output()
	if err != nil && len(out) == 0 {
		return nil // exit 1: not found
	}
	var keys []string
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Fields(l)
		if len(f) >= 3 && !strings.HasPrefix(l, "#") {
			keys = append(keys, f[1]+" "+f[2])
		}
	}
	return keys
}

// nodeState is what a no-op must leave alone on a node: its containers
// and its agent's process.
func nodeState(t testing.TB, node string) string {
	t.Helper()
	return "agent pid " + agentPID(t, node) + "\n" + strings.Join(nodeTasks(t, node), "\n")
}

// dumpCluster logs what explains a failure: the Nodes, every pod, and the
// events of the test's namespace.
func (e *fleetEnv) dumpCluster(t testing.TB) {
	t.Helper()
	for _, args := range [][]string{
		{"get", "nodes", "-o", "wide", "--show-labels"},
		{"get", "pods", "-A", "-o", "wide"},
		{"-n", fleetPodNS, "describe", "pods"},
		{"get", "events", "-A", "--sort-by", ".lastTimestamp"},
	} {
		out, err := e.k(t, args...)
		t.Logf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// fleetPod is a pod that must run on fe-w1, the worker with the zone label.
func fleetPod() string {
	return fmt.Sprintf(`apiVersion: v1
kind: Namespace
metadata: {name: %[1]s}
---
apiVersion: v1
kind: Pod
metadata: {name: on-worker, namespace: %[1]s}
spec:
  nodeSelector: {%[2]q: "a"}
  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: %[3]s, imagePullPolicy: IfNotPresent}
`, fleetPodNS, fleetZoneLabel, testImage)
}

// newFleetEnv brings up fe-cp, fe-w1, fe-w2 and fe-w3 as bare nodes with
// sshd, and writes the key, known_hosts and bundle the inventories use.
func newFleetEnv(t *testing.T) *fleetEnv {
	root := repoRoot(t)
	e := &fleetEnv{dir: t.TempDir(), bin: kubeadminBin(t), kubectl: upstreamBin(t, "kubectl"), ip: map[string]string{}}
	for _, bin := range []string{"/usr/sbin/sshd", "ssh-keygen"} {
		if _, err := exec.LookPath(bin); err != nil {
			nodes.SkipOrFail(t, "%s is missing: run hack/sshd.sh install (hack/test.sh does)", bin)
		}
	}
	e.home = filepath.Join(e.dir, "home")
	e.key = filepath.Join(e.dir, "id_ed25519")
	e.kubeconfig = filepath.Join(e.dir, "admin.conf")
	if err := os.MkdirAll(e.home, 0o700); err != nil {
		t.Fatal(err)
	}
	// The bundle (cached by hack/images.sh: 0.5 s once made) is written
	// while the nodes come up.
	type result struct {
		path string
		err  error
	}
	bundle := make(chan result, 1)
	go func() {
		var stderr bytes.Buffer
		cmd := exec.Command(filepath.Join(root, "hack/images.sh"), "bundle")
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			err = fmt.Errorf("%w\n%s", err, stderr.String())
		}
		bundle <- result{strings.TrimSpace(string(out)), err}
	}()
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "fleet-e2e", "-f", e.key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	start := time.Now()
	nodes.UpBare(t, fleetCP, fleetW1, fleetW2, fleetW3)
	for _, n := range []string{fleetCP, fleetW1, fleetW2, fleetW3} {
		e.ip[n] = nodes.IP(t, n)
	}
	pub := []string{e.key + ".pub"}
	t.Run("sshd", func(t *testing.T) {
		opts := map[string]nodes.SSHDOptions{
			fleetCP: {AuthorizedKeys: pub},
			fleetW1: {AuthorizedKeys: pub, User: fleetUser},
			fleetW2: {AuthorizedKeys: pub, OnlyFrom: e.ip[fleetCP]},
			fleetW3: {AuthorizedKeys: pub},
		}
		for n, o := range opts {
			t.Run(n, func(t *testing.T) { t.Parallel(); nodes.SSHD(t, n, o) })
		}
	})
	if t.Failed() {
		t.FailNow()
	}
	e.knownHosts = filepath.Join(e.dir, "known_hosts")
	if err := os.WriteFile(e.knownHosts, []byte(nodes.KnownHosts(t, fleetCP, fleetW1, fleetW2)), 0o600); err != nil {
		t.Fatal(err)
	}
	b := <-bundle
	if b.err != nil || b.path == "" {
		nodes.SkipOrFail(t, "hack/images.sh bundle failed (it needs hack/images.sh build and hack/testimage.sh build; hack/test.sh runs them): %v", b.err)
	}
	e.bundle = b.path
	t.Logf("four bare nodes with sshd, key, known_hosts and bundle in %s: %v", time.Since(start).Round(time.Millisecond), e.ip)
	return e
}

func TestFleet(t *testing.T) {
	e := newFleetEnv(t)
	hosts := fleetHosts()
	inv := e.inventory(t, "cluster.yaml", e.knownHosts, hosts)
	three := []string{fleetCP, fleetW1, fleetW2}

	// 1. A cluster from bare nodes: a control plane as root, a worker as a
	// sudo user, a worker behind the control plane as bastion.
	first := e.fleet(t, "apply", "-f", inv, "--kubeconfig-out", e.kubeconfig).mustSucceed(t)
	// On failure the cluster is dumped before fleet reset removes it (or
	// at the end, when a step stopped the test earlier).
	dumped := false
	dump := func() {
		if t.Failed() && !dumped {
			dumped = true
			e.dumpCluster(t)
		}
	}
	t.Cleanup(dump)
	// clusterUp and workerAdded gate the later steps: the checks that
	// failed without breaking the cluster do not stop them.
	var clusterUp, workerAdded bool
	t.Logf("first apply took %s:\n%s", first.took.Round(time.Millisecond), first.out)
	e.checkSummary(t, first, three...)
	if got := e.joined(first.out, three...); strings.Join(got, " ") != fleetW1+" "+fleetW2 {
		t.Errorf("hosts with a \"<host>: joined\" line: %v, want [%s %s]:\n%s", got, fleetW1, fleetW2, first.out)
	}
	t.Run("after the first apply", func(t *testing.T) {
		t.Run("the kubeconfig names the control plane", func(t *testing.T) {
			t.Parallel()
			out, err := e.k(t, "config", "view", "-o", "jsonpath={.clusters[0].cluster.server}")
			if want := "https://" + e.ip[fleetCP] + ":6443"; err != nil || strings.TrimSpace(out) != want {
				t.Errorf("server in --kubeconfig-out = %q (%v), want %q", out, err, want)
			}
		})
		t.Run("three Nodes Ready, every kube-system pod Ready", func(t *testing.T) {
			t.Parallel()
			e.waitNodes(t, e.kubeconfig, three...)
			eventually(t, "every kube-system pod Ready", workloadTimeout, func() error {
				out, err := e.k(t, "-n", "kube-system", "get", "pods", "-o", `jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status} {end}`)
				if err != nil {
					return err
				}
				for _, p := range strings.Fields(out) {
					if !strings.HasSuffix(p, "=True") {
						return fmt.Errorf("not Ready: %s", out)
					}
				}
				return nil
			})
			clusterUp = true
		})
		t.Run("labels and taints from the inventory", func(t *testing.T) {
			t.Parallel()
			for _, h := range hosts {
				out, err := e.k(t, "get", "node", h.name, "-o", "jsonpath={.metadata.labels}")
				var labels map[string]string
				if err == nil {
					err = json.Unmarshal([]byte(out), &labels)
				}
				if err != nil {
					t.Fatalf("labels of Node %s: %v\n%s", h.name, err, out)
				}
				for k, v := range h.labels {
					if got, ok := labels[k]; !ok || got != v {
						t.Errorf("Node %s has the labels %v, want %s=%q among them", h.name, labels, k, v)
					}
				}
				out, err = e.k(t, "get", "node", h.name, "-o", `jsonpath={range .spec.taints[*]}{.key}={.value}:{.effect} {end}`)
				if err != nil {
					t.Fatal(err)
				}
				for _, tt := range h.taints {
					if !strings.Contains(" "+out, " "+tt+" ") {
						t.Errorf("Node %s has the taints %q, want %s among them", h.name, out, tt)
					}
				}
				if h.role == "control-plane" && !strings.Contains(out, "node-role.kubernetes.io/control-plane=:NoSchedule") {
					t.Errorf("control plane %s has the taints %q, want kubeadm's control-plane taint", h.name, out)
				}
			}
		})
		t.Run("a pod runs on a worker", func(t *testing.T) {
			t.Parallel()
			if out, err := e.hostKubectl(t, e.kubeconfig, fleetPod(), "apply", "-f", "-"); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			eventually(t, "the pod on "+fleetW1+" Ready", workloadTimeout, func() error {
				out, err := e.k(t, "-n", fleetPodNS, "get", "pod", "on-worker", "-o", `jsonpath={.spec.nodeName} {.status.conditions[?(@.type=="Ready")].status}`)
				if err != nil || out != fleetW1+" True" {
					return fmt.Errorf("pod on-worker: %q %v", out, err)
				}
				return nil
			})
		})
		t.Run("plan changes nothing and names every host", func(t *testing.T) {
			t.Parallel()
			r := e.fleet(t, "plan", "-f", inv).mustSucceed(t)
			for _, h := range three {
				if !e.names(r.out, h) {
					t.Errorf("plan does not name %s:\n%s", h, r.out)
				}
			}
		})
	})
	if !clusterUp {
		t.FailNow()
	}

	// 2. The same inventory again changes nothing.
	second := e.fleet(t, "apply", "-f", inv).mustSucceed(t)
	t.Logf("second (no-op) apply took %s:\n%s", second.took.Round(time.Millisecond), second.out)
	if !strings.Contains(strings.ToLower(second.out), "no changes") {
		t.Errorf("the second apply does not say \"no changes\":\n%s", second.out)
	}
	if got := e.joined(second.out, three...); len(got) > 0 {
		t.Errorf("the second apply joined %v again:\n%s", got, second.out)
	}

	// 3. fe-w3, added, is not in known_hosts: refused until trusted; then
	// it alone joins.
	before := map[string]string{}
	for _, n := range three {
		before[n] = nodeState(t, n)
	}
	kh := filepath.Join(e.dir, "known_hosts.tofu")
	khData, err := os.ReadFile(e.knownHosts)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(kh, khData, 0o600); err != nil {
		t.Fatal(err)
	}
	hosts = append(hosts, fleetW3Host)
	four := []string{fleetCP, fleetW1, fleetW2, fleetW3}
	inv = e.inventory(t, "cluster-w3.yaml", kh, hosts)
	w3fps := fingerprints(t, fleetW3)
	t.Run("an unknown host key is refused and nothing is installed", func(t *testing.T) {
		r := e.fleet(t, "apply", "-f", inv).mustFail(t)
		if !strings.Contains(r.out, "SHA256:") || !strings.Contains(r.out, fleetTrustFlag) {
			t.Errorf("the refusal does not show a SHA256: fingerprint and %s:\n%s", fleetTrustFlag, r.out)
		}
		if !containsAny(r.out, w3fps) {
			t.Errorf("the refusal shows none of %s's fingerprints %v:\n%s", fleetW3, w3fps, r.out)
		}
		if left := filesUnder(t, fleetW3, provisionDirs...); len(left) > 0 || fileExists(filepath.Join(nodes.Root(t, fleetW3), nodeBinary)) {
			t.Errorf("the refused host %s got files: %v (kubeadmin installed: %v)", fleetW3, left, fileExists(filepath.Join(nodes.Root(t, fleetW3), nodeBinary)))
		}
		if keys := recordedKeys(t, kh, e.ip[fleetW3]); len(keys) > 0 {
			t.Errorf("the refused host key was recorded in %s: %v", kh, keys)
		}
	})
	// The apply that trusts and adds fe-w3 dies as fe-w3's join starts:
	// sshd hangs up on that join, and the next apply completes the host.
	killed := e.fleetKilledAt(t, fleetW3+": joining the cluster", "apply", "-f", inv, fleetTrustFlag)
	t.Logf("the killed apply's output:\n%s", killed.out)
	t.Run("the killed apply leaves no kubeadmin running on the host", func(t *testing.T) {
		var left string
		deadline := time.Now().Add(10 * time.Second)
		for {
			out, _ := exec.Command("pgrep", "-af", nodeBinary+" (join|reset)").Output()
			if left = strings.TrimSpace(string(out)); left == "" || time.Now().After(deadline) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if left != "" {
			t.Errorf("10 s after the apply died, still running: %s", left)
		}
	})
	third := e.fleet(t, "apply", "-f", inv).mustSucceed(t)
	t.Logf("apply after the killed one took %s:\n%s", third.took.Round(time.Millisecond), third.out)
	// fe-w3's agent may have finished its TLS bootstrap alone before the
	// second apply looked: then nothing is left to join.
	if got := e.joined(third.out, four...); len(got) > 1 || (len(got) == 1 && got[0] != fleetW3) {
		t.Errorf("hosts with a \"<host>: joined\" line: %v, want at most [%s]:\n%s", got, fleetW3, third.out)
	}
	t.Run("after adding a worker", func(t *testing.T) {
		t.Run("its host key is printed and recorded", func(t *testing.T) {
			t.Parallel()
			if !containsAny(killed.out, w3fps) {
				t.Errorf("apply %s shows none of %s's fingerprints %v:\n%s", fleetTrustFlag, fleetW3, w3fps, killed.out)
			}
			keys := recordedKeys(t, kh, e.ip[fleetW3])
			if len(keys) == 0 {
				t.Fatalf("no entry for %s (%s) in %s after %s", fleetW3, e.ip[fleetW3], kh, fleetTrustFlag)
			}
			actual := nodes.KnownHosts(t, fleetW3)
			for _, k := range keys {
				if !strings.Contains(actual, " "+k) {
					t.Errorf("%s records %q for %s, which is not one of its host keys:\n%s", kh, k, fleetW3, actual)
				}
			}
			if now, _ := os.ReadFile(e.knownHosts); !bytes.Equal(now, khData) {
				t.Errorf("%s, not named by the inventory, changed", e.knownHosts)
			}
		})
		t.Run("four Nodes Ready, the others untouched", func(t *testing.T) {
			t.Parallel()
			e.waitNodes(t, e.kubeconfig, four...)
			workerAdded = true
			for _, n := range three {
				if now := nodeState(t, n); now != before[n] {
					t.Errorf("adding %s changed %s's agent or containers:\nbefore:\n%s\nafter:\n%s", fleetW3, n, before[n], now)
				}
			}
		})
		t.Run("a wrong pinned host key is refused with both fingerprints", func(t *testing.T) {
			t.Parallel()
			wrong := make([]fleetHost, len(hosts))
			copy(wrong, hosts)
			pin := nodes.HostKey(t, fleetCP, nodes.HostKeyED25519)
			wrong[1].hostKey = pin // fe-w1 pinned to fe-cp's key
			r := e.fleet(t, "apply", "-f", e.inventory(t, "cluster-pin.yaml", kh, wrong)).mustFail(t)
			actual := fingerprints(t, fleetW1)
			if !strings.Contains(r.out, pin) || !containsAny(r.out, actual) {
				t.Errorf("the refusal does not show both the pinned fingerprint %s and one of %s's %v:\n%s", pin, fleetW1, actual, r.out)
			}
		})
		t.Run("status lists every host with its role and Node state", func(t *testing.T) {
			t.Parallel()
			e.waitNodes(t, e.kubeconfig, four...)
			r := e.fleet(t, "status", "-f", inv).mustSucceed(t)
			for _, h := range hosts {
				var line string
				for _, l := range strings.Split(r.out, "\n") {
					if e.names(l, h.name) && strings.Contains(l, h.role) {
						line = l
						break
					}
				}
				if line == "" || !strings.Contains(line, "Ready") {
					t.Errorf("status has no line naming %s with its role %s and its Node's state Ready:\n%s", h.name, h.role, r.out)
				}
			}
		})
		t.Run("kubeconfig -o writes a working kubeconfig", func(t *testing.T) {
			t.Parallel()
			out := filepath.Join(e.dir, "fleet-kubeconfig")
			e.fleet(t, "kubeconfig", "-f", inv, "-o", out).mustSucceed(t)
			server, err := e.hostKubectl(t, out, "", "config", "view", "-o", "jsonpath={.clusters[0].cluster.server}")
			if want := "https://" + e.ip[fleetCP] + ":6443"; err != nil || strings.TrimSpace(server) != want {
				t.Errorf("server in the fleet kubeconfig = %q (%v), want %q", server, err, want)
			}
			if m, err := e.nodeStates(t, out); err != nil || len(m) != len(four) {
				t.Errorf("kubectl get nodes with the fleet kubeconfig: %v, %v", m, err)
			}
		})
	})
	if !workerAdded {
		t.FailNow()
	}

	// 4. fe-w2 marked reset: true is drained, deleted and reset.
	hosts[2].reset = true
	inv = e.inventory(t, "cluster-reset-w2.yaml", kh, hosts)
	fourth := e.fleet(t, "apply", "-f", inv).mustSucceed(t)
	t.Logf("apply with %s marked reset took %s:\n%s", fleetW2, fourth.took.Round(time.Millisecond), fourth.out)
	t.Run("the marked worker is gone and clean, the rest Ready", func(t *testing.T) {
		if out, err := e.k(t, "get", "node", fleetW2); err == nil || !strings.Contains(out, "NotFound") {
			t.Errorf("Node %s after its reset: %v\n%s", fleetW2, err, out)
		}
		if left := filesUnder(t, fleetW2, kubernetesDirs...); len(left) > 0 {
			t.Errorf("%s's reset left files behind: %v", fleetW2, left)
		}
		if got := e.joined(fourth.out, four...); len(got) > 0 {
			t.Errorf("the reset apply joined %v:\n%s", got, fourth.out)
		}
		e.waitNodes(t, e.kubeconfig, fleetCP, fleetW1, fleetW3)
	})

	// 5. fleet reset --marked-only, with fe-w3 marked too, resets fe-w3
	// alone (fe-w2, marked and already reset, needs nothing).
	hosts[3].reset = true
	inv = e.inventory(t, "cluster-reset-w3.yaml", kh, hosts)
	kept := []string{fleetCP, fleetW1}
	agents := map[string]string{}
	for _, n := range kept {
		agents[n] = agentPID(t, n)
	}
	fifth := e.fleet(t, "reset", "-f", inv, "--marked-only").mustSucceed(t)
	t.Logf("reset --marked-only took %s:\n%s", fifth.took.Round(time.Millisecond), fifth.out)
	t.Run("reset --marked-only removes the marked worker and keeps the rest", func(t *testing.T) {
		if out, err := e.k(t, "get", "node", fleetW3); err == nil || !strings.Contains(out, "NotFound") {
			t.Errorf("Node %s after reset --marked-only: %v\n%s", fleetW3, err, out)
		}
		if left := filesUnder(t, fleetW3, kubernetesDirs...); len(left) > 0 {
			t.Errorf("%s's reset left files behind: %v", fleetW3, left)
		}
		for _, n := range kept {
			if now := agentPID(t, n); now != agents[n] || now == "" {
				t.Errorf("%s's agent changed from pid %q to %q: reset --marked-only touched an unmarked host", n, agents[n], now)
			}
			if strings.Contains(fifth.out, "[fleet] "+n+": reset") {
				t.Errorf("reset --marked-only reset the unmarked %s:\n%s", n, fifth.out)
			}
		}
		e.waitNodes(t, e.kubeconfig, kept...)
	})

	// 6. fleet reset cleans every host.
	dump()
	dumped = true
	r := e.fleet(t, "reset", "-f", inv).mustSucceed(t)
	t.Logf("fleet reset took %s:\n%s", r.took.Round(time.Millisecond), r.out)
	for _, n := range four {
		dirs := kubernetesDirs
		if n == fleetCP {
			dirs = append([]string{"var/lib/etcd"}, dirs...)
		}
		if left := filesUnder(t, n, dirs...); len(left) > 0 {
			t.Errorf("fleet reset left files on %s: %v", n, left)
		}
	}
}

// TestFleetOutputHelpers checks how TestFleet reads fleet's output.
func TestFleetOutputHelpers(t *testing.T) {
	e := &fleetEnv{ip: map[string]string{fleetCP: "10.77.0.2", fleetW1: "10.77.0.3", fleetW2: "10.77.0.30"}}
	out := `[fleet] facts: fe-cp, fe-w1, 10.77.0.30
[fleet] fe-w1: joined
[fleet] spec.hosts[2] (fe-w2): joined in 3s
[fleet] 10.77.0.2: initialized

HOST   RESULT  FACTS
fe-cp  ok      1s
10.77.0.3  ok  2s

done
`
	if got := e.joined(out, fleetCP, fleetW1, fleetW2); strings.Join(got, " ") != fleetW1+" "+fleetW2 {
		t.Errorf("joined = %v, want [%s %s]", got, fleetW1, fleetW2)
	}
	if got := e.joined("[fleet] fe-w10: joined\n[fleet] 10.77.0.300: joined\n", fleetW1, fleetW2); len(got) > 0 {
		t.Errorf("joined matched a longer name or address: %v", got)
	}
	header, rows := summary(out)
	if !strings.HasPrefix(header, "HOST") || len(rows) != 2 {
		t.Fatalf("summary = %q, %q; want the header and two rows", header, rows)
	}
	if !e.names(rows[0], fleetCP) || !e.names(rows[1], fleetW1) || e.names(rows[1], fleetW2) {
		t.Errorf("names does not match the rows %q by name and address", rows)
	}
	if e.names("10.77.0.300 ok", fleetW2) || e.names("fe-w10 ok", fleetW1) {
		t.Error("names matched a longer name or address")
	}
}
