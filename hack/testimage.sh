#!/usr/bin/env bash
# testimage.sh builds the test image kubeadmin.test/testapp:v1 (hack/testapp,
# static, at /testapp, entrypoint /testapp) and imports it into a containerd.
#
# Usage: hack/testimage.sh [build|import|path]
#   build   build the tarball only (cached by the content hash of hack/testapp
#           and hack/tools) and print its path
#   import  build if needed, then import into $CONTAINERD_ADDRESS (default)
#   path    print the tarball path without building
#
# Environment: KUBEADMIN_CACHE (default /var/cache/kubeadmin),
#   CONTAINERD_ADDRESS (default /run/containerd/containerd.sock).
set -euo pipefail
# shellcheck source=hack/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TESTAPP_TAG="kubeadmin.test/testapp:v1"
CONTAINERD_ADDRESS="${CONTAINERD_ADDRESS:-/run/containerd/containerd.sock}"
CONTAINERD_ADDRESS="${CONTAINERD_ADDRESS#unix://}"

log() { printf '[testimage] %s\n' "$*" >&2; }

# testapp_key: content hash of the program, the image tool and the tag.
testapp_key() {
  # shellcheck disable=SC2046 # file list
  { echo "$TESTAPP_TAG"; tools_key; hashfiles $(find "$HACK/testapp" -name '*.go' ! -name '*_test.go' | sort); } | sha256sum | cut -c1-16
}

tarball_path() {
  echo "$KUBEADMIN_CACHE/testimages/$(testapp_key)/testapp.tar"
}

cmd_build() {
  local out dir mkimage
  out="$(tarball_path)"
  if [[ -f "$out" && "${FORCE:-}" != 1 ]]; then
    echo "$out"
    return
  fi
  dir="$(dirname "$out")"
  mkdir -p "$dir" "$GOCACHE"
  mkimage="$(tool mkimage)"
  (cd "$HACK/.." && CGO_ENABLED=0 GOFLAGS=-buildvcs=false go build -trimpath -ldflags "-s -w" -o "$dir/testapp.tmp" ./hack/testapp)
  mv -f "$dir/testapp.tmp" "$dir/testapp"
  "$mkimage" --output "$out" --tag "$TESTAPP_TAG" --file "$dir/testapp:/testapp:0755" \
    --entrypoint /testapp --env "PATH=/usr/local/bin:/usr/bin:/bin"
  log "built $TESTAPP_TAG -> $out"
  echo "$out"
}

# cmd_import imports the tarball unless the image already carries this
# build's key as a label (the tag stays v1 while the program changes).
cmd_import() {
  local out key
  out="$(cmd_build)"
  key="$(testapp_key)"
  [[ -S "$CONTAINERD_ADDRESS" ]] || { log "error: no containerd socket at $CONTAINERD_ADDRESS: run 'hack/containerd.sh start' or set CONTAINERD_ADDRESS"; exit 1; }
  if ctr -a "$CONTAINERD_ADDRESS" -n k8s.io images ls "name==$TESTAPP_TAG" | grep -qF "kubeadmin.testapp.key=$key"; then
    log "$TESTAPP_TAG already present"
    return
  fi
  ctr -a "$CONTAINERD_ADDRESS" -n k8s.io images import "$out" >/dev/null
  ctr -a "$CONTAINERD_ADDRESS" -n k8s.io images label "$TESTAPP_TAG" "kubeadmin.testapp.key=$key" >/dev/null
  log "imported $TESTAPP_TAG into $CONTAINERD_ADDRESS"
}

# Serialise concurrent builds and imports (tests may start several at once).
if [[ "${1:-import}" != path ]]; then
  mkdir -p "$KUBEADMIN_CACHE/testimages"
  exec 9>"$KUBEADMIN_CACHE/testimages/.lock"
  flock 9
fi

case "${1:-import}" in
  build) cmd_build ;;
  import) cmd_import ;;
  path) tarball_path ;;
  *) echo "usage: $0 [build|import|path]" >&2; exit 2 ;;
esac
