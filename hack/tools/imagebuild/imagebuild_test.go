package imagebuild

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func TestParseFileSpec(t *testing.T) {
	tests := []struct {
		in      string
		want    FileSpec
		wantErr string
	}{
		{in: "./app:/usr/local/bin/app", want: FileSpec{Src: "./app", Dst: "/usr/local/bin/app", Mode: 0o755}},
		{in: "a:/etc/x.conf:0644", want: FileSpec{Src: "a", Dst: "/etc/x.conf", Mode: 0o644}},
		{in: "a:/x/../y//z", want: FileSpec{Src: "a", Dst: "/y/z", Mode: 0o755}},
		{in: "a", wantErr: "want src:dst[:mode]"},
		{in: "a:relative", wantErr: "must be absolute"},
		{in: "a:/", wantErr: "must not be /"},
		{in: "a:/x:rw", wantErr: `invalid mode "rw"`},
		{in: "a:/x:0999", wantErr: "invalid mode"},
		{in: "a:/x:0644:extra", wantErr: "want src:dst[:mode]"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseFileSpec(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseFileSpec(%q) error = %v, want containing %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseFileSpec(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestParseDirAndSymlinkSpec(t *testing.T) {
	tests := []struct {
		name    string
		parse   func(string) (any, error)
		in      string
		want    any
		wantErr string
	}{
		{name: "dir", parse: dirAny, in: "/a:/b/", want: DirSpec{Src: "/a", Dst: "/b"}},
		{name: "dir missing dst", parse: dirAny, in: "/a", wantErr: "want src:dst"},
		{name: "dir relative dst", parse: dirAny, in: "/a:b", wantErr: "must be absolute"},
		{name: "symlink", parse: linkAny, in: "xtables-nft-multi:/usr/sbin/iptables", want: SymlinkSpec{Target: "xtables-nft-multi", Link: "/usr/sbin/iptables"}},
		{name: "symlink empty target", parse: linkAny, in: ":/usr/sbin/iptables", wantErr: "want target:link"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.parse(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parse(%q) error = %v, want containing %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("parse(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
		})
	}
}

func dirAny(s string) (any, error)  { d, err := ParseDirSpec(s); return d, err }
func linkAny(s string) (any, error) { l, err := ParseSymlinkSpec(s); return l, err }

// tarEntry is what a test checks about one layer member.
type tarEntry struct {
	typeflag byte
	mode     int64
	link     string
	content  string
}

func readTar(t *testing.T, r io.Reader) (map[string]tarEntry, []string) {
	t.Helper()
	got := map[string]tarEntry{}
	var order []string
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return got, order
		}
		if err != nil {
			t.Fatalf("reading layer tar: %v", err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatalf("reading %s: %v", h.Name, err)
		}
		if h.Uid != 0 || h.Gid != 0 || !h.ModTime.Equal(epoch) {
			t.Errorf("%s: uid/gid %d/%d mtime %s, want 0/0 %s", h.Name, h.Uid, h.Gid, h.ModTime, epoch)
		}
		got[h.Name] = tarEntry{typeflag: h.Typeflag, mode: h.Mode, link: h.Linkname, content: string(b)}
		order = append(order, h.Name)
	}
}

// hostTree makes a host directory with a file, a subdirectory and a symlink.
func hostTree(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	must(t, os.WriteFile(filepath.Join(root, "bin"), []byte("BIN"), 0o700))
	must(t, os.MkdirAll(filepath.Join(root, "tree", "sub"), 0o750))
	must(t, os.WriteFile(filepath.Join(root, "tree", "sub", "libx.so"), []byte("LIB"), 0o644))
	must(t, os.Symlink("libx.so", filepath.Join(root, "tree", "sub", "liby.so")))
	return root
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestLayerWriteTar(t *testing.T) {
	root := hostTree(t)
	l := NewLayer()
	must(t, l.AddFile(FileSpec{Src: filepath.Join(root, "bin"), Dst: "/usr/local/bin/app", Mode: 0o755}))
	must(t, l.AddDir(DirSpec{Src: filepath.Join(root, "tree"), Dst: "/usr/lib/x"}))
	must(t, l.AddSymlink(SymlinkSpec{Target: "app", Link: "/usr/local/bin/app2"}))
	var buf bytes.Buffer
	must(t, l.WriteTar(&buf))
	got, order := readTar(t, &buf)
	want := map[string]tarEntry{
		"tmp/":                  {typeflag: tar.TypeDir, mode: 0o1777},
		"usr/":                  {typeflag: tar.TypeDir, mode: 0o755},
		"usr/local/":            {typeflag: tar.TypeDir, mode: 0o755},
		"usr/local/bin/":        {typeflag: tar.TypeDir, mode: 0o755},
		"usr/local/bin/app":     {typeflag: tar.TypeReg, mode: 0o755, content: "BIN"},
		"usr/local/bin/app2":    {typeflag: tar.TypeSymlink, mode: 0o777, link: "app"},
		"usr/lib/":              {typeflag: tar.TypeDir, mode: 0o755},
		"usr/lib/x/":            {typeflag: tar.TypeDir, mode: 0o750},
		"usr/lib/x/sub/":        {typeflag: tar.TypeDir, mode: 0o750},
		"usr/lib/x/sub/libx.so": {typeflag: tar.TypeReg, mode: 0o644, content: "LIB"},
		"usr/lib/x/sub/liby.so": {typeflag: tar.TypeSymlink, mode: 0o777, link: "libx.so"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("layer entries:\n got %+v\nwant %+v", got, want)
	}
	for i := 1; i < len(order); i++ {
		if order[i-1] > order[i] {
			t.Errorf("entries not sorted: %q before %q", order[i-1], order[i])
		}
	}
}

func TestLayerErrors(t *testing.T) {
	root := hostTree(t)
	tests := []struct {
		name    string
		add     func(l *Layer) error
		wantErr string
	}{
		{name: "missing file", add: func(l *Layer) error {
			return l.AddFile(FileSpec{Src: filepath.Join(root, "nope"), Dst: "/x", Mode: 0o755})
		}, wantErr: "failed to stat --file source"},
		{name: "file is a dir", add: func(l *Layer) error {
			return l.AddFile(FileSpec{Src: filepath.Join(root, "tree"), Dst: "/x", Mode: 0o755})
		}, wantErr: "use --dir"},
		{name: "dir is a file", add: func(l *Layer) error {
			return l.AddDir(DirSpec{Src: filepath.Join(root, "bin"), Dst: "/x"})
		}, wantErr: "use --file"},
		{name: "same path twice", add: func(l *Layer) error {
			if err := l.AddFile(FileSpec{Src: filepath.Join(root, "bin"), Dst: "/x", Mode: 0o755}); err != nil {
				return err
			}
			return l.AddSymlink(SymlinkSpec{Target: "y", Link: "/x"})
		}, wantErr: `image path "/x" is given twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.add(NewLayer())
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestBuildAndWriteTarball(t *testing.T) {
	root := hostTree(t)
	build := func() string {
		l := NewLayer()
		must(t, l.AddFile(FileSpec{Src: filepath.Join(root, "bin"), Dst: "/pause", Mode: 0o755}))
		img, err := Build(l, Config{Entrypoint: []string{"/pause"}, Env: []string{"PATH=/usr/local/bin:/bin"}, WorkingDir: "/w"})
		must(t, err)
		tags, err := ParseTags([]string{"registry.k8s.io/pause:3.10.2", "example.test/p:v1"})
		must(t, err)
		out := filepath.Join(t.TempDir(), "img.tar")
		must(t, WriteTarball(out, img, tags))
		return out
	}
	out := build()
	fi, err := os.Stat(out)
	must(t, err)
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("tarball mode = %o, want 644", fi.Mode().Perm())
	}
	img, err := tarball.ImageFromPath(out, nil)
	must(t, err)
	cf, err := img.ConfigFile()
	must(t, err)
	if cf.OS != "linux" || cf.Architecture == "" {
		t.Errorf("platform = %s/%s, want linux/<arch>", cf.OS, cf.Architecture)
	}
	if !reflect.DeepEqual(cf.Config.Entrypoint, []string{"/pause"}) || cf.Config.WorkingDir != "/w" ||
		!reflect.DeepEqual(cf.Config.Env, []string{"PATH=/usr/local/bin:/bin"}) {
		t.Errorf("config = %+v, want entrypoint /pause, workdir /w, PATH env", cf.Config)
	}
	if got := repoTags(t, out); !reflect.DeepEqual(got, []string{"example.test/p:v1", "registry.k8s.io/pause:3.10.2"}) {
		t.Errorf("RepoTags = %v", got)
	}
	d1, err := img.Digest()
	must(t, err)
	img2, err := tarball.ImageFromPath(build(), nil)
	must(t, err)
	d2, err := img2.Digest()
	must(t, err)
	if d1 != d2 {
		t.Errorf("two builds of the same input differ: %s vs %s", d1, d2)
	}
}

// repoTags reads manifest.json from a docker-save tarball.
func repoTags(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	must(t, err)
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("manifest.json not found: %v", err)
		}
		if h.Name != "manifest.json" {
			continue
		}
		var m []struct{ RepoTags []string }
		must(t, json.NewDecoder(tr).Decode(&m))
		if len(m) != 1 {
			t.Fatalf("manifest.json has %d images, want 1", len(m))
		}
		tags := m[0].RepoTags
		sort.Strings(tags)
		return tags
	}
}

func TestParseTags(t *testing.T) {
	if _, err := ParseTags(nil); err == nil || !strings.Contains(err.Error(), "no --tag") {
		t.Errorf("ParseTags(nil) error = %v, want 'no --tag'", err)
	}
	if _, err := ParseTags([]string{"Bad Name"}); err == nil || !strings.Contains(err.Error(), `invalid --tag "Bad Name"`) {
		t.Errorf("ParseTags(bad) error = %v", err)
	}
}
