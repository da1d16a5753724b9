#!/usr/bin/env bash
# The quick start (make up / make down): on a fresh machine of this kind,
# install containerd, build or reuse the images, create a test node, run
# `kubeadmin init` in it and show the cluster.
#
# Usage: hack/up.sh [up|down]     (node name: $KUBEADMIN_UP_NODE, default "kubeadmin")
set -euo pipefail
cd "$(dirname "$0")/.."
node="${KUBEADMIN_UP_NODE:-kubeadmin}"

log() { printf '==> %s\n' "$*"; }

up() {
  [ -x bin/kubeadmin ] || make build
  # Everything Go is built here, on the host, before any node starts: a
  # node has no route to the module proxy.
  log "building the hack/tools commands on the host"
  hack/tools.sh build
  log "installing containerd (Debian packages) on the host"
  hack/containerd.sh install
  log "building or reusing the Kubernetes images (cold: ~20-40 min on 2 cores, then cached)"
  hack/images.sh build
  log "creating the test node $node"
  hack/nodes up "$node"
  log "kubeadmin init in $node"
  hack/nodes exec "$node" -- kubeadmin init
  log "the cluster (once the node, the control plane, CoreDNS and kube-proxy report Ready)"
  hack/nodes exec "$node" -- kubectl wait --for=condition=Ready "node/$node" --timeout=120s >/dev/null ||
    log "the node is not Ready yet"
  local sel
  for sel in tier=control-plane k8s-app=kube-dns k8s-app=kube-proxy; do
    hack/nodes exec "$node" -- kubectl -n kube-system wait --for=condition=Ready pod -l "$sel" --timeout=120s >/dev/null ||
      log "the pods $sel are not all Ready yet"
  done
  hack/nodes exec "$node" -- kubectl get nodes,pods -A -o wide
  cat <<MSG

The control plane runs in the test node "$node" ($(hack/nodes ip "$node")).
  hack/nodes exec $node -- kubectl get pods -A        # use it
  hack/nodes exec $node -- kubeadmin kubelet status   # the node agent's view
  hack/nodes exec $node -- kubectl taint nodes --all node-role.kubernetes.io/control-plane-   # run workloads on it
  make down                                           # remove it
MSG
}

down() {
  if hack/nodes ip "$node" >/dev/null 2>&1; then
    hack/nodes exec "$node" -- kubeadmin reset -f || true
  fi
  hack/nodes down "$node"
}

case "${1:-up}" in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 [up|down]" >&2; exit 2 ;;
esac
