#!/usr/bin/env bash
# The quick start (make up / make down): on a fresh machine of this kind,
# install containerd, build or reuse the images, create a test node, run
# `kubeadmin init` in it, join $WORKERS worker nodes (default 0) with
# `kubeadmin join`, and show the cluster.
#
# Usage: [WORKERS=N] hack/up.sh [up|down]
#        (node names: $KUBEADMIN_UP_NODE, default "kubeadmin", and
#        <node>-w1 ... <node>-wN for the workers)
set -euo pipefail
cd "$(dirname "$0")/.."
node="${KUBEADMIN_UP_NODE:-kubeadmin}"
workers="${WORKERS:-0}"
[[ "$workers" =~ ^[0-9]+$ ]] || { echo "WORKERS must be a number of worker nodes, not \"$workers\"" >&2; exit 2; }

# worker_names: the names of the worker nodes, and of any left over from an
# earlier, larger run (so that down removes those too).
worker_names() {
  local i n="$workers"
  ((n > 0)) || n="$(hack/nodes list 2>/dev/null | awk -v p="$node-w" 'index($1, p) == 1 {c++} END {print c + 0}')"
  for ((i = 1; i <= n; i++)); do echo "$node-w$i"; done
}

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
  local names=("$node")
  mapfile -t -O 1 names < <(((workers > 0)) && worker_names)
  log "creating the test nodes ${names[*]}"
  hack/nodes up "${names[@]}"
  log "kubeadmin init in $node"
  local init_out
  init_out="$(hack/nodes exec "$node" -- kubeadmin init | tee /dev/stderr)"
  if ((workers > 0)); then
    # The join command init printed, on one line.
    local join w
    join="$(printf '%s\n' "$init_out" | sed -n '/^kubeadmin join/,/^$/p' | tr -d '\\\n\t' | sed 's/  */ /g')"
    [ -n "$join" ] || { log "init printed no join command"; exit 1; }
    for w in "${names[@]:1}"; do
      log "$join   (in $w)"
      # shellcheck disable=SC2086 # the command's words
      hack/nodes exec "$w" -- $join &
    done
    wait
    for w in "${names[@]:1}"; do wait_ready "the worker $w" "node/$w"; done
  fi
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
  make up WORKERS=2                                   # the same with two worker nodes joined by kubeadmin join
  make down                                           # remove it (and its workers)
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
  local n
  for n in $(worker_names) "$node"; do
    if hack/nodes ip "$n" >/dev/null 2>&1; then
      hack/nodes exec "$n" -- kubeadmin reset -f || true
      hack/nodes down "$n"
    fi
  done
}

case "${1:-up}" in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 [up|down]" >&2; exit 2 ;;
esac
