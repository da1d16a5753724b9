package fleet

import (
	"context"
	"fmt"
	"os"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// KubeconfigOptions are `fleet kubeconfig`'s flags.
type KubeconfigOptions struct {
	Options
	// Output writes the kubeconfig to this file instead of printing it.
	Output string
	// Merge merges it into this kubeconfig file (its context becomes the
	// current one).
	Merge string
}

// adminConfig is the control plane's admin.conf, pointed at the
// inventory's API server endpoint, its cluster, user and context named
// after the cluster.
func (f *fleet) adminConfig() *clientcmdapi.Config {
	name := f.inv.Name()
	out := clientcmdapi.NewConfig()
	ctx := f.admin.Contexts[f.admin.CurrentContext]
	if ctx == nil {
		return f.admin
	}
	user := "admin@" + name
	out.Clusters[name] = f.admin.Clusters[ctx.Cluster].DeepCopy()
	out.AuthInfos[user] = f.admin.AuthInfos[ctx.AuthInfo].DeepCopy()
	out.Contexts[user] = &clientcmdapi.Context{Cluster: name, AuthInfo: user}
	out.CurrentContext = user
	return out
}

// discoveryConfig is the kubeconfig a worker's join discovers the cluster
// from: the API server at the inventory's endpoint and its CA, from the
// control plane's admin.conf read over SSH. Like kubeadm's cluster-info,
// it has one cluster and no context or credentials.
func (f *fleet) discoveryConfig() ([]byte, error) {
	ctx := f.admin.Contexts[f.admin.CurrentContext]
	if ctx == nil || f.admin.Clusters[ctx.Cluster] == nil {
		return nil, fmt.Errorf("the control plane's %s has no current context with a cluster", remoteAdminConf)
	}
	name := f.inv.Name()
	out := clientcmdapi.NewConfig()
	out.Clusters[name] = f.admin.Clusters[ctx.Cluster].DeepCopy()
	return clientcmd.Write(*out)
}

// Kubeconfig prints, writes or merges the admin kubeconfig of the cluster.
func Kubeconfig(ctx context.Context, o KubeconfigOptions) error {
	f, err := open(o.Options)
	if err != nil {
		return err
	}
	defer f.close()
	cp := f.controlPlane()
	if err := f.connect(ctx, cp); err != nil {
		return err
	}
	if err := f.loadAdmin(ctx); err != nil {
		return err
	}
	kc := f.adminConfig()
	switch {
	case o.Output != "":
		return f.writeKubeconfig(o.Output)
	case o.Merge != "":
		existing, err := clientcmd.LoadFromFile(o.Merge)
		if os.IsNotExist(err) {
			existing, err = clientcmdapi.NewConfig(), nil
		}
		if err != nil {
			return fmt.Errorf("failed to read the kubeconfig %q to merge into: %w", o.Merge, err)
		}
		for k, v := range kc.Clusters {
			existing.Clusters[k] = v
		}
		for k, v := range kc.AuthInfos {
			existing.AuthInfos[k] = v
		}
		for k, v := range kc.Contexts {
			existing.Contexts[k] = v
		}
		existing.CurrentContext = kc.CurrentContext
		if err := clientcmd.WriteToFile(*existing, o.Merge); err != nil {
			return fmt.Errorf("failed to write the kubeconfig %q: %w", o.Merge, err)
		}
		fmt.Fprintf(f.out, "[fleet] merged context %q into %s\n", kc.CurrentContext, o.Merge)
		return os.Chmod(o.Merge, 0o600)
	}
	data, err := clientcmd.Write(*kc)
	if err != nil {
		return err
	}
	_, err = f.out.Write(data)
	return err
}
