package objects

import (
	"slices"
	"testing"

	v1 "k8s.io/api/core/v1"
)

func TestReferencesCoverEveryPlace(t *testing.T) {
	ref := func(name string) v1.LocalObjectReference { return v1.LocalObjectReference{Name: name} }
	env := []v1.EnvVar{
		{Name: "A", ValueFrom: &v1.EnvVarSource{ConfigMapKeyRef: &v1.ConfigMapKeySelector{LocalObjectReference: ref("cm-env"), Key: "k"}}},
		{Name: "B", ValueFrom: &v1.EnvVarSource{SecretKeyRef: &v1.SecretKeySelector{LocalObjectReference: ref("s-env"), Key: "k"}}},
		{Name: "C", ValueFrom: &v1.EnvVarSource{FieldRef: &v1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
		{Name: "D", Value: "plain"},
	}
	pod := &v1.Pod{}
	pod.Namespace = ns
	pod.Spec = v1.PodSpec{
		ImagePullSecrets: []v1.LocalObjectReference{ref("s-pull")},
		Volumes: []v1.Volume{
			{Name: "1", VolumeSource: v1.VolumeSource{ConfigMap: &v1.ConfigMapVolumeSource{LocalObjectReference: ref("cm-vol")}}},
			{Name: "2", VolumeSource: v1.VolumeSource{Secret: &v1.SecretVolumeSource{SecretName: "s-vol"}}},
			{Name: "3", VolumeSource: v1.VolumeSource{Projected: &v1.ProjectedVolumeSource{Sources: []v1.VolumeProjection{
				{ConfigMap: &v1.ConfigMapProjection{LocalObjectReference: ref("cm-proj")}},
				{Secret: &v1.SecretProjection{LocalObjectReference: ref("s-proj")}},
				{ServiceAccountToken: &v1.ServiceAccountTokenProjection{Path: "token"}},
			}}}},
			{Name: "4", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{}}},
		},
		InitContainers: []v1.Container{{Name: "init", EnvFrom: []v1.EnvFromSource{{ConfigMapRef: &v1.ConfigMapEnvSource{LocalObjectReference: ref("cm-init")}}}}},
		Containers:     []v1.Container{{Name: "app", Env: env, EnvFrom: []v1.EnvFromSource{{Prefix: "X_", SecretRef: &v1.SecretEnvSource{LocalObjectReference: ref("s-from")}}}}},
		EphemeralContainers: []v1.EphemeralContainer{{EphemeralContainerCommon: v1.EphemeralContainerCommon{Name: "debug",
			Env: []v1.EnvVar{{Name: "E", ValueFrom: &v1.EnvVarSource{ConfigMapKeyRef: &v1.ConfigMapKeySelector{LocalObjectReference: ref("cm-eph")}}}}}}},
	}
	var got []string
	for k := range references(pod) {
		if k.namespace != ns {
			t.Errorf("reference %s in namespace %q; want the pod's %q", k.name, k.namespace, ns)
		}
		got = append(got, k.kind.resource.Resource+"/"+k.name)
	}
	slices.Sort(got)
	want := []string{
		"configmap/cm-eph", "configmap/cm-init", "configmap/cm-proj", "configmap/cm-vol", "configmap/cm-env",
		"secret/s-env", "secret/s-from", "secret/s-proj", "secret/s-pull", "secret/s-vol",
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("references\n got %v\nwant %v", got, want)
	}
}
