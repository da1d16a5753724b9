# import-bundle.sh imports an image bundle (hack/images.sh bundle) into
# containerd's k8s.io namespace, the CRI's. POSIX sh, run as root:
#   sh -s BUNDLE [SOCKET [IMAGE...]] <import-bundle.sh
# With IMAGE arguments (references as manifest.txt lists them) only those are
# imported. With UNPACK=0 in the environment the images are imported without
# unpacking them (containerd's CRI unpacks an image when a container first
# uses it). An image that already carries the label
# kubeadmin.bundle.sha256=<SHA-256 of its tarball> is skipped; any other has
# its tarball's SHA-256 checked, is streamed from the bundle (nothing is
# unpacked to disk) and is labelled. Needs tar, awk, ctr and sha256sum or
# openssl (preferred: much faster where the CPU has SHA instructions; the
# same function as fleet/remote's SHA256Func).
# The single source of this script: hack/images.sh and kubeadmin fleet both
# use this file.
set -eu
sha256hex() { if command -v openssl >/dev/null 2>&1; then openssl dgst -sha256 -r "$@"; else sha256sum "$@"; fi | cut -d' ' -f1; }
b="$1"; a="${2:-/run/containerd/containerd.sock}"
shift; [ $# -gt 0 ] && shift
m="$(tar -xOf "$b" manifest.txt)" || { echo "error: $b is not an image bundle (no manifest.txt)" >&2; exit 1; }
for r in "$@"; do
  printf '%s\n' "$m" | awk -v r="$r" '$1 == r { f = 1 } END { exit !f }' ||
    { echo "error: $r is not in $b; its manifest.txt lists: $(printf '%s\n' "$m" | awk '{ printf "%s ", $1 }')" >&2; exit 1; }
done
printf '%s\n' "$m" | while read -r ref sum file id; do
  if [ $# -gt 0 ]; then
    want=
    for r in "$@"; do [ "$r" = "$ref" ] && want=1; done
    [ -n "$want" ] || continue
  fi
  if ctr -a "$a" -n k8s.io images ls "name==$ref" | grep -q "kubeadmin.bundle.sha256=$sum"; then
    echo "present $ref"; continue
  fi
  got="$(tar -xOf "$b" "$file" | sha256hex)"
  [ "$got" = "$sum" ] || { echo "error: $file in $b has SHA-256 $got, its manifest says $sum" >&2; exit 1; }
  u=; [ "${UNPACK:-1}" = 0 ] && u=--no-unpack
  tar -xOf "$b" "$file" | ctr -a "$a" -n k8s.io images import $u - >/dev/null
  ctr -a "$a" -n k8s.io images label "$ref" "kubeadmin.bundle.sha256=$sum" >/dev/null
  echo "imported $ref ($id)"
done
