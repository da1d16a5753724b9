//go:build e2e

package e2e

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kubeadmin/kubeadmin/certs"
	"github.com/kubeadmin/kubeadmin/kubelet/network"
	"github.com/kubeadmin/kubeadmin/test/e2e/nodes"
)

// The join test's nodes: a kubeadmin control plane, two workers joined
// with kubeadmin, and one joined with upstream kubeadm and the upstream
// kubelet.
const (
	joinCP       = "jcp"
	joinW1       = "jw1"
	joinW2       = "jw2"
	joinUpstream = "jw3"
	// joinTimeout bounds a join and a node becoming Ready.
	joinTimeout = 2 * time.Minute
	// signingDuration is the controller-manager's --cluster-signing-duration
	// in the join cluster: with the signer's 5 minutes of back-dating, a
	// 3 minute certificate is rotated 36 s to 132 s after it was issued.
	signingDuration = "3m"
	joinNodePort    = 30081
)

// joinClusterConfig is the join cluster's kubeadm configuration.
var joinClusterConfig = `apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
controllerManager:
  extraArgs:
  - {name: cluster-signing-duration, value: ` + signingDuration + `}
`

// joinArgs are the token and CA pin that init printed.
type joinArgs struct{ endpoint, token, hash string }

var (
	tokenRE = regexp.MustCompile(`--token (\S+)`)
	hashRE  = regexp.MustCompile(`--discovery-token-ca-cert-hash (sha256:[0-9a-f]{64})`)
)

// parseJoinCommand reads the join command of init's (or token create's) output.
func parseJoinCommand(t testing.TB, out, endpoint string) joinArgs {
	t.Helper()
	tok, hash := tokenRE.FindStringSubmatch(out), hashRE.FindStringSubmatch(out)
	if tok == nil || hash == nil {
		t.Fatalf("no join command with a token and a CA hash in:\n%s", out)
	}
	return joinArgs{endpoint: endpoint, token: tok[1], hash: hash[1]}
}

// kubeadminJoin runs kubeadmin join on node and returns its output.
func kubeadminJoin(t testing.TB, node string, a joinArgs, extra ...string) (string, error) {
	t.Helper()
	args := append([]string{"kubeadmin", "join", a.endpoint, "--token", a.token, "--discovery-token-ca-cert-hash", a.hash}, extra...)
	out, errOut, err := nodes.Exec(t, node, args...)
	return out + errOut, err
}

// nodeReady is nil once node's Ready condition is True.
func nodeReady(t testing.TB, cp, node string) error {
	return jsonpathIs(t, cp, "node/"+node, `{.status.conditions[?(@.type=="Ready")].status}`, "True")
}

// nodeIsClean lists what a failed or reset join left in the node's
// private Kubernetes directories.
func nodeIsClean(t testing.TB, node string) []string {
	t.Helper()
	var left []string
	for _, dir := range []string{"etc/kubernetes", "var/lib/kubelet"} {
		root := filepath.Join(nodes.Root(t, node), dir)
		_ = filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
			if err == nil && !fi.IsDir() {
				left = append(left, strings.TrimPrefix(p, nodes.Root(t, node)))
			}
			return nil
		})
	}
	return left
}

func TestJoin(t *testing.T) {
	cp, w1, w2 := joinCP, joinW1, joinW2
	controlPlaneNode(t, cp)
	nodes.Up(t, w1, w2, joinUpstream)
	cfg := nodeConfig(t, cp, joinClusterConfig)
	out, errOut, err := nodes.Exec(t, cp, "kubeadmin", "init", "--config", cfg)
	if err != nil {
		t.Fatalf("kubeadmin init failed: %v\n%s\n%s", err, out, errOut)
	}
	endpoint := nodes.IP(t, cp) + ":6443"
	args := parseJoinCommand(t, out, endpoint)
	caPEM, err := os.ReadFile(filepath.Join(nodes.Root(t, cp), "etc/kubernetes/pki/ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(caPEM)
	ca, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if want := certs.CAPinHash(ca); args.hash != want {
		t.Fatalf("init printed the CA hash %s, the CA's is %s", args.hash, want)
	}

	t.Run("a wrong CA hash fails and writes nothing", func(t *testing.T) {
		wrong := args
		wrong.hash = "sha256:" + strings.Repeat("0", 64)
		out, err := kubeadminJoin(t, w1, wrong)
		if err == nil {
			t.Fatalf("join with a wrong CA hash succeeded:\n%s", out)
		}
		if !strings.Contains(out, args.hash) {
			t.Errorf("the error does not name the hash of the CA the cluster presented (%s):\n%s", args.hash, out)
		}
		if left := nodeIsClean(t, w1); len(left) > 0 {
			t.Errorf("a failed join left files behind: %v", left)
		}
	})

	t.Run("an unreachable endpoint fails with its address and writes nothing", func(t *testing.T) {
		cfg := nodeConfig(t, w1, `apiVersion: kubeadm.k8s.io/v1beta4
kind: JoinConfiguration
discovery:
  bootstrapToken:
    apiServerEndpoint: 10.77.0.254:6443
    token: `+args.token+`
    caCertHashes: [`+args.hash+`]
timeouts:
  discovery: 3s
`)
		out, errOut, err := nodes.Exec(t, w1, "kubeadmin", "join", "--config", cfg)
		if err == nil || !strings.Contains(out+errOut, "https://10.77.0.254:6443") {
			t.Errorf("join to an unreachable endpoint: err = %v, want an error naming the address:\n%s%s", err, out, errOut)
		}
		if strings.Contains(out+errOut, strings.SplitN(args.token, ".", 2)[1]) {
			t.Errorf("the error shows the token's secret:\n%s%s", out, errOut)
		}
		if left := nodeIsClean(t, w1); len(left) > 0 {
			t.Errorf("a failed join left files behind: %v", left)
		}
	})

	t.Run("two workers join at once and become Ready", func(t *testing.T) {
		var wg sync.WaitGroup
		for _, w := range []string{w1, w2} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				start := time.Now()
				out, err := kubeadminJoin(t, w, args)
				if err != nil {
					t.Errorf("kubeadmin join on %s: %v\n%s", w, err, out)
					return
				}
				t.Logf("%s joined in %s", w, time.Since(start).Round(time.Millisecond))
				if !strings.Contains(out, "This node has joined the cluster") {
					t.Errorf("join on %s did not print kubeadm's closing message:\n%s", w, out)
				}
				if fileExists(filepath.Join(nodes.Root(t, w), "etc/kubernetes/bootstrap-kubelet.conf")) {
					t.Errorf("%s: bootstrap-kubelet.conf (the token) was left on disk", w)
				}
				link := filepath.Join(nodes.Root(t, w), "var/lib/kubelet/pki/kubelet-client-current.pem")
				if target, err := os.Readlink(link); err != nil || !strings.Contains(target, "kubelet-client-") {
					t.Errorf("%s: kubelet-client-current.pem is not a link to a dated file: %q %v", w, target, err)
				}
			}()
		}
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
		for _, w := range []string{cp, w1, w2} {
			eventually(t, w+" Ready", joinTimeout, func() error { return nodeReady(t, cp, w) })
		}
		eventually(t, "kube-proxy on every node", joinTimeout, func() error { return allReady(t, cp, "kube-system", "k8s-app=kube-proxy") })
	})
	t.Run("the control plane's kubelet.conf follows the rotated certificate", func(t *testing.T) {
		conf, err := os.ReadFile(filepath.Join(nodes.Root(t, cp), "etc/kubernetes/kubelet.conf"))
		if err != nil || !strings.Contains(string(conf), "client-certificate: /var/lib/kubelet/pki/kubelet-client-current.pem") {
			t.Errorf("kubelet-finalize did not point kubelet.conf at the rotated certificate (%v):\n%s", err, conf)
		}
		out, errOut, err := nodes.Exec(t, cp, "kubeadmin", "certs", "check-expiration")
		if err != nil || !strings.Contains(out, "KUBELET CLIENT CERTIFICATE") || !strings.Contains(out, "kubelet.conf ") {
			t.Errorf("certs check-expiration does not show the kubelet client certificate: %v\n%s%s", err, out, errOut)
		}
	})
	if t.Failed() {
		t.FailNow()
	}

	var rotation sync.WaitGroup
	rotation.Add(1)
	go func() {
		defer rotation.Done()
		t.Run("client certificate rotates without a restart", func(t *testing.T) { testRotation(t, cp, w1) })
	}()
	t.Run("upstream kubeadm and kubelet join a kubeadmin cluster", func(t *testing.T) { testUpstreamWorker(t, cp, args) })
	t.Run("pods across nodes", func(t *testing.T) { testAcrossNodes(t, cp, []string{w1, w2}) })
	t.Run("drain, reset and re-join a worker; a deleted token cannot join", func(t *testing.T) { testRejoin(t, cp, w2, args) })
	rotation.Wait()
}

// clientCert is the node's current client certificate. The link is
// absolute inside the node: it is resolved under the node's root.
func clientCert(t testing.TB, node string) (*x509.Certificate, error) {
	target, err := os.Readlink(filepath.Join(nodes.Root(t, node), "var/lib/kubelet/pki/kubelet-client-current.pem"))
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(filepath.Join(nodes.Root(t, node), target))
	if err != nil {
		return nil, err
	}
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return nil, fmt.Errorf("no certificate in kubelet-client-current.pem")
		}
		if b.Type == "CERTIFICATE" {
			return x509.ParseCertificate(b.Bytes)
		}
	}
}

func testRotation(t *testing.T, cp, w string) {
	pid := agentPID(t, w)
	// client-go's certificate store replaces the link by removing it
	// first: a read may miss it for a moment.
	var first, second *x509.Certificate
	eventually(t, "the client certificate of "+w, 10*time.Second, func() (err error) {
		first, err = clientCert(t, w)
		return err
	})
	eventually(t, "a rotated client certificate on "+w, 4*time.Minute, func() (err error) {
		if second, err = clientCert(t, w); err != nil {
			return err
		}
		if second.SerialNumber.Cmp(first.SerialNumber) == 0 {
			return fmt.Errorf("still serial %s", first.SerialNumber)
		}
		return nil
	})
	lifetime := first.NotAfter.Sub(first.NotBefore)
	if at := second.NotBefore.Add(5 * time.Minute).Sub(first.NotBefore); at < lifetime*6/10 || at > lifetime {
		t.Errorf("rotated %s into a lifetime of %s, want at 70-90 %%", at, lifetime)
	}
	t.Logf("%s: client certificate %s (until %s) replaced by %s (until %s)", w, first.SerialNumber, first.NotAfter.Format(time.TimeOnly), second.SerialNumber, second.NotAfter.Format(time.TimeOnly))
	// Once the first certificate has expired, the node still reports with
	// the second, through the same agent.
	time.Sleep(time.Until(first.NotAfter))
	expired := time.Now()
	eventually(t, w+" renews its lease after the first certificate expired", time.Minute, func() error {
		out, err := kubectl(t, cp, "get", "lease", "-n", "kube-node-lease", w, "-o", "jsonpath={.spec.renewTime}")
		if err != nil {
			return err
		}
		renewed, err := time.Parse("2006-01-02T15:04:05.000000Z07:00", strings.TrimSpace(out))
		if err != nil {
			return err
		}
		if !renewed.After(expired) {
			return fmt.Errorf("lease of %s last renewed %s", w, out)
		}
		return nodeReady(t, cp, w)
	})
	if got := agentPID(t, w); got != pid {
		t.Errorf("the agent restarted (pid %s, then %s) to rotate its certificate", pid, got)
	}
}

// spreadDeployment is a Deployment of testapp spread over the workers,
// with a ClusterIP and a NodePort Service.
func spreadDeployment(ns string, replicas int) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: %[1]s}
spec:
  replicas: %[3]d
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 2
      topologySpreadConstraints:
      - {maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: DoNotSchedule, labelSelector: {matchLabels: {app: web}}}
      affinity:
        nodeAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            nodeSelectorTerms:
            - matchExpressions:
              - {key: kubernetes.io/hostname, operator: In, values: [%[4]s, %[5]s]}
      containers:
      - name: web
        image: %[2]s
        imagePullPolicy: IfNotPresent
        env:
        - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
        readinessProbe: {httpGet: {path: /readyz, port: 8080}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: %[1]s}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080, nodePort: %[6]d}]
`, ns, testImage, replicas, joinW1, joinW2, joinNodePort)
}

// podsByNode maps node name to the IPs of the pods matching sel.
func podsByNode(t testing.TB, cp, ns, sel string) (map[string][]string, error) {
	out, err := kubectl(t, cp, "-n", ns, "get", "pods", "-l", sel, "-o", `jsonpath={range .items[*]}{.spec.nodeName}={.status.podIP}{"\n"}{end}`)
	if err != nil {
		return nil, fmt.Errorf("%v: %s", err, out)
	}
	m := map[string][]string{}
	for _, l := range strings.Fields(out) {
		n, ip, _ := strings.Cut(l, "=")
		m[n] = append(m[n], ip)
	}
	return m, nil
}

// pinnedClient starts a testapp pod on node.
func pinnedClient(t testing.TB, cp, ns, name, node string) {
	t.Helper()
	apply(t, cp, fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: %s, namespace: %s}
spec:
  nodeName: %s
  terminationGracePeriodSeconds: 1
  tolerations: [{operator: Exists}]
  containers:
  - {name: c, image: %s, imagePullPolicy: IfNotPresent}
`, name, ns, node, testImage))
	eventually(t, name+" Ready", workloadTimeout, func() error {
		return jsonpathIs(t, cp, "pod/"+name, `{.status.conditions[?(@.type=="Ready")].status}`, "True", "-n", ns)
	})
}

func testAcrossNodes(t *testing.T, cp string, workers []string) {
	ns := "across"
	namespace(t, cp, ns)
	apply(t, cp, spreadDeployment(ns, 4))
	rolloutStatus(t, cp, ns, "deployment/web")
	byNode, err := podsByNode(t, cp, ns, "app=web")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range workers {
		if len(byNode[w]) != 2 {
			t.Fatalf("the Deployment is not spread over the workers: %v", byNode)
		}
	}
	// A client on the control plane and on each worker reaches the pods of
	// every worker, the Service by name, and the NodePort on every node.
	clients := map[string]string{"client-cp": cp}
	for i, w := range workers {
		clients[fmt.Sprintf("client-w%d", i+1)] = w
	}
	for name, node := range clients {
		pinnedClient(t, cp, ns, name, node)
	}
	for name, from := range clients {
		for _, w := range workers {
			for _, ip := range byNode[w] {
				eventually(t, fmt.Sprintf("pod %s on %s from %s", ip, w, from), 30*time.Second, func() error {
					out, err := podExec(t, cp, ns, name, "/testapp", "get", "http://"+ip+":8080/")
					if err != nil || !strings.Contains(out, "pod=web-") {
						return fmt.Errorf("%v: %q", err, out)
					}
					return nil
				})
			}
		}
		eventually(t, "Service web by DNS name from "+from, 30*time.Second, func() error {
			out, err := podExec(t, cp, ns, name, "/testapp", "get", "http://web."+ns+".svc.cluster.local/")
			if err != nil || !strings.Contains(out, "pod=web-") {
				return fmt.Errorf("%v: %q", err, out)
			}
			return nil
		})
	}
	for _, n := range append([]string{cp}, workers...) {
		url := fmt.Sprintf("http://%s:%d/", nodes.IP(t, n), joinNodePort)
		eventually(t, "NodePort "+url, 30*time.Second, func() error {
			out, _, err := nodes.Exec(t, cp, "curl", "-sf", "--max-time", "2", url)
			if err != nil || !strings.Contains(out, "pod=web-") {
				return fmt.Errorf("%v: %q", err, out)
			}
			return nil
		})
	}
}

func testRejoin(t *testing.T, cp, w string, args joinArgs) {
	ns := "drain"
	namespace(t, cp, ns)
	apply(t, cp, fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: app, namespace: %s}
spec:
  replicas: 2
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec:
      terminationGracePeriodSeconds: 2
      containers:
      - {name: c, image: %s, imagePullPolicy: IfNotPresent}
`, ns, testImage))
	rolloutStatus(t, cp, ns, "deployment/app")
	if out, err := kubectl(t, cp, "drain", w, "--ignore-daemonsets", "--delete-emptydir-data", "--force", "--timeout=90s"); err != nil {
		t.Fatalf("kubectl drain %s: %v\n%s", w, err, out)
	}
	eventually(t, "no workload pod left on "+w, 60*time.Second, func() error {
		out, err := kubectl(t, cp, "get", "pods", "-A", "--field-selector", "spec.nodeName="+w, "-o", `jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name} {end}`)
		if err != nil {
			return err
		}
		for _, p := range strings.Fields(out) {
			if !strings.HasPrefix(p, "kube-system/kube-proxy-") {
				return fmt.Errorf("still on %s: %s", w, out)
			}
		}
		return nil
	})
	rolloutStatus(t, cp, ns, "deployment/app")

	if out, errOut, err := nodes.Exec(t, w, "kubeadmin", "reset", "-f"); err != nil {
		t.Fatalf("kubeadmin reset on %s: %v\n%s\n%s", w, err, out, errOut)
	}
	if left := nodeIsClean(t, w); len(left) > 0 {
		t.Errorf("reset left files behind: %v", left)
	}
	if tasks := nodeTasks(t, w); len(tasks) > 0 {
		t.Errorf("reset left containers behind: %v", tasks)
	}

	// A Ready node's name is refused before anything is written.
	if out, err := kubeadminJoin(t, w, args, "--node-name", joinW1); err == nil || !strings.Contains(out, `a Node with name "`+joinW1+`" and status "Ready" already exists`) {
		t.Errorf("join under the name of a Ready node: err = %v\n%s", err, out)
	}
	if left := nodeIsClean(t, w); len(left) > 0 {
		t.Errorf("the refused join left files behind: %v", left)
	}

	// The init token, deleted, can no longer join.
	id, _, _ := strings.Cut(args.token, ".")
	if out, errOut, err := nodes.Exec(t, cp, "kubeadmin", "token", "delete", id); err != nil || !strings.Contains(out, fmt.Sprintf("bootstrap token %q deleted", id)) {
		t.Fatalf("kubeadmin token delete %s: %v\n%s%s", id, err, out, errOut)
	}
	if out, err := kubectl(t, cp, "delete", "node", w); err != nil {
		t.Fatalf("kubectl delete node %s: %v\n%s", w, err, out)
	}
	eventually(t, "the deleted token refused", 30*time.Second, func() error {
		out, err := kubeadminJoin(t, w, args)
		if err == nil {
			return permanent(fmt.Errorf("a deleted token joined:\n%s", out))
		}
		if !strings.Contains(out, "kubeadmin token create") {
			return fmt.Errorf("the error does not say how to get a new token:\n%s", out)
		}
		return nil
	})
	if left := nodeIsClean(t, w); len(left) > 0 {
		t.Errorf("the refused join left files behind: %v", left)
	}

	out, errOut, err := nodes.Exec(t, cp, "kubeadmin", "token", "create", "--print-join-command")
	if err != nil {
		t.Fatalf("kubeadmin token create --print-join-command: %v\n%s%s", err, out, errOut)
	}
	fresh := parseJoinCommand(t, out, args.endpoint)
	if out, err := kubeadminJoin(t, w, fresh); err != nil {
		t.Fatalf("re-join of %s: %v\n%s", w, err, out)
	}
	eventually(t, w+" Ready again", joinTimeout, func() error { return nodeReady(t, cp, w) })
	if out, err := kubectl(t, cp, "uncordon", w); err != nil {
		t.Errorf("uncordon: %v\n%s", err, out)
	}
}

// upstreamJoinPatch adapts the cluster's KubeletConfiguration to the
// upstream kubelet in a test node (no systemd, shared cgroup tree).
func upstreamJoinPatch(node string) string {
	return `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: cgroupfs
cgroupRoot: /kubeadmin-` + node + `
failSwapOn: false
failCgroupV1: false
`
}

// installBridge writes the agent's own CNI configuration for the node's
// pod CIDR, and routes to the other nodes' pod CIDRs, by hand: what the
// built-in network does for kubeadmin's agent.
func installBridge(t testing.TB, cp, node string) {
	t.Helper()
	var cidr string
	eventually(t, node+" has a pod CIDR", joinTimeout, func() error {
		out, err := kubectl(t, cp, "get", "node", node, "-o", "jsonpath={.spec.podCIDR}")
		if err != nil || strings.TrimSpace(out) == "" {
			return fmt.Errorf("no podCIDR yet: %v %s", err, out)
		}
		cidr = strings.TrimSpace(out)
		return nil
	})
	conf, err := network.Render(cidr)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(nodes.Root(t, node), "etc/cni/net.d")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "10-kubeadmin.conflist"), conf, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := kubectl(t, cp, "get", "nodes", "-o", `jsonpath={range .items[*]}{.metadata.name}={.spec.podCIDR}={.status.addresses[?(@.type=="InternalIP")].address}{"\n"}{end}`)
	if err != nil {
		t.Fatal(err, out)
	}
	for _, l := range strings.Fields(out) {
		f := strings.Split(l, "=")
		if len(f) != 3 || f[0] == node || f[1] == "" {
			continue
		}
		if o, e, err := nodes.Exec(t, node, "ip", "route", "replace", f[1], "via", f[2]); err != nil {
			t.Fatalf("route to %s on %s: %v %s %s", f[1], node, err, o, e)
		}
	}
}

// upstreamKubelet runs the upstream kubelet in node as a plain process,
// started once kubeadm's kubelet-start wrote its files, as systemd's
// restart would.
func upstreamKubelet(t testing.TB, node string) {
	t.Helper()
	script := `while [ ! -s /var/lib/kubelet/config.yaml ] || [ ! -s /var/lib/kubelet/kubeadm-flags.env ]; do sleep 0.02; done
. /var/lib/kubelet/kubeadm-flags.env
exec ` + upstreamBin(t, "kubelet") + ` --config=/var/lib/kubelet/config.yaml --kubeconfig=/etc/kubernetes/kubelet.conf \
  --bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf $KUBELET_KUBEADM_ARGS >/var/log/kubeadmin/upstream-kubelet.log 2>&1`
	hierarchies, _ := filepath.Glob("/sys/fs/cgroup/*")
	for _, h := range hierarchies {
		if fi, err := os.Stat(h); err == nil && fi.IsDir() {
			_ = os.MkdirAll(filepath.Join(h, "kubeadmin-"+node), 0o755)
		}
	}
	cmd := nodes.Command(t, node, "setsid", "sh", "-c", script)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = cmd.Wait() }()
}

// upstreamIgnore are the upstream preflight checks a test node cannot pass
// (no systemd, no crictl, swap on the host).
const upstreamIgnore = "--ignore-preflight-errors=SystemVerification,Service-Kubelet,FileExisting-crictl,KubeletVersion,Swap"

func testUpstreamWorker(t *testing.T, cp string, args joinArgs) {
	node := joinUpstream
	patches := filepath.Join(filepath.Dir(nodes.Root(t, node)), "patches")
	if err := os.MkdirAll(patches, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(patches, "kubeletconfiguration.yaml"), []byte(upstreamJoinPatch(node)), 0o644); err != nil {
		t.Fatal(err)
	}
	upstreamKubelet(t, node)
	out, errOut, err := nodes.Exec(t, node, upstreamBin(t, "kubeadm"), "join", args.endpoint, "--token", args.token,
		"--discovery-token-ca-cert-hash", args.hash, "--patches", patches, upstreamIgnore)
	if err != nil {
		t.Fatalf("upstream kubeadm join: %v\n%s\n%s", err, out, errOut)
	}
	installBridge(t, cp, node)
	eventually(t, node+" Ready", joinTimeout, func() error { return nodeReady(t, cp, node) })
	ns := "upstream-node"
	namespace(t, cp, ns)
	pinnedClient(t, cp, ns, "on-upstream", node)
	pinnedClient(t, cp, ns, "on-kubeadmin", joinW1)
	ip, err := kubectl(t, cp, "-n", ns, "get", "pod", "on-upstream", "-o", "jsonpath={.status.podIP}")
	if err != nil {
		t.Fatal(err, ip)
	}
	if out, err := kubectl(t, cp, "-n", ns, "logs", "on-upstream"); err != nil || !strings.Contains(out, "testapp") {
		t.Errorf("kubectl logs of a pod on the upstream kubelet: %v %q", err, out)
	}
	eventually(t, "a pod on the upstream node from a kubeadmin node", 30*time.Second, func() error {
		out, err := podExec(t, cp, ns, "on-kubeadmin", "/testapp", "get", "http://"+ip+":8080/")
		if err != nil || !strings.Contains(out, "pod=on-upstream") {
			return fmt.Errorf("%v: %q", err, out)
		}
		return nil
	})
}

// upstreamInitConfig is the configuration of upstream kubeadm init in a
// test node: the pod subnet makes the controller-manager allocate pod
// CIDRs, and the kubelet settings suit a node without systemd.
func upstreamInitConfig(node, ip string) string {
	return `apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
localAPIEndpoint:
  advertiseAddress: "` + ip + `"
nodeRegistration:
  kubeletExtraArgs:
  - {name: node-ip, value: "` + ip + `"}
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: v1.37.2
networking:
  podSubnet: 10.244.0.0/16
  serviceSubnet: 10.96.0.0/12
---
` + upstreamJoinPatch(node)
}

// TestJoinUpstreamCluster joins a worker with kubeadmin and its agent to a
// cluster made by upstream kubeadm init with the upstream kubelet. That
// cluster has no built-in pod network: the control plane gets the same
// bridge configuration by hand.
func TestJoinUpstreamCluster(t *testing.T) {
	cp, w := "ucp", "uw1"
	controlPlaneNode(t, cp)
	nodes.Up(t, w)
	ip := nodes.IP(t, cp)
	cfg := nodeConfig(t, cp, upstreamInitConfig(cp, ip))
	upstreamKubelet(t, cp)
	out, errOut, err := nodes.Exec(t, cp, upstreamBin(t, "kubeadm"), "init", "--config", cfg, upstreamIgnore)
	if err != nil {
		t.Fatalf("upstream kubeadm init: %v\n%s\n%s", err, out, errOut)
	}
	installBridge(t, cp, cp)
	args := parseJoinCommand(t, out, ip+":6443")
	// The cluster's KubeletConfiguration names the control plane's cgroup
	// root (test nodes share the host's cgroup tree): the worker gets its
	// own through a kubeletconfiguration patch, as kubeadm users do.
	patches := filepath.Join(filepath.Dir(nodes.Root(t, w)), "patches")
	if err := os.MkdirAll(patches, 0o755); err != nil {
		t.Fatal(err)
	}
	patch := "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\ncgroupRoot: /kubeadmin-" + w + "\n"
	if err := os.WriteFile(filepath.Join(patches, "kubeletconfiguration.yaml"), []byte(patch), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if out, err := kubeadminJoin(t, w, args, "--patches", patches); err != nil {
		t.Fatalf("kubeadmin join to an upstream cluster: %v\n%s", err, out)
	}
	t.Logf("kubeadmin join to the upstream cluster took %s", time.Since(start).Round(time.Millisecond))
	eventually(t, w+" Ready", joinTimeout, func() error { return nodeReady(t, cp, w) })
	ns := "kubeadmin-node"
	namespace(t, cp, ns)
	pinnedClient(t, cp, ns, "on-kubeadmin", w)
	if out, err := kubectl(t, cp, "-n", ns, "logs", "on-kubeadmin"); err != nil || !strings.Contains(out, "testapp") {
		t.Errorf("kubectl logs of a pod on the kubeadmin agent: %v %q", err, out)
	}
	if out, err := podExec(t, cp, ns, "on-kubeadmin", "/testapp", "hostname"); err != nil || !strings.Contains(out, "on-kubeadmin") {
		t.Errorf("kubectl exec in a pod on the kubeadmin agent: %v %q", err, out)
	}
}
