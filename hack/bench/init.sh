#!/usr/bin/env bash
# Benchmarks `kubeadmin init` against upstream kubeadm v1.37.2 with the
# upstream kubelet, both on the same machine, same images (built by
# hack/images.sh), alternately in one run, each in a fresh test node.
# Prints, per run and as medians: the wall time until init printed the join
# command, and until kube-apiserver's /livez first answered 200. It also
# splits the latter at the API server container's first log line (written by
# containerd for either kubelet): "to apiserver start" is the tool's own work
# before the API server runs (certificates, kubeconfigs, manifests, the
# kubelet starting the pod), "apiserver boot" is kube-apiserver's own start-up
# until /livez, the same binary and flags for both tools.
#
# Usage: hack/bench/init.sh [rounds]    (default 3; TOOLS="kubeadm" runs one side)
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=hack/bench/lib.sh
source hack/bench/lib.sh
rounds="${1:-3}"
cache="${KUBEADMIN_CACHE:-/var/cache/kubeadmin}/v1.37.2/bin"
node=bench-init
results="$(mktemp)"
trap '[ -n "${KEEP:-}" ] || hack/nodes down "$node" >/dev/null 2>&1 || true; rm -f "$results"' EXIT

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", b - a}'; }

# wait_livez IP START FILE: polls the API server from the host, writes the
# elapsed time of its first 200 to FILE.
wait_livez() {
  local deadline=$((SECONDS + 240))
  while [ $SECONDS -lt $deadline ]; do
    if curl -ksf --max-time 1 "https://$1:6443/livez" >/dev/null 2>&1; then
      elapsed "$2" "$(now)" >"$3"; return
    fi
    sleep 0.05
  done
  echo NaN >"$3"
}

run_kubeadmin() {
  hack/nodes exec "$node" -- kubeadmin init
}

# Upstream kubeadm with the upstream kubelet (hack/bench/lib.sh).
run_kubeadm() {
  upstream_init "$node" "$ip"
}

one() { # tool
  hack/nodes down "$node" >/dev/null 2>&1 || true
  hack/nodes up "$node" >/dev/null
  ip="$(hack/nodes ip "$node")"
  local start livez_file log
  livez_file="$(mktemp)"; log="$(mktemp)"
  start="$(now)"
  wait_livez "$ip" "$start" "$livez_file" &
  local poller=$!
  if "run_$1" >"$log" 2>&1 && grep -q "join $ip:6443" "$log"; then
    local total; total="$(elapsed "$start" "$(now)")"
    wait "$poller" || true
    local livez first_log started
    livez="$(cat "$livez_file")"
    first_log="$(hack/nodes exec "$node" -- sh -c 'head -qn1 /var/log/pods/kube-system_kube-apiserver-*/kube-apiserver/0.log' | cut -d' ' -f1)"
    started="$(elapsed "$start" "$(date -d "$first_log" +%s.%N)")"
    printf '%-9s %18s %19s %20s %15s\n' "$1" "$total" "$livez" "$started" "$(elapsed "$started" "$livez")" | tee -a "$results"
  else
    kill "$poller" 2>/dev/null || true
    echo "$1 FAILED; last lines:" >&2; tail -20 "$log" >&2
  fi
  rm -f "$livez_file" "$log"
}

median() { sort -n | awk '{a[NR]=$1} END {if (NR) print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2); else print "n/a"}'; }

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); rounds: $rounds"
echo "tool      init-until-join(s)  apiserver-livez(s)  to-apiserver-start(s)  apiserver-boot(s)"
tools="${TOOLS:-kubeadmin kubeadm}"
for ((i = 0; i < rounds; i++)); do
  for t in $tools; do one "$t"; done
done
for t in $tools; do
  col() { awk -v t="$t" -v c="$1" '$1 == t {print $c}' "$results" | median; }
  printf 'median %-9s init %ss, apiserver healthy %ss (apiserver started at %ss, booted in %ss) (n=%s)\n' "$t" \
    "$(col 2)" "$(col 3)" "$(col 4)" "$(col 5)" "$(grep -c "^$t " "$results" || true)"
done
