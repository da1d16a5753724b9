#!/usr/bin/env bash
# Benchmarks joining worker nodes: `kubeadmin join` with the kubeadmin node
# agent against upstream `kubeadm join` v1.37.2 with the upstream kubelet
# (binaries from hack/images.sh), alternately in one run, into the same
# kubeadmin control plane, with the same images.
#
# Per tool and round, on worker nodes that were reset (and whose Node was
# deleted) after the previous round:
#   1. one worker: from just before the join command until the API shows
#      its Node Ready;
#   2. two workers joining at once: from just before both join commands
#      until both Nodes are Ready.
# Ready is polled every 0.1 s with kubectl on the host (admin.conf).
# The upstream kubelet runs as a plain process (no systemd), started as
# soon as kubeadm's kubelet-start wrote its files, as systemd's restart
# would. It has no pod network of its own: each upstream worker gets a
# bridge conflist before the join (rendered by kubelet/network.Render for a
# placeholder CIDR; no pods run here), so its runtime reports the network
# ready at once — an advantage for upstream. kubeadmin's agent writes its
# conflist itself once the controller-manager gave the Node a podCIDR.
# Prints a table of medians over rounds: metric, kubeadmin, upstream, ratio,
# and the two-at-once/one ratio per tool.
# Goals (issue 10): one worker < 1.5 s; two at once < 1.3 x one.
#
# Usage: hack/bench/join.sh [rounds]    (root; bin/kubeadmin from make build)
# Environment: ROUNDS [3] (or $1), TOOLS ["kubeadmin kubeadm"], KEEP=1
#   leaves the nodes up, KEEP_WORK=1 keeps the work dir (logs).
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=hack/bench/lib.sh
source hack/bench/lib.sh

rounds="${1:-${ROUNDS:-3}}"
TOOLS="${TOOLS:-kubeadmin kubeadm}"
cp_node=bench-jcp
workers=(bench-jw1 bench-jw2)
nodes_dir="${KUBEADMIN_NODES_DIR:-/var/lib/kubeadmin-nodes}"
cache="${KUBEADMIN_CACHE:-/var/cache/kubeadmin}/v1.37.2/bin"
kubectl_bin="$cache/kubectl"
ready_timeout=180
upstream_ignore="SystemVerification,Service-Kubelet,FileExisting-crictl,KubeletVersion,Swap"

die() { echo "join bench: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (it starts test nodes)"
[ -x bin/kubeadmin ] || die "bin/kubeadmin is missing: run make build first"
[ -x "$cache/kubeadm" ] && [ -x "$cache/kubelet" ] && [ -x "$kubectl_bin" ] ||
  die "no upstream binaries in $cache: run hack/images.sh bins"
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || die "rounds '$rounds': want a positive number"

work="$(mktemp -d /tmp/join-bench.XXXXXX)"
results="$work/results"
: >"$results"
cleanup() {
  set +e
  [ -n "${KEEP:-}" ] || hack/nodes down "$cp_node" "${workers[@]}" >/dev/null 2>&1
  if [ -n "${KEEP_WORK:-}" ]; then echo "work dir kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

build_render "$work/render" || die "cannot build the conflist renderer"
"$work/render/render" conflist 10.244.250.0/24 >"$work/conflist"

now() { echo "$EPOCHREALTIME"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", b - a}'; }
k() { "$kubectl_bin" --kubeconfig "$work/admin.conf" "$@"; }

# ready NODE...: true once every named Node is Ready (one kubectl call).
ready() {
  local out n
  out="$(k get nodes -o 'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status} {end}' 2>/dev/null)" || return 1
  for n in "$@"; do
    [[ " $out" == *" $n=True "* ]] || return 1
  done
}

wait_ready() { # NODE...
  local deadline=$((SECONDS + ready_timeout))
  until ready "$@"; do
    ((SECONDS < deadline)) || { echo "timed out waiting for $* to be Ready" >&2; return 1; }
    sleep 0.1
  done
}

# join_kubeadmin NODE: kubeadmin join with its own agent.
join_kubeadmin() {
  hack/nodes exec "$1" -- kubeadmin join "$endpoint" --token "$token" --discovery-token-ca-cert-hash "$hash" >"$work/$1.log" 2>&1
}

# join_kubeadm NODE: upstream kubeadm join with the upstream kubelet.
join_kubeadm() {
  local node="$1"
  hack/nodes exec "$node" -- sh -c '
    '"$(upstream_kubelet_snippet "$node")"'
    mkdir -p /tmp/join-bench-'"$node"'
    cat >/tmp/join-bench-'"$node"'/kubeletconfiguration.yaml <<CFG
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: cgroupfs
cgroupRoot: /kubeadmin-'"$node"'
failSwapOn: false
failCgroupV1: false
CFG
    exec '"$cache"'/kubeadm join '"$endpoint"' --token '"$token"' --discovery-token-ca-cert-hash '"$hash"' \
      --patches /tmp/join-bench-'"$node"' --ignore-preflight-errors='"$upstream_ignore"'
  ' >"$work/$node.log" 2>&1
}

# prepare TOOL NODE: before a join, the upstream worker gets its conflist.
prepare() {
  [ "$1" = kubeadm ] || return 0
  hack/nodes exec "$2" -- sh -c 'mkdir -p /etc/cni/net.d && cat >/etc/cni/net.d/10-kubeadmin.conflist' <"$work/conflist"
}

# reset NODE: leaves the worker as before its join, and deletes its Node.
reset() {
  local node="$1" p
  # The upstream kubelet is a plain process: reset cannot stop it, and it
  # must be gone before reset unmounts its volumes.
  for p in $(ip netns pids "$node"); do
    [ "$(readlink "/proc/$p/exe" 2>/dev/null)" = "$cache/kubelet" ] && kill -9 "$p" 2>/dev/null
  done
  hack/nodes exec "$node" -- kubeadmin reset -f >/dev/null 2>&1 || true
  hack/nodes exec "$node" -- sh -c 'rm -rf /etc/cni/net.d/* /var/lib/kubelet/* /etc/kubernetes/*' || true
  k delete node "$node" --ignore-not-found >/dev/null
}

round() { # tool
  local tool="$1" t0 t1 w
  for w in "${workers[@]}"; do reset "$w"; done
  prepare "$tool" "${workers[0]}"
  t0="$(now)"
  "join_$tool" "${workers[0]}" || { echo "$tool: join FAILED; log:" >&2; tail -20 "$work/${workers[0]}.log" >&2; return 1; }
  wait_ready "${workers[0]}" || return 1
  t1="$(now)"
  echo "$tool one $(elapsed "$t0" "$t1")" >>"$results"

  for w in "${workers[@]}"; do reset "$w"; prepare "$tool" "$w"; done
  local pids=()
  t0="$(now)"
  for w in "${workers[@]}"; do "join_$tool" "$w" & pids+=($!); done
  for p in "${pids[@]}"; do wait "$p" || { echo "$tool: a join FAILED; logs in $work" >&2; return 1; }; done
  wait_ready "${workers[@]}" || return 1
  t1="$(now)"
  echo "$tool two $(elapsed "$t0" "$t1")" >>"$results"
}

hack/nodes down "$cp_node" "${workers[@]}" >/dev/null 2>&1 || true
hack/nodes up "$cp_node" "${workers[@]}" >/dev/null
hack/nodes exec "$cp_node" -- kubeadmin init >"$work/init.log" 2>&1 || { tail -20 "$work/init.log" >&2; die "kubeadmin init failed"; }
cp "$nodes_dir/$cp_node/root/etc/kubernetes/admin.conf" "$work/admin.conf"
endpoint="$(hack/nodes ip "$cp_node"):6443"
token="$(grep -o -- '--token [a-z0-9.]*' "$work/init.log" | head -1 | cut -d' ' -f2)"
hash="$(grep -o -- '--discovery-token-ca-cert-hash sha256:[0-9a-f]*' "$work/init.log" | head -1 | cut -d' ' -f2)"
[ -n "$token" ] && [ -n "$hash" ] || die "no join command in init's output ($work/init.log)"
wait_ready "$cp_node"

for r in $(seq 1 "$rounds"); do
  for tool in $TOOLS; do
    round "$tool" || die "round $r of $tool failed (KEEP=1 KEEP_WORK=1 to look)"
    printf 'round %d %-9s one %ss  two %ss\n' "$r" "$tool" "$(awk -v t="$tool" '$1==t && $2=="one" {v=$3} END {print v}' "$results")" \
      "$(awk -v t="$tool" '$1==t && $2=="two" {v=$3} END {print v}' "$results")" >&2
  done
done

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
med() { awk -v t="$1" -v m="$2" '$1==t && $2==m {print $3}' "$results" | median; }
printf '\n%-40s %10s %10s %8s\n' metric kubeadmin upstream ratio
for m in one two; do
  a="$(med kubeadmin "$m")"; b="$(med kubeadm "$m")"
  label="one worker joined until Ready (s)"
  [ "$m" = two ] && label="two workers at once until both Ready (s)"
  printf '%-40s %10s %10s %8s\n' "$label" "${a:--}" "${b:--}" "$(awk -v a="$a" -v b="$b" 'BEGIN {if (a != "" && b > 0) printf "%.2f", a / b; else print "-"}')"
done
for tool in kubeadmin kubeadm; do
  a="$(med "$tool" one)"; b="$(med "$tool" two)"
  [ -n "$a" ] && printf '%-40s %10s\n' "two at once / one ($tool)" "$(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.2f", b / a}')"
done
echo "(medians of $rounds rounds; goals: one worker < 1.5 s, two at once < 1.3 x one)"
