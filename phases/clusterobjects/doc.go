// Package clusterobjects creates the objects kubeadmin keeps in the cluster,
// exactly as kubeadm v1.37.2 does: the kubeadm-config and kubelet-config
// ConfigMaps, bootstrap token Secrets, the kubeadm-certs Secret, the RBAC
// rules that make `join` work, the cluster-info ConfigMap, the control-plane
// Node labels and taints, and the CoreDNS and kube-proxy addons. It also
// renders the join commands and the success banner of `kubeadmin init`.
//
// Every write is a create-or-update retried until the configured
// kubernetesAPICall timeout, so that phases can be re-run. Object builders
// are pure and separate from the functions that talk to the API server.
package clusterobjects
