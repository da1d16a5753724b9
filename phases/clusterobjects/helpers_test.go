package clusterobjects

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/kubernetes/scheme"
	kubeproxyv1alpha1 "k8s.io/kube-proxy/config/v1alpha1"
	kubeletv1beta1 "k8s.io/kubelet/config/v1beta1"

	"github.com/kubeadmin/kubeadmin/internal/config"
)

func TestMain(m *testing.M) {
	retryInterval = 5 * time.Millisecond
	os.Exit(m.Run())
}

// testConfig is the configuration of a variant of testdata/upstream.
func testConfig(t *testing.T, variant string) *config.InitConfig {
	t.Helper()
	cfg := &config.InitConfig{}
	cfg.Init.LocalAPIEndpoint.AdvertiseAddress = "10.0.0.10"
	cfg.Init.NodeRegistration.Name = "node1"
	cfg.Init.NodeRegistration.CRISocket = "unix:///run/containerd/containerd.sock"
	cfg.Init.BootstrapTokens = []config.BootstrapToken{{Token: &config.BootstrapTokenString{ID: "abcdef", Secret: "0123456789abcdef"}}}
	cfg.Cluster.KubernetesVersion = "v1.37.2"
	switch variant {
	case "default":
	case "custom":
		cfg.Init.LocalAPIEndpoint.BindPort = 7443
		// kubeadm's dynamic defaults append the bind port (upstream used
		// "cp.example.com"); package config does that, not this one.
		cfg.Cluster.ControlPlaneEndpoint = "cp.example.com:7443"
		cfg.Cluster.ImageRepository = "my.reg/k8s"
		cfg.Cluster.Networking = config.Networking{PodSubnet: "192.168.0.0/16", ServiceSubnet: "10.100.0.0/16", DNSDomain: "example.org"}
	case "usersupplied":
		cfg.Components = config.ComponentConfigs{
			Kubelet:               &kubeletv1beta1.KubeletConfiguration{CgroupDriver: "cgroupfs"},
			KubeProxy:             &kubeproxyv1alpha1.KubeProxyConfiguration{Mode: "nftables"},
			KubeletUserSupplied:   true,
			KubeProxyUserSupplied: true,
		}
	default:
		t.Fatalf("unknown variant %q", variant)
	}
	config.SetDefaultsInit(&cfg.Init)
	config.SetDefaultsCluster(&cfg.Cluster)
	if cfg.Components.Kubelet != nil {
		// As config's dynamic defaults do for user-supplied documents.
		config.SetComponentDefaults(cfg)
	}
	return cfg
}

// clearProxyEnv hides kubeadmin's own *_proxy variables from the test.
func clearProxyEnv(t *testing.T) {
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasSuffix(strings.ToLower(name), "_proxy") {
			t.Setenv(name, "")
		}
	}
}

// dumpObjects lists every object kind this package writes, as JSON maps
// sorted by kind/namespace/name (the format of testdata/upstream).
func dumpObjects(t *testing.T, client *fake.Clientset) map[string]map[string]any {
	t.Helper()
	ctx := context.Background()
	lo := metav1.ListOptions{}
	var lists []runtime.Object
	add := func(l runtime.Object, err error) {
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		lists = append(lists, l)
	}
	add(client.CoreV1().ConfigMaps("").List(ctx, lo))
	add(client.CoreV1().Secrets("").List(ctx, lo))
	add(client.CoreV1().ServiceAccounts("").List(ctx, lo))
	add(client.CoreV1().Services("").List(ctx, lo))
	add(client.AppsV1().Deployments("").List(ctx, lo))
	add(client.AppsV1().DaemonSets("").List(ctx, lo))
	add(client.RbacV1().Roles("").List(ctx, lo))
	add(client.RbacV1().RoleBindings("").List(ctx, lo))
	add(client.RbacV1().ClusterRoles().List(ctx, lo))
	add(client.RbacV1().ClusterRoleBindings().List(ctx, lo))
	out := map[string]map[string]any{}
	for _, l := range lists {
		items, err := apimeta.ExtractList(l)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range items {
			m := toMap(t, o)
			out[objectKey(m)] = m
		}
	}
	return out
}

func toMap(t *testing.T, o runtime.Object) map[string]any {
	t.Helper()
	gvks, _, err := scheme.Scheme.ObjectKinds(o)
	if err != nil {
		t.Fatal(err)
	}
	o = o.DeepCopyObject()
	o.GetObjectKind().SetGroupVersionKind(gvks[0])
	b, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]any{}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func objectKey(m map[string]any) string {
	md := m["metadata"].(map[string]any)
	ns, _ := md["namespace"].(string)
	return fmt.Sprintf("%s/%s/%s", m["kind"], ns, md["name"])
}

// loadUpstream reads testdata/upstream/<name>, keyed like dumpObjects.
func loadUpstream(t *testing.T, name string) map[string]map[string]any {
	t.Helper()
	b, err := os.ReadFile("testdata/upstream/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var list []map[string]any
	if err := json.Unmarshal(b, &list); err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]any{}
	for _, m := range list {
		out[objectKey(m)] = m
	}
	return out
}

// diffJSON returns the paths where a and b differ, for test messages.
func diffJSON(path string, a, b any) []string {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if aok && bok {
		keys := map[string]bool{}
		for k := range am {
			keys[k] = true
		}
		for k := range bm {
			keys[k] = true
		}
		var sorted []string
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		var diffs []string
		for _, k := range sorted {
			diffs = append(diffs, diffJSON(path+"."+k, am[k], bm[k])...)
		}
		return diffs
	}
	al, aok := a.([]any)
	bl, bok := b.([]any)
	if aok && bok && len(al) == len(bl) {
		var diffs []string
		for i := range al {
			diffs = append(diffs, diffJSON(fmt.Sprintf("%s[%d]", path, i), al[i], bl[i])...)
		}
		return diffs
	}
	if !reflect.DeepEqual(a, b) {
		return []string{fmt.Sprintf("%s: got %v, want %v", path, a, b)}
	}
	return nil
}
