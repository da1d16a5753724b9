package certs

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/client-go/tools/clientcmd"
	certutil "k8s.io/client-go/util/cert"
	"sigs.k8s.io/yaml"

	"github.com/kubeadmin/kubeadmin/internal/config"
	"github.com/kubeadmin/kubeadmin/internal/fsutil"
)

// Output API of `certs check-expiration -o json|yaml`.
const (
	OutputAPIVersion              = "output.kubeadm.k8s.io/v1alpha3"
	KindCertificateExpirationInfo = "CertificateExpirationInfo"
)

// CertificateExpirationInfo is kubeadm's output.kubeadm.k8s.io/v1alpha3
// CertificateExpirationInfo.
type CertificateExpirationInfo struct {
	metav1.TypeMeta `json:""`

	// Certificates are the renewable certificates, sorted by name.
	Certificates []CertificateExpiration `json:"certificates"`
	// CertificateAuthorities are the CAs, sorted by name.
	CertificateAuthorities []CertificateExpiration `json:"certificateAuthorities"`
	// KubeletClient is the client certificate kubelet.conf uses, which the
	// node agent rotates itself (kubeadmin's addition; kubeadm leaves it
	// out). Nil when kubelet.conf is missing.
	KubeletClient *CertificateExpiration `json:"kubeletClientCertificate,omitempty"`
}

// CertificateExpiration is kubeadm's output v1alpha3 Certificate.
type CertificateExpiration struct {
	Name                string      `json:"name"`
	ExpirationDate      metav1.Time `json:"expirationDate"`
	ResidualTimeSeconds int64       `json:"residualTime"`
	ExternallyManaged   bool        `json:"externallyManaged"`
	CAName              string      `json:"caName,omitempty"`
	Missing             bool        `json:"missing"`
}

// CheckExpiration reads every renewable certificate (PKI leaves and the
// kubeconfig client certificates, not kubelet.conf) and every CA, and
// returns their expiration relative to now. Missing files are reported as
// missing, not as errors; unreadable ones are errors.
func CheckExpiration(cfg *config.InitConfig, certDir, kubeconfigDir string, now time.Time) (*CertificateExpirationInfo, error) {
	info := &CertificateExpirationInfo{
		TypeMeta: metav1.TypeMeta{APIVersion: OutputAPIVersion, Kind: KindCertificateExpirationInfo},
	}
	for _, t := range RenewTargets(cfg) {
		path := t.path(certDir, kubeconfigDir)
		if !fsutil.Exists(path) {
			info.Certificates = append(info.Certificates, CertificateExpiration{Name: t.Name, Missing: true})
			continue
		}
		var err error
		var notAfter time.Time
		if t.KubeconfigFile != "" {
			_, c, e := readKubeconfigClientCert(path)
			if e == nil {
				notAfter = c.NotAfter
			}
			err = e
		} else {
			c, e := LoadCert(path)
			if e == nil {
				notAfter = c.NotAfter
			}
			err = e
		}
		if err != nil {
			return nil, err
		}
		info.Certificates = append(info.Certificates, expiration(t.Name, t.CAName, notAfter, isKeyless(certDir, t.CABaseName), now))
	}
	for _, s := range Specs(cfg) { // ca, front-proxy-ca, etcd-ca; sorted below
		if !s.IsCA() {
			continue
		}
		path := CertPath(certDir, s.BaseName)
		if !fsutil.Exists(path) {
			info.CertificateAuthorities = append(info.CertificateAuthorities, CertificateExpiration{Name: s.Name, Missing: true})
			continue
		}
		c, err := LoadCert(path)
		if err != nil {
			return nil, err
		}
		info.CertificateAuthorities = append(info.CertificateAuthorities, expiration(s.Name, "", c.NotAfter, isKeyless(certDir, s.BaseName), now))
	}
	sortByName(info.CertificateAuthorities)
	return info, nil
}

// KubeletClientExpiration reads the client certificate of the kubeconfig
// at path (kubelet.conf), embedded or, once the agent rotates it, the file
// it names; nil when path does not exist.
func KubeletClientExpiration(path string, now time.Time) (*CertificateExpiration, error) {
	if !fsutil.Exists(path) {
		return nil, nil
	}
	kc, err := clientcmd.LoadFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("failed to load kubeconfig file %q: %w", path, err)
	}
	ctx := kc.Contexts[kc.CurrentContext]
	if ctx == nil || kc.AuthInfos[ctx.AuthInfo] == nil {
		return nil, fmt.Errorf("invalid kubeconfig file %q: no user for its current context %q", path, kc.CurrentContext)
	}
	user := kc.AuthInfos[ctx.AuthInfo]
	data := user.ClientCertificateData
	source := path
	if len(data) == 0 && user.ClientCertificate != "" {
		source = user.ClientCertificate
		if data, err = os.ReadFile(source); err != nil {
			return nil, fmt.Errorf("failed to read the client certificate of %q: %w", path, err)
		}
	}
	certs, err := certutil.ParseCertsPEM(data)
	if err != nil {
		return nil, fmt.Errorf("%q has no valid client certificate: %w", source, err)
	}
	e := expiration(filepath.Base(path), "ca", certs[0].NotAfter, false, now)
	return &e, nil
}

func expiration(name, caName string, notAfter time.Time, external bool, now time.Time) CertificateExpiration {
	return CertificateExpiration{
		Name:                name,
		ExpirationDate:      metav1.Time{Time: notAfter},
		ResidualTimeSeconds: int64(notAfter.Sub(now) / time.Second),
		ExternallyManaged:   external,
		CAName:              caName,
	}
}

func sortByName(list []CertificateExpiration) {
	slices.SortFunc(list, func(a, b CertificateExpiration) int { return strings.Compare(a.Name, b.Name) })
}

// Output formats of PrintExpiration.
const (
	OutputText = "text"
	OutputJSON = "json"
	OutputYAML = "yaml"
)

// PrintExpiration renders info as kubeadm does for -o text (the default),
// json or yaml.
func PrintExpiration(w io.Writer, info *CertificateExpirationInfo, format string) error {
	switch format {
	case OutputText, "":
		return printExpirationText(w, info)
	case OutputJSON:
		data, err := json.MarshalIndent(info, "", "    ")
		if err != nil {
			return fmt.Errorf("failed to encode the expiration info as JSON: %w", err)
		}
		_, err = w.Write(append(data, '\n'))
		return err
	case OutputYAML:
		data, err := yaml.Marshal(info)
		if err != nil {
			return fmt.Errorf("failed to encode the expiration info as YAML: %w", err)
		}
		_, err = w.Write(data)
		return err
	}
	return fmt.Errorf("unable to match a printer suitable for the output format %q, allowed formats are: %s,%s,%s", format, OutputJSON, OutputText, OutputYAML)
}

// kubeletRenewal says who renews the kubelet client certificate.
const kubeletRenewal = "by the node agent, at 70-90 % of its lifetime"

// printExpirationText writes kubeadm's two tables, and a third for the
// kubelet client certificate when kubelet.conf exists.
func printExpirationText(w io.Writer, info *CertificateExpirationInfo) error {
	yesNo := func(b bool) string {
		if b {
			return "yes"
		}
		return "no"
	}
	const dateFormat = "Jan 02, 2006 15:04 MST"
	tw := tabwriter.NewWriter(w, 10, 4, 3, ' ', 0)
	fmt.Fprintln(tw, "CERTIFICATE\tEXPIRES\tRESIDUAL TIME\tCERTIFICATE AUTHORITY\tEXTERNALLY MANAGED")
	for _, c := range info.Certificates {
		if c.Missing {
			fmt.Fprintf(tw, "!MISSING! %s\t\t\t\t\n", c.Name)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%-8v\n", c.Name, c.ExpirationDate.Format(dateFormat),
			duration.HumanDuration(time.Duration(c.ResidualTimeSeconds)*time.Second), c.CAName, yesNo(c.ExternallyManaged))
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "CERTIFICATE AUTHORITY\tEXPIRES\tRESIDUAL TIME\tEXTERNALLY MANAGED")
	for _, c := range info.CertificateAuthorities {
		if c.Missing {
			fmt.Fprintf(tw, "!MISSING! %s\t\t\t\n", c.Name)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%-8v\n", c.Name, c.ExpirationDate.Format(dateFormat),
			duration.HumanDuration(time.Duration(c.ResidualTimeSeconds)*time.Second), yesNo(c.ExternallyManaged))
	}
	if c := info.KubeletClient; c != nil {
		fmt.Fprintln(tw)
		fmt.Fprintln(tw, "KUBELET CLIENT CERTIFICATE\tEXPIRES\tRESIDUAL TIME\tRENEWED")
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Name, c.ExpirationDate.Format(dateFormat),
			duration.HumanDuration(time.Duration(c.ResidualTimeSeconds)*time.Second), kubeletRenewal)
	}
	return tw.Flush()
}
