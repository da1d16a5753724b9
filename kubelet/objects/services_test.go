package objects

import (
	"context"
	"errors"
	"slices"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kubeadmin/kubeadmin/internal/testutil"
)

func service(namespace, name string) *v1.Service {
	return &v1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}}
}

func serviceNames(svcs []*v1.Service) []string {
	var names []string
	for _, s := range svcs {
		names = append(names, s.Namespace+"/"+s.Name)
	}
	slices.Sort(names)
	return names
}

func TestServicesAreAnErrorBeforeTheFirstList(t *testing.T) {
	m := New(Options{Client: fake.NewClientset(service("default", "kubernetes"))})
	if _, err := m.Services(context.Background()); !errors.Is(err, errServicesNotSynced) {
		t.Errorf("Services before Run: %v; want %v", err, errServicesNotSynced)
	}
}

func TestServicesOfAllNamespaces(t *testing.T) {
	m, c, _ := newManager(t, service("default", "kubernetes"), service(ns, "web"))
	ctx := context.Background()
	want := []string{"default/kubernetes", ns + "/web"}
	testutil.Eventually(t, "both services", func() bool {
		svcs, err := m.Services(ctx)
		return err == nil && slices.Equal(serviceNames(svcs), want)
	})
	if _, err := c.CoreV1().Services("other").Create(ctx, service("other", "db"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	want = []string{"default/kubernetes", "other/db", ns + "/web"}
	testutil.Eventually(t, "the new service", func() bool {
		svcs, err := m.Services(ctx)
		return err == nil && slices.Equal(serviceNames(svcs), want)
	})
	for _, a := range c.Actions() {
		if v := a.GetVerb(); (v == "list" || v == "watch") && a.GetResource().Resource == "services" && a.GetNamespace() != "" {
			t.Errorf("%s of services in namespace %q; want one informer over all namespaces", a.GetVerb(), a.GetNamespace())
		}
	}
}
