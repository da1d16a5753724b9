package manifests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/equality"
)

func fileMode(t *testing.T, path string) os.FileMode {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode().Perm()
}

func TestWriteAndReadStaticPod(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "manifests")
	pod := EtcdPod(testConfig())
	if err := WriteStaticPod(dir, "etcd", pod, "", nil); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "etcd.yaml")
	if m := fileMode(t, path); m != 0o600 {
		t.Errorf("manifest mode = %o, want 600", m)
	}
	if m := fileMode(t, dir); m != 0o700 {
		t.Errorf("manifest dir mode = %o, want 700", m)
	}
	// A re-write converges a loosened mode.
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteStaticPod(dir, "etcd", pod, "", nil); err != nil {
		t.Fatal(err)
	}
	if m := fileMode(t, path); m != 0o600 {
		t.Errorf("manifest mode after rewrite = %o, want 600", m)
	}
	got, err := ReadStaticPod(path)
	if err != nil {
		t.Fatal(err)
	}
	if !equality.Semantic.DeepEqual(got, pod) {
		t.Errorf("ReadStaticPod() = %+v, want %+v", got, pod)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	marshaled, _ := MarshalPod(pod)
	if string(data) != string(marshaled) {
		t.Errorf("file content differs from MarshalPod")
	}
}

func TestReadStaticPodErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, content, wantErr string
	}{
		{name: "not a pod", content: "apiVersion: v1\nkind: Service\n", wantErr: `kind "Service"`},
		{name: "not yaml", content: "{{{", wantErr: "failed to parse the manifest"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".yaml")
			if err := os.WriteFile(p, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := ReadStaticPod(p)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ReadStaticPod() error = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
	if _, err := ReadStaticPod(filepath.Join(dir, "missing.yaml")); err == nil {
		t.Error("ReadStaticPod() of a missing file succeeded")
	}
}

func TestCreateEtcdDataDir(t *testing.T) {
	base := t.TempDir()
	fresh := filepath.Join(base, "a", "etcd")
	if err := CreateEtcdDataDir(fresh); err != nil {
		t.Fatal(err)
	}
	if m := fileMode(t, fresh); m != 0o700 {
		t.Errorf("data dir mode = %o, want 700", m)
	}

	existing := filepath.Join(base, "existing")
	if err := os.Mkdir(existing, 0o755); err != nil {
		t.Fatal(err)
	}
	member := filepath.Join(existing, "member")
	if err := os.WriteFile(member, []byte("data"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := CreateEtcdDataDir(existing); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(member); err != nil || string(b) != "data" {
		t.Errorf("existing content touched: %q, %v", b, err)
	}
	if m := fileMode(t, existing); m != 0o755 {
		t.Errorf("existing dir mode changed to %o", m)
	}

	if err := CreateEtcdDataDir(member); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("CreateEtcdDataDir(file) error = %v, want a not-a-directory error", err)
	}
}

func TestWriteStaticPodAppliesPatches(t *testing.T) {
	patches := writePatchDir(t, map[string]string{"etcd+strategic.json": `{"metadata":{"labels":{"extra":"yes"}}}`})
	dir := t.TempDir()
	var out strings.Builder
	if err := WriteStaticPod(dir, "etcd", EtcdPod(testConfig()), patches, &out); err != nil {
		t.Fatal(err)
	}
	got, err := ReadStaticPod(ManifestPath(dir, "etcd"))
	if err != nil {
		t.Fatal(err)
	}
	if got.Labels["extra"] != "yes" {
		t.Errorf("labels = %v, want the patched label", got.Labels)
	}
	if !strings.Contains(out.String(), "etcd") {
		t.Errorf("no patch notice in %q", out.String())
	}
	if err := WriteStaticPod(dir, "none", nil, "", nil); err == nil || !strings.Contains(err.Error(), `no static Pod manifest is defined for "none"`) {
		t.Errorf("nil pod: error = %v", err)
	}
}
