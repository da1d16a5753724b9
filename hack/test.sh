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
  log "installing and starting containerd"
  hack/containerd.sh install
  hack/containerd.sh start
  log "building and importing the test image"
  hack/testimage.sh build
  hack/testimage.sh import
  if ls test/e2e/*_controlplane_test.go >/dev/null 2>&1; then
    log "building (or reusing) the Kubernetes images"
    hack/images.sh build
    hack/images.sh import
  fi
}

unit() {
  log "unit tests"
  go test -count=1 ./...
}

e2e() {
  [ -d test/e2e ] || { log "no end-to-end tests"; return 0; }
  log "end-to-end tests"
  go test -count=1 -tags e2e -timeout 60m -v ./test/e2e/... 2>&1 | tee /tmp/kubeadmin-e2e.log | grep -E '^(=== RUN|--- |PASS|FAIL|ok|panic)|_test.go' || true
  # The verdict comes from go test's own summary lines.
  ! grep -qE '^(--- FAIL|FAIL)' /tmp/kubeadmin-e2e.log
}

case "$mode" in
  all) setup; unit; e2e ;;
  unit) unit ;;
  e2e) setup; e2e ;;
  *) echo "usage: $0 [all|unit|e2e]" >&2; exit 2 ;;
esac
