//go:build tools

// Package metricsserver is a build-only module: it pins
// sigs.k8s.io/metrics-server so hack/images.sh can build the metrics-server
// binary for the registry.k8s.io/metrics-server/metrics-server image (an
// add-on, see hack/addons/metrics-server.yaml). Nothing here is imported by
// kubeadmin.
package metricsserver

import _ "sigs.k8s.io/metrics-server/cmd/metrics-server"
