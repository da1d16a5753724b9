package hostprep

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kubeadmin/kubeadmin/fleet/remote"
)

// testImages are the images of a v1.37.2 bundle, by file name.
var testImages = []struct{ file, ref string }{
	{"kube-apiserver.tar", "registry.k8s.io/kube-apiserver:v1.37.2"},
	{"kube-controller-manager.tar", "registry.k8s.io/kube-controller-manager:v1.37.2"},
	{"kube-scheduler.tar", "registry.k8s.io/kube-scheduler:v1.37.2"},
	{"kube-proxy.tar", "registry.k8s.io/kube-proxy:v1.37.2"},
	{"coredns.tar", "registry.k8s.io/coredns/coredns:v1.14.6"},
	{"pause.tar", "registry.k8s.io/pause:3.10.2"},
	{"etcd.tar", "registry.k8s.io/etcd:3.7.0-0"},
	{"testapp-v1.tar", "kubeadmin.test/testapp:v1"},
}

// makeBundle writes a bundle as hack/images.sh does (images first, then
// manifest.txt, in name order); each tarball's content is its reference
// repeated. It returns the path and each image's SHA-256.
func makeBundle(t *testing.T, dir string) (string, map[string]string) {
	t.Helper()
	p := filepath.Join(dir, "bundle.tar")
	out, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(out)
	sums := map[string]string{}
	var manifest strings.Builder
	for i, im := range testImages {
		body := strings.Repeat(im.ref, i+1)
		h := sha256.Sum256([]byte(body))
		sums[im.ref] = hex.EncodeToString(h[:])
		if err := tw.WriteHeader(&tar.Header{Name: "images/" + im.file, Mode: 0o644, Size: int64(len(body))}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&manifest, "%s %s images/%s sha256:%064d\n", im.ref, sums[im.ref], im.file, i)
	}
	if err := tw.WriteHeader(&tar.Header{Name: BundleManifestFile, Mode: 0o644, Size: int64(manifest.Len())}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write([]byte(manifest.String())); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return p, sums
}

func TestBundleManifest(t *testing.T) {
	p, sums := makeBundle(t, t.TempDir())
	m, err := BundleManifest(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Images) != len(testImages) {
		t.Fatalf("%d images, want %d", len(m.Images), len(testImages))
	}
	for i, im := range m.Images {
		want := testImages[i]
		if im.Ref != want.ref || im.File != "images/"+want.file || im.SHA256 != sums[want.ref] || im.Size != int64(len(want.ref)*(i+1)) {
			t.Errorf("image %d = %+v", i, im)
		}
	}
	if got := m.SandboxImage(); got != "registry.k8s.io/pause:3.10.2" {
		t.Errorf("SandboxImage = %q", got)
	}
}

func writeTar(t *testing.T, files map[string]string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "b.tar")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(f)
	for name, body := range files {
		_ = tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body))})
		_, _ = tw.Write([]byte(body))
	}
	_ = tw.Close()
	_ = f.Close()
	return p
}

func TestBundleManifestErrors(t *testing.T) {
	sum := strings.Repeat("0", 64)
	for _, tt := range []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"no manifest", map[string]string{"images/a.tar": "a"}, "has no manifest.txt"},
		{"missing tarball", map[string]string{"manifest.txt": "a:1 " + sum + " images/a.tar sha256:1\n"}, "no such file"},
		{"short line", map[string]string{"manifest.txt": "a:1 " + sum + " images/a.tar\n"}, "line 1: want IMAGE SHA256 FILE CONFIG"},
		{"bad sum", map[string]string{"manifest.txt": "a:1 xyz images/a.tar sha256:1\n"}, "not a hex SHA-256"},
		{"empty", map[string]string{"manifest.txt": "\n"}, "no images listed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := BundleManifest(writeTar(t, tt.files))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
	notTar := filepath.Join(t.TempDir(), "x.tar")
	_ = os.WriteFile(notTar, []byte(strings.Repeat("not a tar ", 100)), 0o644)
	if _, err := BundleManifest(notTar); err == nil || !strings.Contains(err.Error(), "not a tar archive") {
		t.Errorf("not a tar: err = %v", err)
	}
}

func TestImagesFor(t *testing.T) {
	p, _ := makeBundle(t, t.TempDir())
	m, err := BundleManifest(p)
	if err != nil {
		t.Fatal(err)
	}
	if got := ImagesFor("control-plane", m); !slices.Equal(got, m.Refs()) {
		t.Errorf("control plane: %v", got)
	}
	want := []string{"registry.k8s.io/kube-proxy:v1.37.2", "registry.k8s.io/coredns/coredns:v1.14.6", "registry.k8s.io/pause:3.10.2", "kubeadmin.test/testapp:v1"}
	if got := ImagesFor("worker", m); !slices.Equal(got, want) {
		t.Errorf("worker: %v, want %v", got, want)
	}
}

func TestUnpackAtImport(t *testing.T) {
	for _, c := range []struct {
		role, ref string
		want      bool
	}{
		{"control-plane", "registry.k8s.io/kube-apiserver:v1.37.2", true},
		{"control-plane", "registry.k8s.io/etcd:3.7.0-0", true},
		{"control-plane", "registry.k8s.io/pause:3.10.2", true},
		{"control-plane", "registry.k8s.io/kube-proxy:v1.37.2", true},
		{"control-plane", "registry.k8s.io/coredns/coredns:v1.14.6", false},
		{"control-plane", "kubeadmin.test/testapp:v1", false},
		{"worker", "registry.k8s.io/pause:3.10.2", true},
		{"worker", "registry.k8s.io/kube-proxy:v1.37.2", true},
		{"worker", "registry.k8s.io/kube-apiserver:v1.37.2", false},
		{"worker", "registry.k8s.io/coredns/coredns:v1.14.6", false},
	} {
		if got := UnpackAtImport(c.role)(c.ref); got != c.want {
			t.Errorf("%s %s: unpack %v, want %v", c.role, c.ref, got, c.want)
		}
	}
}

func TestImagesToImport(t *testing.T) {
	p, sums := makeBundle(t, t.TempDir())
	m, _ := BundleManifest(p)
	pause, proxy := "registry.k8s.io/pause:3.10.2", "registry.k8s.io/kube-proxy:v1.37.2"
	present := map[string]string{pause: sums[pause], proxy: strings.Repeat("1", 64)} // proxy: an older bundle's
	todo, err := ImagesToImport(m, []string{pause, proxy}, present)
	if err != nil || len(todo) != 1 || todo[0].Ref != proxy {
		t.Fatalf("todo %v err %v: want only the changed kube-proxy", todo, err)
	}
	all, _ := ImagesToImport(m, nil, present)
	if len(all) != len(testImages)-1 {
		t.Errorf("nil wants all but the present pause: %d", len(all))
	}
	if _, err := ImagesToImport(m, []string{"example.org/nope:1"}, nil); err == nil || !strings.Contains(err.Error(), "example.org/nope:1 is not in the bundle") {
		t.Errorf("unknown image: err = %v", err)
	}
}

// lsOutput is `ctr images ls` with the given images labelled.
func lsOutput(labels map[string]string) string {
	var b strings.Builder
	b.WriteString("REF TYPE DIGEST SIZE PLATFORMS LABELS\n")
	for ref, sum := range labels {
		fmt.Fprintf(&b, "%s application/vnd.oci.image.manifest.v1+json sha256:9 1.0 MiB linux/amd64 io.cri-containerd.image=managed,%s=%s\n", ref, BundleLabel, sum)
	}
	b.WriteString("sha256:abcd application/vnd.oci.image.manifest.v1+json sha256:9 1.0 MiB linux/amd64 io.cri-containerd.image=managed\n")
	return b.String()
}

func TestEnsureImagesAllPresent(t *testing.T) {
	p, sums := makeBundle(t, t.TempDir())
	r := &fakeRunner{rules: []fakeRule{{match: "images ls", stdout: lsOutput(sums)}}}
	changed, err := EnsureImages(context.Background(), r, p, nil, nil, nil)
	if err != nil || changed {
		t.Fatalf("changed %v err %v", changed, err)
	}
	if len(r.uploads) != 0 || len(r.commands) != 1 {
		t.Errorf("all present: uploads %v commands %q, want only the list", r.uploads, r.commands)
	}
}

func TestEnsureImagesImportsMissing(t *testing.T) {
	p, sums := makeBundle(t, t.TempDir())
	m, _ := BundleManifest(p)
	pause := "registry.k8s.io/pause:3.10.2"
	r := &fakeRunner{rules: []fakeRule{{match: "images ls", stdout: lsOutput(map[string]string{pause: sums[pause]})}}}
	var calls [][2]int64
	changed, err := EnsureImages(context.Background(), r, p, ImagesFor("worker", m), UnpackAtImport("worker"), func(done, total int64) { calls = append(calls, [2]int64{done, total}) })
	if err != nil || !changed {
		t.Fatalf("changed %v err %v", changed, err)
	}
	if !slices.Equal(r.uploads, []string{RemoteBundle}) {
		t.Errorf("uploads = %v", r.uploads)
	}
	var imported, lazy []string
	for i, c := range r.commands {
		if strings.HasSuffix(c, "# import-bundle.sh") {
			if r.stdins[i] != ImportBundleScript {
				t.Errorf("import %q not fed the script", c)
			}
			c, noUnpack := strings.CutPrefix(c, "UNPACK=0 ")
			ref := strings.Trim(strings.Fields(c)[5], "'")
			imported = append(imported, ref)
			if noUnpack {
				lazy = append(lazy, ref)
			}
		}
	}
	// Two imports run at once: the order is not fixed.
	slices.Sort(imported)
	slices.Sort(lazy)
	want := []string{"kubeadmin.test/testapp:v1", "registry.k8s.io/coredns/coredns:v1.14.6", "registry.k8s.io/kube-proxy:v1.37.2"}
	if !slices.Equal(imported, want) {
		t.Errorf("imported %v, want %v", imported, want)
	}
	// A worker is sure to run kube-proxy only: the rest waits for a container.
	if !slices.Equal(lazy, want[:2]) {
		t.Errorf("imported without unpacking %v, want %v", lazy, want[:2])
	}
	st, _ := os.Stat(p)
	total := st.Size()
	for _, ref := range want {
		im, _ := m.Image(ref)
		total += im.Size
	}
	for i, c := range calls {
		if c[1] != total || (i > 0 && c[0] < calls[i-1][0]) {
			t.Errorf("progress %v not monotonic over total %d: %v", c, total, calls)
		}
	}
	if last := calls[len(calls)-1]; last[0] != total {
		t.Errorf("progress ends at %v, want %d", last, total)
	}
}

func TestEnsureImagesReportsTheImageThatFailed(t *testing.T) {
	p, _ := makeBundle(t, t.TempDir())
	proxy := "registry.k8s.io/kube-proxy:v1.37.2"
	r := &fakeRunner{rules: []fakeRule{
		{match: proxy + " # import-bundle.sh", err: &remote.CommandError{Host: "fake", Command: "import", ExitCode: 1, OutputTail: "ctr: no space left on device"}},
		{match: "images ls", stdout: lsOutput(nil)}, // also in the import script, which the rule above matches first
	}}
	_, err := EnsureImages(context.Background(), r, p, nil, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "import image "+proxy) || !strings.Contains(err.Error(), "no space left") {
		t.Fatalf("err = %v, want the failed image and its output", err)
	}
}

func TestEnsureImagesNoContainerd(t *testing.T) {
	p, _ := makeBundle(t, t.TempDir())
	r := &fakeRunner{rules: []fakeRule{{match: "images ls", err: &remote.CommandError{Host: "fake", Command: "ctr", ExitCode: 1, OutputTail: "containerd is not running"}}}}
	if _, err := EnsureImages(context.Background(), r, p, nil, nil, nil); err == nil || !strings.Contains(err.Error(), "list images") || len(r.uploads) != 0 {
		t.Fatalf("err %v uploads %v", err, r.uploads)
	}
}

// TestImportBundleScript runs the embedded script against a fake ctr that
// keeps its images in a folder: only the named, missing images are
// imported, with their content checked, and labelled.
func TestImportBundleScript(t *testing.T) {
	dir := t.TempDir()
	bundle, sums := makeBundle(t, dir)
	bin := fakeBin(t)
	for _, tool := range []string{"tar", "awk", "grep", "cut", "tr"} {
		p, err := exec.LookPath(tool)
		if err != nil {
			t.Skipf("%s not installed", tool)
		}
		_ = os.Symlink(p, filepath.Join(bin, tool))
	}
	store := filepath.Join(dir, "store")
	_ = os.Mkdir(store, 0o755)
	// ctr -a SOCK -n k8s.io images ls name==REF | images import - | images label REF LABEL
	writeExec(t, filepath.Join(bin, "ctr"), `S=`+store+`
shift 4; key() { echo "$1" | tr '/:' '__'; }
case "$1 $2" in
"images ls") r="${3#name==}"; [ -f "$S/$(key "$r").label" ] && echo "$r x x x x $(cat "$S/$(key "$r").label")"; exit 0 ;;
"images import") cat >"$S/last-import"; echo "import $3" >>"$S/log" ;;
"images label") echo "$4" >"$S/$(key "$3").label"; echo "label $3" >>"$S/log" ;;
esac
`)
	l := localIn(bin)
	run := func(args ...string) (string, error) {
		cmd := "sh -s -- " + strings.Join(args, " ")
		res, err := l.Run(context.Background(), cmd, remote.RunOptions{Stdin: strings.NewReader(ImportBundleScript)})
		return res.Stdout, err
	}
	pause, proxy := "registry.k8s.io/pause:3.10.2", "registry.k8s.io/kube-proxy:v1.37.2"
	out, err := run(bundle, "/sock", pause, proxy)
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	if !strings.Contains(out, "imported "+pause) || !strings.Contains(out, "imported "+proxy) || strings.Count(out, "imported") != 2 {
		t.Errorf("output %q: want exactly pause and kube-proxy imported", out)
	}
	b, _ := os.ReadFile(filepath.Join(store, "registry.k8s.io_pause_3.10.2.label"))
	if strings.TrimSpace(string(b)) != BundleLabel+"="+sums[pause] {
		t.Errorf("pause label = %q", b)
	}
	out, err = run(bundle, "/sock", pause)
	if err != nil || strings.TrimSpace(out) != "present "+pause {
		t.Errorf("second import: %q %v", out, err)
	}
	coredns := "registry.k8s.io/coredns/coredns:v1.14.6"
	if _, err := l.Run(context.Background(), "UNPACK=0 sh -s -- "+bundle+" /sock "+coredns, remote.RunOptions{Stdin: strings.NewReader(ImportBundleScript)}); err != nil {
		t.Fatalf("import without unpacking: %v", err)
	}
	log, _ := os.ReadFile(filepath.Join(store, "log"))
	if want := "import -\nlabel " + proxy + "\nimport -\nlabel " + pause + "\nimport --no-unpack\nlabel " + coredns + "\n"; string(log) != want {
		t.Errorf("ctr calls:\n%s\nwant:\n%s", log, want)
	}
	if _, err := run(bundle, "/sock", "example.org/nope:1"); err == nil || !strings.Contains(err.Error(), "example.org/nope:1 is not in") {
		t.Errorf("unknown image: %v", err)
	}
}

// hack/images.sh must print this package's script, not a copy of its own.
func TestHackPrintsImportScript(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	out, err := exec.Command("bash", "../../hack/images.sh", "import-bundle-script").Output()
	if err != nil {
		t.Fatalf("hack/images.sh import-bundle-script: %v", err)
	}
	if string(out) != ImportBundleScript {
		t.Errorf("hack/images.sh import-bundle-script differs from import-bundle.sh")
	}
}
