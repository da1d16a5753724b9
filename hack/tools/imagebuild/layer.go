package imagebuild

import (
	"archive/tar"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// epoch is the modification time of every entry, so equal inputs give equal
// layers (and equal image digests).
var epoch = time.Unix(0, 0).UTC()

// entry is one member of the layer, keyed by its path inside the image.
type entry struct {
	name     string // absolute, cleaned image path
	typeflag byte
	mode     int64
	src      string // host file for regular files
	size     int64
	target   string // for symlinks
}

// Layer is the content of one image layer: regular files (read from the host
// when written), directories and symlinks.
type Layer struct {
	entries map[string]entry
}

// NewLayer returns an empty layer containing only /tmp (mode 1777), which
// most programs expect.
func NewLayer() *Layer {
	l := &Layer{entries: map[string]entry{}}
	l.entries["/tmp"] = entry{name: "/tmp", typeflag: tar.TypeDir, mode: 0o1777}
	return l
}

// AddFile adds the host file spec.Src at spec.Dst. Symlinks on the host are
// followed: the image gets the file's content.
func (l *Layer) AddFile(spec FileSpec) error {
	fi, err := os.Stat(spec.Src)
	if err != nil {
		return fmt.Errorf("failed to stat --file source %q: %w", spec.Src, err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("--file source %q is not a regular file (mode %s): use --dir for directories", spec.Src, fi.Mode())
	}
	return l.put(entry{name: spec.Dst, typeflag: tar.TypeReg, mode: spec.Mode, src: spec.Src, size: fi.Size()})
}

// AddSymlink adds a symlink at spec.Link pointing to spec.Target.
func (l *Layer) AddSymlink(spec SymlinkSpec) error {
	return l.put(entry{name: spec.Link, typeflag: tar.TypeSymlink, mode: 0o777, target: spec.Target})
}

// AddDir copies the host tree spec.Src to spec.Dst, keeping modes and
// symlinks (symlink targets are copied verbatim). Other file types (devices,
// sockets, fifos) are rejected.
func (l *Layer) AddDir(spec DirSpec) error {
	root, err := filepath.Abs(spec.Src)
	if err != nil {
		return fmt.Errorf("failed to resolve --dir source %q: %w", spec.Src, err)
	}
	fi, err := os.Stat(root)
	if err != nil {
		return fmt.Errorf("failed to stat --dir source %q: %w", spec.Src, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("--dir source %q is not a directory: use --file for single files", spec.Src)
	}
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("failed to walk --dir source %q: %w", spec.Src, err)
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return fmt.Errorf("failed to relate %q to %q: %w", p, root, err)
		}
		return l.addTreeEntry(p, path.Join(spec.Dst, filepath.ToSlash(rel)), d)
	})
}

// addTreeEntry adds one walked host path p at image path dst.
func (l *Layer) addTreeEntry(p, dst string, d fs.DirEntry) error {
	info, err := d.Info()
	if err != nil {
		return fmt.Errorf("failed to stat %q: %w", p, err)
	}
	mode := int64(info.Mode().Perm())
	switch {
	case info.IsDir():
		return l.put(entry{name: dst, typeflag: tar.TypeDir, mode: mode})
	case info.Mode()&fs.ModeSymlink != 0:
		target, err := os.Readlink(p)
		if err != nil {
			return fmt.Errorf("failed to read symlink %q: %w", p, err)
		}
		return l.put(entry{name: dst, typeflag: tar.TypeSymlink, mode: 0o777, target: target})
	case info.Mode().IsRegular():
		return l.put(entry{name: dst, typeflag: tar.TypeReg, mode: mode, src: p, size: info.Size()})
	default:
		return fmt.Errorf("unsupported file type %s at %q: only files, directories and symlinks can go into an image", info.Mode().Type(), p)
	}
}

// put records e; a second, different entry for the same path is an error so
// that conflicting flags do not silently shadow each other.
func (l *Layer) put(e entry) error {
	if old, ok := l.entries[e.name]; ok && old != e {
		if old.typeflag == tar.TypeDir && e.typeflag == tar.TypeDir {
			l.entries[e.name] = e
			return nil
		}
		return fmt.Errorf("image path %q is given twice (from %q and %q): give each path once", e.name, describe(old), describe(e))
	}
	l.entries[e.name] = e
	return nil
}

func describe(e entry) string {
	switch e.typeflag {
	case tar.TypeSymlink:
		return "symlink to " + e.target
	case tar.TypeDir:
		return "directory"
	}
	return e.src
}

// Paths returns every image path in the layer, parents included, sorted.
func (l *Layer) Paths() []string {
	all := l.withParents()
	out := make([]string, 0, len(all))
	for name := range all {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// withParents returns the entries plus a 0755 directory for every missing
// parent directory.
func (l *Layer) withParents() map[string]entry {
	all := make(map[string]entry, len(l.entries))
	for name, e := range l.entries {
		all[name] = e
	}
	for name := range l.entries {
		for dir := path.Dir(name); dir != "/"; dir = path.Dir(dir) {
			if _, ok := all[dir]; !ok {
				all[dir] = entry{name: dir, typeflag: tar.TypeDir, mode: 0o755}
			}
		}
	}
	return all
}

// WriteTar writes the layer as an uncompressed tar stream, entries sorted by
// path (parents before children), owned by root, with a fixed mtime.
func (l *Layer) WriteTar(w io.Writer) error {
	tw := tar.NewWriter(w)
	for _, name := range l.Paths() {
		if err := writeEntry(tw, l.withParentsEntry(name)); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("failed to finish layer tar: %w", err)
	}
	return nil
}

func (l *Layer) withParentsEntry(name string) entry {
	if e, ok := l.entries[name]; ok {
		return e
	}
	return entry{name: name, typeflag: tar.TypeDir, mode: 0o755}
}

func writeEntry(tw *tar.Writer, e entry) error {
	hdr := &tar.Header{
		Name:     strings.TrimPrefix(e.name, "/"),
		Typeflag: e.typeflag,
		Mode:     e.mode,
		ModTime:  epoch,
		Linkname: e.target,
		Size:     e.size,
		Format:   tar.FormatPAX,
	}
	if e.typeflag == tar.TypeDir {
		hdr.Name += "/"
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("failed to write layer entry %q: %w", e.name, err)
	}
	if e.typeflag != tar.TypeReg {
		return nil
	}
	return copyFile(tw, e)
}

// copyFile streams e.src into tw and fails if the file changed size since it
// was added.
func copyFile(tw *tar.Writer, e entry) error {
	f, err := os.Open(e.src)
	if err != nil {
		return fmt.Errorf("failed to open %q for image path %q: %w", e.src, e.name, err)
	}
	defer f.Close()
	n, err := io.Copy(tw, f)
	if err != nil {
		return fmt.Errorf("failed to copy %q into the layer (it may have changed while building): %w", e.src, err)
	}
	if n != e.size {
		return fmt.Errorf("failed to copy %q into the layer: size changed from %d to %d bytes while building", e.src, e.size, n)
	}
	return nil
}
