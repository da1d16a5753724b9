package volume

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
)

func testPod() *v1.Pod {
	p := &v1.Pod{}
	p.Name, p.Namespace, p.UID = "web", "default", "uid1"
	return p
}

// A new sandbox gets a new IP: the pod's hosts file must name it.
func TestEtcHostsFollowsThePodIP(t *testing.T) {
	root := t.TempDir()
	pod := testPod()
	for _, ip := range []string{"10.1.0.5", "10.1.0.9"} {
		p, err := EtcHostsFile(root, pod, ip, "web")
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(data), ip+"\tweb\n") {
			t.Errorf("hosts file for IP %s:\n%s", ip, data)
		}
	}
}

func TestPrepareSubPaths(t *testing.T) {
	vol := filepath.Join(t.TempDir(), "vol")
	outside := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(vol, "real"), 0o755))
	must(t, os.WriteFile(filepath.Join(vol, "real", "file"), nil, 0o644))
	must(t, os.Symlink(outside, filepath.Join(vol, "out")))
	must(t, os.Symlink("real", filepath.Join(vol, "in")))
	must(t, os.Symlink(filepath.Join(outside, "missing"), filepath.Join(vol, "dangling")))
	tests := []struct {
		sub, want, wantErr string
	}{
		{sub: "a/b/c", want: filepath.Join(vol, "a/b/c")},
		{sub: "in/new", want: filepath.Join(vol, "real/new")},
		{sub: "in/file", want: filepath.Join(vol, "real/file")},
		{sub: "out/new", wantErr: "outside the volume"},
		{sub: "out", wantErr: "outside the volume"},
		{sub: "dangling/x", wantErr: "does not resolve"},
		{sub: "a/../../x", wantErr: `".."`},
	}
	for _, tt := range tests {
		t.Run(tt.sub, func(t *testing.T) {
			c := &v1.Container{VolumeMounts: []v1.VolumeMount{{Name: "v", MountPath: "/m"}}}
			got, err := PrepareSubPaths(c, map[string]string{"v": vol}, map[int]string{0: tt.sub})
			switch {
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("error = %v, want one containing %q", err, tt.wantErr)
				}
			case err != nil:
				t.Errorf("refused: %v", err)
			case got[0] != tt.want:
				t.Errorf("host path = %q, want %q", got[0], tt.want)
			}
		})
	}
	if es, _ := os.ReadDir(outside); len(es) != 0 {
		t.Errorf("directories created outside the volume: %v", es)
	}
	mounts := ContainerMounts(testPod(), &v1.Container{VolumeMounts: []v1.VolumeMount{{Name: "v", MountPath: "/m", SubPath: "in"}}}, map[string]string{"v": vol}, map[int]string{0: filepath.Join(vol, "real")})
	if mounts[0].HostPath != filepath.Join(vol, "real") {
		t.Errorf("mount host path = %q, want the resolved sub-path", mounts[0].HostPath)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
