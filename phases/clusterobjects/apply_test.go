package clusterobjects

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubeadmin/kubeadmin/internal/config"
)

// kindCases has one object per supported kind, a way to change it, and a
// way to read the changed value back.
func kindCases() []struct {
	name     string
	resource string
	obj      func() runtime.Object
	change   func(runtime.Object)
	get      func(*fake.Clientset) (string, error)
} {
	ns := metav1.NamespaceSystem
	meta := metav1.ObjectMeta{Name: "x", Namespace: ns}
	cmeta := metav1.ObjectMeta{Name: "x"}
	label := func(o runtime.Object) { o.(metav1.Object).SetLabels(map[string]string{"v": "2"}) }
	ctx := context.Background()
	get := func(o metav1.Object, err error) (string, error) {
		if err != nil {
			return "", err
		}
		return o.GetLabels()["v"], nil
	}
	return []struct {
		name     string
		resource string
		obj      func() runtime.Object
		change   func(runtime.Object)
		get      func(*fake.Clientset) (string, error)
	}{
		{"ConfigMap", "configmaps", func() runtime.Object { return &corev1.ConfigMap{ObjectMeta: meta} }, label,
			func(c *fake.Clientset) (string, error) {
				return get(c.CoreV1().ConfigMaps(ns).Get(ctx, "x", metav1.GetOptions{}))
			}},
		{"Secret", "secrets", func() runtime.Object { return &corev1.Secret{ObjectMeta: meta} }, label,
			func(c *fake.Clientset) (string, error) {
				return get(c.CoreV1().Secrets(ns).Get(ctx, "x", metav1.GetOptions{}))
			}},
		{"ServiceAccount", "serviceaccounts", func() runtime.Object { return &corev1.ServiceAccount{ObjectMeta: meta} }, label,
			func(c *fake.Clientset) (string, error) {
				return get(c.CoreV1().ServiceAccounts(ns).Get(ctx, "x", metav1.GetOptions{}))
			}},
		{"Service", "services", func() runtime.Object { return &corev1.Service{ObjectMeta: meta} }, label,
			func(c *fake.Clientset) (string, error) {
				return get(c.CoreV1().Services(ns).Get(ctx, "x", metav1.GetOptions{}))
			}},
		{"Role", "roles", func() runtime.Object { return &rbacv1.Role{ObjectMeta: meta} }, label,
			func(c *fake.Clientset) (string, error) {
				return get(c.RbacV1().Roles(ns).Get(ctx, "x", metav1.GetOptions{}))
			}},
		{"RoleBinding", "rolebindings", func() runtime.Object { return &rbacv1.RoleBinding{ObjectMeta: meta} }, label,
			func(c *fake.Clientset) (string, error) {
				return get(c.RbacV1().RoleBindings(ns).Get(ctx, "x", metav1.GetOptions{}))
			}},
		{"ClusterRole", "clusterroles", func() runtime.Object { return &rbacv1.ClusterRole{ObjectMeta: cmeta} }, label,
			func(c *fake.Clientset) (string, error) {
				return get(c.RbacV1().ClusterRoles().Get(ctx, "x", metav1.GetOptions{}))
			}},
		{"ClusterRoleBinding", "clusterrolebindings", func() runtime.Object { return &rbacv1.ClusterRoleBinding{ObjectMeta: cmeta} }, label,
			func(c *fake.Clientset) (string, error) {
				return get(c.RbacV1().ClusterRoleBindings().Get(ctx, "x", metav1.GetOptions{}))
			}},
		{"Deployment", "deployments", func() runtime.Object { return &appsv1.Deployment{ObjectMeta: meta} }, label,
			func(c *fake.Clientset) (string, error) {
				return get(c.AppsV1().Deployments(ns).Get(ctx, "x", metav1.GetOptions{}))
			}},
		{"DaemonSet", "daemonsets", func() runtime.Object { return &appsv1.DaemonSet{ObjectMeta: meta} }, label,
			func(c *fake.Clientset) (string, error) {
				return get(c.AppsV1().DaemonSets(ns).Get(ctx, "x", metav1.GetOptions{}))
			}},
	}
}

func TestCreateOrUpdateEveryKind(t *testing.T) {
	for _, tc := range kindCases() {
		t.Run(tc.name, func(t *testing.T) {
			client := fake.NewSimpleClientset()
			if err := CreateOrUpdateObject(client, tc.obj(), time.Second); err != nil {
				t.Fatalf("create: %v", err)
			}
			if v, err := tc.get(client); err != nil || v != "" {
				t.Fatalf("after create: label %q, err %v", v, err)
			}
			changed := tc.obj()
			tc.change(changed)
			if err := CreateOrUpdateObject(client, changed, time.Second); err != nil {
				t.Fatalf("update: %v", err)
			}
			if v, err := tc.get(client); err != nil || v != "2" {
				t.Fatalf("after update: label %q, err %v; want 2", v, err)
			}
		})
	}
}

func TestCreateOrUpdateRetries(t *testing.T) {
	for _, tc := range kindCases() {
		t.Run(tc.name, func(t *testing.T) {
			client := fake.NewSimpleClientset()
			fails := 2
			client.PrependReactor("create", tc.resource, func(k8stesting.Action) (bool, runtime.Object, error) {
				if fails > 0 {
					fails--
					return true, nil, errors.New("connection refused")
				}
				return false, nil, nil
			})
			if err := CreateOrUpdateObject(client, tc.obj(), 5*time.Second); err != nil {
				t.Fatalf("got %v, want success after transient errors", err)
			}
			if fails != 0 {
				t.Errorf("reactor has %d failures left", fails)
			}
		})
	}
}

func TestCreateOrUpdateErrorNamesObject(t *testing.T) {
	tests := []struct {
		name string
		obj  runtime.Object
		want string
	}{
		{"namespaced", &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "kubeadm-config", Namespace: "kube-system"}},
			`failed to create or update ConfigMap "kube-system/kubeadm-config": create: permanent`},
		{"cluster scoped", &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "system:coredns"}},
			`failed to create or update ClusterRole "system:coredns": create: permanent`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := fake.NewSimpleClientset()
			client.PrependReactor("create", "*", func(k8stesting.Action) (bool, runtime.Object, error) {
				return true, nil, errors.New("permanent")
			})
			err := CreateOrUpdateObject(client, tt.obj, 30*time.Millisecond)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
		})
	}
}

func TestCreateOrUpdateUnsupportedKind(t *testing.T) {
	err := CreateOrUpdateObject(fake.NewSimpleClientset(), &corev1.Pod{}, time.Second)
	if err == nil || !strings.Contains(err.Error(), "unsupported kind") {
		t.Fatalf("got %v, want an unsupported kind error", err)
	}
}

func TestCreateOrUpdateServiceOnInvalid(t *testing.T) {
	client := fake.NewSimpleClientset(&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "kube-dns", Namespace: "kube-system"}})
	client.PrependReactor("create", "services", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewInvalid(schema.GroupKind{Kind: "Service"}, "kube-dns",
			field.ErrorList{field.Invalid(field.NewPath("spec", "clusterIP"), "10.96.0.10", "provided IP is already allocated")})
	})
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "kube-dns", Namespace: "kube-system", Labels: map[string]string{"v": "2"}}}
	if err := CreateOrUpdateService(client, svc, time.Second); err != nil {
		t.Fatal(err)
	}
	got, err := client.CoreV1().Services("kube-system").Get(context.Background(), "kube-dns", metav1.GetOptions{})
	if err != nil || got.Labels["v"] != "2" {
		t.Fatalf("service not updated: %v, %v", got.Labels, err)
	}
}

func TestCreateOrUpdateCarriesResourceVersion(t *testing.T) {
	existing := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: "ns", ResourceVersion: "42"}}
	client := fake.NewSimpleClientset(existing)
	var sent string
	client.PrependReactor("update", "configmaps", func(a k8stesting.Action) (bool, runtime.Object, error) {
		sent = a.(k8stesting.UpdateAction).GetObject().(*corev1.ConfigMap).ResourceVersion
		return false, nil, nil
	})
	desired := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: "ns"}}
	if err := CreateOrUpdateConfigMap(client, desired, time.Second); err != nil {
		t.Fatal(err)
	}
	if sent != "42" {
		t.Errorf("update sent resourceVersion %q, want the existing 42", sent)
	}
	if desired.ResourceVersion != "" {
		t.Errorf("the caller's object was modified: resourceVersion %q", desired.ResourceVersion)
	}
}

func TestAPICallTimeout(t *testing.T) {
	tests := []struct {
		name string
		in   *config.Timeouts
		want time.Duration
	}{
		{"nil", nil, time.Minute},
		{"unset", &config.Timeouts{}, time.Minute},
		{"set", &config.Timeouts{KubernetesAPICall: &metav1.Duration{Duration: 3 * time.Second}}, 3 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := APICallTimeout(tt.in); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
