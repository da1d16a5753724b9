package clusterobjects

import (
	"context"
	"fmt"
	"io"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/kubeadmin/kubeadmin/internal/constants"
)

// shortGetTimeout bounds the reads of the component configs. kubeadm's
// GetConfigMapWithShortRetry gives up after 350 ms; an API server busy with
// several joins at once answers slower than that, so this waits up to 10 s
// (still every 50 ms). A missing ConfigMap is not retried.
const (
	shortGetInterval = 50 * time.Millisecond
	shortGetTimeout  = 10 * time.Second
)

// ClusterConfigDocuments are the configuration documents kubeadm keeps in
// the cluster, undecoded: decoding is package config's job.
type ClusterConfigDocuments struct {
	// ClusterConfiguration is the kubeadm-config ClusterConfiguration YAML.
	ClusterConfiguration []byte
	// Kubelet is the kubelet-config KubeletConfiguration YAML.
	Kubelet []byte
	// KubeletGenerated is true when the hash annotation matches, i.e. the
	// document is kubeadm's default rather than user supplied.
	KubeletGenerated bool
	// KubeProxy is the kube-proxy ConfigMap's config.conf, nil when that
	// ConfigMap is missing or forbidden (kube-proxy disabled).
	KubeProxy          []byte
	KubeProxyGenerated bool
}

// FetchClusterConfig reads kubeadm-config (retrying until timeout),
// kubelet-config and kube-proxy, printing kubeadm's two lines
// "[<logPrefix>] Reading configuration from the ..." first, as join and
// upgrade do.
func FetchClusterConfig(client kubernetes.Interface, timeout time.Duration, logPrefix string, out io.Writer) (*ClusterConfigDocuments, error) {
	fmt.Fprintf(out, "[%s] Reading configuration from the %q ConfigMap in namespace %q...\n",
		logPrefix, constants.KubeadmConfigConfigMap, metav1.NamespaceSystem)
	fmt.Fprintf(out, "[%s] Use 'kubeadmin init phase upload-config kubeadm --config your-config-file' to re-upload it.\n", logPrefix)
	cm, err := getConfigMap(client, constants.KubeadmConfigConfigMap, retryInterval, timeout, nil)
	if err != nil {
		return nil, fmt.Errorf("failed to get config map: %w", err)
	}
	docs := &ClusterConfigDocuments{}
	if docs.ClusterConfiguration, err = configMapKey(cm, constants.ClusterConfigurationConfigMapKey); err != nil {
		return nil, err
	}
	kubelet, err := getConfigMap(client, constants.KubeletBaseConfigurationConfigMap, shortGetInterval, shortGetTimeout, answered)
	if err != nil {
		return nil, fmt.Errorf("failed to get component configs: %w", err)
	}
	if docs.Kubelet, err = configMapKey(kubelet, constants.KubeletBaseConfigurationConfigMapKey); err != nil {
		return nil, err
	}
	docs.KubeletGenerated = hasValidHash(kubelet)
	proxy, err := getConfigMap(client, constants.KubeProxyConfigMap, shortGetInterval, shortGetTimeout, answered)
	switch {
	case apierrors.IsNotFound(err) || apierrors.IsForbidden(err):
		return docs, nil
	case err != nil:
		return nil, fmt.Errorf("failed to get component configs: %w", err)
	}
	if docs.KubeProxy, err = configMapKey(proxy, constants.KubeProxyConfigMapKey); err != nil {
		return nil, err
	}
	docs.KubeProxyGenerated = hasValidHash(proxy)
	return docs, nil
}

// answered reports an error that is the API server's answer (the object
// is not there, or may not be read): asking again changes nothing.
func answered(err error) bool { return apierrors.IsNotFound(err) || apierrors.IsForbidden(err) }

// getConfigMap reads kube-system/<name>, retrying errors until timeout
// (except those final says are final); it returns the last error.
func getConfigMap(client kubernetes.Interface, name string, interval, timeout time.Duration, final func(error) bool) (*corev1.ConfigMap, error) {
	var cm *corev1.ConfigMap
	var lastErr error
	err := wait.PollUntilContextTimeout(context.Background(), interval, timeout, true, func(ctx context.Context) (bool, error) {
		var err error
		cm, err = client.CoreV1().ConfigMaps(metav1.NamespaceSystem).Get(ctx, name, metav1.GetOptions{})
		if err != nil && (lastErr == nil || !isContextError(err)) {
			lastErr = err
		}
		if err != nil && final != nil && final(err) {
			return false, err
		}
		return err == nil, nil
	})
	if err != nil {
		if lastErr == nil {
			lastErr = err
		}
		return nil, lastErr
	}
	return cm, nil
}

func configMapKey(cm *corev1.ConfigMap, key string) ([]byte, error) {
	v, ok := cm.Data[key]
	if !ok {
		return nil, fmt.Errorf("unexpected error when reading %s ConfigMap: %s key value pair missing", cm.Name, key)
	}
	return []byte(v), nil
}

// hasValidHash reports whether cm carries a component-config hash that
// matches its data.
func hasValidHash(cm *corev1.ConfigMap) bool {
	h, ok := cm.Annotations[constants.ComponentConfigHashAnnotationKey]
	return ok && h == ConfigMapHash(cm)
}

// APIEndpointFromPodAnnotation returns the "<address>:<port>" that the
// kube-apiserver mirror pod of nodeName announces in its
// kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint
// annotation, retrying until timeout (the mirror pod may not exist yet).
func APIEndpointFromPodAnnotation(client kubernetes.Interface, nodeName string, timeout time.Duration) (string, error) {
	var endpoint string
	var lastErr error
	err := wait.PollUntilContextTimeout(context.Background(), retryInterval, timeout, true, func(ctx context.Context) (bool, error) {
		var err error
		endpoint, err = apiEndpointFromPodAnnotationOnce(ctx, client, nodeName)
		if err != nil && (lastErr == nil || !isContextError(err)) {
			lastErr = err
		}
		return err == nil, nil
	})
	if err != nil {
		if lastErr == nil {
			lastErr = err
		}
		return "", fmt.Errorf("could not retrieve API endpoints for node %q using pod annotations: %w", nodeName, lastErr)
	}
	return endpoint, nil
}

func apiEndpointFromPodAnnotationOnce(ctx context.Context, client kubernetes.Interface, nodeName string) (string, error) {
	pods, err := client.CoreV1().Pods(metav1.NamespaceSystem).List(ctx, metav1.ListOptions{
		FieldSelector: "spec.nodeName=" + nodeName,
		LabelSelector: "component=" + constants.KubeAPIServer + ",tier=control-plane",
	})
	if err != nil {
		return "", fmt.Errorf("could not retrieve list of pods to determine api server endpoints: %w", err)
	}
	if len(pods.Items) != 1 {
		return "", fmt.Errorf("API server pod for node name %q has %d entries, only one was expected", nodeName, len(pods.Items))
	}
	ep, ok := pods.Items[0].Annotations[constants.KubeAPIServerAdvertiseAddressEndpointAnno]
	if !ok {
		return "", fmt.Errorf("API server pod for node name %q hasn't got a %q annotation, cannot retrieve API endpoint",
			nodeName, constants.KubeAPIServerAdvertiseAddressEndpointAnno)
	}
	return ep, nil
}
