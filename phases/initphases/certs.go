package initphases

import (
	"fmt"

	"github.com/kubeadmin/kubeadmin/certs"
	"github.com/kubeadmin/kubeadmin/phases"
	"github.com/kubeadmin/kubeadmin/phases/workflow"
)

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
	flags := []string{phases.FlagCertDir, phases.FlagConfig, phases.FlagKubernetesVersion, phases.FlagDryRun}
	if name == "all" || name == "apiserver" {
		flags = append(flags, phases.FlagAdvertiseAddress, phases.FlagControlPlaneEndpoint, phases.FlagCertSANs, phases.FlagServiceDNSDomain, phases.FlagServiceCIDR)
	}
	return flags
}

func newCertsPhase() workflow.Phase {
	children := []workflow.Phase{workflow.AllPhase("Generate all certificates", certPhaseFlags("all"))}
	for _, name := range certPhaseOrder {
		children = append(children, workflow.Phase{
			Name:         name,
			Short:        "Generate the " + certPhaseShort[name],
			Long:         fmt.Sprintf("Generate the %s, and save them into %s.crt and %s.key files.\n\nIf both files already exist, kubeadmin skips the generation step and existing files will be used.", certPhaseShort[name], name, name),
			InheritFlags: certPhaseFlags(name),
			RunIf: workflow.RunIfAs(func(d certsData) bool {
				// With external etcd the etcd certificates are not kubeadmin's.
				return d.Cfg().Cluster.Etcd.External == nil || !isEtcdCert(name)
			}),
			Run: workflow.RunAs(func(d certsData) error {
				return certs.CreateCert(name, d.Cfg(), d.CertificateWriteDir(), d.Out())
			}),
		})
	}
	children = append(children, workflow.Phase{
		Name:         "sa",
		Short:        "Generate a private key for signing service account tokens along with its public key",
		Long:         "Generate the private key for signing service account tokens along with its public key, and save them into sa.key and sa.pub files.\n\nIf both files already exist, kubeadmin skips the generation step and existing files will be used.",
		InheritFlags: certPhaseFlags("sa"),
		Run: workflow.RunAs(func(d certsData) error {
			return certs.CreateCert("sa", d.Cfg(), d.CertificateWriteDir(), d.Out())
		}),
	})
	return workflow.Phase{
		Name:   "certs",
		Short:  "Certificate generation",
		Phases: children,
		Run: workflow.RunAs(func(d certsData) error {
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
