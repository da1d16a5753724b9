// Package templates holds the files kubeadmin installs verbatim apart from a
// few substitutions, embedded in the binary: the systemd unit and the
// kubeadm-style drop-in (10-kubeadm.conf) that run `kubeadmin kubelet` on
// hosts where systemd is the init system. Rendering is pure.
package templates

import (
	"bytes"
	_ "embed"
	"strconv"
	"strings"
	"text/template"
)

var (
	//go:embed kubeadmin-kubelet.service
	kubeletUnit string
	//go:embed 10-kubeadm.conf
	kubeletDropIn string

	kubeletUnitTmpl   = template.Must(template.New("kubeadmin-kubelet.service").Parse(kubeletUnit))
	kubeletDropInTmpl = template.Must(template.New("10-kubeadm.conf").Parse(kubeletDropIn))
)

// unitData is what the unit templates substitute.
type unitData struct {
	// Binary is the kubeadmin executable, quoted for systemd if needed.
	Binary string
}

// RenderKubeletUnit returns the systemd unit (installed as
// /etc/systemd/system/kubelet.service) that runs `<binaryPath> kubelet`.
func RenderKubeletUnit(binaryPath string) []byte {
	return render(kubeletUnitTmpl, binaryPath)
}

// RenderKubeletDropIn returns the equivalent of kubeadm's 10-kubeadm.conf
// drop-in (installed as /etc/systemd/system/kubelet.service.d/10-kubeadm.conf):
// it passes the bootstrap kubeconfig, kubeconfig, config.yaml,
// $KUBELET_KUBEADM_ARGS from /var/lib/kubelet/kubeadm-flags.env and
// $KUBELET_EXTRA_ARGS from /etc/default/kubelet to `<binaryPath> kubelet`.
func RenderKubeletDropIn(binaryPath string) []byte {
	return render(kubeletDropInTmpl, binaryPath)
}

func render(t *template.Template, binaryPath string) []byte {
	var b bytes.Buffer
	// Executing a parsed template with a plain struct into a buffer cannot
	// fail.
	_ = t.Execute(&b, unitData{Binary: systemdQuote(binaryPath)})
	return b.Bytes()
}

// systemdQuote double-quotes a path that contains white space, quotes,
// backslashes or "$"/"%" (which systemd would expand), using C-style escapes
// that systemd understands; "%" is doubled.
func systemdQuote(path string) string {
	if !strings.ContainsAny(path, " \t\n\"'\\$%;") {
		return path
	}
	q := strconv.Quote(path)
	q = strings.ReplaceAll(q, "$", "$$")
	return strings.ReplaceAll(q, "%", "%%")
}
