#!/usr/bin/env bash
# Times certs + kubeconfig generation (all certificates and all kubeconfig
# files, as "init phase certs all" + "init phase kubeconfig all") for
# kubeadmin and, when hack/images.sh has built it, upstream kubeadm v1.37.2,
# run alternately in one loop so both see the same machine load.
# Usage: hack/bench/certs.sh [rounds]   (prints the median per tool and algorithm)
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds="${1:-5}"
ours="$PWD/bin/kubeadmin"
upstream="${KUBEADMIN_CACHE:-/var/cache/kubeadmin}/v1.37.2/bin/kubeadm"
[ -x "$ours" ] || { echo "run make build first" >&2; exit 1; }
tools=(kubeadmin)
[ -x "$upstream" ] && tools+=(kubeadm)
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

run_once() { # tool alg -> seconds
  local bin="$ours" dir="$work/run-$RANDOM$RANDOM"
  [ "$1" = kubeadm ] && bin="$upstream"
  cat >"$work/cfg.yaml" <<CFG
apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
localAPIEndpoint: {advertiseAddress: 10.77.9.10}
nodeRegistration: {name: bench-node, criSocket: "unix:///var/run/containerd/containerd.sock"}
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: v1.37.2
encryptionAlgorithm: $2
CFG
  local start end
  start=$(date +%s.%N)
  KUBEADM_INIT_DRYRUN_DIR="$dir" "$bin" init phase certs all --config "$work/cfg.yaml" --dry-run >/dev/null
  KUBEADM_INIT_DRYRUN_DIR="$dir" "$bin" init phase kubeconfig all --config "$work/cfg.yaml" --dry-run >/dev/null
  end=$(date +%s.%N)
  rm -rf "$dir"
  awk -v a="$start" -v b="$end" 'BEGIN {printf "%.3f", b - a}'
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); rounds: $rounds"
for alg in RSA-2048 ECDSA-P256; do
  declare -A samples=()
  for ((i = 0; i < rounds; i++)); do
    for t in "${tools[@]}"; do samples[$t]+="$(run_once "$t" "$alg") "; done
  done
  for t in "${tools[@]}"; do
    printf '%-10s %-11s certs+kubeconfig median %6.3f s  (samples: %s)\n' "$t" "$alg" \
      "$(tr ' ' '\n' <<<"${samples[$t]}" | grep . | median)" "${samples[$t]}"
  done
  unset samples
done
