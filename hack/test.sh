#!/usr/bin/env bash
# The project's one test command (make test, run by CI through .ci/run):
# installs and starts what the tests need on a fresh machine — containerd
# from Debian's packages, the locally built test image and (for the control
# plane tests) the locally built Kubernetes images — then runs the unit tests
# and the end-to-end tests. Nothing is pulled from a registry.
#
# Usage: hack/test.sh [all|unit|e2e]
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-all}"

log() { printf '==> %s\n' "$*"; }

setup() {
  # Everything Go is built on the host before any node starts (a node has
  # no route to the module proxy).
  log "building the hack/tools commands"
  hack/tools.sh build
  log "installing and starting containerd"
  hack/containerd.sh install
  hack/containerd.sh start
  log "installing openssh-server and sudo for the fleet tests (the host's sshd stays off)"
  hack/sshd.sh install
  log "building and importing the test image"
  hack/testimage.sh build
  hack/testimage.sh import
  if ls test/e2e/*_controlplane_test.go >/dev/null 2>&1; then
    log "building (or reusing) the Kubernetes images"
    hack/images.sh build
    hack/images.sh import
    log "building (or reusing) the metrics-server image for the kubectl top test"
    IMAGES=metrics-server hack/images.sh build
    log "writing (or reusing) the image bundle for the fleet tests"
    hack/images.sh bundle >/dev/null
  fi
}

unit() {
  log "unit tests"
  go test -count=1 ./...
  log "unit tests of the hack/tools module"
  hack/tools.sh test
}

# The full -v output goes to $E2E_LOG; the console shows test starts,
# results and the lines tests log or fail with.
E2E_LOG="${KUBEADMIN_E2E_LOG:-bin/e2e.log}"

e2e() {
  [ -d test/e2e ] || { log "no end-to-end tests"; return 0; }
  log "end-to-end tests (full log: $E2E_LOG)"
  mkdir -p "$(dirname "$E2E_LOG")"
  local rc=0
  # With pipefail the pipeline fails when go test does; PIPESTATUS[0] is go
  # test's own exit status (the verdict), whatever its output says.
  if ! go test -count=1 -tags e2e -timeout 60m -v ./test/e2e/... 2>&1 | tee "$E2E_LOG" |
    { grep --line-buffered -E '^(=== RUN|\s*--- |PASS|FAIL|ok|panic)|_test.go' || true; }; then
    rc="${PIPESTATUS[0]}"
    ((rc != 0)) || rc=1 # tee failed: the log is incomplete
  fi
  if ((rc != 0)); then
    log "end-to-end tests FAILED (go test exit status $rc; full log: $E2E_LOG)"
    return "$rc"
  fi
  log "end-to-end tests passed (full log: $E2E_LOG)"
}

case "$mode" in
  all) setup; unit; e2e ;;
  unit) unit ;;
  e2e) setup; e2e ;;
  *) echo "usage: $0 [all|unit|e2e]" >&2; exit 2 ;;
esac
