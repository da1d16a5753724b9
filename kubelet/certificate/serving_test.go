package certificate

import (
	"context"
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	certificatesv1 "k8s.io/api/certificates/v1"

	"github.com/kubeadmin/kubeadmin/internal/testutil"
)

func servingOptions(n *node, s *signer) ServingOptions {
	return ServingOptions{NodeName: "node1", Hostname: "host1", NodeIPs: []string{"10.0.0.5"}, CertDir: n.pki, Client: s.client}
}

func TestServingCertificate(t *testing.T) {
	fastChecks(t)
	n := newNode(t)
	s := newSigner(t, n.ca)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	logger, logs := newLogger()
	o := servingOptions(n, s)
	o.Logger = logger
	m, err := StartServing(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	get := GetCertificate(m)
	var c *tls.Certificate
	testutil.Eventually(t, "a serving certificate", func() bool {
		c, err = get(&tls.ClientHelloInfo{})
		return err == nil
	})
	leaf := c.Leaf
	if leaf.Subject.CommonName != "system:node:node1" || !reflect.DeepEqual(leaf.DNSNames, []string{"node1", "host1"}) ||
		len(leaf.IPAddresses) != 1 || !leaf.IPAddresses[0].Equal(net.ParseIP("10.0.0.5")) {
		t.Errorf("certificate for %v %v %v", leaf.Subject, leaf.DNSNames, leaf.IPAddresses)
	}
	req := s.requests()[0]
	if req.Spec.SignerName != certificatesv1.KubeletServingSignerName {
		t.Errorf("signer %q", req.Spec.SignerName)
	}
	if want := []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageServerAuth}; !reflect.DeepEqual(req.Spec.Usages, want) {
		t.Errorf("usages %v, want %v", req.Spec.Usages, want)
	}
	if _, err := os.Stat(filepath.Join(n.pki, "kubelet-server-current.pem")); err != nil {
		t.Error(err)
	}
	testutil.Eventually(t, "the issue logged", func() bool { return strings.Contains(logs.String(), "serving certificate issued") })
}

func TestServingCertificateAwaitingApproval(t *testing.T) {
	n := newNode(t)
	s := newSigner(t, n.ca)
	s.approve.Store(false)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	logger, logs := newLogger()
	o := servingOptions(n, s)
	o.Logger = logger
	m, err := StartServing(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, "a serving CSR", func() bool { return len(s.requests()) == 1 })
	want := "kubectl certificate approve " + s.requests()[0].Name
	testutil.Eventually(t, "the log to name the CSR to approve", func() bool { return strings.Contains(logs.String(), want) })
	if _, err := GetCertificate(m)(&tls.ClientHelloInfo{}); err == nil || !strings.Contains(err.Error(), "kubectl certificate approve") {
		t.Errorf("handshake without a certificate: %v", err)
	}
}
