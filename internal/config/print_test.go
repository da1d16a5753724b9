package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubeadmin/kubeadmin/internal/constants"
)

func readGolden(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func assertGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	want := readGolden(t, name)
	if string(got) != want {
		t.Errorf("output differs from testdata/%s\n--- got ---\n%s\n--- want ---\n%s", name, got, want)
	}
}

func TestPrintDefaultsMatchKubeadm(t *testing.T) {
	quietWarnings(t)
	cases := []struct {
		golden string
		kinds  []string
	}{
		{"init-defaults.yaml", nil},
		{"init-defaults-components.yaml", []string{KindKubelet, KindKubeProxy}},
		{"init-defaults-kubeproxy.yaml", []string{KindKubeProxy}},
	}
	for _, tc := range cases {
		t.Run(tc.golden, func(t *testing.T) {
			got, err := PrintInitDefaults(tc.kinds)
			if err != nil {
				t.Fatal(err)
			}
			assertGolden(t, tc.golden, got)
		})
	}
	t.Run("MarshalInitConfig with components", func(t *testing.T) {
		got, err := MarshalInitConfig(InitDefaultsForPrint(), true)
		if err != nil {
			t.Fatal(err)
		}
		assertGolden(t, "init-defaults-components.yaml", got)
	})
	t.Run("join-defaults.yaml", func(t *testing.T) {
		cfg, err := joinDefaultsForPrint(DynamicOptions{Hostname: func() (string, error) { return "VM", nil }})
		if err != nil {
			t.Fatal(err)
		}
		got, err := MarshalJoinConfig(cfg)
		if err != nil {
			t.Fatal(err)
		}
		assertGolden(t, "join-defaults.yaml", got)
	})
	t.Run("reset-defaults.yaml", func(t *testing.T) {
		got, err := MarshalResetConfig(ResetDefaultsForPrint())
		if err != nil {
			t.Fatal(err)
		}
		assertGolden(t, "reset-defaults.yaml", got)
	})
	t.Run("unknown component kind", func(t *testing.T) {
		_, err := PrintInitDefaults([]string{"Foo"})
		if err == nil || !strings.Contains(err.Error(), "--component-configs needs to contain some of [KubeProxyConfiguration KubeletConfiguration]") {
			t.Errorf("error %v", err)
		}
	})
}

func TestPrintedDefaultsLoadAndValidate(t *testing.T) {
	quietWarnings(t)
	b, err := PrintInitDefaults(ComponentConfigKinds())
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ParseInitConfig(b, "printed")
	if err != nil {
		t.Fatalf("printed defaults do not load: %v", err)
	}
	if !cfg.Components.KubeletUserSupplied || !cfg.Components.KubeProxyUserSupplied {
		t.Error("component configs were not loaded")
	}
	if err := SetDynamicDefaultsInit(cfg, testHost()); err != nil {
		t.Fatal(err)
	}
	if err := ValidateInitConfig(cfg); err != nil {
		t.Fatalf("printed defaults do not validate: %v", err)
	}
	again, err := MarshalInitConfig(cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseInitConfig(again, "again"); err != nil {
		t.Fatalf("round trip: %v", err)
	}
}

func TestMarshalClusterConfigForUpload(t *testing.T) {
	c := ClusterConfiguration{KubernetesVersion: "stable-1", Networking: Networking{PodSubnet: "10.244.0.0/16"}}
	b, err := MarshalClusterConfigForUpload(&c)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{
		"apiVersion: kubeadm.k8s.io/v1beta4\n", "kind: ClusterConfiguration\n", "kubernetesVersion: " + constants.KubernetesVersion + "\n",
		"podSubnet: 10.244.0.0/16", "serviceSubnet: 10.96.0.0/12", "certificatesDir: /etc/kubernetes/pki",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("upload config lacks %q:\n%s", want, s)
		}
	}
	if c.KubernetesVersion != "stable-1" || c.Kind != "" {
		t.Error("the input must not be modified")
	}
	back, err := ParseClusterConfig(b, "kubeadm-config")
	if err != nil || back.KubernetesVersion != constants.KubernetesVersion {
		t.Errorf("round trip: %v", err)
	}
	c.KubernetesVersion = "v1.20.0"
	if _, err := MarshalClusterConfigForUpload(&c); err == nil {
		t.Error("want an error for an unsupported version")
	}
}
