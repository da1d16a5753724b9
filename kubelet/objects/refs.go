package objects

import (
	v1 "k8s.io/api/core/v1"
)

// references returns the ConfigMaps and Secrets pod refers to in its
// volumes, image pull secrets and the environment of all its containers.
func references(pod *v1.Pod) map[objectKey]struct{} {
	refs := map[objectKey]struct{}{}
	add := func(k *kind, name string) {
		if name != "" {
			refs[objectKey{k, pod.Namespace, name}] = struct{}{}
		}
	}
	for _, s := range pod.Spec.ImagePullSecrets {
		add(secrets, s.Name)
	}
	for _, vol := range pod.Spec.Volumes {
		switch {
		case vol.ConfigMap != nil:
			add(configMaps, vol.ConfigMap.Name)
		case vol.Secret != nil:
			add(secrets, vol.Secret.SecretName)
		case vol.Projected != nil:
			for _, src := range vol.Projected.Sources {
				if src.ConfigMap != nil {
					add(configMaps, src.ConfigMap.Name)
				}
				if src.Secret != nil {
					add(secrets, src.Secret.Name)
				}
			}
		}
	}
	env := func(envs []v1.EnvVar, from []v1.EnvFromSource) {
		for _, e := range envs {
			if e.ValueFrom == nil {
				continue
			}
			if r := e.ValueFrom.ConfigMapKeyRef; r != nil {
				add(configMaps, r.Name)
			}
			if r := e.ValueFrom.SecretKeyRef; r != nil {
				add(secrets, r.Name)
			}
		}
		for _, f := range from {
			if f.ConfigMapRef != nil {
				add(configMaps, f.ConfigMapRef.Name)
			}
			if f.SecretRef != nil {
				add(secrets, f.SecretRef.Name)
			}
		}
	}
	for _, c := range pod.Spec.InitContainers {
		env(c.Env, c.EnvFrom)
	}
	for _, c := range pod.Spec.Containers {
		env(c.Env, c.EnvFrom)
	}
	for _, c := range pod.Spec.EphemeralContainers {
		env(c.Env, c.EnvFrom)
	}
	return refs
}
