//go:build deps

// Package deps pins the product's dependencies while packages are being
// written in parallel; it is never built.
package deps

import (
	_ "github.com/fsnotify/fsnotify"
	_ "github.com/spf13/cobra"
	_ "github.com/spf13/pflag"
	_ "golang.org/x/crypto/ssh"
	_ "google.golang.org/grpc"
	_ "google.golang.org/grpc/health/grpc_health_v1"
	_ "k8s.io/api/apps/v1"
	_ "k8s.io/api/coordination/v1"
	_ "k8s.io/api/core/v1"
	_ "k8s.io/api/rbac/v1"
	_ "k8s.io/apimachinery/pkg/apis/meta/v1"
	_ "k8s.io/apimachinery/pkg/util/strategicpatch"
	_ "k8s.io/apimachinery/pkg/util/validation"
	_ "k8s.io/apimachinery/pkg/util/version"
	_ "k8s.io/client-go/kubernetes"
	_ "k8s.io/client-go/kubernetes/fake"
	_ "k8s.io/client-go/tools/clientcmd"
	_ "k8s.io/client-go/tools/remotecommand"
	_ "k8s.io/client-go/util/cert"
	_ "k8s.io/client-go/util/certificate"
	_ "k8s.io/client-go/util/certificate/csr"
	_ "k8s.io/client-go/util/keyutil"
	_ "k8s.io/cluster-bootstrap/token/api"
	_ "k8s.io/cluster-bootstrap/token/jws"
	_ "k8s.io/cluster-bootstrap/token/util"
	_ "k8s.io/cluster-bootstrap/util/secrets"
	_ "k8s.io/cri-api/pkg/apis/runtime/v1"
	_ "k8s.io/cri-api/pkg/apis/testing"
	_ "k8s.io/cri-client/pkg"
	_ "k8s.io/klog/v2"
	_ "k8s.io/kube-proxy/config/v1alpha1"
	_ "k8s.io/kubelet/config/v1beta1"
	_ "k8s.io/utils/ptr"
	_ "sigs.k8s.io/yaml"
)
