package volume

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// fakeSources serves objects from maps keyed namespace/name (PVs by name).
type fakeSources struct {
	configMaps map[string]*v1.ConfigMap
	secrets    map[string]*v1.Secret
	claims     map[string]*v1.PersistentVolumeClaim
	pvs        map[string]*v1.PersistentVolume
	token      string
	tokenReqs  []*v1.ServiceAccountTokenProjection
}

func newFakeSources() *fakeSources {
	return &fakeSources{configMaps: map[string]*v1.ConfigMap{}, secrets: map[string]*v1.Secret{},
		claims: map[string]*v1.PersistentVolumeClaim{}, pvs: map[string]*v1.PersistentVolume{}, token: "tok-1"}
}

// notFound words a missing object as client-go does (plural resource),
// so that tests see the volume package reword it.
func notFound(resource, name string) error {
	return apierrors.NewNotFound(schema.GroupResource{Resource: resource}, name)
}

func (f *fakeSources) ConfigMap(_ context.Context, ns, name string) (*v1.ConfigMap, error) {
	if cm, ok := f.configMaps[ns+"/"+name]; ok {
		return cm, nil
	}
	return nil, notFound("configmaps", name)
}

func (f *fakeSources) Secret(_ context.Context, ns, name string) (*v1.Secret, error) {
	if s, ok := f.secrets[ns+"/"+name]; ok {
		return s, nil
	}
	return nil, notFound("secrets", name)
}

func (f *fakeSources) ServiceAccountToken(_ context.Context, _ *v1.Pod, p *v1.ServiceAccountTokenProjection) (string, error) {
	f.tokenReqs = append(f.tokenReqs, p)
	return f.token, nil
}

func (f *fakeSources) PersistentVolumeClaim(_ context.Context, ns, name string) (*v1.PersistentVolumeClaim, error) {
	if c, ok := f.claims[ns+"/"+name]; ok {
		return c, nil
	}
	return nil, notFound("persistentvolumeclaims", name)
}

func (f *fakeSources) PersistentVolume(_ context.Context, name string) (*v1.PersistentVolume, error) {
	if pv, ok := f.pvs[name]; ok {
		return pv, nil
	}
	return nil, notFound("persistentvolumes", name)
}

// entry is one path of a volume as a container sees it.
type entry struct {
	mode    os.FileMode // type and permission bits
	target  string      // symbolic links
	content string      // regular files
}

// layout lists dir recursively by path, the timestamped directory's name
// replaced by "..TS" so that tests can compare.
func layout(t *testing.T, dir string) map[string]entry {
	t.Helper()
	ts, err := os.Readlink(filepath.Join(dir, dataDirName))
	must(t, err)
	out := map[string]entry{}
	must(t, filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = strings.Replace(rel, ts, "..TS", 1)
		e := entry{mode: info.Mode() & (os.ModeType | os.ModePerm | os.ModeSetgid | os.ModeSticky)}
		switch {
		case info.Mode()&os.ModeSymlink != 0:
			e.target, _ = os.Readlink(p)
			e.target = strings.Replace(e.target, ts, "..TS", 1)
			e.mode = os.ModeSymlink
		case info.Mode().IsRegular():
			data, _ := os.ReadFile(p)
			e.content = string(data)
		}
		out[rel] = e
		return nil
	}))
	return out
}

// diffLayout reports the differences of got from want.
func diffLayout(t *testing.T, got, want map[string]entry) {
	t.Helper()
	var keys []string
	for k := range got {
		keys = append(keys, k)
	}
	for k := range want {
		if _, ok := got[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		g, gok := got[k]
		w, wok := want[k]
		switch {
		case !gok:
			t.Errorf("%s missing, want %+v", k, w)
		case !wok:
			t.Errorf("%s unexpected: %+v", k, g)
		case g != w:
			t.Errorf("%s = %+v, want %+v", k, g, w)
		}
	}
}

func dirEntry() entry                              { return entry{mode: os.ModeDir | tsDirMode} }
func link(target string) entry                     { return entry{mode: os.ModeSymlink, target: target} }
func file(content string) entry                    { return entry{mode: 0o644, content: content} }
func fileMode(content string, m os.FileMode) entry { return entry{mode: m, content: content} }

func ptr[T any](v T) *T { return &v }

// prepare runs Prepare with sources and fails the test on an error.
func prepare(t *testing.T, pod *v1.Pod, root string, src Sources) map[string]string {
	t.Helper()
	paths, err := Prepare(context.Background(), pod, root, Env{Sources: src, NodeCPUMilli: 2000, NodeMemory: 4 << 30})
	if err != nil {
		t.Fatal(err)
	}
	return paths
}
