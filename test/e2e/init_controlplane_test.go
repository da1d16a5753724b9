//go:build e2e

package e2e

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kubeadmin/kubeadmin/test/e2e/nodes"
)

func TestInitControlPlane(t *testing.T) {
	const node = "cp1"
	controlPlaneNode(t, node)
	out, errOut, err := nodes.Exec(t, node, "kubeadmin", "init")
	if err != nil {
		t.Fatalf("kubeadmin init failed: %v\n%s\n%s", err, out, errOut)
	}
	for _, want := range []string{"[kubelet-check] The kubelet is healthy after", "kube-apiserver is healthy after",
		"Your Kubernetes control-plane has initialized successfully!", "kubeadmin join "} {
		if !strings.Contains(out, want) {
			t.Errorf("init output lacks %q", want)
		}
	}

	// Every subtest starts from this state: init done and the four mirror
	// pods Running. Each runs alone too (go test -run 'TestInitControlPlane/objects').
	eventually(t, "all four mirror pods Running", 60*time.Second, func() error {
		for _, c := range controlPlane {
			out, err := kubectl(t, node, "-n", "kube-system", "get", "pod", c+"-"+node, "-o", "jsonpath={.status.phase}")
			if err != nil || out != "Running" {
				return fmt.Errorf("%s: %q %v", c, out, err)
			}
		}
		return nil
	})

	t.Run("node registered", func(t *testing.T) {
		out, err := kubectl(t, node, "get", "node", node, "-o", "jsonpath={.metadata.labels}{\"\\n\"}{.spec.taints}{\"\\n\"}{.status.addresses}")
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		for _, want := range []string{"node-role.kubernetes.io/control-plane", "kubernetes.io/hostname", "NoSchedule", nodes.IP(t, node)} {
			if !strings.Contains(out, want) {
				t.Errorf("node lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("lease, logs, exec and mirror pod recreation", func(t *testing.T) {
		if out, err := kubectl(t, node, "-n", "kube-node-lease", "get", "lease", node, "-o", "jsonpath={.spec.holderIdentity} {.spec.leaseDurationSeconds}"); err != nil || out != node+" 40" {
			t.Errorf("lease: %q %v", out, err)
		}
		// kubectl logs and exec go through the agent's kubelet API (10250).
		if out, err := kubectl(t, node, "-n", "kube-system", "logs", "kube-apiserver-"+node, "--tail=5"); err != nil || len(strings.TrimSpace(out)) == 0 {
			t.Errorf("kubectl logs: %v\n%s", err, out)
		}
		if out, err := kubectl(t, node, "-n", "kube-system", "exec", "etcd-"+node, "--", "etcd", "--version"); err != nil || !strings.Contains(out, "etcd Version:") {
			t.Errorf("kubectl exec: %v\n%s", err, out)
		}
		// The kubelet API authenticates and authorizes like upstream's with
		// kubeadm's settings: no anonymous access; a valid token is checked
		// with a TokenReview and its rights with a SubjectAccessReview.
		kubeletAPI := func(token string) (int, string) {
			req, err := http.NewRequest(http.MethodGet, "https://"+net.JoinHostPort(nodes.IP(t, node), "10250")+"/pods", nil)
			if err != nil {
				t.Fatal(err)
			}
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // the agent's self-signed serving cert
			resp, err := c.Do(req)
			if err != nil {
				t.Fatalf("GET /pods on the kubelet API: %v", err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
			return resp.StatusCode, string(b)
		}
		if code, body := kubeletAPI(""); code != http.StatusUnauthorized {
			t.Errorf("anonymous GET /pods = %d %q, want 401", code, body)
		}
		if out, err := kubectl(t, node, "-n", "default", "create", "serviceaccount", "nobody"); err != nil {
			t.Fatalf("kubectl create serviceaccount: %v\n%s", err, out)
		}
		token, err := kubectl(t, node, "-n", "default", "create", "token", "nobody")
		if err != nil {
			t.Fatalf("kubectl create token: %v\n%s", err, token)
		}
		if code, body := kubeletAPI(strings.TrimSpace(token)); code != http.StatusForbidden || !strings.Contains(body, "user=system:serviceaccount:default:nobody") {
			t.Errorf("GET /pods as a service account without rights = %d %q, want 403 naming the user", code, body)
		}
		if out, err := kubectl(t, node, "get", "--raw", "/api/v1/nodes/"+node+"/proxy/pods"); err != nil || !strings.Contains(out, "kube-apiserver-"+node) {
			t.Errorf("the node proxy /pods through the API server: %v\n%.300s", err, out)
		}
		uid := func() string {
			out, _ := kubectl(t, node, "-n", "kube-system", "get", "pod", "kube-scheduler-"+node, "-o", "jsonpath={.metadata.uid}")
			return out
		}
		before := uid()
		if out, err := kubectl(t, node, "-n", "kube-system", "delete", "pod", "kube-scheduler-"+node, "--wait=false"); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		eventually(t, "the mirror pod to be recreated", 30*time.Second, func() error {
			if now := uid(); now == "" || now == before {
				return fmt.Errorf("mirror pod uid %q", now)
			}
			return nil
		})
	})

	t.Run("objects", func(t *testing.T) {
		for _, obj := range [][]string{
			{"-n", "kube-system", "configmap", "kubeadm-config"},
			{"-n", "kube-system", "configmap", "kubelet-config"},
			{"-n", "kube-system", "configmap", "kube-proxy"},
			{"-n", "kube-system", "configmap", "coredns"},
			{"-n", "kube-public", "configmap", "cluster-info"},
			{"-n", "kube-system", "role", "kubeadm:nodes-kubeadm-config"},
			{"-n", "kube-system", "rolebinding", "kubeadm:kubelet-config"},
			{"clusterrolebinding", "kubeadm:cluster-admins"},
			{"clusterrolebinding", "kubeadm:kubelet-bootstrap"},
			{"clusterrolebinding", "kubeadm:node-autoapprove-bootstrap"},
			{"clusterrolebinding", "kubeadm:node-autoapprove-certificate-rotation"},
			{"clusterrolebinding", "kubeadm:apiserver-kubelet-client"},
			{"clusterrole", "kubeadm:get-nodes"},
			{"-n", "kube-public", "role", "kubeadm:bootstrap-signer-clusterinfo"},
			{"-n", "kube-system", "deployment", "coredns"},
			{"-n", "kube-system", "service", "kube-dns"},
			{"-n", "kube-system", "daemonset", "kube-proxy"},
			{"clusterrolebinding", "kubeadm:node-proxier"},
		} {
			if out, err := kubectl(t, node, append([]string{"get"}, obj...)...); err != nil {
				t.Errorf("%v: %v\n%s", obj, err, out)
			}
		}
		out, err := kubectl(t, node, "-n", "kube-system", "get", "secrets", "--field-selector", "type=bootstrap.kubernetes.io/token", "-o", "name")
		if err != nil || !strings.Contains(out, "secret/bootstrap-token-") {
			t.Errorf("no bootstrap token secret: %v\n%s", err, out)
		}
	})

	// Upstream tooling must see a normal kubeadm cluster: the real kubeadm
	// v1.37.2 lists the token init made, checks every certificate and
	// kubeconfig, and prints a join command with the same CA pin.
	t.Run("upstream kubeadm reads the cluster", func(t *testing.T) {
		kubeadm := upstreamBin(t, "kubeadm")
		token := regexp.MustCompile(`--token ([a-z0-9]{6}\.[a-z0-9]{16})`).FindStringSubmatch(out)
		pin := regexp.MustCompile(`--discovery-token-ca-cert-hash (sha256:[0-9a-f]{64})`).FindStringSubmatch(out)
		if token == nil || pin == nil {
			t.Fatalf("init printed no join command with a token and CA pin:\n%s", out)
		}
		list, errOut, err := nodes.Exec(t, node, kubeadm, "token", "list")
		if err != nil || !strings.Contains(list, token[1]) || !strings.Contains(list, "system:bootstrappers:kubeadm:default-node-token") {
			t.Errorf("kubeadm token list: %v\n%s%s", err, list, errOut)
		}
		exp, errOut, err := nodes.Exec(t, node, kubeadm, "certs", "check-expiration")
		if err != nil {
			t.Errorf("kubeadm certs check-expiration: %v\n%s%s", err, exp, errOut)
		}
		for _, want := range []string{"admin.conf", "super-admin.conf", "apiserver-etcd-client", "etcd-ca", "front-proxy-ca"} {
			if !strings.Contains(exp, want) {
				t.Errorf("kubeadm certs check-expiration lacks %q:\n%s", want, exp)
			}
		}
		join, errOut, err := nodes.Exec(t, node, kubeadm, "token", "create", "--print-join-command")
		if err != nil || !strings.Contains(join, "--discovery-token-ca-cert-hash "+pin[1]) {
			t.Errorf("kubeadm token create --print-join-command does not pin %s: %v\n%s%s", pin[1], err, join, errOut)
		}
	})

	// Every phase converges when run again on the running cluster: files
	// are reused or rewritten identically (no container restarts), objects
	// are created or updated. (show-join-command alone fails on its
	// dependencies, as in kubeadm.)
	t.Run("every phase run again converges", func(t *testing.T) {
		before, beforeIDs := runningTasks(t, node), containerIDs(t, node)
		for _, phase := range [][]string{
			{"preflight", "--ignore-preflight-errors=all"},
			{"certs", "all"}, {"kubeconfig", "all"}, {"etcd", "local"}, {"control-plane", "all"},
			{"kubelet-start"}, {"wait-control-plane"}, {"upload-config", "all"},
			{"upload-certs", "--upload-certs"}, {"mark-control-plane"}, {"bootstrap-token"},
			{"kubelet-finalize", "all"}, {"addon", "all"},
		} {
			args := append([]string{"kubeadmin", "init", "phase"}, phase...)
			if out, errOut, err := nodes.Exec(t, node, args...); err != nil {
				t.Fatalf("%s: %v\n%s%s", strings.Join(args, " "), err, out, errOut)
			}
		}
		// The agent (restarted by kubelet-start) sees the rewritten
		// manifests within a few syncs: watch a window, not one look.
		consistently(t, "no control-plane container restarts after the phases ran again", settleWindow, func() error {
			return sameTasks(t, node, before)
		})
		if after := containerIDs(t, node); !reflect.DeepEqual(after, beforeIDs) {
			t.Errorf("the agent reports other containers: before %v, after %v", beforeIDs, after)
		}
	})

	t.Run("second init fails in preflight and changes nothing", func(t *testing.T) {
		before := hashTree(t, filepath.Join(nodes.Root(t, node), "etc/kubernetes"))
		out, errOut, err := nodes.Exec(t, node, "kubeadmin", "init")
		if err == nil {
			t.Fatal("a second init succeeded")
		}
		msg := out + errOut
		for _, want := range []string{"[ERROR Port-6443]", "[ERROR FileAvailable--etc-kubernetes-manifests-kube-apiserver.yaml]", "--ignore-preflight-errors"} {
			if !strings.Contains(msg, want) {
				t.Errorf("second init output lacks %q:\n%s", want, msg)
			}
		}
		if after := hashTree(t, filepath.Join(nodes.Root(t, node), "etc/kubernetes")); after != before {
			t.Errorf("a failed init changed /etc/kubernetes")
		}
	})

	t.Run("kill -9 of the agent restarts no healthy container", func(t *testing.T) {
		before, beforeIDs := runningTasks(t, node), containerIDs(t, node)
		// The agent is the supervisor's child; kill the agent only (nodes
		// share the PID namespace, so find it through this node's PID file).
		if out, errOut, err := nodes.Exec(t, node, "sh", "-c", `pkill -9 -P "$(cat /run/kubeadmin/kubelet.pid)"`); err != nil {
			t.Fatalf("%v\n%s%s", err, out, errOut)
		}
		// Watched from the kill until the window after the agent is back.
		eventually(t, "the agent to answer again with no container restarted meanwhile", 30*time.Second, func() error {
			if err := sameTasks(t, node, before); err != nil {
				return permanent(err)
			}
			_, _, err := nodes.Exec(t, node, "kubeadmin", "kubelet", "status")
			return err
		})
		consistently(t, "no container restarts after the agent came back", settleWindow, func() error {
			return sameTasks(t, node, before)
		})
		if after := containerIDs(t, node); !reflect.DeepEqual(after, beforeIDs) {
			t.Errorf("the agent reports other containers: before %v, after %v", beforeIDs, after)
		}
	})

	t.Run("an edited manifest is rolled out", func(t *testing.T) {
		before := componentID(containerIDs(t, node), "kube-apiserver")
		manifest := filepath.Join(nodes.Root(t, node), "etc/kubernetes/manifests/kube-apiserver.yaml")
		b, err := os.ReadFile(manifest)
		if err != nil {
			t.Fatal(err)
		}
		edited := strings.Replace(string(b), "    - --allow-privileged=true\n", "    - --allow-privileged=true\n    - --audit-log-maxage=3\n", 1)
		if edited == string(b) {
			t.Fatal("could not edit the manifest")
		}
		if err := os.WriteFile(manifest, []byte(edited), 0o600); err != nil {
			t.Fatal(err)
		}
		eventually(t, "a new kube-apiserver with --audit-log-maxage=3 serving", 120*time.Second, func() error {
			id := componentID(containerIDs(t, node), "kube-apiserver")
			if id == "" || id == before {
				return fmt.Errorf("kube-apiserver container is %q", id)
			}
			out, err := kubectl(t, node, "-n", "kube-system", "get", "pod", "kube-apiserver-"+node, "-o", "jsonpath={.spec.containers[0].command}")
			if err != nil || !strings.Contains(out, "--audit-log-maxage=3") {
				return fmt.Errorf("mirror pod command %q: %v", out, err)
			}
			return nil
		})
	})

	t.Run("reset then init again", func(t *testing.T) {
		if out, errOut, err := nodes.Exec(t, node, "kubeadmin", "reset", "-f"); err != nil {
			t.Fatalf("reset: %v\n%s%s", err, out, errOut)
		}
		if out, errOut, err := nodes.Exec(t, node, "kubeadmin", "reset", "-f"); err != nil {
			t.Fatalf("second reset: %v\n%s%s", err, out, errOut)
		}
		// This init also uploads the control-plane certificates; with a
		// control-plane endpoint it prints how to join another control plane.
		out, errOut, err := nodes.Exec(t, node, "kubeadmin", "init", "--upload-certs", "--control-plane-endpoint", nodes.IP(t, node)+":6443")
		if err != nil {
			t.Fatalf("init after reset: %v\n%s%s", err, out, errOut)
		}
		if got, err := kubectl(t, node, "get", "node", node); err != nil {
			t.Errorf("%v\n%s", err, got)
		}
		key := regexp.MustCompile(`\[upload-certs\] Using certificate key:\n([0-9a-f]{64})\n`).FindStringSubmatch(out)
		if key == nil || !strings.Contains(out, "--control-plane --certificate-key "+key[1]) {
			t.Fatalf("init --upload-certs printed no certificate key and control-plane join command:\n%s", out)
		}
		secret, err := kubectl(t, node, "-n", "kube-system", "get", "secret", "kubeadm-certs", "-o",
			`jsonpath={.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].name} {.data}`)
		if err != nil {
			t.Fatalf("the kubeadm-certs Secret: %v\n%s", err, secret)
		}
		for _, want := range []string{"Secret/bootstrap-token-", "ca.crt", "ca.key", "sa.key", "front-proxy-ca.key", "etcd-ca.key"} {
			if !strings.Contains(secret, want) {
				t.Errorf("the kubeadm-certs Secret lacks %q: %.300s", want, secret)
			}
		}
	})
}
