package resetphases

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/kubeadmin/kubeadmin/internal/constants"
	"github.com/kubeadmin/kubeadmin/kubelet/cri"
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

func newCleanupNodePhase() workflow.Phase {
	return workflow.Phase{Name: "cleanup-node", Aliases: []string{"cleanupnode"}, Short: "Run cleanup node.", Run: runAs(runCleanupNode)}
}

func runCleanupNode(d cleanupNodeData) error {
	out, cfg, kubeletDir := d.Out(), d.Cfg(), d.KubeletDir()
	if cfg.DryRun {
		fmt.Fprintln(out, "[dryrun] Would stop the kubelet service")
		fmt.Fprintf(out, "[dryrun] Would unmount mounted directories in %q\n", kubeletDir)
		fmt.Fprintln(out, "[dryrun] Would remove Kubernetes-managed containers")
		fmt.Fprintf(out, "[dryrun] Would delete contents of directories: %v\n", dirsToClean(d))
		fmt.Fprintf(out, "[dryrun] Would delete files: %v\n", filesToClean(d))
		return nil
	}
	fmt.Fprintln(out, "[reset] Stopping the kubelet service")
	if err := service.Stop(); err != nil {
		fmt.Fprintf(out, "[reset] The kubelet service could not be stopped by kubeadmin: [%v]\n", err)
	}
	fmt.Fprintf(out, "[reset] Unmounting mounted directories in %q\n", kubeletDir)
	if err := unmountUnder(kubeletDir); err != nil {
		fmt.Fprintf(out, "[reset] Failed to unmount mounted directories in %q: %v\n", kubeletDir, err)
	}
	n, err := removeAllPods(d.CRISocket())
	if err != nil {
		fmt.Fprintf(out, "[reset] Failed to remove containers: %v\n", err)
	} else {
		fmt.Fprintf(out, "[reset] Removed %d pod sandboxes and their containers through the CRI at %s\n", n, d.CRISocket())
	}
	if cfg.CertificatesDir != constants.DefaultCertDir {
		fmt.Fprintf(out, "[reset] WARNING: Cleaning a non-default certificates directory: %q\n", cfg.CertificatesDir)
	}
	dirs := dirsToClean(d)
	fmt.Fprintf(out, "[reset] Deleting contents of directories: %v\n", dirs)
	for _, dir := range dirs {
		if err := cleanDir(dir); err != nil {
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

// cleanDir deletes the contents of dir, keeping dir itself.
func cleanDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// unmountUnder unmounts every mount point below dir, deepest first.
func unmountUnder(dir string) error {
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		return err
	}
	b, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		return err
	}
	var points []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 1 && strings.HasPrefix(f[1], real+"/") {
			points = append(points, f[1])
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(points)))
	var errs []error
	for _, p := range points {
		if err := syscall.Unmount(p, 0); err != nil && !errors.Is(err, syscall.EINVAL) {
			errs = append(errs, fmt.Errorf("%s: %w", p, err))
		}
	}
	return errors.Join(errs...)
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
