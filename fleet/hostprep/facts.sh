# facts.sh prints what kubeadmin fleet needs to know about a host, one
# key=value a line; facts.go parses it and sets these variables first:
# R (a root prefix: empty on a host, a fake root in tests), KUBEADMIN,
# SOCK, CNI_DIR, CNI_PLUGINS, COMMANDS, FILES, MANIFESTS, IP_FORWARD,
# VERSION_TIMEOUT, and defines sha256hex (remote.SHA256Func). No check may
# end the script: a missing piece is a fact.
f="$R/etc/os-release"; [ -f "$f" ] || f="$R/usr/lib/os-release"
[ -f "$f" ] && sed -n -e 's/^ID=/os_id=/p' -e 's/^VERSION_ID=/os_version=/p' -e 's/^ID_LIKE=/os_like=/p' "$f"
echo "arch=$(uname -m)"
echo "hostname=$(uname -n)"
[ -d "$R/run/systemd/system" ] && echo "systemd=1"
for c in $COMMANDS; do command -v "$c" >/dev/null 2>&1 && echo "command=$c"; done
for p in $CNI_PLUGINS; do [ -x "$R$CNI_DIR/$p" ] && echo "cni=$p"; done
if command -v containerd >/dev/null 2>&1; then
  echo "containerd_version=$(containerd --version 2>/dev/null | head -n 1)"
  [ -d "$R/run/systemd/system" ] && systemctl is-enabled --quiet containerd 2>/dev/null && echo "containerd_enabled=1"
fi
if [ -S "$R$SOCK" ] && ctr -a "$R$SOCK" --connect-timeout 1s version >/dev/null 2>&1; then
  echo "containerd_running=1"
  ctr -a "$R$SOCK" --connect-timeout 1s -n k8s.io images ls 2>/dev/null | sed -n '2,$s/^/image=/p'
fi
if [ -f "$R$KUBEADMIN" ]; then
  s="$(sha256hex "$R$KUBEADMIN")" && [ -n "$s" ] && echo "kubeadmin_sha256=$s"
  t=; command -v timeout >/dev/null 2>&1 && t="timeout $VERSION_TIMEOUT"
  v="$($t "$R$KUBEADMIN" version -o short 2>/dev/null)" && echo "kubeadmin_version=$v"
fi
for p in $FILES; do [ -e "$R$p" ] && echo "file=$p"; done
for p in "$R$MANIFESTS"/*.yaml; do [ -f "$p" ] && echo "file=${p#"$R"}"; done
echo "ip_forward=$(cat "$R$IP_FORWARD" 2>/dev/null)"
echo "end=1"
