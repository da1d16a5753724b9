# lib.sh: shared settings and helpers for the hack/ scripts. Source it:
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#
# Cache layout (outside the repository, reused by CI and later sessions):
#   ${KUBEADMIN_CACHE:-/var/cache/kubeadmin}/<k8s version>/
#     bin/      static binaries (kube-*, kubectl, kubeadm, kubelet, etcd, coredns, pause)
#     images/   image tarballs (<name>.tar) for `ctr images import`
#     tools/    hack/tools commands (mkimage, cristatus)
#     gocache/  GOCACHE for every build here
#   ${KUBEADMIN_CACHE}/testimages/<hash>/  test images (hack/testimage.sh)

HACK="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
K8S_VERSION="v1.37.2"
KUBEADMIN_CACHE="${KUBEADMIN_CACHE:-/var/cache/kubeadmin}"
CACHE="$KUBEADMIN_CACHE/$K8S_VERSION"
BIN="$CACHE/bin"
IMG="$CACHE/images"
TOOLS="$CACHE/tools"
export GOCACHE="$CACHE/gocache"

# hashfiles FILE...: a short content hash of the files and the Go version.
hashfiles() {
  { go version; cat "$@"; } | sha256sum | cut -c1-16
}

# tools_key: the content hash of the hack/tools module.
tools_key() {
  local dir="$HACK/tools"
  # shellcheck disable=SC2046 # file list
  hashfiles "$dir/go.mod" "$dir/go.sum" $(find "$dir" -name '*.go' ! -name '*_test.go' | sort)
}

# tool NAME: build hack/tools/cmd/NAME into $TOOLS (cached by content hash)
# and print its path.
tool() {
  local name="$1" k out="$TOOLS/$1"
  k="$(tools_key)"
  if [[ ! -x "$out" || "$(cat "$TOOLS/.$name.key" 2>/dev/null)" != "$k" ]]; then
    mkdir -p "$TOOLS" "$GOCACHE"
    (cd "$HACK/tools" && CGO_ENABLED=0 GOFLAGS="-buildvcs=false -mod=readonly" \
      go build -trimpath -ldflags "-s -w" -o "$out.tmp.$$" "./cmd/$name") >&2
    mv -f "$out.tmp.$$" "$out"
    echo "$k" > "$TOOLS/.$name.key"
  fi
  echo "$out"
}
