package config

import (
	"strings"
	"testing"

	"github.com/kubeadmin/kubeadmin/internal/constants"
)

func TestImagesMatchKubeadm(t *testing.T) {
	quietWarnings(t)
	cfg := DefaultInitConfig()
	cfg.Cluster.KubernetesVersion = "v1.37.2"
	for _, format := range []string{"text", "json", "yaml"} {
		t.Run(format, func(t *testing.T) {
			got, err := MarshalImages(Images(&cfg.Cluster), format)
			if err != nil {
				t.Fatal(err)
			}
			assertGolden(t, "images-default."+format, got)
		})
	}
	for _, variant := range []string{"images-variant1", "images-variant2"} {
		t.Run(variant, func(t *testing.T) {
			c, err := ParseInitConfig([]byte(readGolden(t, variant+".yaml")), variant)
			if err != nil {
				t.Fatal(err)
			}
			got, err := MarshalImages(Images(&c.Cluster), "")
			if err != nil {
				t.Fatal(err)
			}
			assertGolden(t, variant+".text", got)
		})
	}
}

func TestImageFor(t *testing.T) {
	base := func() *ClusterConfiguration {
		c := &ClusterConfiguration{KubernetesVersion: "v1.37.2"}
		SetDefaultsCluster(c)
		return c
	}
	cases := []struct {
		name      string
		mutate    func(c *ClusterConfiguration)
		component string
		want      string
	}{
		{"apiserver", nil, constants.KubeAPIServer, "registry.k8s.io/kube-apiserver:v1.37.2"},
		{"etcd", nil, constants.Etcd, "registry.k8s.io/etcd:3.7.0-0"},
		{"pause", nil, constants.Pause, "registry.k8s.io/pause:3.10.2"},
		{"coredns default repository", nil, constants.CoreDNS, "registry.k8s.io/coredns/coredns:v1.14.6"},
		{"coredns other repository", func(c *ClusterConfiguration) { c.ImageRepository = "r.example" }, constants.CoreDNS, "r.example/coredns:v1.14.6"},
		{"coredns own repository and tag", func(c *ClusterConfiguration) {
			c.DNS.ImageMeta = ImageMeta{ImageRepository: "d.example/x", ImageTag: "v1"}
		}, constants.CoreDNS, "d.example/x/coredns:v1"},
		{"version label", func(c *ClusterConfiguration) { c.KubernetesVersion = "stable-1" }, constants.KubeScheduler, "registry.k8s.io/kube-scheduler:" + constants.KubernetesVersion},
		{"version without v", func(c *ClusterConfiguration) { c.KubernetesVersion = "1.36.5" }, constants.KubeProxy, "registry.k8s.io/kube-proxy:v1.36.5"},
		{"etcd override", func(c *ClusterConfiguration) {
			c.Etcd.Local.ImageMeta = ImageMeta{ImageRepository: "e.example", ImageTag: "3.6.1-0"}
		}, constants.Etcd, "e.example/etcd:3.6.1-0"},
		{"empty repository", func(c *ClusterConfiguration) { c.ImageRepository = "" }, constants.KubeControllerManager, "registry.k8s.io/kube-controller-manager:v1.37.2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := base()
			if tc.mutate != nil {
				tc.mutate(c)
			}
			if got := ImageFor(c, tc.component); got != tc.want {
				t.Errorf("ImageFor(%s) = %q, want %q", tc.component, got, tc.want)
			}
		})
	}
}

func TestImagesVariants(t *testing.T) {
	c := &ClusterConfiguration{KubernetesVersion: "v1.37.2"}
	SetDefaultsCluster(c)
	if n := len(Images(c)); n != 7 {
		t.Errorf("default images: %d, want 7", n)
	}
	c.DNS.Disabled, c.Proxy.Disabled = true, true
	c.Etcd = Etcd{External: &ExternalEtcd{Endpoints: []string{"http://e:2379"}}}
	got := strings.Join(Images(c), " ")
	want := "registry.k8s.io/kube-apiserver:v1.37.2 registry.k8s.io/kube-controller-manager:v1.37.2 registry.k8s.io/kube-scheduler:v1.37.2 registry.k8s.io/pause:3.10.2"
	if got != want {
		t.Errorf("Images() = %q, want %q", got, want)
	}
	if _, err := MarshalImages(nil, "xml"); err == nil {
		t.Error("want an error for an unknown format")
	}
	if b, err := MarshalImages(nil, "json"); err != nil || !strings.Contains(string(b), `"images": []`) {
		t.Errorf("empty json list: %s %v", b, err)
	}
}
