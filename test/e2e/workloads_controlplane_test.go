//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kubeadmin/kubeadmin/test/e2e/nodes"
)

// The workloads tests share one single-node cluster: init, the
// control-plane taint removed, CoreDNS and kube-proxy Ready. The tests
// that only add objects in their own namespace run in parallel; the
// reliability tests (agent killed, containerd restarted, churn) run after
// them, one at a time.
const (
	workloadNode = "wl1"
	testImage    = "kubeadmin.test/testapp:v1"
	testImage2   = "kubeadmin.test/testapp:v2"
	// testNodePort is the NodePort of the deployment test's Service.
	testNodePort = 30080
	// workloadTimeout bounds one workload becoming ready.
	workloadTimeout = 90 * time.Second
)

func TestWorkloads(t *testing.T) {
	node := workloadNode
	controlPlaneNode(t, node)
	if out, errOut, err := nodes.Exec(t, node, "kubeadmin", "init"); err != nil {
		t.Fatalf("kubeadmin init failed: %v\n%s\n%s", err, out, errOut)
	}
	if out, err := kubectl(t, node, "taint", "nodes", "--all", "node-role.kubernetes.io/control-plane-"); err != nil {
		t.Fatalf("removing the control-plane taint: %v\n%s", err, out)
	}

	t.Run("node, CoreDNS and kube-proxy Ready", func(t *testing.T) {
		eventually(t, "node Ready", workloadTimeout, func() error {
			return jsonpathIs(t, node, "node/"+node, `{.status.conditions[?(@.type=="Ready")].status}`, "True")
		})
		for _, sel := range []string{"k8s-app=kube-dns", "k8s-app=kube-proxy"} {
			eventually(t, sel+" Ready", workloadTimeout, func() error { return allReady(t, node, "kube-system", sel) })
		}
		cidr, _ := kubectl(t, node, "get", "node", node, "-o", "jsonpath={.spec.podCIDR}")
		if !strings.HasPrefix(cidr, "10.244.") {
			t.Errorf("node podCIDR = %q, want one from the default pod subnet 10.244.0.0/16", cidr)
		}
	})

	t.Run("parallel", func(t *testing.T) {
		t.Run("deployment, service DNS, rolling update", func(t *testing.T) { t.Parallel(); testDeployment(t, node) })
		t.Run("crash loop back-off", func(t *testing.T) { t.Parallel(); testCrashLoop(t, node) })
		t.Run("jobs and cronjobs", func(t *testing.T) { t.Parallel(); testJobs(t, node) })
		t.Run("logs, exec, port-forward", func(t *testing.T) { t.Parallel(); testStreaming(t, node) })
		t.Run("volumes and environment", func(t *testing.T) { t.Parallel(); testVolumesAndEnv(t, node) })
		t.Run("daemonset, statefulset, host network", func(t *testing.T) { t.Parallel(); testControllers(t, node) })
		t.Run("kubectl top", func(t *testing.T) { t.Parallel(); testTop(t, node) })
	})
	t.Run("agent killed with -9", func(t *testing.T) { testAgentKill(t, node) })
	t.Run("containerd restart", func(t *testing.T) { testContainerdRestart(t, node) })
	t.Run("API server away", func(t *testing.T) { testAPIServerAway(t, node) })
	t.Run("churn leaves nothing behind", func(t *testing.T) { testChurn(t, node) })
}

// apply runs kubectl apply -f - with doc.
func apply(t testing.TB, node, doc string) {
	t.Helper()
	cmd := nodes.Command(t, node, "kubectl", "apply", "-f", "-")
	cmd.Stdin = strings.NewReader(doc)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("kubectl apply: %v\n%s\n%s", err, out.String(), doc)
	}
}

// namespace creates a namespace for one test and deletes it at the end.
func namespace(t testing.TB, node, ns string) {
	t.Helper()
	if out, err := kubectl(t, node, "create", "namespace", ns); err != nil {
		t.Fatalf("create namespace %s: %v\n%s", ns, err, out)
	}
	t.Cleanup(func() { _, _ = kubectl(t, node, "delete", "namespace", ns, "--wait=false") })
	// Pods need the namespace's default service account, which
	// controller-manager creates a moment later.
	eventually(t, "the default service account of "+ns, workloadTimeout, func() error {
		_, err := kubectl(t, node, "-n", ns, "get", "serviceaccount", "default")
		return err
	})
}

// jsonpathIs checks one jsonpath value of an object.
func jsonpathIs(t testing.TB, node, obj, path, want string, extra ...string) error {
	t.Helper()
	args := append([]string{"get", obj, "-o", "jsonpath=" + path}, extra...)
	out, err := kubectl(t, node, args...)
	if err != nil {
		return fmt.Errorf("%v: %s", err, out)
	}
	if strings.TrimSpace(out) != want {
		return fmt.Errorf("%s %s = %q, want %q", obj, path, out, want)
	}
	return nil
}

// allReady is nil when at least one pod matches sel in ns and every one is
// Ready.
func allReady(t testing.TB, node, ns, sel string) error {
	t.Helper()
	out, err := kubectl(t, node, "-n", ns, "get", "pods", "-l", sel, "-o", `jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status} {end}`)
	if err != nil {
		return fmt.Errorf("%v: %s", err, out)
	}
	f := strings.Fields(out)
	if len(f) == 0 {
		return fmt.Errorf("no pod matches %s", sel)
	}
	for _, p := range f {
		if !strings.HasSuffix(p, "=True") {
			return fmt.Errorf("not Ready: %s", out)
		}
	}
	return nil
}

// podExec runs a command in a pod's container.
func podExec(t testing.TB, node, ns, pod string, args ...string) (string, error) {
	t.Helper()
	return kubectl(t, node, append([]string{"-n", ns, "exec", pod, "--"}, args...)...)
}

// clientPod starts a testapp pod to run requests from, and waits for it.
func clientPod(t testing.TB, node, ns string) string {
	t.Helper()
	apply(t, node, fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: client, namespace: %s}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: %s, imagePullPolicy: IfNotPresent}
`, ns, testImage))
	eventually(t, "client pod Ready", workloadTimeout, func() error {
		return jsonpathIs(t, node, "pod/client", `{.status.conditions[?(@.type=="Ready")].status}`, "True", "-n", ns)
	})
	return "client"
}

// webDeployment is a Deployment of testapp with a ClusterIP, a headless
// and, when nodePort is set, a NodePort Service.
func webDeployment(ns, image string, replicas, nodePort int) string {
	doc := fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: %[1]s}
spec:
  replicas: %[3]d
  selector: {matchLabels: {app: web}}
  strategy: {rollingUpdate: {maxUnavailable: 0, maxSurge: 1}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 2
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
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: web-headless, namespace: %[1]s}
spec:
  clusterIP: None
  selector: {app: web}
  ports: [{port: 8080}]
`, ns, image, replicas)
	if nodePort != 0 {
		doc += fmt.Sprintf(`---
apiVersion: v1
kind: Service
metadata: {name: web-nodeport, namespace: %s}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080, nodePort: %d}]
`, ns, nodePort)
	}
	return doc
}

func rolloutStatus(t testing.TB, node, ns, obj string) {
	t.Helper()
	if out, err := kubectl(t, node, "-n", ns, "rollout", "status", obj, "--timeout=90s"); err != nil {
		t.Fatalf("rollout of %s: %v\n%s\n%s", obj, err, out, describe(t, node, ns))
	}
}

// describe is the namespace's pods and events, for failure messages.
func describe(t testing.TB, node, ns string) string {
	t.Helper()
	pods, _ := kubectl(t, node, "-n", ns, "get", "pods", "-o", "wide")
	events, _ := kubectl(t, node, "-n", ns, "get", "events", "--sort-by=.lastTimestamp")
	return pods + "\n" + events
}

func testDeployment(t *testing.T, node string) {
	const ns = "deploy"
	namespace(t, node, ns)
	apply(t, node, webDeployment(ns, testImage, 3, testNodePort))
	rolloutStatus(t, node, ns, "deployment/web")
	client := clientPod(t, node, ns)

	ips, _ := kubectl(t, node, "-n", ns, "get", "pods", "-l", "app=web", "-o", "jsonpath={.items[*].status.podIP}")
	wantIPs := strings.Fields(ips)
	sort.Strings(wantIPs)
	if len(wantIPs) != 3 {
		t.Fatalf("pod IPs %q, want 3", ips)
	}
	t.Run("ClusterIP by DNS name balances over the replicas", func(t *testing.T) {
		seen := map[string]bool{}
		eventually(t, "answers from all three replicas through web."+ns+".svc.cluster.local", 60*time.Second, func() error {
			out, err := podExec(t, node, ns, client, "/testapp", "get", "http://web."+ns+".svc.cluster.local/")
			if err != nil {
				return fmt.Errorf("%v: %s", err, out)
			}
			seen[strings.TrimSpace(out)] = true
			if len(seen) < 3 {
				return fmt.Errorf("answers so far: %v", seen)
			}
			return nil
		})
		if out, err := podExec(t, node, ns, client, "/testapp", "get", "http://web/"); err != nil {
			t.Errorf("the short name web does not answer (search path): %v %s", err, out)
		}
	})
	t.Run("headless service resolves to the pod IPs", func(t *testing.T) {
		eventually(t, "web-headless resolves to the three pod IPs", 30*time.Second, func() error {
			out, err := podExec(t, node, ns, client, "/testapp", "lookup", "web-headless."+ns+".svc.cluster.local")
			if err != nil {
				return fmt.Errorf("%v: %s", err, out)
			}
			got := strings.Fields(out)
			sort.Strings(got)
			if strings.Join(got, " ") != strings.Join(wantIPs, " ") {
				return fmt.Errorf("resolved %v, want %v", got, wantIPs)
			}
			return nil
		})
	})
	t.Run("NodePort answers on the node address", func(t *testing.T) {
		url := fmt.Sprintf("http://%s:%d/", nodes.IP(t, node), testNodePort)
		eventually(t, "NodePort "+url, 30*time.Second, func() error {
			out, _, err := nodes.Exec(t, node, "curl", "-sf", "--max-time", "2", url)
			if err != nil || !strings.Contains(out, "web-") {
				return fmt.Errorf("%v: %q", err, out)
			}
			return nil
		})
	})
	t.Run("rolling update to a second tag", func(t *testing.T) {
		if out, err := kubectl(t, node, "-n", ns, "set", "image", "deployment/web", "web="+testImage2); err != nil {
			t.Fatalf("set image: %v\n%s", err, out)
		}
		rolloutStatus(t, node, ns, "deployment/web")
		eventually(t, "only v2 pods", 60*time.Second, func() error {
			out, err := kubectl(t, node, "-n", ns, "get", "pods", "-l", "app=web", "-o", "jsonpath={.items[*].spec.containers[0].image}")
			if err != nil {
				return err
			}
			imgs := strings.Fields(out)
			for _, i := range imgs {
				if i != testImage2 {
					return fmt.Errorf("images %v", imgs)
				}
			}
			if len(imgs) != 3 {
				return fmt.Errorf("images %v, want 3 pods", imgs)
			}
			return nil
		})
	})
	t.Run("a deleted pod is replaced", func(t *testing.T) {
		name, _ := kubectl(t, node, "-n", ns, "get", "pods", "-l", "app=web", "-o", "jsonpath={.items[0].metadata.name}")
		if out, err := kubectl(t, node, "-n", ns, "delete", "pod", name, "--timeout=60s"); err != nil {
			t.Fatalf("delete pod %s: %v\n%s", name, err, out)
		}
		eventually(t, "three Ready replicas again", workloadTimeout, func() error {
			return jsonpathIs(t, node, "deployment/web", "{.status.readyReplicas}", "3", "-n", ns)
		})
		events, _ := kubectl(t, node, "-n", ns, "get", "events", "--field-selector", "involvedObject.name="+name, "-o", "jsonpath={range .items[*]}{.reason} {end}")
		for _, want := range []string{"Pulled", "Created", "Started", "Killing"} {
			if !strings.Contains(events, want) {
				t.Errorf("events of %s lack %s: %s", name, want, events)
			}
		}
	})
}

func testCrashLoop(t *testing.T, node string) {
	const ns = "crash"
	namespace(t, node, ns)
	apply(t, node, fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: crasher, namespace: %s}
spec:
  containers:
  - {name: c, image: %s, imagePullPolicy: IfNotPresent, args: ["--crash-after=200ms", "--exit-code=3"]}
`, ns, testImage))
	// The waiting message names the back-off, which doubles: 10 s, 20 s.
	var seen []string
	eventually(t, "CrashLoopBackOff with back-off 10s then 20s", 90*time.Second, func() error {
		out, err := kubectl(t, node, "-n", ns, "get", "pod", "crasher", "-o", "jsonpath={.status.containerStatuses[0].state.waiting.reason}|{.status.containerStatuses[0].state.waiting.message}|{.status.containerStatuses[0].lastState.terminated.exitCode}")
		if err != nil {
			return err
		}
		parts := strings.Split(out, "|")
		if len(parts) == 3 && parts[0] == "CrashLoopBackOff" {
			if m := regexp.MustCompile(`back-off (\d+s)`).FindStringSubmatch(parts[1]); m != nil && (len(seen) == 0 || seen[len(seen)-1] != m[1]) {
				seen = append(seen, m[1])
				if parts[2] != "3" {
					return permanent(fmt.Errorf("last exit code %q, want 3", parts[2]))
				}
			}
		}
		if strings.Contains(strings.Join(seen, " "), "10s 20s") {
			return nil
		}
		return fmt.Errorf("back-offs seen %v (now %q)", seen, out)
	})
	out, _ := kubectl(t, node, "-n", ns, "get", "pod", "crasher")
	if !strings.Contains(out, "CrashLoopBackOff") && !strings.Contains(out, "Error") {
		t.Errorf("kubectl get pods shows neither CrashLoopBackOff nor Error:\n%s", out)
	}
	if out, err := kubectl(t, node, "-n", ns, "logs", "crasher", "--previous"); err != nil || !strings.Contains(out, "testapp") {
		t.Errorf("logs --previous: %v %q", err, out)
	}
	events, _ := kubectl(t, node, "-n", ns, "get", "events", "-o", "jsonpath={range .items[*]}{.reason} {end}")
	if !strings.Contains(events, "BackOff") {
		t.Errorf("no BackOff event: %s", events)
	}
}

func testJobs(t *testing.T, node string) {
	const ns = "jobs"
	namespace(t, node, ns)
	apply(t, node, fmt.Sprintf(`apiVersion: batch/v1
kind: Job
metadata: {name: three, namespace: %[1]s}
spec:
  completions: 3
  parallelism: 2
  template:
    spec:
      restartPolicy: Never
      containers:
      - {name: c, image: %[2]s, imagePullPolicy: IfNotPresent, args: ["--crash-after=100ms", "--exit-code=0"]}
---
apiVersion: batch/v1
kind: Job
metadata: {name: failing, namespace: %[1]s}
spec:
  backoffLimit: 1
  template:
    spec:
      restartPolicy: Never
      containers:
      - {name: c, image: %[2]s, imagePullPolicy: IfNotPresent, args: ["--crash-after=100ms", "--exit-code=1"]}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: every-minute, namespace: %[1]s}
spec:
  schedule: "*/1 * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
          - {name: c, image: %[2]s, imagePullPolicy: IfNotPresent, args: ["--crash-after=100ms", "--exit-code=0"]}
`, ns, testImage))
	eventually(t, "job three Complete", workloadTimeout, func() error {
		return jsonpathIs(t, node, "job/three", `{.status.succeeded}`, "3", "-n", ns)
	})
	out, _ := kubectl(t, node, "-n", ns, "get", "pods", "-l", "job-name=three", "-o", "jsonpath={.items[*].status.phase}")
	for _, ph := range strings.Fields(out) {
		if ph != "Succeeded" {
			t.Errorf("job pods phases %q, want all Succeeded", out)
			break
		}
	}
	eventually(t, "job failing Failed after its back-off limit", workloadTimeout, func() error {
		return jsonpathIs(t, node, "job/failing", `{.status.conditions[?(@.type=="Failed")].status}`, "True", "-n", ns)
	})
	if err := jsonpathIs(t, node, "job/failing", "{.status.failed}", "2", "-n", ns); err != nil {
		t.Errorf("backoffLimit 1: %v", err)
	}
	eventually(t, "a CronJob job completes", 150*time.Second, func() error {
		out, err := kubectl(t, node, "-n", ns, "get", "jobs", "-o", `jsonpath={range .items[*]}{.metadata.name}={.status.succeeded} {end}`)
		if err != nil {
			return err
		}
		for _, j := range strings.Fields(out) {
			if strings.HasPrefix(j, "every-minute-") && strings.HasSuffix(j, "=1") {
				return nil
			}
		}
		return fmt.Errorf("jobs: %s", out)
	})
}

func testStreaming(t *testing.T, node string) {
	const ns = "stream"
	namespace(t, node, ns)
	client := clientPod(t, node, ns)
	t.Run("logs", func(t *testing.T) {
		out, err := kubectl(t, node, "-n", ns, "logs", client, "--tail=1")
		if err != nil || strings.Count(strings.TrimSpace(out), "\n") != 0 || out == "" {
			t.Errorf("logs --tail=1: %v %q", err, out)
		}
		out, err = kubectl(t, node, "-n", ns, "logs", client, "--timestamps")
		if err != nil || !regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\dT\S+ testapp`).MatchString(out) {
			t.Errorf("logs --timestamps: %v %q", err, out)
		}
		out, err = kubectl(t, node, "-n", ns, "logs", client, "--limit-bytes=5")
		if err != nil || len(out) != 5 {
			t.Errorf("logs --limit-bytes=5: %v %q", err, out)
		}
		out, err = kubectl(t, node, "-n", ns, "logs", client, "--since=1h")
		if err != nil || !strings.Contains(out, "testapp") {
			t.Errorf("logs --since=1h: %v %q", err, out)
		}
		// -f keeps streaming until the request times out.
		cmd := nodes.Command(t, node, "timeout", "3", "kubectl", "-n", ns, "logs", "-f", client)
		var buf bytes.Buffer
		cmd.Stdout = &buf
		_ = cmd.Run()
		if !strings.Contains(buf.String(), "testapp") {
			t.Errorf("logs -f: %q", buf.String())
		}
	})
	t.Run("exec with stdin and a TTY", func(t *testing.T) {
		cmd := nodes.Command(t, node, "kubectl", "-n", ns, "exec", "-i", client, "--", "/testapp", "echo")
		cmd.Stdin = strings.NewReader("hello over exec\n")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "hello over exec") {
			t.Errorf("exec -i: %v %q", err, out)
		}
		// A TTY needs a terminal on kubectl's side: script(1) gives one.
		cmd = nodes.Command(t, node, "script", "-qec", "printf 'tty line\\n\\004' | kubectl -n "+ns+" exec -it "+client+" -- /testapp echo", "/dev/null")
		out, err = cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "tty line") {
			t.Errorf("exec -it: %v %q", err, out)
		}
	})
	t.Run("attach", func(t *testing.T) {
		apply(t, node, fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: echoer, namespace: %s}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: %s, imagePullPolicy: IfNotPresent, args: ["echo"], stdin: true}
`, ns, testImage))
		eventually(t, "echoer Running", workloadTimeout, func() error {
			return jsonpathIs(t, node, "pod/echoer", "{.status.phase}", "Running", "-n", ns)
		})
		// The line is sent once the stream is up, and kubectl stays
		// until the echo came back.
		cmd := nodes.Command(t, node, "sh", "-c", "(sleep 1; echo attached line; sleep 2) | timeout 10 kubectl -n "+ns+" attach -i echoer")
		out, _ := cmd.CombinedOutput()
		if !strings.Contains(string(out), "attached line") {
			t.Errorf("attach -i: %q", out)
		}
	})
	t.Run("port-forward", func(t *testing.T) {
		cmd := nodes.Command(t, node, "kubectl", "-n", ns, "port-forward", "pod/"+client, "18080:8080")
		var buf bytes.Buffer
		cmd.Stdout, cmd.Stderr = &buf, &buf
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
		eventually(t, "port-forward answers", 30*time.Second, func() error {
			out, _, err := nodes.Exec(t, node, "curl", "-sf", "--max-time", "2", "http://127.0.0.1:18080/healthz")
			if err != nil {
				return fmt.Errorf("%v %q (port-forward: %s)", err, out, buf.String())
			}
			return nil
		})
	})
}

func testVolumesAndEnv(t *testing.T, node string) {
	const ns = "vols"
	namespace(t, node, ns)
	apply(t, node, fmt.Sprintf(`apiVersion: v1
kind: ConfigMap
metadata: {name: cfg, namespace: %[1]s}
data: {greeting: hello, other: x}
---
apiVersion: v1
kind: Secret
metadata: {name: sec, namespace: %[1]s}
stringData: {password: s3cret}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: sa-view, namespace: %[1]s}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects: [{kind: ServiceAccount, name: default, namespace: %[1]s}]
---
apiVersion: v1
kind: Pod
metadata: {name: vol, namespace: %[1]s, labels: {app: vol}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: %[2]s
    imagePullPolicy: IfNotPresent
    resources: {limits: {memory: 64Mi}}
    env:
    - {name: GREETING, valueFrom: {configMapKeyRef: {name: cfg, key: greeting}}}
    - {name: PASSWORD, valueFrom: {secretKeyRef: {name: sec, key: password}}}
    - {name: MISSING, valueFrom: {configMapKeyRef: {name: nope, key: k, optional: true}}}
    - {name: MY_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
    - {name: MEM, valueFrom: {resourceFieldRef: {resource: limits.memory, divisor: 1Mi}}}
    - {name: COMBINED, value: "$(GREETING)-$(MEM)"}
    envFrom: [{prefix: CFG_, configMapRef: {name: cfg}}]
    volumeMounts:
    - {name: cfg, mountPath: /cfg}
    - {name: sec, mountPath: /sec}
    - {name: info, mountPath: /info}
  volumes:
  - {name: cfg, configMap: {name: cfg, items: [{key: greeting, path: g.txt}]}}
  - {name: sec, secret: {secretName: sec, defaultMode: 0400}}
  - {name: info, downwardAPI: {items: [{path: labels, fieldRef: {fieldPath: metadata.labels}}]}}
`, ns, testImage))
	eventually(t, "pod vol Ready", workloadTimeout, func() error {
		return jsonpathIs(t, node, "pod/vol", `{.status.conditions[?(@.type=="Ready")].status}`, "True", "-n", ns)
	})
	t.Run("environment", func(t *testing.T) {
		out, err := podExec(t, node, ns, "vol", "/testapp", "env")
		if err != nil {
			t.Fatalf("%v %s", err, out)
		}
		ip, _ := kubectl(t, node, "-n", ns, "get", "pod", "vol", "-o", "jsonpath={.status.podIP}")
		for _, want := range []string{"GREETING=hello", "PASSWORD=s3cret", "MY_IP=" + ip, "MEM=64", "COMBINED=hello-64",
			"CFG_greeting=hello", "CFG_other=x", "KUBERNETES_SERVICE_HOST=10.96.0.1", "KUBERNETES_SERVICE_PORT=443"} {
			if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(want) + `$`).MatchString(out) {
				t.Errorf("env lacks %s:\n%s", want, out)
			}
		}
		if strings.Contains(out, "MISSING=") {
			t.Errorf("an optional missing key set MISSING:\n%s", out)
		}
	})
	t.Run("files", func(t *testing.T) {
		for file, want := range map[string]string{"/cfg/g.txt": "hello", "/sec/password": "s3cret", "/info/labels": `app="vol"`} {
			if out, err := podExec(t, node, ns, "vol", "/testapp", "cat", file); err != nil || out != want {
				t.Errorf("%s = %q (%v), want %q", file, out, err, want)
			}
		}
	})
	t.Run("a ConfigMap change reaches the mounted file", func(t *testing.T) {
		start := time.Now()
		if out, err := kubectl(t, node, "-n", ns, "patch", "configmap", "cfg", "-p", `{"data":{"greeting":"changed"}}`); err != nil {
			t.Fatalf("%v %s", err, out)
		}
		eventually(t, "/cfg/g.txt changed", 30*time.Second, func() error {
			out, err := podExec(t, node, ns, "vol", "/testapp", "cat", "/cfg/g.txt")
			if err != nil || out != "changed" {
				return fmt.Errorf("%q %v", out, err)
			}
			return nil
		})
		t.Logf("the change reached the file after %s (goal 2 s; includes kubectl exec)", time.Since(start).Round(100*time.Millisecond))
	})
	t.Run("the projected service-account token authenticates", func(t *testing.T) {
		out, err := podExec(t, node, ns, "vol", "/testapp", "api", "/api/v1/namespaces/"+ns+"/pods")
		if err != nil || !strings.Contains(out, `"name":"vol"`) {
			t.Errorf("listing pods with the pod's token: %v %.300s", err, out)
		}
	})
	t.Run("a missing ConfigMap is a FailedMount until it exists", func(t *testing.T) {
		apply(t, node, fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: waits, namespace: %s}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: %s, imagePullPolicy: IfNotPresent, volumeMounts: [{name: v, mountPath: /v}]}
  volumes:
  - {name: v, configMap: {name: later}}
`, ns, testImage))
		eventually(t, "a FailedMount event naming the ConfigMap", 30*time.Second, func() error {
			out, _ := kubectl(t, node, "-n", ns, "get", "events", "--field-selector", "involvedObject.name=waits,reason=FailedMount", "-o", "jsonpath={.items[*].message}")
			if !strings.Contains(out, `configmap "later" not found`) {
				return fmt.Errorf("events: %q", out)
			}
			return nil
		})
		apply(t, node, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: later, namespace: "+ns+"}\ndata: {k: v}\n")
		eventually(t, "pod waits Running once the ConfigMap exists", 30*time.Second, func() error {
			return jsonpathIs(t, node, "pod/waits", "{.status.phase}", "Running", "-n", ns)
		})
	})
}

func testControllers(t *testing.T, node string) {
	const ns = "ctrl"
	namespace(t, node, ns)
	apply(t, node, fmt.Sprintf(`apiVersion: apps/v1
kind: DaemonSet
metadata: {name: ds, namespace: %[1]s}
spec:
  selector: {matchLabels: {app: ds}}
  template:
    metadata: {labels: {app: ds}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - {name: c, image: %[2]s, imagePullPolicy: IfNotPresent}
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: %[1]s}
spec:
  clusterIP: None
  selector: {app: db}
  ports: [{port: 8080}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: %[1]s}
spec:
  serviceName: db
  replicas: 2
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - {name: c, image: %[2]s, imagePullPolicy: IfNotPresent}
---
apiVersion: v1
kind: Pod
metadata: {name: hostnet, namespace: %[1]s}
spec:
  hostNetwork: true
  dnsPolicy: ClusterFirstWithHostNet
  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: %[2]s, imagePullPolicy: IfNotPresent, args: ["--port=18181"]}
`, ns, testImage))
	rolloutStatus(t, node, ns, "daemonset/ds")
	if err := jsonpathIs(t, node, "daemonset/ds", "{.status.numberReady}", "1", "-n", ns); err != nil {
		t.Errorf("one pod per node: %v", err)
	}
	rolloutStatus(t, node, ns, "statefulset/db")
	t.Run("statefulset stable hostname and DNS entry", func(t *testing.T) {
		out, err := podExec(t, node, ns, "db-1", "/testapp", "hostname")
		if err != nil || !strings.HasPrefix(out, "db-1") {
			t.Errorf("hostname of db-1: %v %q", err, out)
		}
		ip, _ := kubectl(t, node, "-n", ns, "get", "pod", "db-1", "-o", "jsonpath={.status.podIP}")
		eventually(t, "db-1.db resolves to its pod IP", 30*time.Second, func() error {
			out, err := podExec(t, node, ns, "db-0", "/testapp", "lookup", "db-1.db."+ns+".svc.cluster.local")
			if err != nil || strings.TrimSpace(out) != ip {
				return fmt.Errorf("%v %q, want %s", err, out, ip)
			}
			return nil
		})
	})
	t.Run("hostNetwork pod with ClusterFirstWithHostNet resolves cluster names", func(t *testing.T) {
		eventually(t, "hostnet Ready", workloadTimeout, func() error {
			return jsonpathIs(t, node, "pod/hostnet", `{.status.conditions[?(@.type=="Ready")].status}`, "True", "-n", ns)
		})
		out, err := podExec(t, node, ns, "hostnet", "/testapp", "lookup", "kubernetes.default.svc.cluster.local")
		if err != nil || strings.TrimSpace(out) != "10.96.0.1" {
			t.Errorf("lookup from a hostNetwork pod: %v %q", err, out)
		}
	})
}

// metricsServerTar is the image hack/images.sh builds for metrics-server.
func metricsServerTar(t testing.TB) string {
	t.Helper()
	p := filepath.Join(cacheDir(), "images", "metrics-server.tar")
	if !fileExists(p) {
		nodes.SkipOrFail(t, "%s is missing: run IMAGES=metrics-server hack/images.sh build (make test does)", p)
	}
	return p
}

func testTop(t *testing.T, node string) {
	tar := metricsServerTar(t)
	if out, errOut, err := nodes.Exec(t, node, "ctr", "-n", "k8s.io", "images", "import", tar); err != nil {
		t.Fatalf("importing metrics-server: %v\n%s%s", err, out, errOut)
	}
	manifest, err := os.ReadFile(filepath.Join(repoRoot(t), "hack", "addons", "metrics-server.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	apply(t, node, string(manifest))
	eventually(t, "kubectl top pods shows numbers", 180*time.Second, func() error {
		out, err := kubectl(t, node, "top", "pods", "-n", "kube-system")
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		if !regexp.MustCompile(`(?m)^etcd-\S+\s+\d+m\s+\d+Mi`).MatchString(out) {
			return fmt.Errorf("no numbers for etcd:\n%s", out)
		}
		return nil
	})
	out, err := kubectl(t, node, "top", "nodes")
	if err != nil || !strings.Contains(out, node) {
		t.Errorf("kubectl top nodes: %v\n%s", err, out)
	}
	// The agent's own metrics, through the API server's node proxy.
	out, err = kubectl(t, node, "get", "--raw", "/api/v1/nodes/"+node+"/proxy/metrics")
	for _, want := range []string{"kubelet_pod_start_duration_seconds_count", "kubelet_running_pods", "kubelet_pod_worker_duration_seconds"} {
		if err != nil || !strings.Contains(out, want) {
			t.Errorf("/metrics lacks %s (%v)", want, err)
		}
	}
}

// restartsOf maps "namespace/pod/container" to container ID and restart
// count from the API.
func restartsOf(t testing.TB, node string) map[string]string {
	t.Helper()
	out, err := kubectl(t, node, "get", "pods", "-A", "-o", "json")
	if err != nil {
		t.Fatalf("%v %s", err, out)
	}
	var list struct {
		Items []struct {
			Metadata struct{ Namespace, Name string }
			Status   struct {
				ContainerStatuses []struct {
					Name         string
					ContainerID  string
					RestartCount int
				}
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, p := range list.Items {
		for _, c := range p.Status.ContainerStatuses {
			m[p.Metadata.Namespace+"/"+p.Metadata.Name+"/"+c.Name] = c.ContainerID + " " + strconv.Itoa(c.RestartCount)
		}
	}
	return m
}

// agentPID is the node agent's process ID: the child of the node's
// supervisor (every node's processes are visible from every node).
func agentPID(t testing.TB, node string) string {
	t.Helper()
	out, _, err := nodes.Exec(t, node, "sh", "-c", "pgrep -P \"$(cat /run/kubeadmin/kubelet.pid)\" -f 'kubeadmin kubelet'")
	if err != nil || strings.TrimSpace(out) == "" {
		return ""
	}
	return strings.Fields(out)[0]
}

func testAgentKill(t *testing.T, node string) {
	const ns = "kill"
	namespace(t, node, ns)
	apply(t, node, webDeployment(ns, testImage, 2, 0))
	rolloutStatus(t, node, ns, "deployment/web")
	restarts := restartsOf(t, node)
	pid := agentPID(t, node)
	if pid == "" {
		t.Fatal("no agent process found")
	}
	if out, errOut, err := nodes.Exec(t, node, "kill", "-9", pid); err != nil {
		t.Fatalf("kill -9 %s: %v %s%s", pid, err, out, errOut)
	}
	// While the agent is away, delete one pod: it must be removed when the
	// agent is back.
	victim, _ := kubectl(t, node, "-n", ns, "get", "pods", "-l", "app=web", "-o", "jsonpath={.items[0].metadata.name}")
	if out, err := kubectl(t, node, "-n", ns, "delete", "pod", victim, "--wait=false"); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	eventually(t, "the agent back (supervisor restart)", 60*time.Second, func() error {
		if p := agentPID(t, node); p == "" || p == pid {
			return fmt.Errorf("agent pid %q", p)
		}
		return nil
	})
	eventually(t, "the pod deleted while the agent was down removed", workloadTimeout, func() error {
		out, _ := kubectl(t, node, "-n", ns, "get", "pod", victim, "--ignore-not-found", "-o", "name")
		if strings.TrimSpace(out) != "" {
			return fmt.Errorf("%s still exists", victim)
		}
		return nil
	})
	rolloutStatus(t, node, ns, "deployment/web")
	// No healthy container restarted: every container ID running before
	// (other than the deleted pod's) still runs, with the same restart count.
	after := restartsOf(t, node)
	for k, v := range restarts {
		// Only this test's pods and the cluster's own: the namespaces of
		// the earlier tests are still going away.
		mine := strings.HasPrefix(k, ns+"/") || strings.HasPrefix(k, "kube-system/")
		if !mine || strings.HasPrefix(k, ns+"/"+victim+"/") {
			continue
		}
		if after[k] != v {
			t.Errorf("container %s: %q before the kill, %q after", k, v, after[k])
		}
	}
}

func testContainerdRestart(t *testing.T, node string) {
	const ns = "ctrd"
	namespace(t, node, ns)
	apply(t, node, webDeployment(ns, testImage, 2, 0))
	rolloutStatus(t, node, ns, "deployment/web")
	before := restartsOf(t, node)
	if out, errOut, err := nodes.Exec(t, node, filepath.Join(repoRoot(t), "hack", "containerd.sh"), "restart"); err != nil {
		t.Fatalf("restarting containerd in %s: %v\n%s%s", node, err, out, errOut)
	}
	eventually(t, "every pod Running and Ready again", 2*workloadTimeout, func() error {
		for _, sel := range [][2]string{{ns, "app=web"}, {"kube-system", "k8s-app=kube-dns"}, {"kube-system", "tier=control-plane"}} {
			if err := allReady(t, node, sel[0], sel[1]); err != nil {
				return fmt.Errorf("%s %s: %v", sel[0], sel[1], err)
			}
		}
		return nil
	})
	t.Logf("containers before the restart: %d; the API shows %d now", len(before), len(restartsOf(t, node)))
}

func testChurn(t *testing.T, node string) {
	const ns = "churn"
	const pods = 50 // per round; two rounds make the 100 of the issue
	namespace(t, node, ns)
	before := leftovers(t, node, ns)
	var doc strings.Builder
	for i := 0; i < pods; i++ {
		fmt.Fprintf(&doc, `---
apiVersion: v1
kind: Pod
metadata: {name: p%03d, namespace: %s, labels: {churn: "1"}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: %s
    imagePullPolicy: IfNotPresent
    volumeMounts: [{name: e, mountPath: /e}]
  volumes: [{name: e, emptyDir: {}}]
`, i, ns, testImage)
	}
	start := time.Now()
	for round := 0; round < 2; round++ {
		apply(t, node, doc.String())
		eventually(t, "all churn pods Running", 4*workloadTimeout, func() error {
			out, err := kubectl(t, node, "-n", ns, "get", "pods", "-o", "jsonpath={range .items[*]}{.status.phase} {end}")
			if err != nil {
				return err
			}
			if n := strings.Count(out, "Running"); n != pods {
				return fmt.Errorf("%d of %d Running", n, pods)
			}
			return nil
		})
		if out, err := kubectl(t, node, "-n", ns, "delete", "pods", "-l", "churn=1", "--timeout=300s"); err != nil {
			t.Fatalf("delete: %v\n%s", err, out)
		}
	}
	t.Logf("2 rounds of %d pods created and deleted in %s", pods, time.Since(start).Round(time.Second))
	// Pods of the other tests may still be going away: nothing may be
	// above what there was before the churn.
	eventually(t, "nothing of the churn pods left", 60*time.Second, func() error {
		now := leftovers(t, node, ns)
		for what, n := range now {
			if n > before[what] {
				return fmt.Errorf("%s: %d before the churn, %d now (all: before %v, now %v)", what, before[what], n, before, now)
			}
		}
		return nil
	})
}

// leftovers counts what pods leave on a node: sandboxes and containers,
// network namespaces, veths, host-local IP allocations, pod directories,
// mounts below the kubelet root, and log directories of namespace ns.
func leftovers(t testing.TB, node, ns string) map[string]int {
	t.Helper()
	count := func(cmd string) int {
		out, _, _ := nodes.Exec(t, node, "sh", "-c", cmd)
		n, _ := strconv.Atoi(strings.TrimSpace(out))
		return n
	}
	return map[string]int{
		"containers and sandboxes": count("ctr -n k8s.io containers ls -q | wc -l"),
		"network namespaces":       count("ls /run/netns 2>/dev/null | wc -l"),
		"veths":                    count("ip -o link show type veth | wc -l"),
		"IP allocations":           count("ls /var/lib/cni/networks/kubeadmin 2>/dev/null | grep -c '^[0-9]' || true"),
		"pod directories":          count("ls /var/lib/kubelet/pods | wc -l"),
		"mounts":                   count("grep -c /var/lib/kubelet/pods /proc/self/mountinfo || true"),
		"log directories of " + ns: count("ls /var/log/pods | grep -c '^" + ns + "_' || true"),
	}
}

// podContainers maps "pod/container" to the running container ID for the
// pods of namespace ns, as the agent reports them (it answers without the
// API server).
func podContainers(t testing.TB, node, ns string) map[string]string {
	t.Helper()
	out, errOut, err := nodes.Exec(t, node, "kubeadmin", "kubelet", "status", "-o", "json")
	if err != nil {
		t.Fatalf("kubeadmin kubelet status: %v %s", err, errOut)
	}
	var st struct {
		Pods []struct {
			Name, Namespace string
			Containers      []struct{ Name, ID, State string }
		}
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, p := range st.Pods {
		for _, c := range p.Containers {
			if p.Namespace == ns && c.State == "Running" {
				m[p.Name+"/"+c.Name] = c.ID
			}
		}
	}
	return m
}

// testAPIServerAway: with the API server gone, running pods keep running;
// when it is back, their status is written again.
func testAPIServerAway(t *testing.T, node string) {
	const ns = "away"
	namespace(t, node, ns)
	apply(t, node, webDeployment(ns, testImage, 2, 0))
	rolloutStatus(t, node, ns, "deployment/web")
	before := podContainers(t, node, ns)
	if len(before) != 2 {
		t.Fatalf("running containers %v, want 2", before)
	}
	manifest := "/etc/kubernetes/manifests/kube-apiserver.yaml"
	parked := "/etc/kubernetes/kube-apiserver.yaml.away"
	if out, errOut, err := nodes.Exec(t, node, "mv", manifest, parked); err != nil {
		t.Fatalf("%v %s%s", err, out, errOut)
	}
	restored := false
	restore := func() {
		if !restored {
			restored = true
			_, _, _ = nodes.Exec(t, node, "mv", parked, manifest)
		}
	}
	defer restore()
	eventually(t, "the API server gone", 60*time.Second, func() error {
		if _, err := kubectl(t, node, "get", "--raw", "/livez", "--request-timeout=2s"); err == nil {
			return fmt.Errorf("still answering")
		}
		return nil
	})
	consistently(t, "the pods keep running while the API server is away", settleWindow, func() error {
		if now := podContainers(t, node, ns); fmt.Sprint(now) != fmt.Sprint(before) {
			return fmt.Errorf("containers %v, before %v", now, before)
		}
		return nil
	})
	restore()
	eventually(t, "the API server back", 2*workloadTimeout, func() error {
		_, err := kubectl(t, node, "get", "--raw", "/livez", "--request-timeout=2s")
		return err
	})
	rolloutStatus(t, node, ns, "deployment/web")
	if now := podContainers(t, node, ns); fmt.Sprint(now) != fmt.Sprint(before) {
		t.Errorf("containers %v after the API server came back, before %v", now, before)
	}
}
