// Package imagebuild builds single-layer OCI/Docker images from host files,
// host directory trees and symlinks, without a registry or a container
// runtime. The result is a `docker save`-style tarball that
// `ctr -n k8s.io images import` loads.
package imagebuild

import (
	"fmt"
	"path"
	"strconv"
	"strings"
)

// DefaultFileMode is the mode of a --file entry that names no mode.
const DefaultFileMode = 0o755

// FileSpec places one host file at Dst inside the image with mode Mode.
type FileSpec struct {
	Src  string
	Dst  string
	Mode int64
}

// DirSpec copies the host directory tree Src to Dst inside the image,
// keeping file modes and symlinks.
type DirSpec struct {
	Src string
	Dst string
}

// SymlinkSpec creates a symlink at Link inside the image pointing to Target.
type SymlinkSpec struct {
	Target string
	Link   string
}

// ParseFileSpec parses "src:dst[:mode]" (mode in octal, e.g. 0644).
func ParseFileSpec(s string) (FileSpec, error) {
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return FileSpec{}, fmt.Errorf("invalid --file %q: want src:dst[:mode], for example ./app:/usr/local/bin/app:0755", s)
	}
	dst, err := cleanImagePath("--file", s, parts[1])
	if err != nil {
		return FileSpec{}, err
	}
	spec := FileSpec{Src: parts[0], Dst: dst, Mode: DefaultFileMode}
	if len(parts) == 3 {
		m, err := strconv.ParseInt(parts[2], 8, 32)
		if err != nil || m < 0 || m > 0o7777 {
			return FileSpec{}, fmt.Errorf("invalid mode %q in --file %q: want an octal mode such as 0644 or 0755", parts[2], s)
		}
		spec.Mode = m
	}
	return spec, nil
}

// ParseDirSpec parses "src:dst".
func ParseDirSpec(s string) (DirSpec, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
		return DirSpec{}, fmt.Errorf("invalid --dir %q: want src:dst, for example /usr/lib/x86_64-linux-gnu/xtables:/usr/lib/x86_64-linux-gnu/xtables", s)
	}
	dst, err := cleanImagePath("--dir", s, parts[1])
	if err != nil {
		return DirSpec{}, err
	}
	return DirSpec{Src: parts[0], Dst: dst}, nil
}

// ParseSymlinkSpec parses "target:link"; target may be relative.
func ParseSymlinkSpec(s string) (SymlinkSpec, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
		return SymlinkSpec{}, fmt.Errorf("invalid --symlink %q: want target:link, for example xtables-nft-multi:/usr/sbin/iptables", s)
	}
	link, err := cleanImagePath("--symlink", s, parts[1])
	if err != nil {
		return SymlinkSpec{}, err
	}
	return SymlinkSpec{Target: parts[0], Link: link}, nil
}

// cleanImagePath checks that p is an absolute path inside the image other
// than "/" and returns it cleaned.
func cleanImagePath(flag, spec, p string) (string, error) {
	if !path.IsAbs(p) {
		return "", fmt.Errorf("invalid %s %q: image path %q must be absolute, for example /usr/local/bin/app", flag, spec, p)
	}
	c := path.Clean(p)
	if c == "/" {
		return "", fmt.Errorf("invalid %s %q: image path must not be /", flag, spec)
	}
	return c, nil
}
