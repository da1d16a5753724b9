package kuberuntime

import (
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func ptr[T any](v T) *T { return &v }

func basePod() *v1.Pod {
	p := &v1.Pod{}
	p.Name, p.Namespace = "web-node1", "kube-system"
	p.Spec.Containers = []v1.Container{{Name: "c", Image: "img"}}
	return p
}

func TestUnsupported(t *testing.T) {
	tests := []struct {
		name string
		edit func(p *v1.Pod)
		// want are the fields named by the errors, in order; none means
		// the pod is accepted.
		want []string
	}{
		{"plain pod", func(*v1.Pod) {}, nil},
		{"hostUsers true", func(p *v1.Pod) { p.Spec.HostUsers = ptr(true) }, nil},
		{"hostUsers false", func(p *v1.Pod) { p.Spec.HostUsers = ptr(false) }, []string{"spec.hostUsers"}},
		{"pod SELinux", func(p *v1.Pod) {
			p.Spec.SecurityContext = &v1.PodSecurityContext{SELinuxOptions: &v1.SELinuxOptions{Type: "spc_t"}}
		}, []string{"spec.securityContext.seLinuxOptions"}},
		{"container SELinux", func(p *v1.Pod) {
			p.Spec.Containers[0].SecurityContext = &v1.SecurityContext{SELinuxOptions: &v1.SELinuxOptions{Level: "s0"}}
		}, []string{"spec.containers[0].securityContext.seLinuxOptions"}},
		{"AppArmor runtime default and unconfined", func(p *v1.Pod) {
			p.Spec.SecurityContext = &v1.PodSecurityContext{AppArmorProfile: &v1.AppArmorProfile{Type: v1.AppArmorProfileTypeRuntimeDefault}}
			p.Spec.Containers[0].SecurityContext = &v1.SecurityContext{AppArmorProfile: &v1.AppArmorProfile{Type: v1.AppArmorProfileTypeUnconfined}}
			p.Annotations = map[string]string{v1.DeprecatedAppArmorBetaContainerAnnotationKeyPrefix + "c": "runtime/default"}
		}, nil},
		{"AppArmor localhost", func(p *v1.Pod) {
			p.Spec.SecurityContext = &v1.PodSecurityContext{AppArmorProfile: &v1.AppArmorProfile{Type: v1.AppArmorProfileTypeLocalhost, LocalhostProfile: ptr("mine")}}
			p.Spec.InitContainers = []v1.Container{{Name: "i", SecurityContext: &v1.SecurityContext{AppArmorProfile: &v1.AppArmorProfile{Type: v1.AppArmorProfileTypeLocalhost}}}}
		}, []string{"spec.securityContext.appArmorProfile", "spec.initContainers[0].securityContext.appArmorProfile"}},
		{"AppArmor annotations", func(p *v1.Pod) {
			p.Annotations = map[string]string{
				v1.DeprecatedAppArmorBetaContainerAnnotationKeyPrefix + "c": "localhost/mine",
				v1.DeprecatedAppArmorBetaContainerAnnotationKeyPrefix + "d": "bogus",
				"other": "localhost/x",
			}
		}, []string{"metadata.annotations[container.apparmor.security.beta.kubernetes.io/c]", "metadata.annotations[container.apparmor.security.beta.kubernetes.io/d]"}},
		{"procMount", func(p *v1.Pod) {
			p.Spec.Containers = append(p.Spec.Containers,
				v1.Container{Name: "ok", SecurityContext: &v1.SecurityContext{ProcMount: ptr(v1.DefaultProcMount)}},
				v1.Container{Name: "bad", SecurityContext: &v1.SecurityContext{ProcMount: ptr(v1.UnmaskedProcMount)}})
		}, []string{"spec.containers[2].securityContext.procMount"}},
		{"emptyDir media", func(p *v1.Pod) {
			p.Spec.Volumes = []v1.Volume{
				{Name: "disk", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{}}},
				{Name: "mem", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{Medium: v1.StorageMediumMemory}}},
				{Name: "huge", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{Medium: v1.StorageMediumHugePages}}},
				{Name: "huge2m", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{Medium: "HugePages-2Mi"}}},
			}
		}, []string{"spec.volumes[2].emptyDir.medium", "spec.volumes[3].emptyDir.medium"}},
		{"emptyDir size limit and other volume types", func(p *v1.Pod) {
			limit := resource.MustParse("1Gi")
			p.Spec.Volumes = []v1.Volume{
				{Name: "host", VolumeSource: v1.VolumeSource{HostPath: &v1.HostPathVolumeSource{Path: "/x"}}},
				{Name: "limited", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{SizeLimit: &limit}}},
				{Name: "nfs", VolumeSource: v1.VolumeSource{NFS: &v1.NFSVolumeSource{Server: "s", Path: "/x"}}},
				{Name: "tmpfs", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{Medium: v1.StorageMediumMemory, SizeLimit: &limit}}},
				{Name: "eph", VolumeSource: v1.VolumeSource{Ephemeral: &v1.EphemeralVolumeSource{}}},
			}
		}, []string{"spec.volumes[2].nfs", "spec.volumes[4].ephemeral"}},
		{"volumes from API objects", func(p *v1.Pod) {
			p.Spec.Volumes = []v1.Volume{
				{Name: "cm", VolumeSource: v1.VolumeSource{ConfigMap: &v1.ConfigMapVolumeSource{}}},
				{Name: "sec", VolumeSource: v1.VolumeSource{Secret: &v1.SecretVolumeSource{}}},
				{Name: "dapi", VolumeSource: v1.VolumeSource{DownwardAPI: &v1.DownwardAPIVolumeSource{}}},
				{Name: "claim", VolumeSource: v1.VolumeSource{PersistentVolumeClaim: &v1.PersistentVolumeClaimVolumeSource{ClaimName: "c"}}},
				{Name: "proj", VolumeSource: v1.VolumeSource{Projected: &v1.ProjectedVolumeSource{Sources: []v1.VolumeProjection{
					{ServiceAccountToken: &v1.ServiceAccountTokenProjection{Path: "token"}},
					{ConfigMap: &v1.ConfigMapProjection{}},
					{Secret: &v1.SecretProjection{}},
					{DownwardAPI: &v1.DownwardAPIProjection{}},
					{ClusterTrustBundle: &v1.ClusterTrustBundleProjection{Path: "b"}},
					{PodCertificate: &v1.PodCertificateProjection{}},
				}}}},
			}
		}, []string{"spec.volumes[4].projected.sources[4].clusterTrustBundle", "spec.volumes[4].projected.sources[5].podCertificate"}},
		{"sub-paths", func(p *v1.Pod) {
			p.Spec.Containers[0].VolumeMounts = []v1.VolumeMount{
				{Name: "v", MountPath: "/a", SubPath: "ok/dir"},
				{Name: "v", MountPath: "/b", SubPath: "../etc"},
				{Name: "v", MountPath: "/c", SubPath: "/etc"},
				{Name: "v", MountPath: "/d", SubPathExpr: "$(POD)/../x"},
				{Name: "v", MountPath: "/e", SubPath: "a", SubPathExpr: "b"},
				{Name: "v", MountPath: "/f", SubPath: "a..b/..c"},
			}
		}, []string{"spec.containers[0].volumeMounts[1].subPath", "spec.containers[0].volumeMounts[2].subPath", "spec.containers[0].volumeMounts[3].subPathExpr", "spec.containers[0].volumeMounts[4]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := basePod()
			tt.edit(p)
			errs := Unsupported(p)
			var got []string
			for _, err := range errs {
				field, why, _ := strings.Cut(err.Error(), ": ")
				got = append(got, field)
				if why == "" {
					t.Errorf("%q gives no reason", err)
				}
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("refused fields = %q, want %q (errors: %v)", got, tt.want, errs)
			}
		})
	}
}

func TestUnsupportedReasons(t *testing.T) {
	p := basePod()
	p.Spec.HostUsers = ptr(false)
	limit := resource.MustParse("64Mi")
	p.Spec.Volumes = []v1.Volume{
		{Name: "huge", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{Medium: v1.StorageMediumHugePages}}},
		{Name: "disk", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{SizeLimit: &limit}}},
		{Name: "share", VolumeSource: v1.VolumeSource{NFS: &v1.NFSVolumeSource{Server: "s", Path: "/x"}}},
	}
	p.Spec.Containers[0].VolumeMounts = []v1.VolumeMount{{Name: "disk", MountPath: "/m", SubPath: "../x"}}
	var msgs []string
	for _, err := range Unsupported(p) {
		msgs = append(msgs, err.Error())
	}
	want := []string{
		"spec.hostUsers: false asks for a user namespace, which this agent does not support; remove the field",
		`spec.volumes[0].emptyDir.medium: "HugePages" is not supported by this agent; use medium "Memory" (tmpfs) or remove medium to use the node's disk`,
		`spec.volumes[2].nfs: volume "share": nfs volumes are not supported by this agent; use hostPath, emptyDir, configMap, secret, projected, downwardAPI or persistentVolumeClaim`,
		`spec.containers[0].volumeMounts[0].subPath: "../x" has a ".." element; a sub-path must stay inside its volume`,
	}
	if strings.Join(msgs, "\n") != strings.Join(want, "\n") {
		t.Errorf("messages:\n%s\nwant:\n%s", strings.Join(msgs, "\n"), strings.Join(want, "\n"))
	}
}

func TestVerifyRunAsNonRoot(t *testing.T) {
	tests := []struct {
		name          string
		podNonRoot    *bool
		nonRoot       *bool
		podUser, user *int64
		imageUID      *int64
		imageUser     string
		wantErr       string
	}{
		{name: "not asked", imageUID: ptr(int64(0))},
		{name: "asked, image user 0", nonRoot: ptr(true), imageUID: ptr(int64(0)), wantErr: "container has runAsNonRoot and image will run as root"},
		{name: "asked, image user unset", nonRoot: ptr(true), wantErr: "container has runAsNonRoot and image will run as root"},
		{name: "asked, image user root by name", podNonRoot: ptr(true), imageUser: "root", wantErr: "container has runAsNonRoot and image will run as root"},
		{name: "asked, image user 1000", nonRoot: ptr(true), imageUID: ptr(int64(1000))},
		{name: "asked, image user by other name", nonRoot: ptr(true), imageUser: "nobody", wantErr: `non-numeric user "nobody"`},
		{name: "asked, runAsUser 0", nonRoot: ptr(true), user: ptr(int64(0)), imageUID: ptr(int64(1000)), wantErr: "runAsUser 0"},
		{name: "asked, pod runAsUser 1000 over a root image", podNonRoot: ptr(true), podUser: ptr(int64(1000)), imageUID: ptr(int64(0))},
		{name: "container overrides the pod's runAsUser", podNonRoot: ptr(true), podUser: ptr(int64(1000)), user: ptr(int64(0)), wantErr: "runAsUser 0"},
		{name: "container allows root over the pod", podNonRoot: ptr(true), nonRoot: ptr(false), imageUID: ptr(int64(0))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := basePod()
			p.Spec.SecurityContext = &v1.PodSecurityContext{RunAsNonRoot: tt.podNonRoot, RunAsUser: tt.podUser}
			p.Spec.Containers[0].SecurityContext = &v1.SecurityContext{RunAsNonRoot: tt.nonRoot, RunAsUser: tt.user}
			err := VerifyRunAsNonRoot(p, &p.Spec.Containers[0], tt.imageUID, tt.imageUser)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("error = %v, want one containing %q", err, tt.wantErr)
			case err != nil && !strings.Contains(err.Error(), `(pod "web-node1", container "c")`):
				t.Errorf("error %q does not name the pod and container", err)
			}
		})
	}
}

func TestSubPathsExpand(t *testing.T) {
	c := &v1.Container{VolumeMounts: []v1.VolumeMount{
		{Name: "v", MountPath: "/a"},
		{Name: "v", MountPath: "/b", SubPath: "plain"},
		{Name: "v", MountPath: "/c", SubPathExpr: "logs/$(POD_NAME)"},
	}}
	env := []*runtimeapi.KeyValue{{Key: "POD_NAME", Value: []byte("web")}}
	got, err := SubPaths(c, env)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[1] != "plain" || got[2] != "logs/web" {
		t.Errorf("sub-paths = %v", got)
	}
	c.VolumeMounts[2].SubPathExpr = "$(ESCAPE)"
	if _, err := SubPaths(c, []*runtimeapi.KeyValue{{Key: "ESCAPE", Value: []byte("../../etc")}}); err == nil {
		t.Error("a subPathExpr that expands to ../../etc was accepted")
	}
}

func TestAppArmorRendered(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(p *v1.Pod)
		want  *runtimeapi.SecurityProfile
		name2 string
	}{
		{"none", func(*v1.Pod) {}, nil, ""},
		{"pod runtime default", func(p *v1.Pod) {
			p.Spec.SecurityContext = &v1.PodSecurityContext{AppArmorProfile: &v1.AppArmorProfile{Type: v1.AppArmorProfileTypeRuntimeDefault}}
		}, &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_RuntimeDefault}, "runtime/default"},
		{"annotation over pod", func(p *v1.Pod) {
			p.Spec.SecurityContext = &v1.PodSecurityContext{AppArmorProfile: &v1.AppArmorProfile{Type: v1.AppArmorProfileTypeRuntimeDefault}}
			p.Annotations = map[string]string{v1.DeprecatedAppArmorBetaContainerAnnotationKeyPrefix + "c": "unconfined"}
		}, &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_Unconfined}, "unconfined"},
		{"container over annotation", func(p *v1.Pod) {
			p.Annotations = map[string]string{v1.DeprecatedAppArmorBetaContainerAnnotationKeyPrefix + "c": "unconfined"}
			p.Spec.Containers[0].SecurityContext = &v1.SecurityContext{AppArmorProfile: &v1.AppArmorProfile{Type: v1.AppArmorProfileTypeRuntimeDefault}}
		}, &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_RuntimeDefault}, "runtime/default"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := basePod()
			tt.edit(p)
			sc := containerSecurity(p, &p.Spec.Containers[0])
			if sc.Apparmor.GetProfileType() != tt.want.GetProfileType() || (sc.Apparmor == nil) != (tt.want == nil) || sc.ApparmorProfile != tt.name2 {
				t.Errorf("apparmor = %v %q, want %v %q", sc.Apparmor, sc.ApparmorProfile, tt.want, tt.name2)
			}
		})
	}
}
