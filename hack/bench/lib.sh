#!/usr/bin/env bash
# Shared by the benchmarks: upstream kubeadm init with the upstream kubelet
# in a test node. Source it; it uses $cache (the upstream binaries).

# upstream_init NODE IP [POD_SUBNET SERVICE_SUBNET]: runs upstream `kubeadm
# init` v1.37.2 in NODE (advertising IP), with the upstream kubelet as a
# plain process (no systemd), started as soon as kubeadm's kubelet-start
# wrote its files, like systemd's restart would. With the subnets,
# ClusterConfiguration sets them (controller-manager then allocates pod
# CIDRs).
upstream_init() {
  local node="$1" ip="$2" networking=""
  if (($# == 4)); then
    networking="networking:
  podSubnet: $3
  serviceSubnet: $4"
  fi
  hack/nodes exec "$node" -- sh -c '
    cat > /tmp/kubeadm.yaml <<CFG
apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
localAPIEndpoint:
  advertiseAddress: "'"$ip"'"
nodeRegistration:
  kubeletExtraArgs:
  - {name: node-ip, value: "'"$ip"'"}
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: v1.37.2
'"$networking"'
---
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: cgroupfs
cgroupRoot: /kubeadmin-'"$node"'
failSwapOn: false
failCgroupV1: false
CFG
    '"$(upstream_kubelet_snippet "$node")"'
    PATH='"$cache"':$PATH kubeadm init --config /tmp/kubeadm.yaml \
      --ignore-preflight-errors=SystemVerification,Service-Kubelet,FileExisting-crictl,KubeletVersion,Swap
  '
}

# upstream_kubelet_snippet NODE: shell code, run inside NODE, that makes the
# node's cgroup root and starts the upstream kubelet as a plain process (no
# systemd) in the background, as soon as kubeadm's kubelet-start wrote its
# files, like systemd's restart would.
upstream_kubelet_snippet() {
  cat <<SH
for c in /sys/fs/cgroup/*/; do mkdir -p "\$c/kubeadmin-$1" 2>/dev/null || true; done
(while [ ! -s /var/lib/kubelet/config.yaml ] || [ ! -s /var/lib/kubelet/kubeadm-flags.env ]; do sleep 0.02; done
 . /var/lib/kubelet/kubeadm-flags.env
 exec $cache/kubelet --config=/var/lib/kubelet/config.yaml --kubeconfig=/etc/kubernetes/kubelet.conf \
   --bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf \$KUBELET_KUBEADM_ARGS \
   >/var/log/kubeadmin/upstream-kubelet.log 2>&1) </dev/null >/dev/null 2>&1 &
SH
}

# build_render DIR: builds DIR/render from the agent's own Go code:
#   render conflist POD_CIDR               the built-in network's conflist
#   render masq POD_CIDR [CLUSTER_CIDR...]  its masquerade rules (iptables-restore input)
build_render() {
  mkdir -p "$1"
  cat >"$1/main.go" <<'EOF'
package main

import (
	"os"

	"github.com/kubeadmin/kubeadmin/kubelet/network"
)

func main() {
	var b []byte
	var err error
	switch os.Args[1] {
	case "conflist":
		b, err = network.Render(os.Args[2])
	case "masq":
		b = network.MasqueradeRules(os.Args[2], os.Args[3:])
	}
	if err != nil {
		panic(err)
	}
	os.Stdout.Write(b)
}
EOF
  go build -o "$1/render" "$1/main.go"
}
