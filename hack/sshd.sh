#!/usr/bin/env bash
# sshd.sh installs what the fleet tests need to run a real OpenSSH server in
# test nodes (hack/nodes sshd): Debian's openssh-server and sudo. The host's
# own ssh service is never started or enabled: the test nodes start their
# own /usr/sbin/sshd, each on its node's address.
#
# Usage: hack/sshd.sh install|check
#   install  apt-get install openssh-server and sudo if missing (idempotent),
#            with a policy-rc.d that forbids the packages to start services,
#            and /etc/ssh/sshd_not_to_be_run when this script installed the
#            server (so an init system never starts the host's sshd); then
#            check that the install started nothing on the host's port 22
#   check    exit 0 when both packages are installed (warns when something
#            listens on the host's port 22: not ours, but worth knowing)
set -euo pipefail

# shellcheck source=hack/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
PACKAGES=(openssh-server sudo)
SSHD="/usr/sbin/sshd"
POLICY_RC="/usr/sbin/policy-rc.d"
# Debian's init script and systemd unit refuse to start the host's sshd
# while this file exists; /usr/sbin/sshd run by hand ignores it.
NOT_TO_BE_RUN="/etc/ssh/sshd_not_to_be_run"
SSH_PORT=22
APT_LOCK_TIMEOUT=300

log() { printf '[sshd] %s\n' "$*" >&2; }
die() { printf '[sshd] error: %s\n' "$*" >&2; exit 1; }


# host_port_listeners: the host's listening sockets on port 22 (root netns).
host_port_listeners() {
  ss -Hltn "sport = :$SSH_PORT" 2>/dev/null || true
}

# deny_services_during CMD...: run CMD with a policy-rc.d that answers 101
# ("action forbidden") to every invoke-rc.d/deb-systemd-invoke call, so no
# package postinst starts a daemon. An existing policy-rc.d is kept aside
# and put back afterwards (also when the script is interrupted).
SAVED_POLICY=""
restore_policy() {
  if [[ -n "$SAVED_POLICY" ]]; then mv -f "$SAVED_POLICY" "$POLICY_RC"; else rm -f "$POLICY_RC"; fi
}
deny_services_during() {
  local rc=0
  if [[ -e "$POLICY_RC" ]]; then
    SAVED_POLICY="$POLICY_RC.kubeadmin-saved.$$"
    cp -p "$POLICY_RC" "$SAVED_POLICY"
  fi
  trap restore_policy EXIT
  printf '#!/bin/sh\n# written by kubeadmin hack/sshd.sh during apt-get install\nexit 101\n' >"$POLICY_RC.tmp.$$"
  chmod 0755 "$POLICY_RC.tmp.$$"
  mv -f "$POLICY_RC.tmp.$$" "$POLICY_RC"
  "$@" || rc=$?
  restore_policy
  trap - EXIT
  return "$rc"
}

cmd_install() {
  local missing server_new=0 before after
  before="$(host_port_listeners)"
  mapfile -t missing < <(missing_packages)
  if ((${#missing[@]})); then
    [[ " ${missing[*]} " == *" openssh-server "* ]] && server_new=1
    lists_fresh || { log "apt-get update"; apt-get -o DPkg::Lock::Timeout="$APT_LOCK_TIMEOUT" update -qq; }
    log "apt-get install ${missing[*]} (services denied by $POLICY_RC)"
    deny_services_during env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout="$APT_LOCK_TIMEOUT" \
      install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
      die "apt-get install ${missing[*]} failed (see above)"
  else
    log "packages present: ${PACKAGES[*]}"
  fi
  [[ -x "$SSHD" ]] || die "$SSHD is missing although openssh-server is installed: run 'apt-get install --reinstall openssh-server'"
  if ((server_new)); then
    : >"$NOT_TO_BE_RUN"
    log "wrote $NOT_TO_BE_RUN: the host's ssh service stays off (test nodes run their own sshd)"
  fi
  after="$(host_port_listeners)"
  [[ "$after" == "$before" ]] || die "installing ${missing[*]} started a listener on the host's port $SSH_PORT: $(echo "$after" | tr -s ' '); stop it (the host's sshd must stay off)"
}

cmd_check() {
  local missing l
  mapfile -t missing < <(missing_packages)
  ((${#missing[@]} == 0)) || die "missing packages: ${missing[*]}: run 'hack/sshd.sh install'"
  l="$(host_port_listeners)"
  [[ -z "$l" ]] || log "warning: something listens on the host's port $SSH_PORT (not a test node's sshd: those listen in the nodes' network namespaces): $(echo "$l" | tr -s ' ')"
  log "ok: ${PACKAGES[*]} installed"
}

case "${1:-}" in
  install) cmd_install ;;
  check) cmd_check ;;
  *) sed -n '7,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
