package clusterobjects

import (
	"context"
	"errors"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/kubeadmin/kubeadmin/internal/config"
	"github.com/kubeadmin/kubeadmin/internal/constants"
)

// retryInterval is how often a failed API call is retried. Tests shorten it.
var retryInterval = constants.APICallRetryInterval

// APICallTimeout returns the kubernetesAPICall timeout of t, or kubeadm's
// default (1m) when t or the field is unset.
func APICallTimeout(t *config.Timeouts) time.Duration {
	if t == nil || t.KubernetesAPICall == nil || t.KubernetesAPICall.Duration <= 0 {
		return constants.KubernetesAPICallTimeout
	}
	return t.KubernetesAPICall.Duration
}

// initTimeout is the API call timeout of an init configuration.
func initTimeout(cfg *config.InitConfig) time.Duration {
	return APICallTimeout(cfg.Init.Timeouts)
}

// kubeObject is a typed API object such as *corev1.ConfigMap.
type kubeObject interface {
	runtime.Object
	metav1.Object
}

// objectClient is the part of a typed client-go client that create-or-update
// needs; every typed client (ConfigMaps(ns), ClusterRoles(), ...) has it.
type objectClient[T kubeObject] interface {
	Create(ctx context.Context, obj T, opts metav1.CreateOptions) (T, error)
	Get(ctx context.Context, name string, opts metav1.GetOptions) (T, error)
	Update(ctx context.Context, obj T, opts metav1.UpdateOptions) (T, error)
}

// onExisting decides what to write when the object already exists: it gets
// the desired and the existing object and returns the object to update, or
// false to keep the existing one unchanged.
type onExisting[T kubeObject] func(desired, existing T) (T, bool)

// replace writes the desired object over the existing one, carrying over
// the resourceVersion so that the update is valid for every kind (Services
// refuse an update without one).
func replace[T kubeObject](desired, existing T) (T, bool) {
	upd := desired.DeepCopyObject().(T)
	upd.SetResourceVersion(existing.GetResourceVersion())
	return upd, true
}

// retain keeps an existing object as it is.
func retain[T kubeObject](_, existing T) (T, bool) {
	return existing, false
}

// applyOptions tune createOr.
type applyOptions[T kubeObject] struct {
	kind       string
	timeout    time.Duration
	onExisting onExisting[T]
	// existsErr reports whether a Create error means "already there";
	// nil means apierrors.IsAlreadyExists.
	existsErr func(error) bool
}

// createOr creates obj and, if it exists, applies o.onExisting, retrying
// any failure every retryInterval until o.timeout.
func createOr[T kubeObject](c objectClient[T], obj T, o applyOptions[T]) error {
	if o.existsErr == nil {
		o.existsErr = apierrors.IsAlreadyExists
	}
	var lastErr error
	err := wait.PollUntilContextTimeout(context.Background(), retryInterval, o.timeout, true,
		func(ctx context.Context) (bool, error) {
			err := createOrOnce(ctx, c, obj, o)
			if err != nil && (lastErr == nil || !isContextError(err)) {
				lastErr = err
			}
			return err == nil, nil
		})
	if err == nil {
		return nil
	}
	if lastErr == nil {
		lastErr = err
	}
	return fmt.Errorf("failed to create or update %s %q: %w", o.kind, objectRef(obj), lastErr)
}

func createOrOnce[T kubeObject](ctx context.Context, c objectClient[T], obj T, o applyOptions[T]) error {
	_, err := c.Create(ctx, obj, metav1.CreateOptions{})
	if err == nil {
		return nil
	}
	if !o.existsErr(err) {
		return fmt.Errorf("create: %w", err)
	}
	existing, err := c.Get(ctx, obj.GetName(), metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("get existing: %w", err)
	}
	upd, write := o.onExisting(obj, existing)
	if !write {
		return nil
	}
	if _, err := c.Update(ctx, upd, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("update: %w", err)
	}
	return nil
}

func isContextError(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}

// objectRef is "namespace/name", or "name" for cluster-scoped objects.
func objectRef(obj metav1.Object) string {
	if obj.GetNamespace() == "" {
		return obj.GetName()
	}
	return obj.GetNamespace() + "/" + obj.GetName()
}

func createOrUpdate[T kubeObject](c objectClient[T], obj T, kind string, timeout time.Duration) error {
	return createOr(c, obj, applyOptions[T]{kind: kind, timeout: timeout, onExisting: replace[T]})
}

// CreateOrUpdateConfigMap creates cm or, if it exists, replaces it.
func CreateOrUpdateConfigMap(client kubernetes.Interface, cm *corev1.ConfigMap, timeout time.Duration) error {
	return createOrUpdate(client.CoreV1().ConfigMaps(cm.Namespace), cm, "ConfigMap", timeout)
}

// CreateOrUpdateSecret creates s or, if it exists, replaces it.
func CreateOrUpdateSecret(client kubernetes.Interface, s *corev1.Secret, timeout time.Duration) error {
	return createOrUpdate(client.CoreV1().Secrets(s.Namespace), s, "Secret", timeout)
}

// CreateOrUpdateServiceAccount creates sa or, if it exists, replaces it.
func CreateOrUpdateServiceAccount(client kubernetes.Interface, sa *corev1.ServiceAccount, timeout time.Duration) error {
	return createOrUpdate(client.CoreV1().ServiceAccounts(sa.Namespace), sa, "ServiceAccount", timeout)
}

// CreateOrUpdateService creates svc or replaces it. As kubeadm does for the
// kube-dns Service, an Invalid error on create (the cluster IP is already
// allocated to the existing Service) also leads to an update.
func CreateOrUpdateService(client kubernetes.Interface, svc *corev1.Service, timeout time.Duration) error {
	return createOr(client.CoreV1().Services(svc.Namespace), svc, applyOptions[*corev1.Service]{
		kind: "Service", timeout: timeout, onExisting: replace[*corev1.Service],
		existsErr: func(err error) bool { return apierrors.IsAlreadyExists(err) || apierrors.IsInvalid(err) },
	})
}

// CreateOrUpdateRole creates r or, if it exists, replaces it.
func CreateOrUpdateRole(client kubernetes.Interface, r *rbacv1.Role, timeout time.Duration) error {
	return createOrUpdate(client.RbacV1().Roles(r.Namespace), r, "Role", timeout)
}

// CreateOrUpdateRoleBinding creates rb or, if it exists, replaces it.
func CreateOrUpdateRoleBinding(client kubernetes.Interface, rb *rbacv1.RoleBinding, timeout time.Duration) error {
	return createOrUpdate(client.RbacV1().RoleBindings(rb.Namespace), rb, "RoleBinding", timeout)
}

// CreateOrUpdateClusterRole creates cr or, if it exists, replaces it.
func CreateOrUpdateClusterRole(client kubernetes.Interface, cr *rbacv1.ClusterRole, timeout time.Duration) error {
	return createOrUpdate(client.RbacV1().ClusterRoles(), cr, "ClusterRole", timeout)
}

// CreateOrUpdateClusterRoleBinding creates crb or, if it exists, replaces it.
func CreateOrUpdateClusterRoleBinding(client kubernetes.Interface, crb *rbacv1.ClusterRoleBinding, timeout time.Duration) error {
	return createOrUpdate(client.RbacV1().ClusterRoleBindings(), crb, "ClusterRoleBinding", timeout)
}

// CreateOrUpdateDeployment creates d or, if it exists, replaces it.
func CreateOrUpdateDeployment(client kubernetes.Interface, d *appsv1.Deployment, timeout time.Duration) error {
	return createOrUpdate(client.AppsV1().Deployments(d.Namespace), d, "Deployment", timeout)
}

// CreateOrUpdateDaemonSet creates ds or, if it exists, replaces it.
func CreateOrUpdateDaemonSet(client kubernetes.Interface, ds *appsv1.DaemonSet, timeout time.Duration) error {
	return createOrUpdate(client.AppsV1().DaemonSets(ds.Namespace), ds, "DaemonSet", timeout)
}

// CreateOrUpdateObject dispatches to the typed helper for obj's kind. It
// accepts every kind this package creates.
func CreateOrUpdateObject(client kubernetes.Interface, obj runtime.Object, timeout time.Duration) error {
	switch o := obj.(type) {
	case *corev1.ConfigMap:
		return CreateOrUpdateConfigMap(client, o, timeout)
	case *corev1.Secret:
		return CreateOrUpdateSecret(client, o, timeout)
	case *corev1.ServiceAccount:
		return CreateOrUpdateServiceAccount(client, o, timeout)
	case *corev1.Service:
		return CreateOrUpdateService(client, o, timeout)
	case *rbacv1.Role:
		return CreateOrUpdateRole(client, o, timeout)
	case *rbacv1.RoleBinding:
		return CreateOrUpdateRoleBinding(client, o, timeout)
	case *rbacv1.ClusterRole:
		return CreateOrUpdateClusterRole(client, o, timeout)
	case *rbacv1.ClusterRoleBinding:
		return CreateOrUpdateClusterRoleBinding(client, o, timeout)
	case *appsv1.Deployment:
		return CreateOrUpdateDeployment(client, o, timeout)
	case *appsv1.DaemonSet:
		return CreateOrUpdateDaemonSet(client, o, timeout)
	default:
		return fmt.Errorf("failed to create or update an object of type %T: unsupported kind", obj)
	}
}

// createOrUpdateAll applies objs in order and stops at the first error.
func createOrUpdateAll(client kubernetes.Interface, timeout time.Duration, objs ...runtime.Object) error {
	for _, o := range objs {
		if err := CreateOrUpdateObject(client, o, timeout); err != nil {
			return err
		}
	}
	return nil
}
