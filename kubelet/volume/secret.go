package volume

import (
	"fmt"
	"os"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// pluginSecret is the directory of secret volumes below a pod's volumes.
const pluginSecret = "kubernetes.io~secret"

// secret writes a secret volume onto its own tmpfs, as upstream: secrets
// never reach the node's disk.
func (p *preparer) secret(vol *v1.Volume) (string, error) {
	src := vol.Secret
	files, err := p.secretFiles(src.SecretName, src.Items, src.Optional, modeOr(src.DefaultMode, v1.SecretVolumeSourceDefaultMode))
	if err != nil {
		return "", err
	}
	dir, err := p.memoryDir(pluginSecret, vol.Name)
	if err != nil {
		return "", err
	}
	if _, err := writeAtomic(dir, files, ownership{fsGroup: fsGroup(p.pod)}); err != nil {
		return "", err
	}
	return dir, nil
}

// secretFiles are the files of secret name, as configMapFiles.
func (p *preparer) secretFiles(name string, items []v1.KeyToPath, optional *bool, mode os.FileMode) (payload, error) {
	if p.env.Sources == nil {
		return nil, errNoAPI("secret")
	}
	opt := optional != nil && *optional
	s, err := p.env.Sources.Secret(p.ctx, p.pod.Namespace, name)
	if err != nil {
		if !opt || !apierrors.IsNotFound(err) {
			return nil, lookupError("secret", name, err)
		}
		s = &v1.Secret{}
	}
	out := payload{}
	if len(items) == 0 {
		for k, v := range s.Data {
			out[k] = projFile{data: v, mode: mode}
		}
		return out, nil
	}
	for _, it := range items {
		data, ok := s.Data[it.Key]
		if !ok {
			if opt {
				continue
			}
			return nil, fmt.Errorf("references non-existent secret key: %s", it.Key)
		}
		out[it.Path] = projFile{data: data, mode: modeOr(it.Mode, int32(mode))}
	}
	return out, nil
}
