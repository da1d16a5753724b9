package config

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/kubeadmin/kubeadmin/internal/constants"
)

// Images returns the images a control-plane node needs, in kubeadm's order:
// kube-apiserver, kube-controller-manager, kube-scheduler, kube-proxy
// (unless proxy.disabled), CoreDNS (unless dns.disabled), pause and etcd
// (local etcd only).
func Images(c *ClusterConfiguration) []string {
	images := []string{
		ImageFor(c, constants.KubeAPIServer),
		ImageFor(c, constants.KubeControllerManager),
		ImageFor(c, constants.KubeScheduler),
	}
	if !c.Proxy.Disabled {
		images = append(images, ImageFor(c, constants.KubeProxy))
	}
	if !c.DNS.Disabled {
		images = append(images, ImageFor(c, constants.CoreDNS))
	}
	images = append(images, ImageFor(c, constants.Pause))
	if c.Etcd.Local != nil {
		images = append(images, ImageFor(c, constants.Etcd))
	}
	return images
}

// ImageFor returns the image of one component: a control-plane component
// or kube-proxy (<imageRepository>/<name>:<kubernetesVersion>), etcd, coredns
// or pause, honouring the per-component repository and tag overrides.
func ImageFor(c *ClusterConfiguration, component string) string {
	repo := c.ImageRepository
	if repo == "" {
		repo = constants.DefaultImageRepository
	}
	switch component {
	case constants.Etcd:
		tag := constants.EtcdVersion
		if l := c.Etcd.Local; l != nil {
			if l.ImageRepository != "" {
				repo = l.ImageRepository
			}
			if l.ImageTag != "" {
				tag = l.ImageTag
			}
		}
		return repo + "/" + constants.Etcd + ":" + tag
	case constants.CoreDNS:
		if c.DNS.ImageRepository != "" {
			repo = c.DNS.ImageRepository
		}
		if repo == constants.DefaultImageRepository {
			repo += "/" + constants.CoreDNSImageNameNonDefaultRepo
		}
		tag := constants.CoreDNSVersion
		if c.DNS.ImageTag != "" {
			tag = c.DNS.ImageTag
		}
		return repo + "/" + constants.CoreDNSImageNameNonDefaultRepo + ":" + tag
	case constants.Pause:
		return repo + "/" + constants.Pause + ":" + constants.PauseVersion
	}
	return repo + "/" + component + ":" + KubernetesImageTag(c.KubernetesVersion)
}

var imageTagInvalidChars = regexp.MustCompile(`[^-\w.]`)

// KubernetesImageTag turns a Kubernetes version into an image tag: labels
// are resolved, a missing "v" is added and characters outside [-\w.] become
// "_" (as in "v1.37.0+abc" → "v1.37.0_abc").
func KubernetesImageTag(version string) string {
	if v, err := NormalizeKubernetesVersion(version); err == nil {
		version = v
	}
	return imageTagInvalidChars.ReplaceAllString(version, "_")
}

// imagesOutput is kubeadm's output.kubeadm.k8s.io/v1alpha3 Images object;
// the field order matches kubeadm's JSON output.
type imagesOutput struct {
	Kind       string   `json:"kind"`
	APIVersion string   `json:"apiVersion"`
	Images     []string `json:"images"`
}

// MarshalImages renders an image list for `config images list -o FORMAT`:
// "" or "text" (one per line), "json" (indented like kubectl's printer) or
// "yaml".
func MarshalImages(images []string, format string) ([]byte, error) {
	obj := imagesOutput{Kind: "Images", APIVersion: constants.ImagesOutputAPIVersion, Images: images}
	if obj.Images == nil {
		obj.Images = []string{}
	}
	switch strings.ToLower(format) {
	case "", "text":
		var b strings.Builder
		for _, img := range images {
			b.WriteString(img + "\n")
		}
		return []byte(b.String()), nil
	case "json":
		out, err := json.MarshalIndent(obj, "", "    ")
		if err != nil {
			return nil, fmt.Errorf("failed to marshal the image list: %w", err)
		}
		return append(out, '\n'), nil
	case "yaml":
		return yaml.Marshal(obj)
	}
	return nil, fmt.Errorf("invalid output format %q for the image list; use text, json or yaml", format)
}
