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
  wait_ready "the node" "node/$node"
  local sel
  for sel in tier=control-plane k8s-app=kube-dns k8s-app=kube-proxy; do
    wait_ready "the pods $sel" -n kube-system pod -l "$sel"
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

# wait_ready WHAT ARGS...: waits up to UP_READY_TIMEOUT (120 s) for the
# objects kubectl names with ARGS to be Ready, asking again while they do
# not exist yet or are replaced (the add-on pods appear after init).
wait_ready() {
  local what="$1" deadline=$((SECONDS + ${UP_READY_TIMEOUT:-120}))
  shift
  until hack/nodes exec "$node" -- kubectl wait --for=condition=Ready "$@" --timeout=10s >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      log "$what: not Ready after ${UP_READY_TIMEOUT:-120}s"
      return 0
    fi
    sleep 1
  done
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
