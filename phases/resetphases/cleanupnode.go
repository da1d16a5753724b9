package resetphases

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kubeadmin/kubeadmin/internal/constants"
	"github.com/kubeadmin/kubeadmin/kubelet/cri"
	"github.com/kubeadmin/kubeadmin/kubelet/network"
	"github.com/kubeadmin/kubeadmin/kubelet/service"
	"github.com/kubeadmin/kubeadmin/phases"
	"github.com/kubeadmin/kubeadmin/phases/workflow"
)

// Limits of the pod removal through the CRI.
const (
	// removePodsTimeout bounds the removal of every pod.
	removePodsTimeout = 2 * time.Minute
	// removePodAttempts and removePodRetryInterval retry one pod's removal.
	removePodAttempts      = 5
	removePodRetryInterval = 200 * time.Millisecond
)

// Node is what cleanup-node does to this host; tests stand in for it.
type Node struct {
	// StopAgent stops the node agent, however it runs.
	StopAgent func() error
	// RemovePods removes every Kubernetes pod of the runtime at a CRI
	// endpoint and returns how many it removed.
	RemovePods func(criEndpoint string) (int, error)
	// Mounts is the host's mount table.
	Mounts MountTable
	// CleanupNetwork removes the built-in pod network (nil: nothing).
	CleanupNetwork func() error
}

// hostNode is this machine.
func hostNode() Node {
	return Node{StopAgent: service.Stop, RemovePods: removeAllPods, Mounts: procMounts{},
		CleanupNetwork: func() error { return network.Cleanup(constants.CNIConfDir) }}
}

func newCleanupNodePhase() workflow.Phase {
	return workflow.Phase{Name: "cleanup-node", Aliases: []string{"cleanupnode"}, Short: "Run cleanup node.", Run: workflow.RunAs(runCleanupNode)}
}

func runCleanupNode(d cleanupNodeData) error {
	out, cfg, kubeletDir, node := d.Out(), d.Cfg(), d.KubeletDir(), d.Node()
	if cfg.DryRun {
		fmt.Fprintln(out, "[dryrun] Would stop the kubelet service")
		fmt.Fprintf(out, "[dryrun] Would unmount mounted directories in %q\n", kubeletDir)
		fmt.Fprintln(out, "[dryrun] Would remove Kubernetes-managed containers")
		fmt.Fprintf(out, "[dryrun] Would delete contents of directories: %v\n", dirsToClean(d))
		fmt.Fprintf(out, "[dryrun] Would delete files: %v\n", filesToClean(d))
		return nil
	}
	fmt.Fprintln(out, "[reset] Stopping the kubelet service")
	if err := node.StopAgent(); err != nil {
		fmt.Fprintf(out, "[reset] The kubelet service could not be stopped by kubeadmin: [%v]\n", err)
	}
	fmt.Fprintf(out, "[reset] Unmounting mounted directories in %q\n", kubeletDir)
	stillMounted, unmountErr := unmountUnder(kubeletDir, node.Mounts)
	if unmountErr != nil {
		fmt.Fprintf(out, "[reset] Failed to unmount mounted directories in %q: %v\n", kubeletDir, unmountErr)
	}
	for _, m := range stillMounted {
		fmt.Fprintf(out, "[reset] Leaving %q and everything below it in place: it may still be mounted\n", m)
	}
	n, err := node.RemovePods(d.CRISocket())
	if err != nil {
		fmt.Fprintf(out, "[reset] Failed to remove containers: %v\n", err)
	} else {
		fmt.Fprintf(out, "[reset] Removed %d pod sandboxes and their containers through the CRI at %s\n", n, d.CRISocket())
	}
	if node.CleanupNetwork != nil {
		fmt.Fprintf(out, "[reset] Removing the built-in pod network: %s, its routes, the %s chain and the %s bridge\n",
			filepath.Join(constants.CNIConfDir, network.ConfFileName), network.MasqueradeChain, network.BridgeName)
		if err := node.CleanupNetwork(); err != nil {
			fmt.Fprintf(out, "[reset] Failed to remove the built-in pod network: %v\n", err)
		}
	}
	if cfg.CertificatesDir != constants.DefaultCertDir {
		fmt.Fprintf(out, "[reset] WARNING: Cleaning a non-default certificates directory: %q\n", cfg.CertificatesDir)
	}
	dirs := dirsToClean(d)
	fmt.Fprintf(out, "[reset] Deleting contents of directories: %v\n", dirs)
	for _, dir := range dirs {
		if err := cleanDir(dir, stillMounted); err != nil {
			fmt.Fprintf(out, "[reset] Failed to delete contents of %q directory: %v\n", dir, err)
		}
	}
	files := filesToClean(d)
	fmt.Fprintf(out, "[reset] Deleting files: %v\n", files)
	for _, f := range files {
		if err := os.Remove(f); err != nil && !os.IsNotExist(err) {
			fmt.Fprintf(out, "[reset] Failed to remove file: %q [%v]\n", f, err)
		}
	}
	fmt.Fprintf(out, "\nThe reset process does not clean CNI configuration in %s, iptables/nftables/IPVS rules,\nor $HOME/.kube/config; remove them by hand if this host is to be reused.\n", constants.CNIConfDir)
	if len(stillMounted) > 0 {
		return fmt.Errorf("left %s and everything below it in place: %w; unmount what is mounted there (umount <path>) and run \"kubeadmin reset\" again",
			strings.Join(stillMounted, ", "), unmountErr)
	}
	return nil
}

// dirsToClean are the directories whose contents reset deletes.
func dirsToClean(d cleanupNodeData) []string {
	k8sDir := d.KubernetesDir()
	dirs := []string{filepath.Join(k8sDir, constants.ManifestsSubDirName), d.KubeletDir(), d.Cfg().CertificatesDir}
	if d.Cfg().CleanupTmpDir {
		dirs = append(dirs, filepath.Join(k8sDir, constants.TempDirName))
	}
	return dirs
}

// filesToClean are the kubeconfig files reset deletes.
func filesToClean(d cleanupNodeData) []string {
	var files []string
	for _, f := range []string{constants.AdminKubeConfigFile, constants.SuperAdminKubeConfigFile, constants.KubeletKubeConfigFile,
		constants.KubeletBootstrapKubeConfigFile, constants.ControllerManagerKubeConfigFile, constants.SchedulerKubeConfigFile} {
		files = append(files, filepath.Join(d.KubernetesDir(), f))
	}
	return files
}

// removeAllPods stops and removes every Kubernetes pod sandbox (and so its
// containers) of the CRI runtime, as kubeadm reset does.
func removeAllPods(endpoint string) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), removePodsTimeout)
	defer cancel()
	rt, err := cri.NewRemote(endpoint)
	if err != nil {
		return 0, err
	}
	defer rt.Close()
	sandboxes, err := rt.ListPodSandbox(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("failed to list pod sandboxes at %s: %w", endpoint, err)
	}
	var errs []error
	n := 0
	for _, s := range sandboxes {
		if _, ok := s.Labels["io.kubernetes.pod.uid"]; !ok {
			continue
		}
		var lastErr error
		for attempt := 0; attempt < removePodAttempts; attempt++ {
			if lastErr = rt.StopPodSandbox(ctx, s.Id); lastErr == nil {
				if lastErr = rt.RemovePodSandbox(ctx, s.Id); lastErr == nil {
					break
				}
			}
			time.Sleep(removePodRetryInterval)
		}
		if lastErr != nil {
			errs = append(errs, fmt.Errorf("pod sandbox %s (%s): %w", phases.ShortID(s.Id), s.Metadata.GetName(), lastErr))
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}
