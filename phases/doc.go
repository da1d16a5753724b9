// Package phases holds what kubeadmin's workflows share. The workflows
// themselves are literal phase lists in initphases and resetphases (join
// comes next), run by the generic runner in workflow; the work is done in
// preflight, kubeconfig, clusterobjects and the top-level certs and
// manifests packages.
//
// This package keeps the pieces more than one workflow needs: the flag
// names, the health waits of wait-control-plane, the diagnosis of a
// component that does not become healthy, client building, and the dry-run
// client and directory. The node agent is started and stopped by
// kubelet/service, and reached over the CRI through kubelet/cri.
package phases
