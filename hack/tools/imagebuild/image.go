package imagebuild

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Config is the runtime configuration of the image.
type Config struct {
	Entrypoint []string
	Cmd        []string
	Env        []string
	WorkingDir string
}

// Build returns a single-layer linux image for the current architecture with
// the layer's content and cfg. The layer is rendered into memory.
func Build(layer *Layer, cfg Config) (v1.Image, error) {
	var buf bytes.Buffer
	if err := layer.WriteTar(&buf); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithCompressionLevel(gzip.BestSpeed))
	if err != nil {
		return nil, fmt.Errorf("failed to create layer: %w", err)
	}
	img, err := mutate.Append(empty.Image, mutate.Addendum{Layer: l, History: v1.History{CreatedBy: "kubeadmin hack/tools mkimage", Created: v1.Time{Time: epoch}}})
	if err != nil {
		return nil, fmt.Errorf("failed to append layer: %w", err)
	}
	return configure(img, cfg)
}

// configure sets the platform, creation time and runtime config of img.
func configure(img v1.Image, cfg Config) (v1.Image, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("failed to read image config: %w", err)
	}
	cf = cf.DeepCopy()
	cf.OS = "linux"
	cf.Architecture = runtime.GOARCH
	cf.Created = v1.Time{Time: epoch}
	cf.Config.Entrypoint = cfg.Entrypoint
	cf.Config.Cmd = cfg.Cmd
	cf.Config.Env = cfg.Env
	cf.Config.WorkingDir = cfg.WorkingDir
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("failed to set image config: %w", err)
	}
	return img, nil
}

// ParseTags parses image references such as registry.k8s.io/pause:3.10.2;
// at least one is required.
func ParseTags(tags []string) ([]name.Tag, error) {
	if len(tags) == 0 {
		return nil, fmt.Errorf("no --tag given: name the image, for example --tag registry.k8s.io/pause:3.10.2")
	}
	out := make([]name.Tag, 0, len(tags))
	for _, t := range tags {
		tag, err := name.NewTag(t, name.StrictValidation)
		if err != nil {
			return nil, fmt.Errorf("invalid --tag %q: want registry/repository:tag, for example registry.k8s.io/pause:3.10.2: %w", t, err)
		}
		out = append(out, tag)
	}
	return out, nil
}

// WriteTarball writes img under every tag as a docker-save tarball at path,
// atomically (temporary file in the same directory, fsync, rename). The file
// is mode 0644.
func WriteTarball(path string, img v1.Image, tags []name.Tag) error {
	refs := make(map[name.Tag]v1.Image, len(tags))
	for _, t := range tags {
		refs[t] = img
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("failed to create output directory %q: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("failed to create temporary file for %q: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after a successful rename
	if err := tarball.MultiWrite(refs, f); err != nil {
		f.Close()
		return fmt.Errorf("failed to write image tarball %q: %w", path, err)
	}
	if err := finish(f, path); err != nil {
		return err
	}
	return nil
}

// finish syncs, closes and renames f to path with mode 0644.
func finish(f *os.File, path string) error {
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return fmt.Errorf("failed to chmod %q: %w", f.Name(), err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("failed to sync %q: %w", f.Name(), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("failed to close %q: %w", f.Name(), err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("failed to rename %q to %q: %w", f.Name(), path, err)
	}
	return nil
}
