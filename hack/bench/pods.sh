#!/usr/bin/env bash
# Benchmarks workload pods on a one-node cluster: kubeadmin (`kubeadmin init`,
# its agent and built-in bridge pod network) against upstream kubeadm v1.37.2
# with the upstream kubelet (binaries from hack/images.sh), alternately in one
# run, each in a fresh test node (hack/nodes) with the same images.
#
# Per tool and round, after init, the control-plane taint removed, the node
# Ready and CoreDNS Ready:
#   1. 30 testapp pods (pod network, readinessProbe httpGet /readyz :8080)
#      created by one `kubectl create`; per pod the time from its creation
#      (its ADDED event) until it is first seen scheduled, Running and Ready,
#      and the spread of the creations (from just before `kubectl create`
#      until each ADDED event: kubectl posts the pods one after another).
#      Seen by a `kubectl get pods -w` from the host, established (its
#      initial list of the static pods printed) before the create, each
#      event stamped on arrival with the host clock ($EPOCHREALTIME, us)
#      — not the API's timestamps, which have 1 s resolution. p50, p99
#      (nearest rank) over the 30 pods.
#   2. the node agent's VmRSS (`kubeadmin kubelet` or the upstream kubelet)
#      with the 30 pods Ready, after SETTLE seconds, and again STEADY
#      seconds after the pods were Ready (kubeadmin's agent gives back the
#      pages of its binary that only its start-up used 30 s after it
#      starts, which may come before or after the first reading).
#   3. the pods deleted; then checked that nothing is left: no pod in the
#      API, and in the node no extra running task, pod IP or network
#      namespace against the count before the pods (upstream keeps exited
#      containers until its garbage collection; that is only reported).
#   4. a three-replica Deployment of the same image: from just before
#      `kubectl create` until `kubectl rollout status` returns (all three
#      updated and available); DEPLOYS times, the median.
#   5. the runtime alone: PODS, then 3, pods of the same image started at
#      once straight through the CRI by hack/tools criburst (pod-network
#      sandboxes, one container each, readiness URL polled every 10 ms),
#      with no node agent or API server taking part: each is a floor
#      under steps 1 and 4 on this machine (criburst removes its pods).
#      Measured in kubeadmin's node only (see below); the runtime is the
#      same in both.
# Upstream has no pod network of its own, so the script installs the same
# one by hand: kubeadm gets --pod-network-cidr (so the controller-manager
# gives the Node a podCIDR), and once the Node has one the script writes the
# conflist and masquerade rules the agent would, rendered by
# kubelet/network.Render and MasqueradeRules (a throwaway main.go, built
# with `go build` in the work dir).
# Prints a table of medians over rounds: metric, kubeadmin, upstream, ratio.
# Goals (issue 9): p99 created->Ready < 2 s; Deployment <= 1/2 of upstream;
# RSS <= 1/3 of upstream.
#
# Usage: hack/bench/pods.sh [rounds]    (root; bin/kubeadmin from make build)
# Environment: ROUNDS [3] (or $1), PODS [30], DEPLOYS [3] Deployments per
#   round, PROBE_PERIOD [1] readiness probe
#   periodSeconds, SETTLE [5] and STEADY [40] seconds before reading RSS, TOOLS ["kubeadmin
#   kubeadm"], KEEP=1 leaves the last node up, KEEP_WORK=1 keeps the work
#   dir (the pod watch's events, logs).
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=hack/bench/lib.sh
source hack/bench/lib.sh

rounds="${1:-${ROUNDS:-3}}"
PODS="${PODS:-30}"
DEPLOYS="${DEPLOYS:-3}"
PROBE_PERIOD="${PROBE_PERIOD:-1}"
SETTLE="${SETTLE:-5}"
STEADY="${STEADY:-40}"
node=bench-pods
nodes_dir="${KUBEADMIN_NODES_DIR:-/var/lib/kubeadmin-nodes}"
cache="${KUBEADMIN_CACHE:-/var/cache/kubeadmin}/v1.37.2/bin"
kubectl_bin="$cache/kubectl"
pod_subnet="10.244.0.0/16" # kubeadmin init's default podSubnet
service_subnet="10.96.0.0/12"
image="kubeadmin.test/testapp:v1"
ns=bench
# The pod watch selects the static pods' tier label too, so that its initial
# list shows when it is established; the bench pods get this tier.
watch_tier=bench-pods
ready_timeout=180 # seconds for node, CoreDNS, the pods, the Deployment
log_file=/var/log/kubeadmin/kubelet.log

die() { echo "pods bench: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (it starts test nodes)"
[ -x bin/kubeadmin ] || die "bin/kubeadmin is missing: run make build first"
[ -x "$cache/kubeadm" ] && [ -x "$cache/kubelet" ] && [ -x "$kubectl_bin" ] ||
  die "no upstream binaries in $cache: run hack/images.sh bins"
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || die "rounds '$rounds': want a positive number"
[[ "$DEPLOYS" =~ ^[1-9][0-9]*$ ]] || die "DEPLOYS '$DEPLOYS': want a positive number"

work="$(mktemp -d /tmp/pods-bench.XXXXXX)"
results="$work/results"
: >"$results"
watcher=""
cleanup() {
  set +e
  [ -n "$watcher" ] && kill "$watcher" 2>/dev/null
  [ -n "${KEEP:-}" ] || hack/nodes down "$node" >/dev/null 2>&1
  if [ -n "${KEEP_WORK:-}" ]; then echo "work dir kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

# render: the agent's own conflist and masquerade rules, from its Go code.
build_render "$work/render" || die "cannot build the conflist renderer"
criburst="$(hack/tools.sh path criburst)" || die "cannot build criburst (hack/tools.sh path criburst)"

now() { echo "$EPOCHREALTIME"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", b - a}'; }
k() { "$kubectl_bin" --kubeconfig "$work/admin.conf" "$@"; }
nexec() { hack/nodes exec "$node" -- "$@"; }

# until_ok SECONDS WHAT CMD...: retries CMD every 0.2 s.
until_ok() {
  local secs="$1" deadline=$((SECONDS + $1)) what="$2"
  shift 2
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || { echo "timed out after ${secs}s waiting for $what" >&2; return 1; }
    sleep 0.2
  done
}

# untaint: true once the node has no control-plane NoSchedule taint.
untaint() {
  k taint nodes --all node-role.kubernetes.io/control-plane- >/dev/null 2>&1 || true
  [ -z "$(k get node "$node" -o jsonpath='{.spec.taints[?(@.key=="node-role.kubernetes.io/control-plane")].key}')" ]
}

init_kubeadmin() {
  nexec kubeadmin init
}

# Upstream kubeadm with the upstream kubelet (hack/bench/lib.sh).
init_kubeadm() {
  upstream_init "$node" "$ip" "$pod_subnet" "$service_subnet"
}

# install_network: for upstream, the agent's conflist and masquerade rules
# for the Node's podCIDR (the controller-manager allocates it).
install_network() {
  local cidr=""
  local deadline=$((SECONDS + ready_timeout))
  while [ -z "$cidr" ]; do
    [ $SECONDS -lt $deadline ] || { echo "the Node got no spec.podCIDR" >&2; return 1; }
    cidr="$(k get node "$node" -o jsonpath='{.spec.podCIDR}' 2>/dev/null || true)"
    [ -n "$cidr" ] || sleep 0.2
  done
  "$work/render/render" conflist "$cidr" >"$work/conflist"
  "$work/render/render" masq "$cidr" "$pod_subnet" >"$work/masq"
  nexec sh -c "mkdir -p /etc/cni/net.d && cat >/etc/cni/net.d/.10-kubeadmin.tmp && mv /etc/cni/net.d/.10-kubeadmin.tmp /etc/cni/net.d/10-kubeadmin.conflist" <"$work/conflist"
  nexec sh -c "iptables-restore --noflush && { iptables -t nat -C POSTROUTING -j KUBEADMIN-POSTROUTING 2>/dev/null ||
    iptables -t nat -A POSTROUTING -j KUBEADMIN-POSTROUTING; }" <"$work/masq"
}

# agent_pid TOOL: the node agent's pid, found among the node netns' processes
# by its executable (kubeadmin with argument kubelet, or the upstream kubelet).
agent_pid() {
  local p exe arg1
  for p in $(ip netns pids "$node"); do
    exe="$(readlink "/proc/$p/exe" 2>/dev/null)" || continue
    arg1="$(tr '\0' '\n' <"/proc/$p/cmdline" 2>/dev/null | sed -n 2p)"
    case "$1" in
      kubeadmin) [ "${exe##*/}" = kubeadmin ] && [ "$arg1" = kubelet ] && { echo "$p"; return; } ;;
      kubeadm) [ "$exe" = "$cache/kubelet" ] && { echo "$p"; return; } ;;
    esac
  done
  return 1
}

pod_manifests() {
  local i
  echo "apiVersion: v1"
  echo "kind: List"
  echo "items:"
  for i in $(seq 1 "$PODS"); do
    cat <<EOF
- apiVersion: v1
  kind: Pod
  metadata: {name: p$i, namespace: $ns, labels: {bench: pods, tier: $watch_tier}}
  spec:
    terminationGracePeriodSeconds: 5
    containers:
    - name: app
      image: $image
      imagePullPolicy: IfNotPresent
      readinessProbe:
        httpGet: {path: /readyz, port: 8080}
        periodSeconds: $PROBE_PERIOD
EOF
  done
}

# no_web_pods: true once the Deployment's pods are gone from the API.
no_web_pods() { [ -z "$(k -n "$ns" get pods -l app=web -o name 2>/dev/null)" ]; }

deployment_manifest() {
  cat <<EOF
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: $ns}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 5
      containers:
      - name: app
        image: $image
        imagePullPolicy: IfNotPresent
        readinessProbe:
          httpGet: {path: /readyz, port: 8080}
          periodSeconds: $PROBE_PERIOD
EOF
}

# leftovers: running tasks, pod IPs held by host-local, pod network
# namespaces, and all containers, in the node.
leftovers() {
  nexec sh -c '
    t=$(ctr -n k8s.io tasks ls -q 2>/dev/null | wc -l)
    c=$(ctr -n k8s.io containers ls -q 2>/dev/null | wc -l)
    ips=$(ls /var/lib/cni/networks/kubeadmin 2>/dev/null | grep -c "^[0-9]" || true)
    n=$(ls /run/netns 2>/dev/null | wc -l)
    echo "tasks=$t ips=$ips netns=$n containers=$c"'
}

stop_watch() {
  [ -n "$watcher" ] || return 0
  kill "$watcher" 2>/dev/null || true
  wait "$watcher" 2>/dev/null || true
  watcher=""
}

pct() { # percentile, from sorted numbers on stdin (nearest rank)
  awk -v p="$1" '{a[NR]=$1} END {k=int((NR*p+99)/100); if (k<1) k=1; print a[k]}'
}

one() { # tool
  local tool="$1" log="$work/$1.log" t0 t1 line
  hack/nodes down "$node" >/dev/null 2>&1 || true
  hack/nodes up "$node" >/dev/null
  ip="$(hack/nodes ip "$node")"
  if ! "init_$tool" >"$log" 2>&1; then
    echo "$tool: init FAILED; last lines:" >&2; tail -20 "$log" >&2; return 1
  fi
  cp "$nodes_dir/$node/root/etc/kubernetes/admin.conf" "$work/admin.conf"
  # Retried: the API server may still be settling when init returns.
  until_ok 60 "the taint's removal" untaint || return 1
  if [ "$tool" = kubeadm ]; then install_network || return 1; fi
  until_ok "$ready_timeout" "node Ready" k wait --for=condition=Ready node --all --timeout=5s || return 1
  until_ok "$ready_timeout" "CoreDNS Ready" k -n kube-system wait --for=condition=Ready pod -l k8s-app=kube-dns --timeout=5s || return 1
  k create namespace "$ns" >/dev/null || return 1
  until_ok 60 "the default ServiceAccount" k -n "$ns" get serviceaccount default || return 1
  local before; before="$(leftovers)"

  # 1. pods created at once; the watch stamps each event on arrival.
  pod_manifests >"$work/pods.yaml"
  : >"$work/events"
  (exec "$kubectl_bin" --kubeconfig "$work/admin.conf" get pods -A -w -l "tier in (control-plane,$watch_tier)" \
    -o jsonpath='{.metadata.namespace}|{.metadata.name}|{.status.phase}|{.status.conditions[?(@.type=="Ready")].status}|{.spec.nodeName}{"\n"}') \
    2>"$work/watch.err" > >(while IFS= read -r line; do echo "$EPOCHREALTIME|$line"; done >>"$work/events") &
  watcher=$! # kubectl itself: the stamping loop ends with its output
  local deadline=$((SECONDS + 20))
  until grep -q '|kube-system|' "$work/events"; do
    [ $SECONDS -lt $deadline ] || { echo "$tool: the pod watch printed nothing in 20 s: $(cat "$work/watch.err")" >&2; stop_watch; return 1; }
    sleep 0.1
  done
  t0="$(now)"
  k create -f "$work/pods.yaml" >/dev/null || return 1
  deadline=$((SECONDS + ready_timeout))
  until [ "$(awk -F'|' -v ns="$ns" '$2 == ns && $5 == "True" {print $3}' "$work/events" | sort -u | wc -l)" -ge "$PODS" ]; do
    if [ $SECONDS -ge $deadline ]; then
      echo "$tool: not all $PODS pods Ready after ${ready_timeout}s:" >&2
      k -n "$ns" get pods -o wide >&2
      k -n "$ns" describe pods "$(k -n "$ns" get pods -o jsonpath='{range .items[*]}{.metadata.name} {.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' | awk '$2 != "True" {print $1; exit}')" >&2
      nexec sh -c "tail -30 $log_file 2>/dev/null" >&2
      stop_watch
      return 1
    fi
    sleep 0.2
  done
  stop_watch
  # first_seen FIELD VALUE: per pod, seconds from its creation (its first
  # watch event, ADDED) to its first event whose FIELD is VALUE ("" matches
  # any non-empty value), sorted.
  first_seen() {
    awk -F'|' -v ns="$ns" -v f="$1" -v v="$2" '$2 != ns {next}
      !($3 in c) {c[$3] = $1}
      (v == "" ? $f != "" : $f == v) && !($3 in s) {s[$3] = $1 - c[$3]}
      END {for (p in s) printf "%.3f\n", s[p]}' "$work/events" | sort -n
  }
  # created: per pod, seconds from just before `kubectl create` to its ADDED
  # event (kubectl creates the list's items one after another).
  local created
  created="$(awk -F'|' -v t0="$t0" -v ns="$ns" '$2 == ns && !($3 in c) {c[$3] = $1 - t0} END {for (p in c) printf "%.3f\n", c[p]}' "$work/events" | sort -n)"
  local scheduled running ready
  scheduled="$(first_seen 6 "")"
  running="$(first_seen 4 Running)"
  ready="$(first_seen 5 True)"

  # 2. the agent's RSS with the pods running.
  local ready_at=$SECONDS
  sleep "$SETTLE"
  local pid rss rss_steady
  pid="$(agent_pid "$tool")" || { echo "$tool: node agent process not found" >&2; return 1; }
  rss="$(awk '/^VmRSS:/ {printf "%.1f", $2 / 1024}' "/proc/$pid/status")"
  sleep $((ready_at + STEADY > SECONDS ? ready_at + STEADY - SECONDS : 0))
  rss_steady="$(awk '/^VmRSS:/ {printf "%.1f", $2 / 1024}' "/proc/$pid/status")"

  # 3. delete and check nothing is left.
  k -n "$ns" delete pods -l bench=pods --wait=true --timeout=120s >/dev/null || return 1
  local after="" left="ok"
  deadline=$((SECONDS + 60))
  while :; do
    after="$(leftovers)"
    [ "$after" = "$before" ] && break
    # upstream keeps exited containers until its periodic GC: compare the rest.
    [ "$tool" = kubeadm ] && [ "${after% containers=*}" = "${before% containers=*}" ] && break
    [ $SECONDS -lt $deadline ] || { left="LEFT: before $before, after $after"; break; }
    sleep 0.5
  done
  [ "$(k -n "$ns" get pods -o name | wc -l)" = 0 ] || left="LEFT: pods in the API: $(k -n "$ns" get pods -o name | tr '\n' ' ')"
  [ "$after" = "$before" ] || [ "$left" != ok ] || left="ok ($after; before: $before)"

  # 4. a Deployment until rolled out, DEPLOYS times (each removed, with
  # its pods, before the next); the round's value is the median.
  deployment_manifest >"$work/deploy.yaml"
  local deploys="" d
  for ((d = 1; d <= DEPLOYS; d++)); do
    t0="$(now)"
    k create -f "$work/deploy.yaml" >/dev/null || return 1
    if ! k -n "$ns" rollout status deployment/web --timeout="${ready_timeout}s" >/dev/null; then
      echo "$tool: the Deployment did not become available" >&2
      k -n "$ns" get pods -o wide >&2; k -n "$ns" describe deployment web >&2
      return 1
    fi
    t1="$(now)"
    deploys+="$(elapsed "$t0" "$t1")"$'\n'
    k -n "$ns" delete deployment web --wait=true >/dev/null || return 1
    until_ok 120 "the Deployment's pods gone" no_web_pods || return 1
  done
  local deploy; deploy="$(median <<<"${deploys%$'\n'}")"

  # 5. the runtime alone, in kubeadmin's node only: the upstream kubelet
  # stops sandboxes it did not create (kubeadmin's agent leaves what has
  # not its node label alone). Both nodes run the same containerd, config
  # and images.
  local burst alone_pods=n/a alone3=n/a
  if [ "$tool" = kubeadmin ]; then
    burst="$(nexec "$criburst" --pods "$PODS" --image "$image")" || { echo "$tool: criburst --pods $PODS failed" >&2; return 1; }
    alone_pods="$(awk '$1 == "criburst:" {print $18}' <<<"$burst")" # ready p99
    burst="$(nexec "$criburst" --pods 3 --image "$image")" || { echo "$tool: criburst --pods 3 failed" >&2; return 1; }
    alone3="$(awk '$1 == "criburst:" {print $20}' <<<"$burst")" # all ready
  fi

  local errs=""
  if [ "$tool" = kubeadmin ]; then
    errs="$(nexec sh -c "grep -ciE 'error|fail|panic' $log_file 2>/dev/null || true")"
    [ "$errs" = 0 ] || nexec sh -c "grep -iE 'error|fail|panic' $log_file | tail -5" >"$work/agent-errors.$tool"
  fi
  # results columns: tool, then scheduled, Running, Ready p50 and p99, RSS,
  # Deployment, the runtime alone (PODS pods Ready p99, 3 pods all Ready),
  # RSS after STEADY.
  local row
  row="$(pct 50 <<<"$scheduled") $(pct 99 <<<"$scheduled") $(pct 50 <<<"$running") $(pct 99 <<<"$running") $(pct 50 <<<"$ready") $(pct 99 <<<"$ready") $rss $deploy $alone_pods $alone3 $rss_steady"
  echo "$tool $row" >>"$results"
  # shellcheck disable=SC2086 # row is words
  printf '%-9s scheduled p50 %ss p99 %ss, Running p50 %ss p99 %ss, Ready p50 %ss p99 %ss, RSS %s MiB, deployment %ss; runtime alone: Ready p99 %ss, 3 pods %ss; RSS later %s MiB\n' "$tool" $row
  printf '          all %s created within %ss of the create call; cleanup: %s%s\n' "$PODS" "$(tail -1 <<<"$created")" "$left" "$([ "${errs:-0}" = 0 ] || echo "; agent log lines matching error/fail/panic: $errs (last 5 below)")"
  if [ -s "$work/agent-errors.$tool" ]; then sed 's/^/    /' "$work/agent-errors.$tool"; rm -f "$work/agent-errors.$tool"; fi
}

median() { sort -n | awk '{a[NR]=$1} END {if (NR) print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2); else print "n/a"}'; }

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); rounds: $rounds; $PODS pods; probe period ${PROBE_PERIOD}s"
tools="${TOOLS:-kubeadmin kubeadm}"
for ((i = 1; i <= rounds; i++)); do
  for t in $tools; do
    one "$t" || echo "$t: round $i FAILED" >&2
  done
done

col() { awk -v t="$1" -v c="$2" '$1 == t && $c != "n/a" {print $c}' "$results" | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a == "n/a" || b == "n/a" || b == 0) print "n/a"; else printf "%.2f", a / b}'; }
echo
printf 'medians over rounds (kubeadmin n=%s, upstream n=%s)\n' "$(grep -c '^kubeadmin ' "$results" || true)" "$(grep -c '^kubeadm ' "$results" || true)"
printf '%-32s %10s %10s %7s  %s\n' metric kubeadmin upstream ratio goal
row() { # label column goal
  local a b
  a="$(col kubeadmin "$2")"; b="$(col kubeadm "$2")"
  printf '%-32s %10s %10s %7s  %s\n' "$1" "$a" "$b" "$(ratio "$a" "$b")" "$3"
}
row "pods created->scheduled p50 (s)" 2 ""
row "pods created->scheduled p99 (s)" 3 ""
row "pods created->Running p50 (s)" 4 ""
row "pods created->Running p99 (s)" 5 ""
row "pods created->Ready p50 (s)" 6 ""
row "pods created->Ready p99 (s)" 7 "kubeadmin < 2 s"
row "agent RSS with $PODS pods (MiB)" 8 "ratio <= 0.33"
row "agent RSS, ${STEADY} s after Ready (MiB)" 12 "ratio <= 0.33"
row "Deployment x3 Available (s)" 9 "ratio <= 0.50"
row "runtime alone: $PODS pods Ready p99 (s)" 10 "floor under the Ready p99"
row "runtime alone: 3 pods Ready (s)" 11 "floor under the Deployment's pods"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
