package phases

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/kubeadmin/kubeadmin/internal/config"
	"github.com/kubeadmin/kubeadmin/internal/constants"
	"github.com/kubeadmin/kubeadmin/kubelet/cri"
	"github.com/kubeadmin/kubeadmin/manifests"
	"github.com/kubeadmin/kubeadmin/phases/preflight"
	"github.com/kubeadmin/kubeadmin/phases/workflow"
)

// ResetOptions are the values of `kubeadmin reset`'s flags.
type ResetOptions struct {
	ConfigPath            string
	CertDir               string
	CRISocket             string
	Force                 bool
	DryRun                bool
	CleanupTmpDir         bool
	IgnorePreflightErrors []string
	KubeconfigPath        string
	ChangedFlags          []string
	// In answers the confirmation prompt.
	In io.Reader
}

// ResetData is what every reset phase sees.
type ResetData struct {
	cfg     *config.ResetConfiguration
	out     io.Writer
	in      io.Reader
	ignore  map[string]bool
	k8sDir  string
	etcdDir string
	criSock string
	kubelet string
}

// NewResetData builds the reset data from the flags.
func NewResetData(o *ResetOptions, out io.Writer) (*ResetData, error) {
	if err := config.CheckMixedConfigFlags(o.ConfigPath, o.ChangedFlags); err != nil {
		return nil, err
	}
	cfg := &config.ResetConfiguration{}
	if o.ConfigPath != "" {
		c, err := config.LoadResetConfigFile(o.ConfigPath)
		if err != nil {
			return nil, err
		}
		cfg = c
	} else {
		cfg.CertificatesDir, cfg.CRISocket, cfg.Force, cfg.DryRun, cfg.CleanupTmpDir = o.CertDir, o.CRISocket, o.Force, o.DryRun, o.CleanupTmpDir
	}
	cfg.Force = cfg.Force || o.Force
	cfg.DryRun = cfg.DryRun || o.DryRun
	config.SetDefaultsReset(cfg)
	if cfg.CRISocket == "" {
		cfg.CRISocket = criSocketFromInstanceConfig()
	}
	if err := config.SetDynamicDefaultsReset(cfg, config.DynamicOptions{}); err != nil {
		return nil, err
	}
	if err := config.ValidateResetConfig(cfg); err != nil {
		return nil, err
	}
	ignore, err := config.ParseIgnorePreflightErrors(o.IgnorePreflightErrors, cfg.IgnorePreflightErrors)
	if err != nil {
		return nil, err
	}
	in := o.In
	if in == nil {
		in = os.Stdin
	}
	return &ResetData{
		cfg: cfg, out: out, in: in, ignore: ignore,
		k8sDir:  constants.KubernetesDir,
		etcdDir: etcdDataDirFromManifest(filepath.Join(constants.KubernetesDir, constants.ManifestsSubDirName, componentManifest(constants.Etcd))),
		criSock: cfg.CRISocket,
		kubelet: constants.KubeletRunDir,
	}, nil
}

// criSocketFromInstanceConfig reads the CRI socket kubelet-start recorded.
func criSocketFromInstanceConfig() string {
	b, err := os.ReadFile(filepath.Join(constants.KubeletRunDir, constants.KubeletInstanceFile))
	if err != nil {
		return ""
	}
	_, v, ok := strings.Cut(strings.TrimSpace(string(b)), ":")
	if !ok {
		return ""
	}
	return strings.Trim(strings.TrimSpace(v), `"`)
}

// etcdDataDirFromManifest is the etcd-data hostPath of the etcd manifest,
// or the default data directory.
func etcdDataDirFromManifest(path string) string {
	pod, err := manifests.ReadStaticPod(path)
	if err != nil {
		return constants.DefaultEtcdDataDir
	}
	for _, v := range pod.Spec.Volumes {
		if v.Name == "etcd-data" && v.HostPath != nil {
			return v.HostPath.Path
		}
	}
	return constants.DefaultEtcdDataDir
}

// ResetPhases returns the phase tree of `kubeadmin reset`.
func ResetPhases() []workflow.Phase {
	return []workflow.Phase{
		{Name: "preflight", Aliases: []string{"pre-flight"}, Short: "Run reset pre-flight checks", Run: resetPhase(runResetPreflight)},
		{Name: "remove-etcd-member", Short: "Remove a local etcd member.", Run: resetPhase(runRemoveEtcdMember)},
		{Name: "cleanup-node", Aliases: []string{"cleanupnode"}, Short: "Run cleanup node.", Run: resetPhase(runCleanupNode)},
	}
}

func resetPhase(f func(*ResetData) error) func(workflow.RunData) error {
	return func(d workflow.RunData) error {
		data, ok := d.(*ResetData)
		if !ok {
			return fmt.Errorf("phase invoked with an invalid data struct %T", d)
		}
		return f(data)
	}
}

func runResetPreflight(d *ResetData) error {
	if !d.cfg.Force && !d.cfg.DryRun {
		fmt.Fprintln(d.out, "[reset] WARNING: Changes made to this host by 'kubeadmin init' or 'kubeadmin join' will be reverted.")
		fmt.Fprint(d.out, "[reset] Are you sure you want to proceed? [y/N]: ")
		answer, _ := bufio.NewReader(d.in).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
			return errors.New("aborted reset operation")
		}
	}
	fmt.Fprintln(d.out, "[preflight] Running pre-flight checks")
	return preflight.RunChecks(preflight.ResetChecks(preflight.Host{}), d.out, d.ignore)
}

func runRemoveEtcdMember(d *ResetData) error {
	if _, err := os.Stat(filepath.Join(d.k8sDir, constants.ManifestsSubDirName, componentManifest(constants.Etcd))); err != nil {
		fmt.Fprintln(d.out, "[reset] No etcd config found. Assuming external etcd")
		fmt.Fprintln(d.out, "[reset] Please, manually reset etcd to prevent further issues")
		return nil
	}
	if d.cfg.DryRun {
		fmt.Fprintf(d.out, "[dryrun] Would delete contents of the etcd data directory: %v\n", d.etcdDir)
		return nil
	}
	// A single stacked member is all kubeadmin init creates; its removal
	// from the member list is moot, so only its data goes.
	if err := cleanDir(d.etcdDir); err != nil {
		fmt.Fprintf(d.out, "[reset] Failed to delete contents of the etcd directory: %q, error: %v\n", d.etcdDir, err)
		return nil
	}
	fmt.Fprintf(d.out, "[reset] Deleted contents of the etcd data directory: %v\n", d.etcdDir)
	return nil
}

func runCleanupNode(d *ResetData) error {
	out := d.out
	if d.cfg.DryRun {
		fmt.Fprintln(out, "[dryrun] Would stop the kubelet service")
		fmt.Fprintf(out, "[dryrun] Would unmount mounted directories in %q\n", d.kubelet)
		fmt.Fprintln(out, "[dryrun] Would remove Kubernetes-managed containers")
		fmt.Fprintf(out, "[dryrun] Would delete contents of directories: %v\n", d.dirsToClean())
		fmt.Fprintf(out, "[dryrun] Would delete files: %v\n", d.filesToClean())
		return nil
	}
	fmt.Fprintln(out, "[reset] Stopping the kubelet service")
	if err := stopKubelet(); err != nil {
		fmt.Fprintf(out, "[reset] The kubelet service could not be stopped by kubeadmin: [%v]\n", err)
	}
	fmt.Fprintf(out, "[reset] Unmounting mounted directories in %q\n", d.kubelet)
	if err := unmountUnder(d.kubelet); err != nil {
		fmt.Fprintf(out, "[reset] Failed to unmount mounted directories in %q: %v\n", d.kubelet, err)
	}
	n, err := removeAllPods(d.criSock)
	if err != nil {
		fmt.Fprintf(out, "[reset] Failed to remove containers: %v\n", err)
	} else {
		fmt.Fprintf(out, "[reset] Removed %d pod sandboxes and their containers through the CRI at %s\n", n, d.criSock)
	}
	if d.cfg.CertificatesDir != constants.DefaultCertDir {
		fmt.Fprintf(out, "[reset] WARNING: Cleaning a non-default certificates directory: %q\n", d.cfg.CertificatesDir)
	}
	dirs := d.dirsToClean()
	fmt.Fprintf(out, "[reset] Deleting contents of directories: %v\n", dirs)
	for _, dir := range dirs {
		if err := cleanDir(dir); err != nil {
			fmt.Fprintf(out, "[reset] Failed to delete contents of %q directory: %v\n", dir, err)
		}
	}
	files := d.filesToClean()
	fmt.Fprintf(out, "[reset] Deleting files: %v\n", files)
	for _, f := range files {
		if err := os.Remove(f); err != nil && !os.IsNotExist(err) {
			fmt.Fprintf(out, "[reset] Failed to remove file: %q [%v]\n", f, err)
		}
	}
	fmt.Fprintf(out, "\nThe reset process does not clean CNI configuration in %s, iptables/nftables/IPVS rules,\nor $HOME/.kube/config; remove them by hand if this host is to be reused.\n", constants.CNIConfDir)
	return nil
}

func (d *ResetData) dirsToClean() []string {
	dirs := []string{filepath.Join(d.k8sDir, constants.ManifestsSubDirName), d.kubelet, d.cfg.CertificatesDir}
	if d.cfg.CleanupTmpDir {
		dirs = append(dirs, filepath.Join(d.k8sDir, constants.TempDirName))
	}
	return dirs
}

func (d *ResetData) filesToClean() []string {
	var files []string
	for _, f := range []string{constants.AdminKubeConfigFile, constants.SuperAdminKubeConfigFile, constants.KubeletKubeConfigFile,
		constants.KubeletBootstrapKubeConfigFile, constants.ControllerManagerKubeConfigFile, constants.SchedulerKubeConfigFile} {
		files = append(files, filepath.Join(d.k8sDir, f))
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
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
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
		for attempt := 0; attempt < 5; attempt++ {
			if lastErr = rt.StopPodSandbox(ctx, s.Id); lastErr == nil {
				if lastErr = rt.RemovePodSandbox(ctx, s.Id); lastErr == nil {
					break
				}
			}
			time.Sleep(200 * time.Millisecond)
		}
		if lastErr != nil {
			errs = append(errs, fmt.Errorf("pod sandbox %s (%s): %w", short(s.Id), s.Metadata.GetName(), lastErr))
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}
