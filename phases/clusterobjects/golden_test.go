package clusterobjects

import (
	"bytes"
	"github.com/kubeadmin/kubeadmin/internal/constants"
	"sort"
	"strings"
	"testing"

	"k8s.io/client-go/kubernetes/fake"
)

// wantPhaseOutput is what upstream printed for the calls of runAll.
const wantPhaseOutput = `[upload-config] Storing the configuration used in ConfigMap "kubeadm-config" in the "kube-system" Namespace
[kubelet] Creating a ConfigMap "kubelet-config" in namespace kube-system with the configuration for the kubelets in the cluster
[bootstrap-token] Configured RBAC rules to allow Node Bootstrap tokens to get nodes
[bootstrap-token] Configured RBAC rules to allow Node Bootstrap tokens to post CSRs in order for nodes to get long term certificate credentials
[bootstrap-token] Configured RBAC rules to allow the csrapprover controller automatically approve CSRs from a Node Bootstrap Token
[bootstrap-token] Configured RBAC rules to allow certificate rotation for all node client certificates in the cluster
[bootstrap-token] Configured RBAC rules to allow the API server kubelet client certificate to access the kubelet API
[bootstrap-token] Creating the "cluster-info" ConfigMap in the "kube-public" namespace
[addons] Applied essential addon: CoreDNS
[addons] Applied essential addon: kube-proxy
`

// runAll makes the same calls as the upstream scratch program.
func runAll(t *testing.T, client *fake.Clientset, variant, adminConf string) string {
	t.Helper()
	cfg := testConfig(t, variant)
	var out bytes.Buffer
	timeout := APICallTimeout(cfg.Init.Timeouts)
	steps := []struct {
		name string
		run  func() error
	}{
		{"UploadKubeadmConfig", func() error { return UploadKubeadmConfig(client, cfg, &out) }},
		{"UploadKubeletConfig", func() error { return UploadKubeletConfig(client, cfg, &out) }},
		{"CreateNodeBootstrapRBAC", func() error { return CreateNodeBootstrapRBAC(client, timeout, &out) }},
		{"CreateClusterInfo", func() error { return CreateClusterInfo(client, adminConf, timeout, &out) }},
		{"EnsureCoreDNS", func() error { return EnsureCoreDNS(client, cfg, &out) }},
		{"EnsureKubeProxy", func() error { return EnsureKubeProxy(client, cfg, &out) }},
	}
	for _, s := range steps {
		if err := s.run(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
	}
	return out.String()
}

// TestObjectsMatchUpstream compares every object created in the cluster
// with what kubeadm v1.37.2 created for the same configuration (§10),
// field by field, including ConfigMap contents and hash annotations.
func TestObjectsMatchUpstream(t *testing.T) {
	clearProxyEnv(t)
	tests := []struct {
		variant   string
		adminConf string
	}{
		{"default", "testdata/admin.conf"},
		{"custom", "testdata/admin-2ca.conf"},
		{"usersupplied", "testdata/admin.conf"},
	}
	for _, tt := range tests {
		t.Run(tt.variant, func(t *testing.T) {
			client := fake.NewSimpleClientset()
			if got := runAll(t, client, tt.variant, tt.adminConf); got != wantPhaseOutput {
				t.Errorf("output:\n%s\nwant:\n%s", got, wantPhaseOutput)
			}
			got := dumpObjects(t, client)
			want := loadUpstream(t, tt.variant+"-objects.json")
			compareObjectSets(t, got, want)
		})
	}
}

// TestObjectsIdempotent runs everything twice: the second run updates
// every object in place and leaves the same set of objects.
func TestObjectsIdempotent(t *testing.T) {
	clearProxyEnv(t)
	client := fake.NewSimpleClientset()
	runAll(t, client, "custom", "testdata/admin-2ca.conf")
	first := dumpObjects(t, client)
	client.ClearActions()
	runAll(t, client, "custom", "testdata/admin-2ca.conf")
	updates := 0
	for _, a := range client.Actions() {
		if a.GetVerb() == "update" {
			updates++
		}
	}
	if updates == 0 {
		t.Error("the second run updated no object")
	}
	compareObjectSets(t, dumpObjects(t, client), first)
}

func compareObjectSets(t *testing.T, got, want map[string]map[string]any) {
	t.Helper()
	var keys []string
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		g, ok := got[k]
		if !ok {
			t.Errorf("missing object %s", k)
			continue
		}
		normalize(g)
		normalize(want[k])
		if d := diffJSON(k, g, want[k]); len(d) > 0 {
			t.Errorf("object differs from upstream:\n%s", strings.Join(d, "\n"))
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok && !kubeadminAddition[k] {
			t.Errorf("unexpected object %s", k)
		}
	}
	for k := range kubeadminAddition {
		if _, ok := got[k]; !ok {
			t.Errorf("missing kubeadmin's own object %s", k)
		}
	}
}

// kubeadminAddition are the objects kubeadmin creates beyond kubeadm's:
// the built-in pod network's read access to the Node objects.
var kubeadminAddition = map[string]bool{
	"ClusterRole//" + constants.PodNetworkClusterRoleName:        true,
	"ClusterRoleBinding//" + constants.PodNetworkClusterRoleName: true,
}

// normalize drops fields that depend on the fake clientset's bookkeeping.
func normalize(m map[string]any) {
	md := m["metadata"].(map[string]any)
	delete(md, "resourceVersion")
}
