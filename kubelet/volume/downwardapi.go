package volume

import (
	"os"
	"path/filepath"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/kubeadmin/kubeadmin/kubelet/fieldpath"
)

// pluginDownwardAPI is the directory of downwardAPI volumes below a pod's
// volumes.
const pluginDownwardAPI = "kubernetes.io~downward-api"

// downwardAPI writes a downwardAPI volume onto a tmpfs, as upstream.
func (p *preparer) downwardAPI(vol *v1.Volume) (string, error) {
	src := vol.DownwardAPI
	files, err := p.downwardFiles(src.Items, modeOr(src.DefaultMode, v1.DownwardAPIVolumeSourceDefaultMode))
	if err != nil {
		return "", err
	}
	dir, err := p.memoryDir(pluginDownwardAPI, vol.Name)
	if err != nil {
		return "", err
	}
	if _, err := writeAtomic(dir, files, ownership{fsGroup: fsGroup(p.pod)}); err != nil {
		return "", err
	}
	return dir, nil
}

// downwardFiles are the files of downward API items: pod metadata
// (fieldRef) and container resources (resourceFieldRef, an unset limit
// being the node's capacity).
func (p *preparer) downwardFiles(items []v1.DownwardAPIVolumeFile, mode os.FileMode) (payload, error) {
	out := payload{}
	var errs []error
	for _, it := range items {
		f := projFile{mode: modeOr(it.Mode, int32(mode))}
		var val string
		var err error
		switch {
		case it.FieldRef != nil:
			val, err = fieldpath.Metadata(p.pod, it.FieldRef.FieldPath)
		case it.ResourceFieldRef != nil:
			var c *v1.Container
			if c, err = fieldpath.Container(p.pod, it.ResourceFieldRef.ContainerName); err == nil {
				val, err = fieldpath.Resource(c, it.ResourceFieldRef, p.capacity())
			}
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		f.data = []byte(val)
		out[filepath.Clean(it.Path)] = f
	}
	return out, joinErrors(errs)
}

// capacity is the node's capacity that unset limits stand for.
func (p *preparer) capacity() v1.ResourceList {
	l := v1.ResourceList{}
	if p.env.NodeCPUMilli > 0 {
		l[v1.ResourceCPU] = *resource.NewMilliQuantity(p.env.NodeCPUMilli, resource.DecimalSI)
	}
	if p.env.NodeMemory > 0 {
		l[v1.ResourceMemory] = *resource.NewQuantity(p.env.NodeMemory, resource.BinarySI)
	}
	return l
}
