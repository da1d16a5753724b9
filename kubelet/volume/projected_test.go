package volume

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// kubeAPIAccess is the projected volume the API server adds to every pod.
func kubeAPIAccess() v1.Volume {
	return v1.Volume{Name: "kube-api-access-x7k2p", VolumeSource: v1.VolumeSource{Projected: &v1.ProjectedVolumeSource{
		DefaultMode: ptr(int32(0o644)),
		Sources: []v1.VolumeProjection{
			{ServiceAccountToken: &v1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: ptr(int64(3607))}},
			{ConfigMap: &v1.ConfigMapProjection{LocalObjectReference: v1.LocalObjectReference{Name: "kube-root-ca.crt"},
				Items: []v1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}}}},
			{DownwardAPI: &v1.DownwardAPIProjection{Items: []v1.DownwardAPIVolumeFile{
				{Path: "namespace", FieldRef: &v1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"}}}}},
		},
	}}}
}

func rootCA() *v1.ConfigMap {
	cm := &v1.ConfigMap{Data: map[string]string{"ca.crt": "-----BEGIN CERTIFICATE-----\n"}}
	cm.Namespace, cm.Name = "default", "kube-root-ca.crt"
	return cm
}

// The kube-api-access volume: token, ca.crt and namespace in one tmpfs,
// its root 1777 as upstream's.
func TestProjectedKubeAPIAccess(t *testing.T) {
	needMounts(t)
	root := t.TempDir()
	cleanupMounts(t, root)
	src := newFakeSources()
	src.configMaps["default/kube-root-ca.crt"] = rootCA()
	pod := testPod()
	pod.Spec.Volumes = []v1.Volume{kubeAPIAccess()}
	dir := prepare(t, pod, root, src)["kube-api-access-x7k2p"]
	if want := filepath.Join(root, "pods/uid1/volumes/kubernetes.io~projected/kube-api-access-x7k2p"); dir != want {
		t.Fatalf("path = %q, want %q", dir, want)
	}
	tmpfsAt(t, dir)
	st, err := os.Stat(dir)
	must(t, err)
	if st.Mode()&(os.ModePerm|os.ModeSticky) != os.ModeSticky|0o777 {
		t.Errorf("volume root mode %v, want drwxrwxrwt", st.Mode())
	}
	diffLayout(t, layout(t, dir), map[string]entry{
		"..data":         link("..TS"),
		"..TS":           dirEntry(),
		"..TS/token":     file("tok-1"),
		"..TS/ca.crt":    file("-----BEGIN CERTIFICATE-----\n"),
		"..TS/namespace": file("default"),
		"token":          link("..data/token"),
		"ca.crt":         link("..data/ca.crt"),
		"namespace":      link("..data/namespace"),
	})
	if len(src.tokenReqs) != 1 || *src.tokenReqs[0].ExpirationSeconds != 3607 {
		t.Errorf("token requests %v", src.tokenReqs)
	}

	// A new token is swapped in; the tmpfs stays.
	id := tmpfsAt(t, dir).id
	src.token = "tok-2"
	prepare(t, pod, root, src)
	if data, _ := os.ReadFile(filepath.Join(dir, "token")); string(data) != "tok-2" {
		t.Errorf("token after refresh = %q", data)
	}
	if tmpfsAt(t, dir).id != id {
		t.Error("a second Prepare mounted another tmpfs")
	}

	must(t, TeardownPodDir(PodDir(root, pod)))
	if _, err := os.Stat(PodDir(root, pod)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pod directory left: %v", err)
	}
}

// With an fsGroup, or one user for every container, the token is 0600 and
// owned by that user, as upstream.
func TestProjectedTokenOwner(t *testing.T) {
	needMounts(t)
	root := t.TempDir()
	cleanupMounts(t, root)
	src := newFakeSources()
	src.configMaps["default/kube-root-ca.crt"] = rootCA()
	pod := testPod()
	pod.Spec.Containers = []v1.Container{{Name: "c"}}
	pod.Spec.SecurityContext = &v1.PodSecurityContext{RunAsUser: ptr(int64(1001)), FSGroup: ptr(int64(2002))}
	pod.Spec.Volumes = []v1.Volume{kubeAPIAccess()}
	dir := prepare(t, pod, root, src)["kube-api-access-x7k2p"]
	ts := mustReadlink(t, filepath.Join(dir, dataDirName))
	got := layout(t, dir)
	if e := got["..TS/token"]; e.mode != 0o640 { // 0600 plus the fsGroup's group read
		t.Errorf("token mode %v, want 0640", e.mode)
	}
	if e := got["..TS/ca.crt"]; e.mode != 0o644 {
		t.Errorf("ca.crt mode %v, want 0644", e.mode)
	}
	st, err := os.Lstat(filepath.Join(dir, ts, "token"))
	must(t, err)
	if uid, gid := ownerOf(st); uid != 1001 || gid != 2002 {
		t.Errorf("token owned by %d:%d, want 1001:2002", uid, gid)
	}
	if st, err := os.Stat(dir); err != nil || st.Mode()&os.ModeSetgid == 0 || groupOf(t, dir) != 2002 {
		t.Errorf("volume root %v (group %d), want set-group-ID and group 2002", st.Mode(), groupOf(t, dir))
	}
}

// A missing configMap of a projected volume names it in the error, and
// nothing is mounted.
func TestProjectedMissingConfigMap(t *testing.T) {
	root := t.TempDir()
	pod := testPod()
	pod.Spec.Volumes = []v1.Volume{kubeAPIAccess()}
	_, err := Prepare(context.Background(), pod, root, Env{Sources: newFakeSources()})
	want := `MountVolume.SetUp failed for volume "kube-api-access-x7k2p" : configmap "kube-root-ca.crt" not found`
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %q", err, want)
	}
	if _, err := os.Stat(volumePath(root, pod, pluginProjected, "kube-api-access-x7k2p")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("volume directory created for a failed volume: %v", err)
	}
}

func TestDownwardAPIFiles(t *testing.T) {
	pod := testPod()
	pod.Labels = map[string]string{"b": "2", "a": "1"}
	pod.Annotations = map[string]string{"note": "x"}
	pod.Spec.Containers = []v1.Container{{Name: "c", Resources: v1.ResourceRequirements{Requests: v1.ResourceList{v1.ResourceMemory: resource.MustParse("64Mi")}}}}
	p := &preparer{ctx: context.Background(), pod: pod, env: Env{NodeCPUMilli: 2000, NodeMemory: 4 << 30}}
	items := []v1.DownwardAPIVolumeFile{
		{Path: "labels", FieldRef: &v1.ObjectFieldSelector{FieldPath: "metadata.labels"}},
		{Path: "annotations", FieldRef: &v1.ObjectFieldSelector{FieldPath: "metadata.annotations"}},
		{Path: "a", FieldRef: &v1.ObjectFieldSelector{FieldPath: "metadata.labels['a']"}},
		{Path: "name", FieldRef: &v1.ObjectFieldSelector{FieldPath: "metadata.name"}, Mode: ptr(int32(0o400))},
		{Path: "uid", FieldRef: &v1.ObjectFieldSelector{FieldPath: "metadata.uid"}},
		{Path: "cpu_limit", ResourceFieldRef: &v1.ResourceFieldSelector{ContainerName: "c", Resource: "limits.cpu", Divisor: resource.MustParse("1m")}},
		{Path: "mem_request", ResourceFieldRef: &v1.ResourceFieldSelector{ContainerName: "c", Resource: "requests.memory", Divisor: resource.MustParse("1Mi")}},
		{Path: "./dir/../mem_limit", ResourceFieldRef: &v1.ResourceFieldSelector{ContainerName: "c", Resource: "limits.memory"}},
	}
	got, err := p.downwardFiles(items, 0o644)
	must(t, err)
	want := map[string]string{"labels": "a=\"1\"\nb=\"2\"", "annotations": "note=\"x\"", "a": "1", "name": "web", "uid": "uid1",
		"cpu_limit": "2000", "mem_request": "64", "mem_limit": "4294967296"}
	if len(got) != len(want) {
		t.Errorf("files %v, want %v", got, want)
	}
	for k, v := range want {
		if string(got[k].data) != v {
			t.Errorf("%s = %q, want %q", k, got[k].data, v)
		}
	}
	if got["name"].mode != 0o400 || got["uid"].mode != 0o644 {
		t.Errorf("modes: name %v uid %v", got["name"].mode, got["uid"].mode)
	}
	_, err = p.downwardFiles([]v1.DownwardAPIVolumeFile{{Path: "x", ResourceFieldRef: &v1.ResourceFieldSelector{ContainerName: "nope", Resource: "limits.cpu"}}}, 0o644)
	if err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("unknown container: %v", err)
	}
}

// A downwardAPI volume follows the pod's labels.
func TestDownwardAPIVolumeFollowsLabels(t *testing.T) {
	needMounts(t)
	root := t.TempDir()
	cleanupMounts(t, root)
	pod := testPod()
	pod.Labels = map[string]string{"v": "1"}
	pod.Spec.Volumes = []v1.Volume{{Name: "info", VolumeSource: v1.VolumeSource{DownwardAPI: &v1.DownwardAPIVolumeSource{
		Items: []v1.DownwardAPIVolumeFile{{Path: "labels", FieldRef: &v1.ObjectFieldSelector{FieldPath: "metadata.labels"}}}}}}}
	// A downwardAPI volume reads no objects: it works without Sources.
	paths, err := Prepare(context.Background(), pod, root, Env{})
	must(t, err)
	dir := paths["info"]
	if want := volumePath(root, pod, pluginDownwardAPI, "info"); dir != want {
		t.Errorf("path %q, want %q", dir, want)
	}
	pod.Labels["v"] = "2"
	_, err = Prepare(context.Background(), pod, root, Env{})
	must(t, err)
	if data, _ := os.ReadFile(filepath.Join(dir, "labels")); string(data) != `v="2"` {
		t.Errorf("labels = %q", data)
	}
}

// A secret volume is a tmpfs with upstream's layout; an optional missing
// secret is an empty volume.
func TestSecretOnTmpfs(t *testing.T) {
	needMounts(t)
	root := t.TempDir()
	cleanupMounts(t, root)
	src := newFakeSources()
	s := &v1.Secret{Data: map[string][]byte{"tls.key": []byte("k"), "tls.crt": []byte("c")}}
	s.Namespace, s.Name = "default", "tls"
	src.secrets["default/tls"] = s
	pod := testPod()
	pod.Spec.Volumes = []v1.Volume{
		{Name: "tls", VolumeSource: v1.VolumeSource{Secret: &v1.SecretVolumeSource{SecretName: "tls", DefaultMode: ptr(int32(0o400)),
			Items: []v1.KeyToPath{{Key: "tls.key", Path: "key"}, {Key: "tls.crt", Path: "crt", Mode: ptr(int32(0o444))}}}}},
		{Name: "opt", VolumeSource: v1.VolumeSource{Secret: &v1.SecretVolumeSource{SecretName: "gone", Optional: ptr(true)}}},
	}
	paths := prepare(t, pod, root, src)
	dir := paths["tls"]
	if want := volumePath(root, pod, pluginSecret, "tls"); dir != want {
		t.Fatalf("path %q, want %q", dir, want)
	}
	tmpfsAt(t, dir)
	diffLayout(t, layout(t, dir), map[string]entry{
		"..data":   link("..TS"),
		"..TS":     dirEntry(),
		"..TS/key": fileMode("k", 0o400),
		"..TS/crt": fileMode("c", 0o444),
		"key":      link("..data/key"),
		"crt":      link("..data/crt"),
	})
	diffLayout(t, layout(t, paths["opt"]), map[string]entry{"..data": link("..TS"), "..TS": dirEntry()})

	delete(src.secrets, "default/tls")
	_, err := Prepare(context.Background(), pod, root, Env{Sources: src})
	if want := `MountVolume.SetUp failed for volume "tls" : secret "tls" not found`; err == nil || err.Error() != want {
		t.Errorf("error = %v, want %q", err, want)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "key")); string(data) != "k" {
		t.Errorf("a failed update changed the files: key = %q", data)
	}
}

// ConfigMap, secret, projected and downwardAPI volumes mount read-only
// whatever the mount says; a claim when its readOnly is set.
func TestContainerMountsReadOnly(t *testing.T) {
	pod := testPod()
	pod.Spec.Volumes = []v1.Volume{
		{Name: "cm", VolumeSource: v1.VolumeSource{ConfigMap: &v1.ConfigMapVolumeSource{}}},
		{Name: "sec", VolumeSource: v1.VolumeSource{Secret: &v1.SecretVolumeSource{}}},
		{Name: "proj", VolumeSource: v1.VolumeSource{Projected: &v1.ProjectedVolumeSource{}}},
		{Name: "dapi", VolumeSource: v1.VolumeSource{DownwardAPI: &v1.DownwardAPIVolumeSource{}}},
		{Name: "ro-claim", VolumeSource: v1.VolumeSource{PersistentVolumeClaim: &v1.PersistentVolumeClaimVolumeSource{ClaimName: "a", ReadOnly: true}}},
		{Name: "claim", VolumeSource: v1.VolumeSource{PersistentVolumeClaim: &v1.PersistentVolumeClaimVolumeSource{ClaimName: "b"}}},
		{Name: "ed", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{}}},
	}
	c := &v1.Container{}
	for _, v := range pod.Spec.Volumes {
		c.VolumeMounts = append(c.VolumeMounts, v1.VolumeMount{Name: v.Name, MountPath: "/" + v.Name})
	}
	want := map[string]bool{"/cm": true, "/sec": true, "/proj": true, "/dapi": true, "/ro-claim": true, "/claim": false, "/ed": false}
	for _, m := range ContainerMounts(pod, c, map[string]string{}, nil) {
		if m.Readonly != want[m.ContainerPath] {
			t.Errorf("%s read-only = %v, want %v", m.ContainerPath, m.Readonly, want[m.ContainerPath])
		}
	}
}
