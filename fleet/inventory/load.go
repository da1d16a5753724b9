package inventory

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/kubeadmin/kubeadmin/internal/config"
)

// Error is returned when an inventory cannot be read, decoded or
// validated. Each problem names the line (when known), the field path and
// the fix.
type Error struct {
	Source   string
	Problems []string
}

// Error lists the problems, one per line when there are several.
func (e *Error) Error() string {
	if len(e.Problems) == 1 {
		return fmt.Sprintf("invalid inventory %q: %s", e.Source, e.Problems[0])
	}
	return fmt.Sprintf("invalid inventory %q:\n\t- %s", e.Source, strings.Join(e.Problems, "\n\t- "))
}

// Load reads, decodes and validates the inventory at path. Relative paths
// in it (identity files, known_hosts, artifacts) are relative to the
// file's directory.
func Load(path string) (*Cluster, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("failed to read inventory: %w", err)
	}
	return Parse(data, path)
}

// Parse decodes data strictly and validates it. source names the file in
// messages, and its directory resolves relative paths ("-" or "" for the
// current directory).
func Parse(data []byte, source string) (*Cluster, error) {
	c := &Cluster{source: source, raw: data, dir: "."}
	if source != "" && source != "-" {
		c.dir = filepath.Dir(source)
	}
	if p := checkTypeMeta(data); p != "" {
		return nil, &Error{Source: source, Problems: []string{p}}
	}
	if problems := config.DecodeStrictYAML(data, c); len(problems) > 0 {
		msgs := make([]string, len(problems))
		for i, p := range problems {
			msgs[i] = p.String()
		}
		return nil, &Error{Source: source, Problems: msgs}
	}
	if problems := c.validate(); len(problems) > 0 {
		return nil, &Error{Source: source, Problems: problems}
	}
	return c, nil
}

// checkTypeMeta refuses a document of another kind before its fields are
// reported one by one as unknown.
func checkTypeMeta(data []byte) string {
	var tm struct {
		APIVersion any `json:"apiVersion"`
		Kind       any `json:"kind"`
	}
	if err := yaml.Unmarshal(data, &tm); err != nil {
		return "" // the strict decoder reports it
	}
	where := func(field string) string {
		if l := config.FieldLine(data, field); l > 0 {
			return fmt.Sprintf("line %d: %s", l, field)
		}
		return field
	}
	example := fmt.Sprintf("begin the file with \"apiVersion: %s\" and \"kind: %s\"", APIVersion, Kind)
	switch {
	case tm.APIVersion == nil:
		return "apiVersion: required; " + example
	case tm.APIVersion != APIVersion:
		return fmt.Sprintf("%s: unsupported value %s; %s", where("apiVersion"), quoteAny(tm.APIVersion), example)
	case tm.Kind == nil:
		return "kind: required; " + example
	case tm.Kind != Kind:
		return fmt.Sprintf("%s: unsupported value %s; %s", where("kind"), quoteAny(tm.Kind), example)
	}
	return ""
}

func quoteAny(v any) string {
	if s, ok := v.(string); ok {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprint(v)
}

// Source is the file the inventory was read from.
func (c *Cluster) Source() string { return c.source }

// Name is metadata.name, or kubeadm's default cluster name.
func (c *Cluster) Name() string {
	if c.Metadata.Name != "" {
		return c.Metadata.Name
	}
	return defaultClusterName
}

// defaultClusterName is kubeadm's default clusterName.
const defaultClusterName = "kubernetes"

// HostsParallel is how many hosts are worked on at once.
func (c *Cluster) HostsParallel() int {
	if p := c.Spec.Concurrency.Hosts; p != nil {
		return int(*p)
	}
	return DefaultHostsParallel
}

// UploadsParallel is how many uploads run at once.
func (c *Cluster) UploadsParallel() int {
	if p := c.Spec.Concurrency.Uploads; p != nil {
		return int(*p)
	}
	return DefaultUploadParallel
}

// KubeadminBinary is the local kubeadmin binary to upload: the configured
// path (relative to the inventory's directory) or the running executable.
func (c *Cluster) KubeadminBinary() (string, error) {
	if p := c.Spec.Artifacts.KubeadminBinary; p != "" {
		return c.localPath(p, ""), nil
	}
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("failed to find the running kubeadmin binary (set spec.artifacts.kubeadminBinary): %w", err)
	}
	return exe, nil
}

// ImageBundle is the local image archive to upload, or "" when none is
// configured.
func (c *Cluster) ImageBundle() string {
	if p := c.Spec.Artifacts.ImageBundle; p != "" {
		return c.localPath(p, "")
	}
	return ""
}

// localPath makes a path of the inventory absolute: "~/" is the home
// directory (home, or the user's when ""), and a relative path is relative
// to the inventory's directory.
func (c *Cluster) localPath(p, home string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home == "" {
			home, _ = os.UserHomeDir()
		}
		return filepath.Join(home, strings.TrimPrefix(p, "~"))
	}
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	dir, err := filepath.Abs(c.dir)
	if err != nil {
		dir = c.dir
	}
	return filepath.Join(dir, p)
}
