#!/usr/bin/env bash
# images.sh builds the real control-plane images kubeadm v1.37.2 expects, from
# the Go module proxy, and imports them into a containerd. Nothing is pulled
# from a registry.
#
# Usage:
#   hack/images.sh build     build binaries and image tarballs (cached)
#   hack/images.sh import    build if needed, then import every image not yet
#                            present into $CONTAINERD_ADDRESS (namespace k8s.io)
#   hack/images.sh list      print the cached binaries and image tarballs
#   hack/images.sh bins      build only the binaries (cached)
#   hack/images.sh bundle [OUT]
#                            one archive of the built image tarballs and the
#                            test images, with a manifest (cached by the
#                            tarballs; prints its path; OUT: linked or copied there)
#   hack/images.sh import-bundle BUNDLE [IMAGE...]
#                            import BUNDLE (or only the named images) into $CONTAINERD_ADDRESS, as a fleet
#                            does on each host (import-bundle-script prints that script)
#
# Environment:
#   KUBEADMIN_CACHE     cache root (default /var/cache/kubeadmin); everything
#                       lives in $KUBEADMIN_CACHE/$K8S_VERSION/{bin,images,gocache}
#   CONTAINERD_ADDRESS  containerd socket for import (default /run/containerd/containerd.sock)
#   IMAGES              space-separated subset of image names to build/import
#                       (default: all of ALL_IMAGES; names as in `list`); add-on
#                       images (ADDON_IMAGES: metrics-server) are built only
#                       when named here, e.g. IMAGES=metrics-server
#   FORCE=1             rebuild even if the cache is up to date
set -euo pipefail

# shellcheck source=hack/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ETCD_TAG="3.7.0-0"        # the tag kubeadm v1.37.2 expects (see hack/README.md for the real version)
COREDNS_TAG="v1.14.6"
PAUSE_TAG="3.10.2"
METRICS_SERVER_TAG="v0.9.0" # must match hack/k8sbuild/metrics-server/go.mod and hack/addons/metrics-server.yaml
REPO="registry.k8s.io"
export CGO_ENABLED=0
export GOFLAGS="-buildvcs=false -mod=readonly"
CONTAINERD_ADDRESS="${CONTAINERD_ADDRESS:-/run/containerd/containerd.sock}"
CONTAINERD_ADDRESS="${CONTAINERD_ADDRESS#unix://}"
IMAGE_PATH_ENV="PATH=/usr/local/bin:/usr/sbin:/usr/bin:/bin"

# Kubernetes commands built from hack/k8sbuild/kubernetes (all go into bin/).
K8S_CMDS=(kube-apiserver kube-controller-manager kube-scheduler kube-proxy kubectl kubeadm kubelet)
# Images, in kubeadm's `config images list` order.
ALL_IMAGES=(kube-apiserver kube-controller-manager kube-scheduler kube-proxy coredns pause etcd)
# Add-on images: not part of a default build (metrics-server alone is a
# 2-3 minute compile on two cores, and only `kubectl top` needs it); name
# them in IMAGES to build or import them.
ADDON_IMAGES=(metrics-server)

log() { printf '[images] %s\n' "$*" >&2; }
die() { printf '[images] error: %s\n' "$*" >&2; exit 1; }

# k8s_ldflags: the version stamp upstream's build puts into every component.
# buildDate is the release's publication time from the module proxy, so the
# link step is deterministic and a warm run does not relink.
k8s_ldflags() {
  local info date
  info="$(go mod download -json "k8s.io/kubernetes@${K8S_VERSION}" | sed -n 's/^[[:space:]]*"Info": "\(.*\)",\{0,1\}$/\1/p')"
  date="$(sed -n 's/.*"Time":"\([^"]*\)".*/\1/p' "$info" 2>/dev/null || true)"
  local p=k8s.io/component-base/version
  local minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"
  echo "-s -w -X $p.gitVersion=${K8S_VERSION} -X $p.gitMajor=1 -X $p.gitMinor=${minor} -X $p.gitTreeState=clean -X $p.buildDate=${date:-1970-01-01T00:00:00Z}"
}

key() { hashfiles "$@"; }

# fresh NAME KEY: true when $BIN/NAME exists and was built from KEY.
fresh() {
  [[ "${FORCE:-}" != 1 && -x "$BIN/$1" && "$(cat "$BIN/.$1.key" 2>/dev/null)" == "$2" ]]
}

stamp() { echo "$2" > "$BIN/.$1.key"; }

# gobuild DIR OUT LDFLAGS PKG: build PKG inside module DIR into OUT (atomically).
gobuild() {
  local dir="$1" out="$2" ldflags="$3" pkg="$4" t0=$SECONDS
  log "building $(basename "$out") ($pkg)"
  (cd "$dir" && go build -trimpath -ldflags "$ldflags" -o "$out.tmp.$$" "$pkg")
  mv -f "$out.tmp.$$" "$out"
  log "built $(basename "$out") in $((SECONDS - t0))s"
}

# build_k8s_bins CMD...: build the named k8s.io/kubernetes/cmd/* commands.
build_k8s_bins() {
  local dir="$HACK/k8sbuild/kubernetes" ldflags k todo=() c
  ldflags="$(k8s_ldflags)"
  k="$(printf '%s\n' "$ldflags" | key "$dir/go.mod" "$dir/go.sum" -)"
  for c in "$@"; do fresh "$c" "$k" || todo+=("$c"); done
  ((${#todo[@]})) || { log "kubernetes binaries up to date: $*"; return; }
  for c in "${todo[@]}"; do
    gobuild "$dir" "$BIN/$c" "$ldflags" "k8s.io/kubernetes/cmd/$c"
    stamp "$c" "$k"
  done
}

build_etcd_bin() {
  local dir="$HACK/k8sbuild/etcd" k
  k="$(key "$dir/go.mod" "$dir/go.sum" "$dir/main.go")"
  fresh etcd "$k" && { log "etcd up to date"; return; }
  gobuild "$dir" "$BIN/etcd" "-s -w" .
  stamp etcd "$k"
}

build_coredns_bin() {
  local dir="$HACK/k8sbuild/coredns" k
  k="$(key "$dir/go.mod" "$dir/go.sum")"
  fresh coredns "$k" && { log "coredns up to date"; return; }
  gobuild "$dir" "$BIN/coredns" "-s -w -X github.com/coredns/coredns/coremain.GitCommit=v1.14.6" github.com/coredns/coredns
  stamp coredns "$k"
}

# build_metrics_server_bin: the metrics-server add-on from its build module,
# version-stamped as its upstream Makefile does.
build_metrics_server_bin() {
  local dir="$HACK/k8sbuild/metrics-server" k p=k8s.io/client-go/pkg/version
  k="$(key "$dir/go.mod" "$dir/go.sum")"
  fresh metrics-server "$k" && { log "metrics-server up to date"; return; }
  gobuild "$dir" "$BIN/metrics-server" "-s -w -X $p.gitVersion=$METRICS_SERVER_TAG -X $p.buildDate=1970-01-01T00:00:00Z" sigs.k8s.io/metrics-server/cmd/metrics-server
  stamp metrics-server "$k"
}

# build_pause: the pause binary from the hack/tools module.
build_pause() {
  local k
  k="$(tools_key)"
  fresh pause "$k" && { log "pause up to date"; return; }
  gobuild "$HACK/tools" "$BIN/pause" "-s -w" ./cmd/pause
  stamp pause "$k"
}

# build_bins: the binaries the selected images need; with no IMAGES subset
# also kubectl, kubeadm and kubelet (for tests and the upstream benchmark).
build_bins() {
  local n k8s=()
  mkdir -p "$BIN" "$IMG" "$TOOLS" "$GOCACHE"
  for n in $(selected); do
    case "$n" in
      etcd) build_etcd_bin ;;
      coredns) build_coredns_bin ;;
      pause) build_pause ;;
      metrics-server) build_metrics_server_bin ;;
      *) k8s+=("$n") ;;
    esac
  done
  [[ -n "${IMAGES:-}" ]] || k8s+=(kubectl kubeadm kubelet)
  ((${#k8s[@]} == 0)) || build_k8s_bins "${k8s[@]}"
}

# ---------------------------------------------------------------------------
# Images

selected() {
  local want="${IMAGES:-${ALL_IMAGES[*]}}" n
  for n in $want; do
    [[ " ${ALL_IMAGES[*]} ${ADDON_IMAGES[*]} " == *" $n "* ]] || die "unknown image '$n' in IMAGES; known: ${ALL_IMAGES[*]} ${ADDON_IMAGES[*]}"
    echo "$n"
  done
}

tag_of() {
  case "$1" in
    coredns) echo "$REPO/coredns/coredns:$COREDNS_TAG" ;;
    pause) echo "$REPO/pause:$PAUSE_TAG" ;;
    etcd) echo "$REPO/etcd:$ETCD_TAG" ;;
    metrics-server) echo "$REPO/metrics-server/metrics-server:$METRICS_SERVER_TAG" ;;
    *) echo "$REPO/$1:$K8S_VERSION" ;;
  esac
}

# iptables_args: mkimage flags that add Debian's iptables (nft backend), its
# extension modules and every shared library they load, for kube-proxy.
iptables_args() {
  local multi=/usr/sbin/xtables-nft-multi xt=/usr/lib/x86_64-linux-gnu/xtables n lib
  [[ -x "$multi" ]] || die "$multi is missing: run 'apt-get install -y iptables' (hack/containerd.sh install does)"
  [[ -d "$xt" ]] || die "$xt is missing: reinstall Debian's iptables package"
  echo "--file $multi:/usr/sbin/xtables-nft-multi:0755"
  for n in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
    echo "--symlink xtables-nft-multi:/usr/sbin/$n"
  done
  echo "--dir $xt:$xt"
  for lib in $( { ldd "$multi"; for f in "$xt"/*.so; do ldd "$f"; done; } | awk '/=> \//{print $3} /^\t\//{print $1}' | sort -u); do
    echo "--file $(readlink -f "$lib"):$lib:0755"
  done
}

mkimage_args() {
  local name="$1"
  echo "--tag $(tag_of "$name") --env $IMAGE_PATH_ENV"
  case "$name" in
    coredns) echo "--file $BIN/coredns:/coredns:0755 --entrypoint /coredns" ;;
    pause) echo "--file $BIN/pause:/pause:0755 --entrypoint /pause" ;;
    metrics-server) echo "--file $BIN/metrics-server:/metrics-server:0755 --entrypoint /metrics-server" ;;
    kube-proxy) echo "--file $BIN/kube-proxy:/usr/local/bin/kube-proxy:0755"; iptables_args ;;
    *) echo "--file $BIN/$name:/usr/local/bin/$name:0755" ;;
  esac
}

build_images() {
  local n args k t0 mkimage
  mkimage="$(tool mkimage)"
  for n in $(selected); do
    args="$(mkimage_args "$n")"
    # The key covers the flags and the content of every file they name.
    k="$( { echo "$args"; tools_key; for f in $(grep -o -- '--file [^:]*' <<<"$args" | cut -d' ' -f2); do sha256sum "$f"; done; } | sha256sum | cut -c1-16)"
    if [[ "${FORCE:-}" != 1 && -f "$IMG/$n.tar" && "$(cat "$IMG/.$n.key" 2>/dev/null)" == "$k" ]]; then
      log "image $n up to date"
      continue
    fi
    t0=$SECONDS
    # shellcheck disable=SC2086 # args is a list of flags built above
    "$mkimage" --output "$IMG/$n.tar" $args
    echo "$k" > "$IMG/.$n.key"
    log "image $(tag_of "$n") -> $IMG/$n.tar ($(du -h "$IMG/$n.tar" | cut -f1), $((SECONDS - t0))s)"
  done
}

cmd_build() {
  local t0=$SECONDS
  build_bins
  build_images
  log "build done in $((SECONDS - t0))s"
}

# cmd_import imports every selected image whose tag is not present with this
# build's content: after an import the image is labelled
# kubeadmin.image.key=<image key>, so a rebuilt image under the same tag is
# imported again while an unchanged one is skipped.
cmd_import() {
  local present n tag k t0=$SECONDS
  cmd_build
  [[ -S "$CONTAINERD_ADDRESS" ]] || die "no containerd socket at $CONTAINERD_ADDRESS: start one with 'hack/containerd.sh start' or set CONTAINERD_ADDRESS"
  present="$(ctr -a "$CONTAINERD_ADDRESS" -n k8s.io images ls)"
  for n in $(selected); do
    tag="$(tag_of "$n")"
    k="$(cat "$IMG/.$n.key")"
    if awk -v t="$tag" -v l="kubeadmin.image.key=$k" '$1 == t && index($0, l) {found=1} END {exit !found}' <<<"$present"; then
      log "$tag already present"
      continue
    fi
    ctr -a "$CONTAINERD_ADDRESS" -n k8s.io images import "$IMG/$n.tar" >/dev/null
    ctr -a "$CONTAINERD_ADDRESS" -n k8s.io images label "$tag" "kubeadmin.image.key=$k" >/dev/null
    log "imported $tag"
  done
  log "import done in $((SECONDS - t0))s"
}

# ---------------------------------------------------------------------------
# Bundle: one archive with every image, for hosts that must not download.
#
# Layout (plain tar: the layers inside the image tarballs are gzip'd
# already; measured on the 164 MB of v1.37.2 images, zstd -1 saves 0.04 %
# and gzip -1 0.9 % for 9.5 s, so no compression):
#   manifest.txt     one line per image: IMAGE SHA256 FILE CONFIG
#                    (IMAGE the reference inside the tarball, SHA256 of FILE,
#                    FILE the tarball's path in the bundle, CONFIG the image
#                    ID: the config digest that the CRI reports)
#   images/*.tar     the image tarballs (docker archive format)

BUNDLES="$CACHE/bundles"
BUNDLE_FILE="kubeadmin-images-$K8S_VERSION.tar"
BUNDLE_MANIFEST="manifest.txt"

# bundle_inputs: the tarballs of the selected images and the test images.
bundle_inputs() {
  local n
  for n in $(selected); do
    [[ -f "$IMG/$n.tar" ]] || die "$IMG/$n.tar is missing: run 'hack/images.sh build' first (or set IMAGES)"
    echo "$IMG/$n.tar"
  done
  "$HACK/testimage.sh" build || die "building the test images failed (see above)"
}

# bundle_key FILE...: cheap fingerprint of the inputs (path, size, mtime).
bundle_key() {
  stat -L -c '%n %s %.9Y' "$@" | sha256sum | cut -c1-16
}

# image_ref TARBALL / image_config TARBALL: from the docker archive's manifest.json.
image_ref() {
  tar -xOf "$1" manifest.json | grep -o '"RepoTags":\["[^"]*"' | cut -d'"' -f4
}
image_config() {
  tar -xOf "$1" manifest.json | grep -o '"Config":"[^"]*"' | cut -d'"' -f4
}

cmd_bundle() {
  local out="${1:-}" inputs key dir stage f ref t0=$SECONDS
  mapfile -t inputs < <(bundle_inputs)
  ((${#inputs[@]})) || die "no images to bundle"
  key="$(bundle_key "${inputs[@]}")"
  dir="$BUNDLES/$key"
  mkdir -p "$BUNDLES"
  exec 8>"$BUNDLES/.lock"
  flock 8
  if [[ ! -f "$dir/$BUNDLE_FILE" ]]; then
    rm -rf "${BUNDLES:?}"/*/ # one bundle at a time (~165 MB each)
    stage="$(mktemp -d "$BUNDLES/.stage.XXXXXX")"
    mkdir -p "$stage/images"
    for f in "${inputs[@]}"; do
      ref="$(image_ref "$f")"
      [[ -n "$ref" ]] || die "$f has no RepoTags in its manifest.json: rebuild it"
      ln -f "$f" "$stage/images/" 2>/dev/null || cp -p "$f" "$stage/images/"
      echo "$ref $(sha256sum "$f" | cut -d' ' -f1) images/$(basename "$f") $(image_config "$f")"
    done >"$stage/$BUNDLE_MANIFEST"
    tar -cf "$stage/$BUNDLE_FILE" -C "$stage" --sort=name --owner=0 --group=0 --numeric-owner \
      --mtime=@0 "$BUNDLE_MANIFEST" images
    (cd "$stage" && sha256sum "$BUNDLE_FILE") >"$stage/$BUNDLE_FILE.sha256"
    mkdir -p "$dir"
    mv -f "$stage/$BUNDLE_MANIFEST" "$stage/$BUNDLE_FILE.sha256" "$dir/"
    mv -f "$stage/$BUNDLE_FILE" "$dir/$BUNDLE_FILE" # last: its presence means complete
    rm -rf "$stage"
    log "bundle $dir/$BUNDLE_FILE ($(du -h "$dir/$BUNDLE_FILE" | cut -f1), ${#inputs[@]} images, $((SECONDS - t0))s)"
  fi
  log "bundle sha256 $(cut -d' ' -f1 "$dir/$BUNDLE_FILE.sha256")"
  if [[ -z "$out" ]]; then
    echo "$dir/$BUNDLE_FILE"
    return
  fi
  [[ -d "$out" ]] && out="$out/$BUNDLE_FILE"
  if [[ ! "$out" -ef "$dir/$BUNDLE_FILE" ]]; then
    mkdir -p "$(dirname "$out")"
    ln -f "$dir/$BUNDLE_FILE" "$out.tmp.$$" 2>/dev/null || cp "$dir/$BUNDLE_FILE" "$out.tmp.$$"
    mv -f "$out.tmp.$$" "$out"
  fi
  echo "$out"
}

# bundle_import_script: the POSIX sh script a fleet runs on a host, as root,
# with the bundle's path as $1, containerd's socket as $2 and optionally the
# images to import (default all). Its one source is the file kubeadmin fleet
# embeds; its header says what it does.
BUNDLE_IMPORT_SCRIPT="$HACK/../fleet/hostprep/import-bundle.sh"
bundle_import_script() {
  cat "$BUNDLE_IMPORT_SCRIPT" || die "cannot read $BUNDLE_IMPORT_SCRIPT"
}

cmd_import_bundle() {
  local b="${1:-}" t0=$SECONDS
  [[ -n "$b" ]] || die "import-bundle needs the bundle's path: hack/images.sh import-bundle BUNDLE [IMAGE...]"
  shift
  [[ -f "$b" ]] || die "no bundle at $b: write one with 'hack/images.sh bundle'"
  [[ -S "$CONTAINERD_ADDRESS" ]] || die "no containerd socket at $CONTAINERD_ADDRESS: start one with 'hack/containerd.sh start' or set CONTAINERD_ADDRESS"
  sh "$BUNDLE_IMPORT_SCRIPT" "$b" "$CONTAINERD_ADDRESS" "$@" >&2 || die "importing $b failed (see above)"
  log "import of $b done in $((SECONDS - t0))s"
}

cmd_list() {
  local n f
  echo "cache: $CACHE"
  for n in $(selected); do
    f="$IMG/$n.tar"
    if [[ -f "$f" ]]; then
      printf '%-60s %8s  %s\n' "$(tag_of "$n")" "$(du -h "$f" | cut -f1)" "$f"
    else
      printf '%-60s %8s\n' "$(tag_of "$n")" "missing"
    fi
  done
  for f in "${K8S_CMDS[@]}" etcd coredns pause metrics-server; do
    [[ -x "$BIN/$f" ]] && printf 'bin %-56s %8s\n' "$f" "$(du -h "$BIN/$f" | cut -f1)"
  done
  return 0
}

# lock: serialise builds and imports of concurrent runs (tests start several).
lock() {
  mkdir -p "$CACHE"
  exec 9>"$CACHE/.lock"
  flock 9
}

case "${1:-}" in
  build | bins | import) lock ;;
esac
case "${1:-}" in
  build) cmd_build ;;
  bins) build_bins ;;
  import) cmd_import ;;
  list) cmd_list ;;
  bundle) shift; cmd_bundle "$@" ;;
  import-bundle) shift; cmd_import_bundle "$@" ;;
  import-bundle-script) bundle_import_script ;;
  *) echo "usage: $0 build|import|list|bins|bundle [OUT]|import-bundle BUNDLE [IMAGE...]|import-bundle-script" >&2; exit 2 ;;
esac
