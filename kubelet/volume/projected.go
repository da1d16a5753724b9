package volume

import (
	"errors"
	"fmt"
	"os"

	v1 "k8s.io/api/core/v1"
)

// pluginProjected is the directory of projected volumes below a pod's
// volumes.
const pluginProjected = "kubernetes.io~projected"

// tokenModeOwned is the mode of a projected token that has an owner (an
// fsGroup, or one user for all containers), as upstream.
const tokenModeOwned = 0o600

// projected writes a projected volume, every source into one directory on
// a tmpfs, as upstream. This is every pod's kube-api-access-* volume: a
// service account token, kube-root-ca.crt's ca.crt and the namespace.
func (p *preparer) projected(vol *v1.Volume) (string, error) {
	src := vol.Projected
	mode := modeOr(src.DefaultMode, v1.ProjectedVolumeSourceDefaultMode)
	files := payload{}
	var errs []error
	add := func(more payload, err error) {
		if err != nil {
			errs = append(errs, err)
			return
		}
		for k, f := range more {
			files[k] = f
		}
	}
	for i := range src.Sources {
		s := &src.Sources[i]
		switch {
		case s.ConfigMap != nil:
			add(p.configMapFiles(s.ConfigMap.Name, s.ConfigMap.Items, s.ConfigMap.Optional, mode))
		case s.Secret != nil:
			add(p.secretFiles(s.Secret.Name, s.Secret.Items, s.Secret.Optional, mode))
		case s.DownwardAPI != nil:
			add(p.downwardFiles(s.DownwardAPI.Items, mode))
		case s.ServiceAccountToken != nil:
			add(p.tokenFile(s.ServiceAccountToken, mode))
		default:
			errs = append(errs, fmt.Errorf("sources[%d]: only serviceAccountToken, configMap, secret and downwardAPI sources are supported by this agent", i))
		}
	}
	if err := joinErrors(errs); err != nil {
		return "", err
	}
	dir, err := p.memoryDir(pluginProjected, vol.Name)
	if err != nil {
		return "", err
	}
	if _, err := writeAtomic(dir, files, ownership{fsGroup: fsGroup(p.pod)}); err != nil {
		return "", err
	}
	return dir, nil
}

// tokenFile is the service account token of tp, owned by the pod's one
// user when there is one.
func (p *preparer) tokenFile(tp *v1.ServiceAccountTokenProjection, mode os.FileMode) (payload, error) {
	if p.env.Sources == nil {
		return nil, errNoAPI("serviceAccountToken")
	}
	tok, err := p.env.Sources.ServiceAccountToken(p.ctx, p.pod, tp)
	if err != nil {
		return nil, fmt.Errorf("failed to get the service account token of %q: %w", p.pod.Spec.ServiceAccountName, err)
	}
	if tok == "" {
		return nil, errors.New("the service account token is empty")
	}
	uid := fsUser(p.pod)
	if uid != nil || fsGroup(p.pod) != nil {
		mode = tokenModeOwned
	}
	return payload{tp.Path: {data: []byte(tok), mode: mode, uid: uid}}, nil
}
