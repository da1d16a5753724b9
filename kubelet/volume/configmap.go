package volume

import (
	"fmt"
	"os"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// pluginConfigMap is the directory of configMap volumes below a pod's
// volumes, as upstream.
const pluginConfigMap = "kubernetes.io~configmap"

// configMap writes a configMap volume: on the node's disk, as upstream.
func (p *preparer) configMap(vol *v1.Volume) (string, error) {
	src := vol.ConfigMap
	files, err := p.configMapFiles(src.Name, src.Items, src.Optional, modeOr(src.DefaultMode, v1.ConfigMapVolumeSourceDefaultMode))
	if err != nil {
		return "", err
	}
	dir, err := p.diskDir(pluginConfigMap, vol.Name)
	if err != nil {
		return "", err
	}
	if _, err := writeAtomic(dir, files, ownership{fsGroup: fsGroup(p.pod)}); err != nil {
		return "", err
	}
	return dir, nil
}

// configMapFiles are the files of configMap name: its keys (data and
// binaryData), or only items when there are some. A missing optional
// object gives no files; a missing optional key is skipped.
func (p *preparer) configMapFiles(name string, items []v1.KeyToPath, optional *bool, mode os.FileMode) (payload, error) {
	if p.env.Sources == nil {
		return nil, errNoAPI("configMap")
	}
	opt := optional != nil && *optional
	cm, err := p.env.Sources.ConfigMap(p.ctx, p.pod.Namespace, name)
	if err != nil {
		if !opt || !apierrors.IsNotFound(err) {
			return nil, lookupError("configmap", name, err)
		}
		cm = &v1.ConfigMap{}
	}
	out := payload{}
	if len(items) == 0 {
		for k, v := range cm.Data {
			out[k] = projFile{data: []byte(v), mode: mode}
		}
		for k, v := range cm.BinaryData {
			out[k] = projFile{data: v, mode: mode}
		}
		return out, nil
	}
	for _, it := range items {
		var data []byte
		if s, ok := cm.Data[it.Key]; ok {
			data = []byte(s)
		} else if b, ok := cm.BinaryData[it.Key]; ok {
			data = b
		} else if opt {
			continue
		} else {
			return nil, fmt.Errorf("configmap references non-existent config key: %s", it.Key)
		}
		out[it.Path] = projFile{data: data, mode: modeOr(it.Mode, int32(mode))}
	}
	return out, nil
}

// modeOr is m as a file mode, def when m is nil. The API allows only
// permission bits.
func modeOr(m *int32, def int32) os.FileMode {
	if m != nil {
		def = *m
	}
	return os.FileMode(def) & os.ModePerm
}
