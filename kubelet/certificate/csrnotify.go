package certificate

import (
	"context"

	certificatesv1 "k8s.io/api/certificates/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	certsv1client "k8s.io/client-go/kubernetes/typed/certificates/v1"
)

// The certificate manager names its CSRs itself (generateName) and logs
// them only verbosely; these wrappers tell the agent each CSR it creates,
// so that the log can name the CSR to approve.

type csrNotifier struct {
	kubernetes.Interface
	created func(*certificatesv1.CertificateSigningRequest)
}

func (c csrNotifier) CertificatesV1() certsv1client.CertificatesV1Interface {
	return csrNotifierV1{c.Interface.CertificatesV1(), c.created}
}

type csrNotifierV1 struct {
	certsv1client.CertificatesV1Interface
	created func(*certificatesv1.CertificateSigningRequest)
}

func (c csrNotifierV1) CertificateSigningRequests() certsv1client.CertificateSigningRequestInterface {
	return csrNotifierCSRs{c.CertificatesV1Interface.CertificateSigningRequests(), c.created}
}

type csrNotifierCSRs struct {
	certsv1client.CertificateSigningRequestInterface
	created func(*certificatesv1.CertificateSigningRequest)
}

func (c csrNotifierCSRs) Create(ctx context.Context, req *certificatesv1.CertificateSigningRequest, opts metav1.CreateOptions) (*certificatesv1.CertificateSigningRequest, error) {
	got, err := c.CertificateSigningRequestInterface.Create(ctx, req, opts)
	if err == nil {
		c.created(got)
	}
	return got, err
}

// notifyCSRs wraps client so that created sees each CSR created with it.
func notifyCSRs(client kubernetes.Interface, err error, created func(*certificatesv1.CertificateSigningRequest)) (kubernetes.Interface, error) {
	if err != nil {
		return nil, err
	}
	return csrNotifier{client, created}, nil
}

// IsWatchListSemanticsUnSupported passes on what the wrapped client says
// about streamed lists (client-go's fake cannot), as WaitForCertificate
// asks the client it is given.
func (c csrNotifier) IsWatchListSemanticsUnSupported() bool {
	u, ok := c.Interface.(interface{ IsWatchListSemanticsUnSupported() bool })
	return ok && u.IsWatchListSemanticsUnSupported()
}
