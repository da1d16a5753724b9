package templates

import (
	"strings"
	"testing"
)

func TestRenderKubeletUnit(t *testing.T) {
	tests := []struct {
		name, binary, wantExec string
	}{
		{name: "plain path", binary: "/usr/local/bin/kubeadmin", wantExec: "ExecStart=/usr/local/bin/kubeadmin kubelet\n"},
		{name: "path with a space", binary: "/opt/my tools/kubeadmin", wantExec: "ExecStart=\"/opt/my tools/kubeadmin\" kubelet\n"},
		{name: "percent and dollar", binary: "/opt/a%b$c", wantExec: "ExecStart=\"/opt/a%%b$$c\" kubelet\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := string(RenderKubeletUnit(tc.binary))
			if !strings.Contains(got, "\n"+tc.wantExec) {
				t.Errorf("unit lacks %q:\n%s", tc.wantExec, got)
			}
			for _, want := range []string{"[Unit]\n", "[Service]\n", "Restart=always\n", "[Install]\nWantedBy=multi-user.target\n"} {
				if !strings.Contains(got, want) {
					t.Errorf("unit lacks %q", want)
				}
			}
			if strings.Contains(got, "{{") {
				t.Errorf("unrendered template left in unit:\n%s", got)
			}
		})
	}
}

func TestRenderKubeletDropIn(t *testing.T) {
	got := string(RenderKubeletDropIn("/usr/bin/kubeadmin"))
	for _, want := range []string{
		`Environment="KUBELET_KUBECONFIG_ARGS=--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf"` + "\n",
		`Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"` + "\n",
		"EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env\n",
		"EnvironmentFile=-/etc/default/kubelet\n",
		// The empty ExecStart= resets the unit's command before the new one.
		"ExecStart=\nExecStart=/usr/bin/kubeadmin kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("drop-in lacks %q:\n%s", want, got)
		}
	}
}

// The drop-in's directives, in order, are kubeadm's; only comments differ.
func TestKubeletDropInDirectives(t *testing.T) {
	var got []string
	for _, line := range strings.Split(string(RenderKubeletDropIn("/usr/bin/kubeadmin")), "\n") {
		if line != "" && !strings.HasPrefix(line, "#") {
			got = append(got, line)
		}
	}
	want := []string{
		"[Service]",
		`Environment="KUBELET_KUBECONFIG_ARGS=--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf"`,
		`Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"`,
		"EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env",
		"EnvironmentFile=-/etc/default/kubelet",
		"ExecStart=",
		"ExecStart=/usr/bin/kubeadmin kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("directives:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
