package volume

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

func configMapPod(src v1.ConfigMapVolumeSource) *v1.Pod {
	pod := testPod()
	pod.Spec.Volumes = []v1.Volume{{Name: "cfg", VolumeSource: v1.VolumeSource{ConfigMap: &src}}}
	return pod
}

func appConfig() *v1.ConfigMap {
	cm := &v1.ConfigMap{Data: map[string]string{"app.conf": "port=80\n", "mode": "fast"}, BinaryData: map[string][]byte{"blob": {0, 1, 2}}}
	cm.Namespace, cm.Name = "default", "app-config"
	return cm
}

// A configMap volume is upstream's layout: a 0777 directory on disk, a
// 0755 timestamped directory with the files, ..data linking to it and a
// link into ..data per key.
func TestConfigMapLayout(t *testing.T) {
	root := t.TempDir()
	src := newFakeSources()
	src.configMaps["default/app-config"] = appConfig()
	pod := configMapPod(v1.ConfigMapVolumeSource{LocalObjectReference: v1.LocalObjectReference{Name: "app-config"}})
	paths := prepare(t, pod, root, src)
	dir := paths["cfg"]
	if want := filepath.Join(root, "pods/uid1/volumes/kubernetes.io~configmap/cfg"); dir != want {
		t.Fatalf("path = %q, want %q", dir, want)
	}
	st, err := os.Stat(dir)
	must(t, err)
	if st.Mode().Perm() != 0o777 {
		t.Errorf("volume directory mode %v, want 0777", st.Mode().Perm())
	}
	diffLayout(t, layout(t, dir), map[string]entry{
		"..data":        link("..TS"),
		"..TS":          dirEntry(),
		"..TS/app.conf": file("port=80\n"),
		"..TS/mode":     file("fast"),
		"..TS/blob":     file("\x00\x01\x02"),
		"app.conf":      link("..data/app.conf"),
		"mode":          link("..data/mode"),
		"blob":          link("..data/blob"),
	})
	ts, _ := os.Readlink(filepath.Join(dir, dataDirName))
	if !strings.HasPrefix(ts, "..20") {
		t.Errorf("timestamped directory %q is not named ..<date>", ts)
	}
}

func TestConfigMapItemsAndModes(t *testing.T) {
	root := t.TempDir()
	src := newFakeSources()
	src.configMaps["default/app-config"] = appConfig()
	pod := configMapPod(v1.ConfigMapVolumeSource{
		LocalObjectReference: v1.LocalObjectReference{Name: "app-config"},
		DefaultMode:          ptr(int32(0o440)),
		Items: []v1.KeyToPath{
			{Key: "app.conf", Path: "etc/app/app.conf"},
			{Key: "blob", Path: "bin", Mode: ptr(int32(0o700))},
		},
	})
	dir := prepare(t, pod, root, src)["cfg"]
	diffLayout(t, layout(t, dir), map[string]entry{
		"..data":                link("..TS"),
		"..TS":                  dirEntry(),
		"..TS/etc":              dirEntry(),
		"..TS/etc/app":          dirEntry(),
		"..TS/etc/app/app.conf": fileMode("port=80\n", 0o440),
		"..TS/bin":              fileMode("\x00\x01\x02", 0o700),
		"etc":                   link("..data/etc"),
		"bin":                   link("..data/bin"),
	})
}

func TestConfigMapMissing(t *testing.T) {
	src := newFakeSources()
	src.configMaps["default/app-config"] = appConfig()
	ref := v1.LocalObjectReference{Name: "app-config"}
	tests := []struct {
		name    string
		src     v1.ConfigMapVolumeSource
		wantErr string
		want    []string // visible names
	}{
		{name: "missing object", src: v1.ConfigMapVolumeSource{LocalObjectReference: v1.LocalObjectReference{Name: "gone"}},
			wantErr: `MountVolume.SetUp failed for volume "cfg" : configmap "gone" not found`},
		{name: "missing optional object", src: v1.ConfigMapVolumeSource{LocalObjectReference: v1.LocalObjectReference{Name: "gone"}, Optional: ptr(true)}},
		{name: "missing key", src: v1.ConfigMapVolumeSource{LocalObjectReference: ref, Items: []v1.KeyToPath{{Key: "nope", Path: "x"}}},
			wantErr: `MountVolume.SetUp failed for volume "cfg" : configmap references non-existent config key: nope`},
		{name: "missing optional key", src: v1.ConfigMapVolumeSource{LocalObjectReference: ref, Optional: ptr(true),
			Items: []v1.KeyToPath{{Key: "nope", Path: "x"}, {Key: "mode", Path: "m"}}}, want: []string{"m"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			paths, err := Prepare(context.Background(), configMapPod(tt.src), root, Env{Sources: src})
			if tt.wantErr != "" {
				var me *MountError
				if err == nil || err.Error() != tt.wantErr || !errors.As(err, &me) || me.Volume != "cfg" {
					t.Fatalf("error = %v, want %q as a *MountError", err, tt.wantErr)
				}
				if strings.Contains(tt.wantErr, "not found") && !apierrors.IsNotFound(err) {
					t.Errorf("a missing object is not NotFound: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			es, err := os.ReadDir(paths["cfg"])
			must(t, err)
			for _, e := range es {
				if !strings.HasPrefix(e.Name(), "..") {
					got = append(got, e.Name())
				}
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("files = %v, want %v", got, tt.want)
			}
		})
	}
}

// A static pod has no API server: a configMap volume fails clearly.
func TestConfigMapWithoutSources(t *testing.T) {
	_, err := Prepare(context.Background(), configMapPod(v1.ConfigMapVolumeSource{LocalObjectReference: v1.LocalObjectReference{Name: "x"}}), t.TempDir(), Env{})
	var me *MountError
	if !errors.As(err, &me) || !strings.Contains(err.Error(), "static pod") {
		t.Errorf("error = %v, want a MountError about the static pod", err)
	}
}

// An fsGroup gives the volume its group and group read, directories
// set-group-ID, as upstream.
func TestConfigMapFSGroup(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("changing a file's group to another needs root")
	}
	root := t.TempDir()
	src := newFakeSources()
	src.configMaps["default/app-config"] = appConfig()
	pod := configMapPod(v1.ConfigMapVolumeSource{LocalObjectReference: v1.LocalObjectReference{Name: "app-config"},
		DefaultMode: ptr(int32(0o400)), Items: []v1.KeyToPath{{Key: "mode", Path: "d/mode"}}})
	pod.Spec.SecurityContext = &v1.PodSecurityContext{FSGroup: ptr(int64(1234))}
	dir := prepare(t, pod, root, src)["cfg"]
	got := layout(t, dir)
	diffLayout(t, got, map[string]entry{
		"..data":      link("..TS"),
		"..TS":        {mode: os.ModeDir | os.ModeSetgid | 0o755},
		"..TS/d":      {mode: os.ModeDir | os.ModeSetgid | 0o755},
		"..TS/d/mode": fileMode("fast", 0o440),
		"d":           link("..data/d"),
	})
	for _, p := range []string{"", "..data", "..TS/d/mode"} {
		p = strings.Replace(p, "..TS", mustReadlink(t, filepath.Join(dir, dataDirName)), 1)
		if gid := groupOf(t, filepath.Join(dir, p)); gid != 1234 {
			t.Errorf("%q group %d, want 1234", p, gid)
		}
	}
}

func mustReadlink(t *testing.T, p string) string {
	t.Helper()
	s, err := os.Readlink(p)
	must(t, err)
	return s
}
