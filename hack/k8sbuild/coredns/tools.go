//go:build tools

// Package coredns is a build-only module: it pins github.com/coredns/coredns
// so hack/images.sh can build the CoreDNS binary for the
// registry.k8s.io/coredns/coredns image. Nothing here is imported by kubeadmin.
package coredns

import _ "github.com/coredns/coredns"
