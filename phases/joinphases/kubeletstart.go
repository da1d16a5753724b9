package joinphases

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	kubeletv1beta1 "k8s.io/kubelet/config/v1beta1"

	"github.com/kubeadmin/kubeadmin/internal/config"
	"github.com/kubeadmin/kubeadmin/internal/constants"
	"github.com/kubeadmin/kubeadmin/internal/fsutil"
	"github.com/kubeadmin/kubeadmin/kubelet/service"
	"github.com/kubeadmin/kubeadmin/manifests"
	"github.com/kubeadmin/kubeadmin/phases"
	"github.com/kubeadmin/kubeadmin/phases/kubeconfig"
	"github.com/kubeadmin/kubeadmin/phases/workflow"
)

// caFileMode is the mode of the cluster CA certificate written for the agent.
const caFileMode os.FileMode = 0o644

func newKubeletStartPhase() workflow.Phase {
	return workflow.Phase{
		Name:         "kubelet-start [api-server-endpoint]",
		Short:        "Write kubelet settings, certificates and (re)start the kubelet",
		Long:         "Write a file with KubeletConfiguration and an environment file with node specific kubelet settings, and then (re)start the node agent (kubeadmin kubelet), which performs the TLS bootstrap.",
		Example:      "  # Writes the kubelet files and starts the node agent from a JoinConfiguration file.\n  kubeadmin join phase kubelet-start --config config.yaml",
		InheritFlags: append([]string{phases.FlagPatches}, discoveryFlags...),
		Run:          workflow.RunAs(runKubeletStart),
	}
}

func runKubeletStart(d kubeletStartData) error {
	cfg := d.Cfg()
	out := d.Out()
	initCfg, err := d.InitCfg()
	if err != nil {
		return err
	}
	tlsCfg, err := d.TLSBootstrapCfg()
	if err != nil {
		return err
	}
	nr := cfg.NodeRegistration
	// Everything that can fail is checked before the first write.
	if err := checkNodeNameFree(d, nr.Name); err != nil {
		return err
	}
	caPEM, err := bootstrapCA(tlsCfg)
	if err != nil {
		return err
	}
	flags, err := kubeletFlagsEnv(cfg)
	if err != nil {
		return err
	}
	kubeletCfg, err := manifests.BuildKubeletConfigFile(joinKubeletConfig(initCfg), nr.CRISocket, d.PatchesDir(), out)
	if err != nil {
		return err
	}

	bootstrapPath := filepath.Join(d.KubeConfigDir(), constants.KubeletBootstrapKubeConfigFile)
	d.recordWrite(bootstrapPath)
	if err := kubeconfig.WriteKubeconfig(bootstrapPath, tlsCfg); err != nil {
		return fmt.Errorf("couldn't save %s to disk: %w", constants.KubeletBootstrapKubeConfigFile, err)
	}
	if caPath := d.CACertWritePath(); !exists(caPath) {
		d.recordWrite(caPath)
		if err := fsutil.WriteFileAtomic(caPath, caPEM, caFileMode, 0o755); err != nil {
			return fmt.Errorf("couldn't save the CA certificate to disk: %w", err)
		}
	}
	if d.DryRun() {
		fmt.Fprintln(out, "[kubelet-start] Would stop the kubelet")
	} else if err := service.Stop(); err != nil {
		fmt.Fprintf(out, "[kubelet-start] WARNING: could not stop the node agent before configuring it: %v\n", err)
	}
	dir := d.KubeletDir()
	for _, name := range []string{constants.KubeletInstanceFile, constants.KubeletConfigFile, constants.KubeletFlagsEnvFile} {
		d.recordWrite(filepath.Join(dir, name))
	}
	fmt.Fprintf(out, "[kubelet-start] Writing kubelet configuration to file %q\n", filepath.Join(dir, constants.KubeletInstanceFile))
	fmt.Fprintf(out, "[kubelet-start] Writing kubelet configuration to file %q\n", filepath.Join(dir, constants.KubeletConfigFile))
	fmt.Fprintf(out, "[kubelet-start] Writing kubelet environment file with flags to file %q\n", filepath.Join(dir, constants.KubeletFlagsEnvFile))
	if err := manifests.WriteKubeletFiles(dir, flags, manifests.InstanceConfig(nr.CRISocket), kubeletCfg); err != nil {
		return err
	}
	if d.DryRun() {
		fmt.Fprintln(out, "[kubelet-start] Would start the kubelet")
		return nil
	}
	// The agent writes these from the bootstrap kubeconfig.
	d.recordWrite(filepath.Join(d.KubeConfigDir(), constants.KubeletKubeConfigFile))
	d.recordWrite(constants.KubeletPKIDir)
	fmt.Fprintln(out, "[kubelet-start] Starting the kubelet")
	return service.Start(flags)
}

// checkNodeNameFree refuses to join under the name of a Ready Node: a
// second machine would take over its identity.
func checkNodeNameFree(d kubeletStartData, name string) error {
	client, err := d.BootstrapClient()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), apiCallTimeout(d.Cfg()))
	defer cancel()
	node, err := client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case err != nil:
		return fmt.Errorf("cannot get Node %q: %w", name, err)
	}
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
			return fmt.Errorf("a Node with name %q and status %q already exists in the cluster. "+
				"You must delete the existing Node or change the name of this new joining Node: "+
				"run \"kubectl delete node %s\" on the control plane if that machine is gone, or join this one with --node-name <another name>",
				name, corev1.NodeReady, name)
		}
	}
	return nil
}

// bootstrapCA is the CA of the discovered cluster.
func bootstrapCA(kc *clientcmdapi.Config) ([]byte, error) {
	if ctx := kc.Contexts[kc.CurrentContext]; ctx != nil {
		if c := kc.Clusters[ctx.Cluster]; c != nil && len(c.CertificateAuthorityData) > 0 {
			return c.CertificateAuthorityData, nil
		}
	}
	return nil, fmt.Errorf("the discovered TLS bootstrap kubeconfig has no CA certificate for its current context %q", kc.CurrentContext)
}

// kubeletFlagsEnv renders this node's kubeadm-flags.env; a worker
// registers with its taints through the flag.
func kubeletFlagsEnv(cfg *config.JoinConfiguration) ([]byte, error) {
	nr := cfg.NodeRegistration
	hostname, err := manifests.KubeletHostname()
	if err != nil {
		return nil, err
	}
	return manifests.KubeletFlagsEnv(nr.Name, hostname, nr.KubeletExtraArgs, nr.Taints, true), nil
}

// joinKubeletConfig is the cluster's KubeletConfiguration adapted to this
// host.
func joinKubeletConfig(cfg *config.InitConfig) *kubeletv1beta1.KubeletConfiguration {
	kc := cfg.Components.Kubelet
	if kc == nil {
		kc = config.DefaultKubeletConfiguration(&cfg.Cluster)
	}
	return phases.LocalKubeletConfig(kc.DeepCopy())
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
