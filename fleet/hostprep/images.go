package hostprep

import (
	"archive/tar"
	"bufio"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/kubeadmin/kubeadmin/fleet/inventory"
	"github.com/kubeadmin/kubeadmin/fleet/remote"
	"github.com/kubeadmin/kubeadmin/internal/constants"
)

// ImportBundleScript is the one source of the bundle import script (see
// its header); `hack/images.sh import-bundle-script` prints this file.
//
//go:embed import-bundle.sh
var ImportBundleScript string

// BundleManifestFile is the manifest's name inside a bundle.
const BundleManifestFile = "manifest.txt"

// bundleMode is the mode of the uploaded bundle.
const bundleMode = 0o644

// BundleImage is one line of a bundle's manifest.txt.
type BundleImage struct {
	// Ref is the image's reference, e.g. registry.k8s.io/pause:3.10.2.
	Ref string
	// SHA256 is the hex SHA-256 of its tarball.
	SHA256 string
	// File is the tarball's path inside the bundle.
	File string
	// Config is the image ID the CRI reports (sha256:...).
	Config string
	// Size is the tarball's size in bytes.
	Size int64
}

// Manifest is what a bundle holds, in manifest order.
type Manifest struct {
	Images []BundleImage
}

// Refs returns every image reference of the manifest.
func (m *Manifest) Refs() []string {
	refs := make([]string, len(m.Images))
	for i, im := range m.Images {
		refs[i] = im.Ref
	}
	return refs
}

// Image returns the entry of ref.
func (m *Manifest) Image(ref string) (BundleImage, bool) {
	for _, im := range m.Images {
		if im.Ref == ref {
			return im, true
		}
	}
	return BundleImage{}, false
}

// BundleManifest reads manifest.txt of a local bundle and checks that every
// tarball it names is in the bundle. It reads only tar headers besides the
// manifest (the file is seekable).
func BundleManifest(localBundle string) (*Manifest, error) {
	f, err := os.Open(localBundle)
	if err != nil {
		return nil, fmt.Errorf("image bundle: %w", err)
	}
	defer f.Close()
	sizes := map[string]int64{}
	var manifest []byte
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("image bundle %s is not a tar archive (write one with `hack/images.sh bundle`): %w", localBundle, err)
		}
		name := strings.TrimPrefix(h.Name, "./")
		sizes[name] = h.Size
		if name == BundleManifestFile {
			if manifest, err = io.ReadAll(io.LimitReader(tr, 1<<20)); err != nil {
				return nil, fmt.Errorf("image bundle %s: reading %s: %w", localBundle, BundleManifestFile, err)
			}
		}
	}
	if manifest == nil {
		return nil, fmt.Errorf("image bundle %s has no %s: write it with `hack/images.sh bundle`", localBundle, BundleManifestFile)
	}
	m, err := parseManifest(string(manifest))
	if err != nil {
		return nil, fmt.Errorf("image bundle %s: %s: %w", localBundle, BundleManifestFile, err)
	}
	for i, im := range m.Images {
		size, ok := sizes[im.File]
		if !ok {
			return nil, fmt.Errorf("image bundle %s: %s names %s for %s, but the bundle has no such file", localBundle, BundleManifestFile, im.File, im.Ref)
		}
		m.Images[i].Size = size
	}
	return m, nil
}

// parseManifest reads the lines "IMAGE SHA256 FILE CONFIG".
func parseManifest(text string) (*Manifest, error) {
	m := &Manifest{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		fs := strings.Fields(line)
		if len(fs) != 4 {
			return nil, fmt.Errorf("line %d: want IMAGE SHA256 FILE CONFIG, got %q", n, line)
		}
		if !isHexSHA256(fs[1]) {
			return nil, fmt.Errorf("line %d: %q is not a hex SHA-256", n, fs[1])
		}
		if _, dup := m.Image(fs[0]); dup {
			return nil, fmt.Errorf("line %d: image %s is listed twice", n, fs[0])
		}
		m.Images = append(m.Images, BundleImage{Ref: fs[0], SHA256: fs[1], File: fs[2], Config: fs[3]})
	}
	if len(m.Images) == 0 {
		return nil, errors.New("no images listed")
	}
	return m, nil
}

func isHexSHA256(s string) bool {
	return len(s) == 64 && strings.Trim(s, "0123456789abcdef") == ""
}

// controlPlaneOnly are the images only a control plane runs.
var controlPlaneOnly = []string{constants.KubeAPIServer, constants.KubeControllerManager, constants.KubeScheduler, constants.Etcd}

// imageName is the last path element of ref without tag or digest.
func imageName(ref string) string {
	if i := strings.IndexByte(ref, '@'); i >= 0 {
		ref = ref[:i]
	}
	if i := strings.LastIndexByte(ref, '/'); i >= 0 {
		ref = ref[i+1:]
	}
	if i := strings.IndexByte(ref, ':'); i >= 0 {
		ref = ref[:i]
	}
	return ref
}

// ImagesFor returns the images a host of role needs: a control plane all of
// the bundle, a worker all but the control-plane images (kube-apiserver,
// kube-controller-manager, kube-scheduler, etcd), so pause, kube-proxy,
// coredns, the add-ons and the test images. Any other role gets all.
func ImagesFor(role string, m *Manifest) []string {
	var refs []string
	for _, im := range m.Images {
		if role == string(inventory.RoleWorker) && slices.Contains(controlPlaneOnly, imageName(im.Ref)) {
			continue
		}
		refs = append(refs, im.Ref)
	}
	return refs
}

// alwaysRun are the images every node runs: the sandbox and kube-proxy.
var alwaysRun = []string{constants.Pause, constants.KubeProxy}

// UnpackAtImport reports, for a host of role, which images are unpacked
// when they are imported: those it is sure to run, so that its first pods
// start at once (on a control plane its static pods', on every node pause
// and kube-proxy). The others (CoreDNS, add-ons, test images) are imported
// without unpacking, which takes a quarter of the CPU: containerd's CRI
// unpacks an image the first time a container uses it, so a host never
// unpacks what it does not run.
func UnpackAtImport(role string) func(ref string) bool {
	return func(ref string) bool {
		n := imageName(ref)
		return slices.Contains(alwaysRun, n) || (role == string(inventory.RoleControlPlane) && slices.Contains(controlPlaneOnly, n))
	}
}

// SandboxImage returns the bundle's pause image, "" if it has none.
func (m *Manifest) SandboxImage() string {
	for _, im := range m.Images {
		if imageName(im.Ref) == constants.Pause {
			return im.Ref
		}
	}
	return ""
}

// ImagesToImport returns the entries of the wanted images (nil: all) that
// are not present with their bundle content, in manifest order; present
// maps each imported image to its BundleLabel (Facts.BundleImages).
func ImagesToImport(m *Manifest, wanted []string, present map[string]string) ([]BundleImage, error) {
	for _, ref := range wanted {
		if _, ok := m.Image(ref); !ok {
			return nil, fmt.Errorf("image %s is not in the bundle, which holds %s", ref, strings.Join(m.Refs(), ", "))
		}
	}
	var todo []BundleImage
	for _, im := range m.Images {
		if wanted != nil && !slices.Contains(wanted, im.Ref) {
			continue
		}
		if present[im.Ref] == im.SHA256 {
			continue
		}
		todo = append(todo, im)
	}
	return todo, nil
}

// listBundleImages returns the images of the host's containerd that carry
// the BundleLabel.
func listBundleImages(ctx context.Context, r remote.Runner) (map[string]string, error) {
	sock := shellQuote(ContainerdSocket)
	cmd := "if [ ! -S " + sock + " ]; then echo 'containerd is not running (no socket " + ContainerdSocket + "): ensure containerd first' >&2; exit 1; fi; " +
		"ctr -a " + sock + " --connect-timeout 5s -n " + CRINamespace + " images ls"
	out, err := r.Run(ctx, cmd, remote.RunOptions{Timeout: shortTimeout})
	if err != nil {
		return nil, err
	}
	present := map[string]string{}
	for _, line := range strings.Split(out.Stdout, "\n") {
		if ref, sum, ok := parseImageLine(line); ok {
			present[ref] = sum
		}
	}
	return present, nil
}

// EnsureImages makes the host's containerd hold the named images of the
// local bundle (nil: all of them), imported from the bundle. It lists the
// present images first; only when one is missing does it upload the bundle
// to RemoteBundle (skipped when the same file is there) and import each
// missing image, unpacked if unpack says so (nil: all). progress counts
// bytes over the whole step: the bundle's upload, then each imported
// image's tarball.
func EnsureImages(ctx context.Context, r remote.Runner, bundle string, images []string, unpack func(ref string) bool, progress remote.ProgressFunc) (changed bool, err error) {
	m, err := BundleManifest(bundle)
	if err != nil {
		return false, err
	}
	present, err := listBundleImages(ctx, r)
	if err != nil {
		return false, stepError(r, "list images", err)
	}
	todo, err := ImagesToImport(m, images, present)
	if err != nil {
		return false, stepError(r, "import images", err)
	}
	if len(todo) == 0 {
		return false, nil
	}
	st, err := os.Stat(bundle)
	if err != nil {
		return false, fmt.Errorf("image bundle: %w", err)
	}
	total := st.Size()
	for _, im := range todo {
		total += im.Size
	}
	report := func(done int64) {
		if progress != nil {
			progress(done, total)
		}
	}
	if _, err := r.Upload(ctx, bundle, RemoteBundle, bundleMode, func(done, _ int64) { report(done) }); err != nil {
		return false, stepError(r, "upload the image bundle", err)
	}
	// Unpacking is CPU work in containerd, one core per image: two at a
	// time use a second core (the control plane's import takes 12 s one
	// at a time on this machine's two cores).
	done := st.Size()
	var mu sync.Mutex
	var firstErr error
	g := make(chan struct{}, importParallel)
	var wg sync.WaitGroup
	for _, im := range todo {
		g <- struct{}{}
		mu.Lock()
		failed := firstErr != nil
		mu.Unlock()
		if failed {
			<-g
			break
		}
		wg.Add(1)
		go func(im BundleImage) {
			defer func() { <-g; wg.Done() }()
			env := ""
			if unpack != nil && !unpack(im.Ref) {
				env = "UNPACK=0 "
			}
			cmd := env + "sh -s -- " + shellQuote(RemoteBundle) + " " + shellQuote(ContainerdSocket) + " " + shellQuote(im.Ref) + " # import-bundle.sh"
			_, err := r.Run(ctx, cmd, remote.RunOptions{Stdin: strings.NewReader(ImportBundleScript), Timeout: ImageImportTimeout})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if firstErr == nil {
					firstErr = stepError(r, "import image "+im.Ref, err)
				}
				return
			}
			done += im.Size
			report(done)
		}(im)
	}
	wg.Wait()
	if firstErr != nil {
		return true, firstErr
	}
	return true, nil
}
