package phases

import (
	"fmt"

	"github.com/kubeadmin/kubeadmin/internal/constants"
	"github.com/kubeadmin/kubeadmin/phases/workflow"
)

// Flag names shared by the init command and its phase subcommands.
const (
	FlagConfig                  = "config"
	FlagAdvertiseAddress        = "apiserver-advertise-address"
	FlagBindPort                = "apiserver-bind-port"
	FlagCertSANs                = "apiserver-cert-extra-sans"
	FlagCertDir                 = "cert-dir"
	FlagCertificateKey          = "certificate-key"
	FlagControlPlaneEndpoint    = "control-plane-endpoint"
	FlagCRISocket               = "cri-socket"
	FlagDryRun                  = "dry-run"
	FlagFeatureGates            = "feature-gates"
	FlagIgnorePreflightErrors   = "ignore-preflight-errors"
	FlagImageRepository         = "image-repository"
	FlagKubernetesVersion       = "kubernetes-version"
	FlagNodeName                = "node-name"
	FlagPatches                 = "patches"
	FlagPodNetworkCIDR          = "pod-network-cidr"
	FlagServiceCIDR             = "service-cidr"
	FlagServiceDNSDomain        = "service-dns-domain"
	FlagSkipCertificateKeyPrint = "skip-certificate-key-print"
	FlagSkipTokenPrint          = "skip-token-print"
	FlagToken                   = "token"
	FlagTokenTTL                = "token-ttl"
	FlagUploadCerts             = "upload-certs"
	FlagKubeconfig              = "kubeconfig"
	FlagKubeconfigDir           = "kubeconfig-dir"
	FlagAPIServerExtraArgs      = "apiserver-extra-args"
	FlagCMExtraArgs             = "controller-manager-extra-args"
	FlagSchedulerExtraArgs      = "scheduler-extra-args"
)

// InitPhases returns the phase tree of `kubeadmin init`, in kubeadm's order.
func InitPhases() []workflow.Phase {
	return []workflow.Phase{
		newPreflightPhase(),
		newCertsPhase(),
		newKubeConfigPhase(),
		newEtcdPhase(),
		newControlPlanePhase(),
		newKubeletStartPhase(),
		newWaitControlPlanePhase(),
		newUploadConfigPhase(),
		newUploadCertsPhase(),
		newMarkControlPlanePhase(),
		newBootstrapTokenPhase(),
		newKubeletFinalizePhase(),
		newAddonPhase(),
		newShowJoinCommandPhase(),
	}
}

// initData asserts the runner data to *InitData.
func initData(d workflow.RunData) (*InitData, error) {
	data, ok := d.(*InitData)
	if !ok {
		return nil, fmt.Errorf("phase invoked with an invalid data struct %T", d)
	}
	return data, nil
}

// initPhase adapts a function of *InitData to a phase Run function.
func initPhase(f func(*InitData) error) func(workflow.RunData) error {
	return func(d workflow.RunData) error {
		data, err := initData(d)
		if err != nil {
			return err
		}
		return f(data)
	}
}

// componentManifest names a control-plane component's manifest file.
func componentManifest(component string) string { return component + ".yaml" }

var _ = constants.KubeAPIServer

// allPhase is the "all" child of a group phase: its subcommand runs every
// sibling.
func allPhase(short string, flags []string) workflow.Phase {
	return workflow.Phase{Name: "all", Short: short, InheritFlags: flags, RunAllSiblings: true}
}
