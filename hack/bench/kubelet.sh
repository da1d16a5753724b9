#!/usr/bin/env bash
# Benchmarks the node agent `kubeadmin kubelet` against the host's
# containerd (hack/containerd.sh start; test image from hack/testimage.sh):
#   1. start latency: N testapp pods (hostNetwork, one port each) written one
#      at a time; for each, the time from the manifest's rename into place
#      until the app answers /healthz on its port (polled every 20 ms);
#      prints p50 and p99 (nearest rank) over N;
#   2. idle cost: with 10 pods running, the agent's CPU over $IDLE seconds
#      (utime+stime from /proc/<pid>/stat) as % of one core, and its VmRSS.
# Goals: p99 < 1 s, idle CPU < 1 %, RSS < 40 MiB.
#
# Usage: hack/bench/kubelet.sh          (root; bin/kubeadmin from make build)
# Environment: N [20] pods, IDLE [30] seconds, PORT_BASE [38100] first app
#   port, HEALTHZ_PORT [10358] the agent's status port.
set -euo pipefail
cd "$(dirname "$0")/../.."

N="${N:-20}"
IDLE="${IDLE:-30}"
PORT_BASE="${PORT_BASE:-38100}"
HEALTHZ_PORT="${HEALTHZ_PORT:-10358}"
NODE="bench-kubelet"
SOCK="/run/containerd/containerd.sock"
BIN="$PWD/bin/kubeadmin"
IMAGE="kubeadmin.test/testapp:v1"
KEEP=10

die() { echo "kubelet bench: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (it runs pods through containerd)"
[ -x "$BIN" ] || die "$BIN is missing: run make build first"
[ "$N" -ge "$KEEP" ] || die "N=$N: need at least $KEEP pods"
hack/containerd.sh start >/dev/null
hack/testimage.sh import >/dev/null

# All ports must be free, or a pod would crash and the numbers lie.
busy="$(ss -ltnH | awk '{print $4}' | sed 's/.*://' | sort -u)"
for p in "$HEALTHZ_PORT" $(seq "$PORT_BASE" $((PORT_BASE + N - 1))); do
  grep -qx "$p" <<<"$busy" && die "port $p is in use: set PORT_BASE / HEALTHZ_PORT"
done

work="$(mktemp -d /tmp/kubelet-bench.XXXXXX)"
manifests="$work/manifests"
mkdir -p "$manifests"
server="http://127.0.0.1:$HEALTHZ_PORT"
agent_pid=""

pod_count() {
  "$BIN" kubelet status --server "$server" -o json 2>/dev/null | jq '.pods | length' 2>/dev/null || echo -1
}

cleanup() {
  set +e
  rm -f "$manifests"/*.yaml
  if [ -n "$agent_pid" ] && kill -0 "$agent_pid" 2>/dev/null; then
    for _ in $(seq 1 240); do
      [ "$(pod_count)" = 0 ] && break
      sleep 0.25
    done
    [ "$(pod_count)" = 0 ] || echo "warning: pods still present at exit; see $work/agent.log" >&2
    kill -TERM "$agent_pid"
    wait "$agent_pid" 2>/dev/null
  fi
  rmdir /sys/fs/cgroup/*/kubeadmin-"$NODE" 2>/dev/null
  if [ "${KEEP_WORK:-}" = 1 ]; then echo "work dir kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

cat >"$work/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
staticPodPath: $manifests
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://$SOCK
healthzBindAddress: 127.0.0.1
healthzPort: $HEALTHZ_PORT
podLogsDir: $work/pod-logs
EOF

"$BIN" kubelet --config "$work/kubelet.yaml" --root-dir "$work/root" \
  --hostname-override "$NODE" >"$work/agent.log" 2>&1 &
agent_pid=$!
for _ in $(seq 1 200); do
  curl -fsS -m 1 "$server/healthz" >/dev/null 2>&1 && break
  kill -0 "$agent_pid" 2>/dev/null || { cat "$work/agent.log" >&2; die "the agent exited"; }
  sleep 0.1
done
curl -fsS -m 1 "$server/healthz" >/dev/null || die "the agent does not answer $server/healthz"

manifest() { # name port
  cat <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: $1
  namespace: default
spec:
  hostNetwork: true
  terminationGracePeriodSeconds: 2
  containers:
  - name: app
    image: $IMAGE
    imagePullPolicy: Never
    args: ["--port=$2"]
EOF
}

now_ns() { date +%s%N; }

# 1. start latency, one pod at a time.
lat=()
for i in $(seq 1 "$N"); do
  port=$((PORT_BASE + i - 1))
  name="bench-$i"
  manifest "$name" "$port" >"$manifests/.$name.yaml.tmp"
  t0=$(now_ns)
  mv "$manifests/.$name.yaml.tmp" "$manifests/$name.yaml"
  deadline=$((t0 + 60000000000))
  until curl -fs -o /dev/null -m 0.5 "http://127.0.0.1:$port/healthz" 2>/dev/null; do
    [ "$(now_ns)" -lt "$deadline" ] || die "pod $name did not serve on port $port within 60 s; see $work/agent.log"
    sleep 0.02
  done
  t1=$(now_ns)
  lat+=($(((t1 - t0) / 1000000)))
done

sorted=($(printf '%s\n' "${lat[@]}" | sort -n))
rank() { # percentile -> nearest-rank value
  local k=$(((${#sorted[@]} * $1 + 99) / 100))
  [ "$k" -ge 1 ] || k=1
  echo "${sorted[$((k - 1))]}"
}
echo "pod start latency (manifest rename -> app serving), $N pods, ms: ${lat[*]}"
printf 'start latency: p50 %d ms, p99 %d ms, max %d ms (goal p99 < 1000 ms)\n' "$(rank 50)" "$(rank 99)" "${sorted[-1]}"

# 2. idle cost with KEEP pods running.
for i in $(seq $((KEEP + 1)) "$N"); do rm -f "$manifests/bench-$i.yaml"; done
for _ in $(seq 1 240); do
  [ "$(pod_count)" = "$KEEP" ] && break
  sleep 0.25
done
[ "$(pod_count)" = "$KEEP" ] || die "the agent does not settle at $KEEP pods"
sleep 5 # let removal and garbage collection settle

cpu_ticks() { awk '{print $14 + $15}' "/proc/$agent_pid/stat"; }
hz=$(getconf CLK_TCK)
c0=$(cpu_ticks)
t0=$(now_ns)
sleep "$IDLE"
c1=$(cpu_ticks)
t1=$(now_ns)
rss_kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$agent_pid/status")
anon_kb=$(awk '/^RssAnon:/ {print $2}' "/proc/$agent_pid/status")
file_kb=$(awk '/^RssFile:/ {print $2}' "/proc/$agent_pid/status")
awk -v d=$((c1 - c0)) -v hz="$hz" -v ns=$((t1 - t0)) -v n="$KEEP" -v rss="$rss_kb" -v anon="$anon_kb" -v file="$file_kb" 'BEGIN {
  printf "idle with %d pods over %.1f s: CPU %.2f %% of one core (goal < 1 %%)\n", n, ns / 1e9, 100 * (d / hz) / (ns / 1e9)
  printf "agent RSS: %.1f MiB (anon %.1f MiB, file-backed %.1f MiB) (goal < 40 MiB)\n", rss / 1024, anon / 1024, file / 1024
}'
