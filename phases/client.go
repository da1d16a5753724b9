package phases

import (
	"fmt"
	"io"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubeadmin/kubeadmin/internal/constants"
)

// ClientFromKubeconfig builds a clientset from a kubeconfig file; a
// non-empty server replaces the file's server URL.
func ClientFromKubeconfig(path, server string) (kubernetes.Interface, error) {
	rest, err := clientcmd.BuildConfigFromFlags(server, path)
	if err != nil {
		return nil, fmt.Errorf("failed to load the kubeconfig %q: %w", path, err)
	}
	rest.Timeout = constants.ClientHTTPTimeout
	// client-go's default rate limit (5 QPS, burst 10) throttles init's
	// few dozen writes to 200 ms each once the burst is spent.
	rest.QPS, rest.Burst = constants.ClientQPS, constants.ClientBurst
	c, err := kubernetes.NewForConfig(rest)
	if err != nil {
		return nil, fmt.Errorf("failed to create a client from %q: %w", path, err)
	}
	return c, nil
}

// DryRunClient is a fake clientset that prints each call, seeded with the
// Node that init would register so node patches succeed.
func DryRunClient(out io.Writer, nodeName string) kubernetes.Interface {
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{
		Name:   nodeName,
		Labels: map[string]string{corev1.LabelHostname: nodeName},
	}}
	c := fake.NewClientset(node)
	c.PrependReactor("*", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		name := ""
		switch act := a.(type) {
		case k8stesting.CreateAction:
			if o, ok := act.GetObject().(metav1.Object); ok {
				name = o.GetName()
			}
		case k8stesting.UpdateAction:
			if o, ok := act.GetObject().(metav1.Object); ok {
				name = o.GetName()
			}
		case k8stesting.GetAction:
			name = act.GetName()
		case k8stesting.DeleteAction:
			name = act.GetName()
		case k8stesting.PatchAction:
			name = act.GetName()
		}
		gv := a.GetResource().GroupVersion().String()
		if a.GetResource().Group == "" {
			gv = "core/" + gv
		}
		fmt.Fprintf(out, "[dryrun] Would perform action %s on resource %q in API group %q", strings.ToUpper(a.GetVerb()), a.GetResource().Resource, gv)
		if name != "" {
			fmt.Fprintf(out, " (name %q", name)
			if ns := a.GetNamespace(); ns != "" {
				fmt.Fprintf(out, ", namespace %q", ns)
			}
			fmt.Fprint(out, ")")
		}
		fmt.Fprintln(out)
		return false, nil, nil
	})
	return c
}
