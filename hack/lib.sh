# lib.sh: shared settings and helpers for the hack/ scripts. Source it:
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#
# Cache layout (outside the repository, reused by CI and later sessions):
#   ${KUBEADMIN_CACHE:-/var/cache/kubeadmin}/<k8s version>/
#     bin/      static binaries (kube-*, kubectl, kubeadm, kubelet, etcd, coredns, pause)
#     images/   image tarballs (<name>.tar) for `ctr images import`
#     tools/    hack/tools commands (mkimage, cristatus, crismoke, criburst; hack/tools.sh)
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

# The hack/tools commands the scripts use (pause is built by images.sh).
TOOL_CMDS=(mkimage cristatus crismoke criburst)

# build_tools: build every hack/tools command into $TOOLS, on the host,
# unless $TOOLS/.key says they were built from this content. Inside a test
# node (KUBEADMIN_NODE_NAME is set there; the node has no route to the module
# proxy and no go) it never builds: a missing tool is an error naming the
# host command that builds it.
build_tools() {
  local k c tmp
  if [[ -n "${KUBEADMIN_NODE_NAME:-}" ]]; then
    for c in "${TOOL_CMDS[@]}"; do
      [[ -x "$TOOLS/$c" ]] || {
        printf 'error: %s is not built, and tools are not built inside test node %s: run hack/tools.sh build on the host first\n' "$TOOLS/$c" "$KUBEADMIN_NODE_NAME" >&2
        return 1
      }
    done
    return 0
  fi
  k="$(tools_key)"
  [[ "$(cat "$TOOLS/.key" 2>/dev/null)" == "$k" ]] && return 0
  mkdir -p "$TOOLS" "$GOCACHE"
  # A subshell holds the lock, so that no daemon a script starts later
  # inherits its file descriptor.
  (
    flock 9
    [[ "$(cat "$TOOLS/.key" 2>/dev/null)" == "$k" ]] && exit 0
    tmp="$(mktemp -d "$TOOLS/.build.XXXXXX")"
    trap 'rm -rf "$tmp"' EXIT
    printf '[tools] building %s\n' "${TOOL_CMDS[*]}" >&2
    (cd "$HACK/tools" && CGO_ENABLED=0 GOFLAGS="-buildvcs=false -mod=readonly" \
      go build -trimpath -ldflags "-s -w" -o "$tmp/" "${TOOL_CMDS[@]/#/./cmd/}") >&2
    for c in "${TOOL_CMDS[@]}"; do mv -f "$tmp/$c" "$TOOLS/$c"; done
    echo "$k" >"$tmp/key"
    mv -f "$tmp/key" "$TOOLS/.key"
  ) 9>"$TOOLS/.lock"
}

# tool NAME: the path of hack/tools' command NAME (built by build_tools).
tool() {
  build_tools || return 1
  echo "$TOOLS/$1"
}

# missing_packages: the Debian packages of the calling script's PACKAGES
# array that are not installed, one per line.
missing_packages() {
  local p
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"
  done
}

# lists_fresh: true when apt's package lists were updated less than 6 h ago.
lists_fresh() {
  [[ -n "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mmin -360 -print -quit 2>/dev/null)" ]]
}
