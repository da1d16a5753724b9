// Command mkimage writes a single-layer container image tarball, loadable by
// `ctr -n k8s.io images import`, from host files, directory trees and
// symlinks. It needs no registry and no container runtime.
//
//	mkimage --output pause.tar --tag registry.k8s.io/pause:3.10.2 \
//	  --file ./pause:/pause:0755 --entrypoint /pause
//
// Flags --file, --dir, --symlink, --tag, --env, --entrypoint and --cmd may be
// repeated; --entrypoint and --cmd give one argv element each.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/kubeadmin/kubeadmin/hack/tools/imagebuild"
)

// listFlag collects the values of a repeatable flag.
type listFlag []string

func (l *listFlag) String() string     { return fmt.Sprint([]string(*l)) }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

// options are the parsed command-line flags.
type options struct {
	output                           string
	files, dirs, symlinks, tags, env listFlag
	entrypoint, cmd                  listFlag
	workdir                          string
}

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "mkimage: %v\n", err)
		os.Exit(1)
	}
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("mkimage", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.output, "output", "", "path of the image tarball to write (required)")
	fs.Var(&o.files, "file", "host file to add, src:dst[:octal-mode] (mode default 0755); repeatable")
	fs.Var(&o.dirs, "dir", "host directory tree to copy, src:dst; repeatable")
	fs.Var(&o.symlinks, "symlink", "symlink to create, target:link; repeatable")
	fs.Var(&o.tags, "tag", "image reference, e.g. registry.k8s.io/pause:3.10.2; repeatable, at least one")
	fs.Var(&o.env, "env", "environment variable KEY=VALUE; repeatable")
	fs.Var(&o.entrypoint, "entrypoint", "one entrypoint argv element; repeatable")
	fs.Var(&o.cmd, "cmd", "one cmd argv element; repeatable")
	fs.StringVar(&o.workdir, "workdir", "", "working directory of the image")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q: every input is a flag, see --help", fs.Arg(0))
	}
	if o.output == "" {
		return nil, fmt.Errorf("--output is required: name the tarball to write, for example --output /tmp/pause.tar")
	}
	return o, nil
}

// buildLayer turns the --file, --dir and --symlink flags into a layer.
func buildLayer(o *options) (*imagebuild.Layer, error) {
	layer := imagebuild.NewLayer()
	for _, s := range o.files {
		spec, err := imagebuild.ParseFileSpec(s)
		if err != nil {
			return nil, err
		}
		if err := layer.AddFile(spec); err != nil {
			return nil, err
		}
	}
	for _, s := range o.dirs {
		spec, err := imagebuild.ParseDirSpec(s)
		if err != nil {
			return nil, err
		}
		if err := layer.AddDir(spec); err != nil {
			return nil, err
		}
	}
	for _, s := range o.symlinks {
		spec, err := imagebuild.ParseSymlinkSpec(s)
		if err != nil {
			return nil, err
		}
		if err := layer.AddSymlink(spec); err != nil {
			return nil, err
		}
	}
	return layer, nil
}

func run(args []string, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	tags, err := imagebuild.ParseTags(o.tags)
	if err != nil {
		return err
	}
	layer, err := buildLayer(o)
	if err != nil {
		return err
	}
	img, err := imagebuild.Build(layer, imagebuild.Config{
		Entrypoint: o.entrypoint,
		Cmd:        o.cmd,
		Env:        o.env,
		WorkingDir: o.workdir,
	})
	if err != nil {
		return err
	}
	return imagebuild.WriteTarball(o.output, img, tags)
}
