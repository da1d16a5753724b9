package phases

import (
	"fmt"
	"path/filepath"

	"github.com/kubeadmin/kubeadmin/certs"
	"github.com/kubeadmin/kubeadmin/internal/config"
	"github.com/kubeadmin/kubeadmin/internal/constants"
	"github.com/kubeadmin/kubeadmin/manifests"
	"github.com/kubeadmin/kubeadmin/phases/kubeconfig"
	"github.com/kubeadmin/kubeadmin/phases/preflight"
	"github.com/kubeadmin/kubeadmin/phases/workflow"
)

func newPreflightPhase() workflow.Phase {
	return workflow.Phase{
		Name:    "preflight",
		Short:   "Run pre-flight checks",
		Long:    "Run pre-flight checks for kubeadmin init.",
		Example: "  # Run pre-flight checks for kubeadmin init using a config file.\n  kubeadmin init phase preflight --config kubeadmin-config.yaml",
		Run: initPhase(func(d *InitData) error {
			fmt.Fprintln(d.Out(), "[preflight] Running pre-flight checks")
			cfg := d.Cfg()
			checks := preflight.InitChecks(preflight.InitOptions{
				Cfg:          cfg,
				ManifestsDir: filepath.Join(d.kubeconfigDir, constants.ManifestsSubDirName),
				EtcdDataDir:  etcdDataDirOf(cfg),
				Images:       config.Images(&cfg.Cluster),
				DryRun:       d.DryRun(),
			})
			if err := preflight.RunChecks(checks, d.Out(), d.IgnorePreflightErrors()); err != nil {
				return err
			}
			if d.DryRun() {
				fmt.Fprintln(d.Out(), "[preflight] Would check that the required images are present in the container runtime")
			}
			return nil
		}),
		InheritFlags: []string{FlagConfig, FlagImageRepository, FlagCRISocket, FlagIgnorePreflightErrors, FlagDryRun},
	}
}

func etcdDataDirOf(cfg *config.InitConfig) string {
	if cfg.Cluster.Etcd.Local == nil {
		return ""
	}
	return cfg.Cluster.Etcd.Local.DataDir
}

// certPhaseShort is the one-line help of each certificate phase.
var certPhaseShort = map[string]string{
	"ca":                       "self-signed Kubernetes CA to provision identities for other Kubernetes components",
	"apiserver":                "certificate for serving the Kubernetes API",
	"apiserver-kubelet-client": "certificate for the API server to connect to kubelet",
	"front-proxy-ca":           "self-signed CA to provision identities for front proxy",
	"front-proxy-client":       "certificate for the front proxy client",
	"etcd-ca":                  "self-signed CA to provision identities for etcd",
	"etcd-server":              "certificate for serving etcd",
	"etcd-peer":                "certificate for etcd nodes to communicate with each other",
	"etcd-healthcheck-client":  "certificate for liveness probes to healthcheck etcd",
	"apiserver-etcd-client":    "certificate the apiserver uses to access etcd",
}

// certPhaseOrder is kubeadm's certificate order (CAs before their leaves).
var certPhaseOrder = []string{
	"ca", "apiserver", "apiserver-kubelet-client", "front-proxy-ca", "front-proxy-client",
	"etcd-ca", "etcd-server", "etcd-peer", "etcd-healthcheck-client", "apiserver-etcd-client",
}

func certPhaseFlags(name string) []string {
	flags := []string{FlagCertDir, FlagConfig, FlagKubernetesVersion, FlagDryRun}
	if name == "all" || name == "apiserver" {
		flags = append(flags, FlagAdvertiseAddress, FlagControlPlaneEndpoint, FlagCertSANs, FlagServiceDNSDomain, FlagServiceCIDR)
	}
	return flags
}

func newCertsPhase() workflow.Phase {
	children := []workflow.Phase{allPhase("Generate all certificates", certPhaseFlags("all"))}
	for _, name := range certPhaseOrder {
		name := name
		children = append(children, workflow.Phase{
			Name:         name,
			Short:        "Generate the " + certPhaseShort[name],
			Long:         fmt.Sprintf("Generate the %s, and save them into %s.crt and %s.key files.\n\nIf both files already exist, kubeadmin skips the generation step and existing files will be used.", certPhaseShort[name], name, name),
			InheritFlags: certPhaseFlags(name),
			RunIf: initPhaseIf(func(d *InitData) bool {
				// With external etcd the etcd certificates are not kubeadmin's.
				return d.Cfg().Cluster.Etcd.External == nil || !isEtcdCert(name)
			}),
			Run: initPhase(func(d *InitData) error {
				return certs.CreateCert(name, d.Cfg(), d.CertificateWriteDir(), d.Out())
			}),
		})
	}
	children = append(children, workflow.Phase{
		Name:         "sa",
		Short:        "Generate a private key for signing service account tokens along with its public key",
		Long:         "Generate the private key for signing service account tokens along with its public key, and save them into sa.key and sa.pub files.\n\nIf both files already exist, kubeadmin skips the generation step and existing files will be used.",
		InheritFlags: certPhaseFlags("sa"),
		Run: initPhase(func(d *InitData) error {
			return certs.CreateCert("sa", d.Cfg(), d.CertificateWriteDir(), d.Out())
		}),
	})
	return workflow.Phase{
		Name:   "certs",
		Short:  "Certificate generation",
		Phases: children,
		Run: initPhase(func(d *InitData) error {
			fmt.Fprintf(d.Out(), "[certs] Using certificateDir folder %q\n", d.CertificateWriteDir())
			return nil
		}),
	}
}

func isEtcdCert(name string) bool {
	switch name {
	case "etcd-ca", "etcd-server", "etcd-peer", "etcd-healthcheck-client", "apiserver-etcd-client":
		return true
	}
	return false
}

// initPhaseIf adapts a predicate of *InitData to a phase RunIf function.
func initPhaseIf(f func(*InitData) bool) func(workflow.RunData) (bool, error) {
	return func(rd workflow.RunData) (bool, error) {
		d, err := initData(rd)
		if err != nil {
			return false, err
		}
		return f(d), nil
	}
}

// kubeconfigPhases are kubeadm's kubeconfig sub-phases, in order.
var kubeconfigPhases = []struct{ name, file, short string }{
	{"admin", constants.AdminKubeConfigFile, "Generate a kubeconfig file for the admin to use and for kubeadmin itself"},
	{"super-admin", constants.SuperAdminKubeConfigFile, "Generate a kubeconfig file for the super-admin"},
	{"kubelet", constants.KubeletKubeConfigFile, "Generate a kubeconfig file for the kubelet to use *only* for cluster bootstrapping purposes"},
	{"controller-manager", constants.ControllerManagerKubeConfigFile, "Generate a kubeconfig file for the controller manager to use"},
	{"scheduler", constants.SchedulerKubeConfigFile, "Generate a kubeconfig file for the scheduler to use"},
}

func kubeconfigPhaseFlags(name string) []string {
	flags := []string{FlagAdvertiseAddress, FlagControlPlaneEndpoint, FlagBindPort, FlagCertDir, FlagConfig, FlagKubeconfigDir, FlagKubernetesVersion, FlagDryRun}
	if name == "all" || name == "kubelet" {
		flags = append(flags, FlagNodeName)
	}
	return flags
}

func newKubeConfigPhase() workflow.Phase {
	children := []workflow.Phase{allPhase("Generate all kubeconfig files", kubeconfigPhaseFlags("all"))}
	for _, k := range kubeconfigPhases {
		k := k
		children = append(children, workflow.Phase{
			Name:         k.name,
			Short:        k.short,
			Long:         fmt.Sprintf("%s, and save it to the %s file.", k.short, k.file),
			InheritFlags: kubeconfigPhaseFlags(k.name),
			Run: initPhase(func(d *InitData) error {
				return kubeconfig.CreateKubeConfigFile(k.file, d.Cfg(), d.KubeConfigDir(), d.CertificateWriteDir(), d.Out())
			}),
		})
	}
	return workflow.Phase{
		Name:   "kubeconfig",
		Short:  "Generate all kubeconfig files necessary to establish the control plane and the admin kubeconfig file",
		Phases: children,
		Run: initPhase(func(d *InitData) error {
			fmt.Fprintf(d.Out(), "[kubeconfig] Using kubeconfig folder %q\n", d.KubeConfigDir())
			return nil
		}),
	}
}

func newEtcdPhase() workflow.Phase {
	return workflow.Phase{
		Name:  "etcd",
		Short: "Generate static Pod manifest file for local etcd",
		Phases: []workflow.Phase{{
			Name:         "local",
			Short:        "Generate the static Pod manifest file for a local, single-node local etcd instance",
			Example:      "  # Generates the static Pod manifest file for etcd, functionally\n  # equivalent to what is generated by kubeadmin init.\n  kubeadmin init phase etcd local\n\n  # Generates the static Pod manifest file for etcd using options\n  # read from a configuration file.\n  kubeadmin init phase etcd local --config config.yaml",
			InheritFlags: []string{FlagCertDir, FlagConfig, FlagImageRepository, FlagPatches, FlagDryRun},
			Run:          initPhase(runEtcdLocal),
		}},
	}
}

func runEtcdLocal(d *InitData) error {
	cfg := d.Cfg()
	if cfg.Cluster.Etcd.External != nil {
		fmt.Fprintln(d.Out(), "[etcd] External etcd mode. Skipping the creation of a manifest for local etcd")
		return nil
	}
	if err := manifests.CreateEtcdDataDir(d.EtcdDataDir()); err != nil {
		return err
	}
	fmt.Fprintf(d.Out(), "[etcd] Creating static Pod manifest for local etcd in %q\n", d.ManifestDir())
	return writeStaticPod(d, constants.Etcd, manifests.EtcdPod(cfg))
}

// controlPlaneComponents are the control-plane sub-phases, in order.
var controlPlaneComponents = []struct{ phase, component string }{
	{"apiserver", constants.KubeAPIServer},
	{"controller-manager", constants.KubeControllerManager},
	{"scheduler", constants.KubeScheduler},
}

func controlPlanePhaseFlags(name string) []string {
	flags := []string{FlagConfig, FlagCertDir, FlagKubernetesVersion, FlagImageRepository, FlagPatches, FlagDryRun}
	if name == "all" || name == "apiserver" {
		flags = append(flags, FlagAdvertiseAddress, FlagControlPlaneEndpoint, FlagBindPort, FlagAPIServerExtraArgs, FlagFeatureGates, FlagServiceCIDR)
	}
	if name == "all" || name == "controller-manager" {
		flags = append(flags, FlagCMExtraArgs, FlagPodNetworkCIDR)
	}
	if name == "all" || name == "scheduler" {
		flags = append(flags, FlagSchedulerExtraArgs)
	}
	return flags
}

func newControlPlanePhase() workflow.Phase {
	children := []workflow.Phase{{
		Name:           "all",
		Short:          "Generate all static Pod manifest files",
		InheritFlags:   controlPlanePhaseFlags("all"),
		Example:        "  # Generates all static Pod manifest files for control plane components,\n  # functionally equivalent to what is generated by kubeadmin init.\n  kubeadmin init phase control-plane all\n\n  # Generates all static Pod manifest files using options read from a configuration file.\n  kubeadmin init phase control-plane all --config config.yaml",
		RunAllSiblings: true,
	}}
	for _, c := range controlPlaneComponents {
		c := c
		children = append(children, workflow.Phase{
			Name:         c.phase,
			Short:        fmt.Sprintf("Generates the %s static Pod manifest", c.component),
			InheritFlags: controlPlanePhaseFlags(c.phase),
			Run: initPhase(func(d *InitData) error {
				fmt.Fprintf(d.Out(), "[control-plane] Creating static Pod manifest for %q\n", c.component)
				return writeStaticPod(d, c.component, manifests.ControlPlanePods(d.Cfg())[c.component])
			}),
		})
	}
	return workflow.Phase{
		Name:   "control-plane",
		Short:  "Generate all static Pod manifest files necessary to establish the control plane",
		Phases: children,
		Run: initPhase(func(d *InitData) error {
			fmt.Fprintf(d.Out(), "[control-plane] Using manifest folder %q\n", d.ManifestDir())
			return nil
		}),
	}
}
