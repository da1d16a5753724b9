package clusterobjects

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

const defaultNodeToken = "system:bootstrappers:kubeadm:default-node-token"

// rbacRow is one row of kubeadm-reference.md §10.3.
type rbacRow struct {
	kind, namespace, name string
	// rule is "verb resource [resourceName]" for Roles and ClusterRoles.
	rule string
	// roleRef is the referenced role of bindings.
	roleRef string
	// subjects are "Kind:name" or "ServiceAccount:ns/name".
	subjects []string
}

var rbacRows = []rbacRow{
	{kind: "Role", namespace: "kube-system", name: "kubeadm:nodes-kubeadm-config", rule: "get configmaps kubeadm-config"},
	{kind: "RoleBinding", namespace: "kube-system", name: "kubeadm:nodes-kubeadm-config", roleRef: "Role/kubeadm:nodes-kubeadm-config",
		subjects: []string{"Group:" + defaultNodeToken, "Group:system:nodes"}},
	{kind: "Role", namespace: "kube-system", name: "kubeadm:kubelet-config", rule: "get configmaps kubelet-config"},
	{kind: "RoleBinding", namespace: "kube-system", name: "kubeadm:kubelet-config", roleRef: "Role/kubeadm:kubelet-config",
		subjects: []string{"Group:system:nodes", "Group:" + defaultNodeToken}},
	{kind: "Role", namespace: "kube-system", name: "kubeadm:kubeadm-certs", rule: "get secrets kubeadm-certs"},
	{kind: "RoleBinding", namespace: "kube-system", name: "kubeadm:kubeadm-certs", roleRef: "Role/kubeadm:kubeadm-certs",
		subjects: []string{"Group:" + defaultNodeToken}},
	{kind: "ClusterRole", name: "kubeadm:get-nodes", rule: "get nodes"},
	{kind: "ClusterRoleBinding", name: "kubeadm:get-nodes", roleRef: "ClusterRole/kubeadm:get-nodes", subjects: []string{"Group:" + defaultNodeToken}},
	{kind: "ClusterRoleBinding", name: "kubeadm:kubelet-bootstrap", roleRef: "ClusterRole/system:node-bootstrapper",
		subjects: []string{"Group:" + defaultNodeToken}},
	{kind: "ClusterRoleBinding", name: "kubeadm:node-autoapprove-bootstrap",
		roleRef: "ClusterRole/system:certificates.k8s.io:certificatesigningrequests:nodeclient", subjects: []string{"Group:" + defaultNodeToken}},
	{kind: "ClusterRoleBinding", name: "kubeadm:node-autoapprove-certificate-rotation",
		roleRef: "ClusterRole/system:certificates.k8s.io:certificatesigningrequests:selfnodeclient", subjects: []string{"Group:system:nodes"}},
	{kind: "ClusterRoleBinding", name: "kubeadm:apiserver-kubelet-client", roleRef: "ClusterRole/system:kubelet-api-admin",
		subjects: []string{"User:kube-apiserver-kubelet-client"}},
	{kind: "Role", namespace: "kube-public", name: "kubeadm:bootstrap-signer-clusterinfo", rule: "get configmaps cluster-info"},
	{kind: "RoleBinding", namespace: "kube-public", name: "kubeadm:bootstrap-signer-clusterinfo",
		roleRef: "Role/kubeadm:bootstrap-signer-clusterinfo", subjects: []string{"User:system:anonymous"}},
	{kind: "ClusterRoleBinding", name: "system:coredns", roleRef: "ClusterRole/system:coredns", subjects: []string{"ServiceAccount:kube-system/coredns"}},
	{kind: "ClusterRoleBinding", name: "kubeadm:node-proxier", roleRef: "ClusterRole/system:node-proxier",
		subjects: []string{"ServiceAccount:kube-system/kube-proxy"}},
	{kind: "Role", namespace: "kube-system", name: "kube-proxy", rule: "get configmaps kube-proxy"},
	{kind: "RoleBinding", namespace: "kube-system", name: "kube-proxy", roleRef: "Role/kube-proxy", subjects: []string{"Group:" + defaultNodeToken}},
	{kind: "ClusterRoleBinding", name: "kubeadm:cluster-admins", roleRef: "ClusterRole/cluster-admin", subjects: []string{"Group:kubeadm:cluster-admins"}},
}

// allRBAC gathers the RBAC objects of every builder in this package.
func allRBAC(t *testing.T) []runtime.Object {
	cfg := testConfig(t, "default")
	dns, err := CoreDNSObjects(cfg)
	if err != nil {
		t.Fatal(err)
	}
	proxy, err := KubeProxyObjects(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var objs []runtime.Object
	for _, group := range [][]runtime.Object{KubeadmConfigRBAC(), KubeletConfigRBAC(), KubeadmCertsRBAC(), NodeBootstrapRBAC(),
		ClusterInfoRBAC(), dns, proxy, {AdminClusterRoleBinding()}} {
		objs = append(objs, group...)
	}
	return objs
}

func findRBAC(objs []runtime.Object, kind, ns, name string) runtime.Object {
	for _, o := range objs {
		m := o.(metav1.Object)
		if strings.TrimPrefix(fmt.Sprintf("%T", o), "*v1.") == kind && m.GetNamespace() == ns && m.GetName() == name {
			return o
		}
	}
	return nil
}

func ruleString(rules []rbacv1.PolicyRule) string {
	if len(rules) != 1 || len(rules[0].Verbs) != 1 || len(rules[0].Resources) != 1 ||
		!reflect.DeepEqual(rules[0].APIGroups, []string{""}) || len(rules[0].ResourceNames) > 1 {
		return fmt.Sprintf("%+v", rules)
	}
	s := rules[0].Verbs[0] + " " + rules[0].Resources[0]
	if len(rules[0].ResourceNames) == 1 {
		s += " " + rules[0].ResourceNames[0]
	}
	return s
}

func subjectStrings(subjects []rbacv1.Subject) []string {
	var out []string
	for _, s := range subjects {
		if s.Kind == rbacv1.ServiceAccountKind {
			out = append(out, "ServiceAccount:"+s.Namespace+"/"+s.Name)
			continue
		}
		if s.APIGroup != "" || s.Namespace != "" {
			out = append(out, fmt.Sprintf("%+v", s))
			continue
		}
		out = append(out, s.Kind+":"+s.Name)
	}
	return out
}

func roleRefString(r rbacv1.RoleRef) string {
	if r.APIGroup != rbacv1.GroupName {
		return fmt.Sprintf("%+v", r)
	}
	return r.Kind + "/" + r.Name
}

func TestRBACMatchesReference(t *testing.T) {
	objs := allRBAC(t)
	for _, row := range rbacRows {
		t.Run(row.kind+"/"+row.namespace+"/"+row.name, func(t *testing.T) {
			o := findRBAC(objs, row.kind, row.namespace, row.name)
			if o == nil {
				t.Fatal("not created")
			}
			var rule, ref string
			var subjects []string
			switch v := o.(type) {
			case *rbacv1.Role:
				rule = ruleString(v.Rules)
			case *rbacv1.ClusterRole:
				rule = ruleString(v.Rules)
			case *rbacv1.RoleBinding:
				ref, subjects = roleRefString(v.RoleRef), subjectStrings(v.Subjects)
			case *rbacv1.ClusterRoleBinding:
				ref, subjects = roleRefString(v.RoleRef), subjectStrings(v.Subjects)
			}
			if rule != row.rule || ref != row.roleRef || !reflect.DeepEqual(subjects, row.subjects) {
				t.Errorf("got rule %q roleRef %q subjects %v; want %q %q %v", rule, ref, subjects, row.rule, row.roleRef, row.subjects)
			}
		})
	}
}

func TestCoreDNSClusterRoleRules(t *testing.T) {
	want := []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"endpoints", "services", "pods", "namespaces"}, Verbs: []string{"list", "watch"}},
		{APIGroups: []string{"discovery.k8s.io"}, Resources: []string{"endpointslices"}, Verbs: []string{"list", "watch"}},
	}
	if got := coreDNSClusterRole().Rules; !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestEnsureAdminClusterRoleBinding(t *testing.T) {
	forbidden := apierrors.NewForbidden(schema.GroupResource{Group: "rbac.authorization.k8s.io", Resource: "clusterrolebindings"}, "kubeadm:cluster-admins", errors.New("no"))
	failCreate := func(c *fake.Clientset, err error, times int) {
		c.PrependReactor("create", "clusterrolebindings", func(k8stesting.Action) (bool, runtime.Object, error) {
			if times != 0 {
				times--
				return true, nil, err
			}
			return false, nil, nil
		})
	}
	tests := []struct {
		name string
		// setup prepares the admin and super-admin clients.
		setup          func(admin, super *fake.Clientset)
		noSuperAdmin   bool
		wantErr        string
		wantCreatedBy  string // "admin", "super" or "" (already there)
		wantSuperCalls bool
	}{
		{name: "admin creates it", setup: func(_, _ *fake.Clientset) {}, wantCreatedBy: "admin"},
		{name: "already exists", setup: func(admin, _ *fake.Clientset) {
			_ = admin.Tracker().Add(AdminClusterRoleBinding())
		}, wantCreatedBy: "admin"},
		{name: "transient errors then success", setup: func(admin, _ *fake.Clientset) {
			failCreate(admin, errors.New("connection refused"), 3)
		}, wantCreatedBy: "admin"},
		{name: "forbidden uses super-admin", setup: func(admin, _ *fake.Clientset) {
			failCreate(admin, forbidden, -1)
		}, wantCreatedBy: "super", wantSuperCalls: true},
		{name: "forbidden without super-admin", setup: func(admin, _ *fake.Clientset) {
			failCreate(admin, forbidden, -1)
		}, noSuperAdmin: true, wantErr: "the ClusterRoleBinding for the kubeadm:cluster-admins Group is missing but there is no super-admin.conf to create it"},
		{name: "super-admin keeps failing", setup: func(admin, super *fake.Clientset) {
			failCreate(admin, forbidden, -1)
			failCreate(super, errors.New("boom"), -1)
		}, wantErr: "unable to create the kubeadm:cluster-admins ClusterRoleBinding by using super-admin.conf: boom", wantSuperCalls: true},
		{name: "admin keeps failing", setup: func(admin, _ *fake.Clientset) {
			failCreate(admin, errors.New("connection refused"), -1)
		}, wantErr: `failed to create ClusterRoleBinding "kubeadm:cluster-admins": connection refused`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			admin, super := fake.NewSimpleClientset(), fake.NewSimpleClientset()
			tt.setup(admin, super)
			superCalled := false
			superFn := func() (kubernetes.Interface, error) {
				superCalled = true
				return super, nil
			}
			if tt.noSuperAdmin {
				superFn = nil
			}
			got, err := EnsureAdminClusterRoleBinding(admin, superFn, 100*time.Millisecond)
			if superCalled != tt.wantSuperCalls {
				t.Errorf("super-admin client built: %v, want %v", superCalled, tt.wantSuperCalls)
			}
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("got error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != kubernetes.Interface(admin) {
				t.Error("the admin client was not returned")
			}
			holder := admin
			if tt.wantCreatedBy == "super" {
				holder = super
			}
			crb, err := holder.RbacV1().ClusterRoleBindings().Get(context.Background(), "kubeadm:cluster-admins", metav1.GetOptions{})
			if err != nil {
				t.Fatalf("binding not found with the %s client: %v", tt.wantCreatedBy, err)
			}
			if crb.RoleRef.Name != "cluster-admin" {
				t.Errorf("roleRef %q", crb.RoleRef.Name)
			}
		})
	}
}

func TestCreateNodeBootstrapRBACPrintsAndCreates(t *testing.T) {
	client := fake.NewSimpleClientset()
	var out strings.Builder
	if err := CreateNodeBootstrapRBAC(client, time.Second, &out); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), "[bootstrap-token] Configured RBAC rules"); n != 5 {
		t.Errorf("printed %d RBAC lines, want 5:\n%s", n, out.String())
	}
	crbs, _ := client.RbacV1().ClusterRoleBindings().List(context.Background(), metav1.ListOptions{})
	if len(crbs.Items) != 5 {
		t.Errorf("created %d ClusterRoleBindings, want 5", len(crbs.Items))
	}
}
