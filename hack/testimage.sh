#!/usr/bin/env bash
# testimage.sh builds the test images kubeadmin.test/testapp:v1 and :v2
# (hack/testapp, static, at /testapp, entrypoint /testapp) and imports them
# into a containerd. The two share the one layer; their configs differ only in
# VERSION=v1 or v2, which GET / reports, so a rolling update from v1 to v2 is
# visible (a pod's own VERSION env still wins).
#
# Usage: hack/testimage.sh [build|import|path]
#   build   build the tarballs only (cached by the content hash of hack/testapp
#           and hack/tools) and print their paths, one a line
#   import  build if needed, then import both into $CONTAINERD_ADDRESS (default)
#   path    print the tarball paths without building
#
# Environment: KUBEADMIN_CACHE (default /var/cache/kubeadmin),
#   CONTAINERD_ADDRESS (default /run/containerd/containerd.sock).
set -euo pipefail
# shellcheck source=hack/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TESTAPP_REPO="kubeadmin.test/testapp"
TESTAPP_VERSIONS=(v1 v2)
CONTAINERD_ADDRESS="${CONTAINERD_ADDRESS:-/run/containerd/containerd.sock}"
CONTAINERD_ADDRESS="${CONTAINERD_ADDRESS#unix://}"

log() { printf '[testimage] %s\n' "$*" >&2; }

# testapp_key: content hash of the program, the image tool and the tags.
testapp_key() {
  # shellcheck disable=SC2046 # file list
  { echo "$TESTAPP_REPO ${TESTAPP_VERSIONS[*]}"; tools_key; hashfiles $(find "$HACK/testapp" -name '*.go' ! -name '*_test.go' | sort); } | sha256sum | cut -c1-16
}

testimage_dir() {
  echo "$KUBEADMIN_CACHE/testimages/$(testapp_key)"
}

# tarball_paths prints one tarball path per version, in TESTAPP_VERSIONS order.
tarball_paths() {
  local dir v
  dir="$(testimage_dir)"
  for v in "${TESTAPP_VERSIONS[@]}"; do echo "$dir/testapp-$v.tar"; done
}

cmd_build() {
  local dir mkimage v missing=0
  dir="$(testimage_dir)"
  for v in "${TESTAPP_VERSIONS[@]}"; do [[ -f "$dir/testapp-$v.tar" ]] || missing=1; done
  if [[ "$missing" == 0 && "${FORCE:-}" != 1 ]]; then
    tarball_paths
    return
  fi
  mkdir -p "$dir" "$GOCACHE"
  mkimage="$(tool mkimage)"
  (cd "$HACK/.." && CGO_ENABLED=0 GOFLAGS=-buildvcs=false go build -trimpath -ldflags "-s -w" -o "$dir/testapp.tmp" ./hack/testapp)
  mv -f "$dir/testapp.tmp" "$dir/testapp"
  for v in "${TESTAPP_VERSIONS[@]}"; do
    "$mkimage" --output "$dir/testapp-$v.tar.tmp" --tag "$TESTAPP_REPO:$v" --file "$dir/testapp:/testapp:0755" \
      --entrypoint /testapp --env "PATH=/usr/local/bin:/usr/bin:/bin" --env "VERSION=$v"
    mv -f "$dir/testapp-$v.tar.tmp" "$dir/testapp-$v.tar"
    log "built $TESTAPP_REPO:$v -> $dir/testapp-$v.tar"
  done
  tarball_paths
}

# cmd_import imports each tarball unless its image already carries this
# build's key as a label (the tags stay v1 and v2 while the program changes).
cmd_import() {
  local dir key v tag
  cmd_build >/dev/null
  dir="$(testimage_dir)"
  key="$(testapp_key)"
  [[ -S "$CONTAINERD_ADDRESS" ]] || { log "error: no containerd socket at $CONTAINERD_ADDRESS: run 'hack/containerd.sh start' or set CONTAINERD_ADDRESS"; exit 1; }
  for v in "${TESTAPP_VERSIONS[@]}"; do
    tag="$TESTAPP_REPO:$v"
    if ctr -a "$CONTAINERD_ADDRESS" -n k8s.io images ls "name==$tag" | grep -qF "kubeadmin.testapp.key=$key"; then
      log "$tag already present"
      continue
    fi
    ctr -a "$CONTAINERD_ADDRESS" -n k8s.io images import "$dir/testapp-$v.tar" >/dev/null
    ctr -a "$CONTAINERD_ADDRESS" -n k8s.io images label "$tag" "kubeadmin.testapp.key=$key" >/dev/null
    log "imported $tag into $CONTAINERD_ADDRESS"
  done
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
  path) tarball_paths ;;
  *) echo "usage: $0 [build|import|path]" >&2; exit 2 ;;
esac
