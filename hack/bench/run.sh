#!/usr/bin/env bash
# Runs every benchmark and prints its numbers (make bench).
set -euo pipefail
cd "$(dirname "$0")/../.."
echo "== Go benchmarks"
go test -run XXX -bench . -benchtime 5x ./certs/ ./kubelet/... 2>&1 | grep -E '^(Benchmark|ok|PASS|FAIL)'
echo "== certs + kubeconfig, kubeadmin vs upstream kubeadm"
hack/bench/certs.sh 5
for b in hack/bench/kubelet.sh hack/bench/init.sh hack/bench/pods.sh; do
  if [ -x "$b" ]; then echo "== $b"; "$b"; fi
done
