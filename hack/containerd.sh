#!/usr/bin/env bash
# containerd.sh installs, starts and stops the containerd that kubeadmin's
# tests and the quick start use. No systemd: containerd runs in the background
# with a pid file.
#
# Usage: hack/containerd.sh install|start|stop|restart|status|config
#   config   print the configuration install writes
#   install  apt-get install containerd, runc, CNI plugins and the node tools
#            (apt-get update only if the package lists are older than 6 h),
#            and write the known-good config (idempotent)
#   start    start containerd unless it already answers on the socket, then
#            wait (bounded) until the CRI Status reports RuntimeReady
#   stop     SIGTERM, then SIGKILL after $CONTAINERD_STOP_TIMEOUT seconds
#            (running containers' shims are left alone, as containerd does)
#   status   print pid and CRI runtime conditions; exit 0 when RuntimeReady
#
# Environment (defaults in brackets), so that the same script can start a
# node-private containerd, e.g. run through `nsenter --net=... --mount=...`:
#   CONTAINERD_CONFIG        [/etc/containerd/config.toml]
#   CONTAINERD_ROOT          [/var/lib/containerd]
#   CONTAINERD_STATE         [/run/containerd]
#   CONTAINERD_ADDRESS       [$CONTAINERD_STATE/containerd.sock]; unix:// prefix allowed
#   CONTAINERD_LOG           [/var/log/containerd.log]
#   CONTAINERD_PIDFILE       [$CONTAINERD_STATE/containerd.pid]
#   CONTAINERD_WAIT          seconds to wait for RuntimeReady [60]
#   CONTAINERD_STOP_TIMEOUT  seconds between SIGTERM and SIGKILL [10]
#   CONTAINERD_SANDBOX_IMAGE pause image in the written config [registry.k8s.io/pause:3.10.2]
set -euo pipefail
# shellcheck source=hack/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CONTAINERD_CONFIG="${CONTAINERD_CONFIG:-/etc/containerd/config.toml}"
CONTAINERD_ROOT="${CONTAINERD_ROOT:-/var/lib/containerd}"
CONTAINERD_STATE="${CONTAINERD_STATE:-/run/containerd}"
CONTAINERD_ADDRESS="${CONTAINERD_ADDRESS:-$CONTAINERD_STATE/containerd.sock}"
CONTAINERD_ADDRESS="${CONTAINERD_ADDRESS#unix://}"
CONTAINERD_LOG="${CONTAINERD_LOG:-/var/log/containerd.log}"
CONTAINERD_PIDFILE="${CONTAINERD_PIDFILE:-$CONTAINERD_STATE/containerd.pid}"
CONTAINERD_WAIT="${CONTAINERD_WAIT:-60}"
CONTAINERD_STOP_TIMEOUT="${CONTAINERD_STOP_TIMEOUT:-10}"
CONTAINERD_SANDBOX_IMAGE="${CONTAINERD_SANDBOX_IMAGE:-registry.k8s.io/pause:3.10.2}"

# Debian 12 packages: runtime, CNI plugins (/usr/lib/cni), and the tools
# kube-proxy, kubeadm preflight and the tests use (systemd: "hack/nodes
# systemd" boots it as a test node's init). cri-tools is not packaged.
PACKAGES=(containerd runc containernetworking-plugins iptables iproute2 conntrack socat util-linux procps ethtool kmod systemd)

log() { printf '[containerd] %s\n' "$*" >&2; }
die() { printf '[containerd] error: %s\n' "$*" >&2; exit 1; }

# render_config prints the measured working configuration (environment.md)
# from its one source, the template that kubeadmin fleet embeds too.
CONTAINERD_TEMPLATE="$HACK/../fleet/hostprep/containerd-config.toml"
render_config() {
  local tpl
  tpl="$(cat "$CONTAINERD_TEMPLATE")" || die "cannot read $CONTAINERD_TEMPLATE"
  printf '%s\n' "${tpl//@SANDBOX_IMAGE@/"$CONTAINERD_SANDBOX_IMAGE"}"
}

cmd_install() {
  local missing
  mapfile -t missing < <(missing_packages)
  if ((${#missing[@]})); then
    lists_fresh || { log "apt-get update"; apt-get -o DPkg::Lock::Timeout=300 update -qq; }
    log "apt-get install ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    log "packages present: ${PACKAGES[*]}"
  fi
  write_config
  mkdir -p /etc/cni/net.d
  [[ -L /var/run || "$(readlink -f /var/run)" == /run ]] || log "warning: /var/run is not a symlink to /run; kubeadm's default socket unix:///var/run/containerd/containerd.sock will not match $CONTAINERD_ADDRESS"
}

# write_config writes $CONTAINERD_CONFIG only when its content differs.
write_config() {
  local want
  want="$(render_config)"
  if [[ -f "$CONTAINERD_CONFIG" && "$(cat "$CONTAINERD_CONFIG")" == "$want" ]]; then
    log "config $CONTAINERD_CONFIG up to date"
    return
  fi
  mkdir -p "$(dirname "$CONTAINERD_CONFIG")"
  printf '%s\n' "$want" > "$CONTAINERD_CONFIG.tmp"
  chmod 0644 "$CONTAINERD_CONFIG.tmp"
  mv -f "$CONTAINERD_CONFIG.tmp" "$CONTAINERD_CONFIG"
  log "wrote $CONTAINERD_CONFIG (restart containerd to apply it)"
}

# running PID: true while PID exists and is not a zombie.
running() {
  local state
  state="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" || return 1
  [[ -n "$state" && "$state" != Z && "$state" != X ]]
}

# pid_alive: print the pid from the pid file if that process is a live containerd.
pid_alive() {
  local pid
  pid="$(cat "$CONTAINERD_PIDFILE" 2>/dev/null)" || return 1
  [[ "$pid" =~ ^[0-9]+$ && "$(cat "/proc/$pid/comm" 2>/dev/null)" == containerd ]] || return 1
  running "$pid" || return 1
  echo "$pid"
}

cristatus() {
  "$(tool cristatus)" --address "unix://$CONTAINERD_ADDRESS" "$@"
}

cmd_start() {
  local pid cri
  command -v containerd >/dev/null || die "containerd is not installed: run '$0 install'"
  [[ -f "$CONTAINERD_CONFIG" ]] || die "no config at $CONTAINERD_CONFIG: run '$0 install' or set CONTAINERD_CONFIG"
  cri="$(tool cristatus)" # build before the clock starts
  if pid="$(pid_alive)"; then
    log "already running (pid $pid)"
  elif [[ -S "$CONTAINERD_ADDRESS" ]] && ctr -a "$CONTAINERD_ADDRESS" --timeout 2s version >/dev/null 2>&1; then
    log "a containerd not started by this script already serves $CONTAINERD_ADDRESS; using it"
  else
    mkdir -p "$CONTAINERD_ROOT" "$CONTAINERD_STATE" "$(dirname "$CONTAINERD_ADDRESS")" "$(dirname "$CONTAINERD_LOG")" "$(dirname "$CONTAINERD_PIDFILE")"
    nohup containerd --config "$CONTAINERD_CONFIG" --root "$CONTAINERD_ROOT" --state "$CONTAINERD_STATE" \
      --address "$CONTAINERD_ADDRESS" >>"$CONTAINERD_LOG" 2>&1 </dev/null &
    pid=$!
    echo "$pid" > "$CONTAINERD_PIDFILE"
    log "started containerd (pid $pid, log $CONTAINERD_LOG)"
  fi
  if ! "$cri" --address "unix://$CONTAINERD_ADDRESS" --wait "${CONTAINERD_WAIT}s" --quiet; then
    tail -n 20 "$CONTAINERD_LOG" >&2 || true
    die "CRI on $CONTAINERD_ADDRESS not RuntimeReady after ${CONTAINERD_WAIT}s (log: $CONTAINERD_LOG)"
  fi
  log "CRI ready on unix://$CONTAINERD_ADDRESS"
}

cmd_stop() {
  local pid i
  if ! pid="$(pid_alive)"; then
    log "not running (no live containerd in $CONTAINERD_PIDFILE)"
    rm -f "$CONTAINERD_PIDFILE"
    return 0
  fi
  kill -TERM "$pid"
  for ((i = 0; i < CONTAINERD_STOP_TIMEOUT * 10; i++)); do
    running "$pid" || break
    sleep 0.1
  done
  if running "$pid"; then
    log "containerd (pid $pid) ignored SIGTERM for ${CONTAINERD_STOP_TIMEOUT}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$CONTAINERD_PIDFILE"
  log "stopped containerd (pid $pid)"
}

cmd_status() {
  local pid
  if pid="$(pid_alive)"; then echo "pid: $pid"; else echo "pid: none (pid file $CONTAINERD_PIDFILE)"; fi
  echo "address: unix://$CONTAINERD_ADDRESS"
  cristatus
}

case "${1:-}" in
  install) cmd_install ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  restart) cmd_stop; cmd_start ;;
  status) cmd_status ;;
  config) render_config ;;
  *) echo "usage: $0 install|start|stop|restart|status|config" >&2; exit 2 ;;
esac
