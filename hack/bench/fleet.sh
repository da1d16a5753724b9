#!/usr/bin/env bash
# Benchmarks `kubeadmin fleet apply` from bare test nodes (hack/nodes up
# --bare: no kubeadmin, no images, no containerd running) for clusters of
# 1, 3 and 5 nodes: one control plane as root, the rest workers, every node
# with a real OpenSSH sshd, host keys from a known_hosts file, the images
# from the prebuilt bundle (hack/images.sh bundle, made before any timing).
#
# Per round and size, on fresh nodes (brought up, with sshd, before the
# clock starts; removed after the run): the wall time of `kubeadmin fleet
# apply -f cluster.yaml --kubeconfig-out FILE` run from the host, and the
# time from the same start until every Node is Ready (polled every 0.2 s
# with kubectl on the host and that kubeconfig; equal to the apply's when
# apply returns with every Node Ready). Sizes alternate order from round to
# round (1 3 5, then 5 3 1, ...) so that a slow phase of the machine does
# not favour one size.
# Prints a table of medians over rounds per size (with the machine's busy
# CPU seconds during each apply, from /proc/stat: every test node shares
# this machine's cores, so a size cannot take less than that divided by the
# core count), and the ratio of the largest size to the smallest.
# Goals (issue 11): 5 nodes <= 1.5 x 1 node, and 5 nodes < 60 s.
#
# Usage: hack/bench/fleet.sh [rounds]    (root; bin/kubeadmin from make build,
#   hack/sshd.sh install, hack/images.sh build)
# Environment: ROUNDS [3] (or $1), SIZES ["1 3 5"], KEEP=1 leaves the last
#   run's nodes up, KEEP_WORK=1 keeps the work dir (inventories, apply logs).
set -euo pipefail
cd "$(dirname "$0")/../.."

rounds="${1:-${ROUNDS:-3}}"
SIZES="${SIZES:-1 3 5}"
prefix=fb # test node names fb-1 ... fb-N
cache="${KUBEADMIN_CACHE:-/var/cache/kubeadmin}/v1.37.2/bin"
kubectl_bin="$cache/kubectl"
apply_timeout=600 # s, one apply
ready_timeout=180 # s, after apply returned
goal_ratio=1.5
goal_seconds=60

die() { echo "fleet bench: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (it starts test nodes)"
[ -x bin/kubeadmin ] || die "bin/kubeadmin is missing: run make build first"
bin/kubeadmin fleet --help >/dev/null 2>&1 || die "bin/kubeadmin has no fleet command: rebuild it (make build)"
[ -x /usr/sbin/sshd ] || die "/usr/sbin/sshd is missing: run hack/sshd.sh install"
command -v ssh-keygen >/dev/null || die "ssh-keygen is missing: run hack/sshd.sh install"
[ -x "$kubectl_bin" ] || kubectl_bin="$(command -v kubectl || true)"
[ -n "$kubectl_bin" ] || die "no kubectl in $cache or on PATH: run hack/images.sh build"
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || die "rounds '$rounds': want a positive number"
max=0
for n in $SIZES; do
  [[ "$n" =~ ^[1-9][0-9]?$ ]] || die "SIZES '$SIZES': want numbers of nodes, e.g. \"1 3 5\""
  ((n > max)) && max=$n
done
all_nodes=()
for i in $(seq 1 "$max"); do all_nodes+=("$prefix-$i"); done

work="$(mktemp -d /tmp/fleet-bench.XXXXXX)"
results="$work/results"
: >"$results"
cleanup() {
  set +e
  [ -n "${KEEP:-}" ] || hack/nodes down "${all_nodes[@]}" >/dev/null 2>&1
  if [ -n "${KEEP_WORK:-}" ]; then echo "work dir kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

now() { echo "$EPOCHREALTIME"; }
# cpu_busy: CPU seconds the whole machine has spent busy (all of the test
# nodes share its cores), from /proc/stat.
cpu_busy() { awk -v hz="$(getconf CLK_TCK)" '/^cpu / {printf "%.2f", ($2 + $3 + $4 + $7 + $8 + $9) / hz}' /proc/stat; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", b - a}'; }

# The fleet runs with a HOME of its own: the machine's ~/.ssh/config and
# known_hosts play no part.
mkdir -p "$work/home"
ssh-keygen -q -t ed25519 -N '' -C fleet-bench -f "$work/id_ed25519"
bundle="$(hack/images.sh bundle 2>"$work/bundle.log")" || { cat "$work/bundle.log" >&2; die "hack/images.sh bundle failed"; }

# inventory N FILE: fb-1 the control plane, fb-2..fb-N workers.
inventory() {
  local n="$1" i role
  {
    cat <<EOF
apiVersion: kubeadmin.io/v1alpha1
kind: Cluster
metadata:
  name: fleet-bench
spec:
  ssh:
    user: root
    identityFiles: ["$work/id_ed25519"]
    useAgent: false
    knownHosts: "$work/known_hosts"
  artifacts:
    kubeadminBinary: "$PWD/bin/kubeadmin"
    imageBundle: "$bundle"
  hosts:
EOF
    for i in $(seq 1 "$n"); do
      role=worker
      ((i == 1)) && role=control-plane
      printf '  - address: "%s"\n    role: %s\n    nodeName: %s\n' "$(hack/nodes ip "$prefix-$i")" "$role" "$prefix-$i"
    done
  } >"$2"
}

# ready N: true once N Nodes exist and all are Ready (one kubectl call).
ready() {
  local out
  out="$("$kubectl_bin" --kubeconfig "$work/kubeconfig" --request-timeout 5s get nodes \
    -o 'jsonpath={range .items[*]}{.status.conditions[?(@.type=="Ready")].status} {end}' 2>/dev/null)" || return 1
  [ "$(wc -w <<<"$out")" = "$1" ] && [[ " $out" != *" False"* && " $out" != *" Unknown"* ]]
}

# run N ROUND: one timed apply of N fresh bare nodes.
run() {
  local n="$1" r="$2" names=() i pids=() p t0 t1 t2 c0 c1 log="$work/apply-$1-$2.log"
  for i in $(seq 1 "$n"); do names+=("$prefix-$i"); done
  hack/nodes down "${all_nodes[@]}" >/dev/null 2>&1 || true
  hack/nodes up --bare "${names[@]}" >/dev/null 2>"$work/up.log" || { cat "$work/up.log" >&2; return 1; }
  for i in "${names[@]}"; do
    hack/nodes sshd "$i" --authorized-key "$work/id_ed25519.pub" >/dev/null 2>>"$work/sshd.log" & pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || { cat "$work/sshd.log" >&2; return 1; }; done
  hack/nodes known-hosts "${names[@]}" >"$work/known_hosts"
  inventory "$n" "$work/cluster.yaml"
  rm -f "$work/kubeconfig"
  t0="$(now)" c0="$(cpu_busy)"
  if ! HOME="$work/home" timeout "$apply_timeout" bin/kubeadmin fleet apply -f "$work/cluster.yaml" \
    --kubeconfig-out "$work/kubeconfig" >"$log" 2>&1; then
    echo "fleet apply of $n nodes FAILED; last lines of $log:" >&2
    tail -30 "$log" >&2
    return 1
  fi
  t1="$(now)" c1="$(cpu_busy)"
  local deadline=$((SECONDS + ready_timeout))
  until ready "$n"; do
    ((SECONDS < deadline)) || { echo "$n nodes: not all Ready ${ready_timeout}s after apply" >&2; return 1; }
    sleep 0.2
  done
  t2="$(now)"
  echo "$n $(elapsed "$t0" "$t1") $(elapsed "$t0" "$t2") $(elapsed "$c0" "$c1")" >>"$results"
  printf 'round %d  %d node(s)  apply %ss  all Ready %ss  CPU %ss during apply\n' "$r" "$n" "$(elapsed "$t0" "$t1")" "$(elapsed "$t0" "$t2")" "$(elapsed "$c0" "$c1")" >&2
  [ -n "${KEEP:-}" ] || hack/nodes down "${names[@]}" >/dev/null 2>&1 || true
}

read -r -a sizes <<<"$SIZES"
for r in $(seq 1 "$rounds"); do
  order=("${sizes[@]}")
  if ((r % 2 == 0)); then
    order=()
    for ((i = ${#sizes[@]} - 1; i >= 0; i--)); do order+=("${sizes[$i]}"); done
  fi
  for n in "${order[@]}"; do
    run "$n" "$r" || die "round $r, $n node(s) failed (KEEP=1 KEEP_WORK=1 to look)"
  done
done

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
med() { awk -v n="$1" -v c="$2" '$1==n {print $c}' "$results" | median; }
col_min() { awk -v n="$1" '$1==n {print $2}' "$results" | sort -n | head -1; }
col_max() { awk -v n="$1" '$1==n {print $2}' "$results" | sort -n | tail -1; }
printf '\n%-6s %12s %10s %10s %14s %12s\n' nodes "apply (s)" min max "all Ready (s)" "CPU (s)"
for n in "${sizes[@]}"; do
  printf '%-6s %12s %10s %10s %14s %12s\n' "$n" "$(med "$n" 2)" "$(col_min "$n")" "$(col_max "$n")" "$(med "$n" 3)" "$(med "$n" 4)"
done
small="$(printf '%s\n' "${sizes[@]}" | sort -n | head -1)"
large="$(printf '%s\n' "${sizes[@]}" | sort -n | tail -1)"
a="$(med "$small" 2)"; b="$(med "$large" 2)"
ratio="$(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.2f", b / a}')"
verdict() { if awk -v c="$1" 'BEGIN {exit !(c)}'; then echo met; else echo MISSED; fi; }
printf '%-40s %8s  goal <= %s: %s\n' "apply $large nodes / $small node(s)" "$ratio" "$goal_ratio" \
  "$(verdict "$(awk -v r="$ratio" -v g="$goal_ratio" 'BEGIN {print (r <= g)}')")"
printf '%-40s %8s  goal < %s s: %s\n' "apply $large nodes (s)" "$b" "$goal_seconds" \
  "$(verdict "$(awk -v s="$b" -v g="$goal_seconds" 'BEGIN {print (s < g)}')")"
echo "(medians of $rounds rounds; fresh bare nodes each run, the bundle prebuilt)"
