package clusterobjects

import (
	"context"
	"fmt"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/kubeadmin/kubeadmin/internal/constants"
)

// groupSubject is an RBAC subject for a group.
func groupSubject(name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.GroupKind, Name: name}
}

// userSubject is an RBAC subject for a user.
func userSubject(name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.UserKind, Name: name}
}

// getResourceRole is a Role allowing get on the named objects of one
// resource in the core API group.
func getResourceRole(namespace, name, resource string, resourceNames ...string) *rbacv1.Role {
	return &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Rules: []rbacv1.PolicyRule{{
			Verbs:         []string{"get"},
			APIGroups:     []string{""},
			Resources:     []string{resource},
			ResourceNames: resourceNames,
		}},
	}
}

// roleBinding binds the Role of the same name to subjects.
func roleBinding(namespace, name string, subjects ...rbacv1.Subject) *rbacv1.RoleBinding {
	return &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name},
		Subjects:   subjects,
	}
}

// clusterRoleBinding binds ClusterRole role to subjects under name.
func clusterRoleBinding(name, role string, subjects ...rbacv1.Subject) *rbacv1.ClusterRoleBinding {
	return &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
		Subjects:   subjects,
	}
}

// AdminClusterRoleBinding is the ClusterRoleBinding kubeadm:cluster-admins
// that gives admin.conf's group cluster-admin.
func AdminClusterRoleBinding() *rbacv1.ClusterRoleBinding {
	return clusterRoleBinding(constants.ClusterAdminsGroupAndCRB, constants.ClusterAdminClusterRole,
		groupSubject(constants.ClusterAdminsGroupAndCRB))
}

// EnsureAdminClusterRoleBinding makes sure the kubeadm:cluster-admins
// ClusterRoleBinding exists, as kubeadm does on the first API use of init.
// It first creates it with adminClient, retrying until the API server
// answers: success or AlreadyExists means admin.conf already works, and
// adminClient is returned. Forbidden means the binding is missing and
// admin.conf cannot create it, so superAdminClientFn (super-admin.conf,
// which is in system:masters) is called and used to create it. A nil
// superAdminClientFn, or one returning a nil client, is an error then.
func EnsureAdminClusterRoleBinding(adminClient kubernetes.Interface, superAdminClientFn func() (kubernetes.Interface, error), timeout time.Duration) (kubernetes.Interface, error) {
	crb := AdminClusterRoleBinding()
	exists, err := tryCreateAdminCRB(adminClient, crb, timeout)
	if err != nil {
		return nil, err
	}
	if exists {
		return adminClient, nil
	}
	var superAdmin kubernetes.Interface
	if superAdminClientFn != nil {
		if superAdmin, err = superAdminClientFn(); err != nil {
			return nil, fmt.Errorf("failed to create a client from %s: %w", constants.SuperAdminKubeConfigFile, err)
		}
	}
	if superAdmin == nil {
		return nil, fmt.Errorf("the ClusterRoleBinding for the %s Group is missing but there is no %s to create it",
			constants.ClusterAdminsGroupAndCRB, constants.SuperAdminKubeConfigFile)
	}
	if err := createAdminCRBAsSuperAdmin(superAdmin, crb, timeout); err != nil {
		return nil, err
	}
	return adminClient, nil
}

// tryCreateAdminCRB creates crb with the admin client. It reports true when
// the binding exists afterwards, false when admin.conf is Forbidden.
func tryCreateAdminCRB(client kubernetes.Interface, crb *rbacv1.ClusterRoleBinding, timeout time.Duration) (bool, error) {
	var exists bool
	var lastErr error
	err := wait.PollUntilContextTimeout(context.Background(), retryInterval, timeout, true,
		func(ctx context.Context) (bool, error) {
			_, err := client.RbacV1().ClusterRoleBindings().Create(ctx, crb, metav1.CreateOptions{})
			switch {
			case err == nil || apierrors.IsAlreadyExists(err):
				exists = true
				return true, nil
			case apierrors.IsForbidden(err):
				return true, nil
			default:
				if lastErr == nil || !isContextError(err) {
					lastErr = err
				}
				return false, nil
			}
		})
	if err != nil {
		if lastErr == nil {
			lastErr = err
		}
		return false, fmt.Errorf("failed to create ClusterRoleBinding %q: %w", crb.Name, lastErr)
	}
	return exists, nil
}

func createAdminCRBAsSuperAdmin(client kubernetes.Interface, crb *rbacv1.ClusterRoleBinding, timeout time.Duration) error {
	var lastErr error
	err := wait.PollUntilContextTimeout(context.Background(), retryInterval, timeout, true,
		func(ctx context.Context) (bool, error) {
			_, err := client.RbacV1().ClusterRoleBindings().Create(ctx, crb, metav1.CreateOptions{})
			if err == nil || apierrors.IsAlreadyExists(err) {
				return true, nil
			}
			if lastErr == nil || !isContextError(err) {
				lastErr = err
			}
			return false, nil
		})
	if err != nil {
		if lastErr == nil {
			lastErr = err
		}
		return fmt.Errorf("unable to create the %s ClusterRoleBinding by using %s: %w",
			constants.ClusterAdminsGroupAndCRB, constants.SuperAdminKubeConfigFile, lastErr)
	}
	return nil
}
