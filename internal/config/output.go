package config

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeadmin/kubeadmin/internal/constants"
)

// KindBootstrapTokenOutput is the kind of one `token list -o json|yaml`
// object.
const KindBootstrapTokenOutput = "BootstrapToken"

// BootstrapTokenOutput is kubeadm's output.kubeadm.k8s.io/v1alpha3
// BootstrapToken: the token's fields inline after kind and apiVersion.
type BootstrapTokenOutput struct {
	metav1.TypeMeta `json:""`
	BootstrapToken
}

// NewBootstrapTokenOutput wraps t with the output API's kind and version.
func NewBootstrapTokenOutput(t BootstrapToken) *BootstrapTokenOutput {
	return &BootstrapTokenOutput{
		// The output API version is shared by every kubeadm output kind.
		TypeMeta:       metav1.TypeMeta{Kind: KindBootstrapTokenOutput, APIVersion: constants.ImagesOutputAPIVersion},
		BootstrapToken: t,
	}
}
