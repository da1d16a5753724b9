package manifests

import (
	"fmt"
	"sort"

	"github.com/kubeadmin/kubeadmin/internal/config"
)

// ArgumentsToCommand renders component arguments the way kubeadm v1beta4
// does: the defaults sorted by name (then value), each default dropped when
// an override of the same name exists, and then every override appended in
// the user's order (duplicates allowed). Each argument is "--name=value".
// defaults is not modified.
func ArgumentsToCommand(defaults, overrides []config.Arg) []string {
	base := sortedArgs(defaults)
	overridden := make(map[string]bool, len(overrides))
	for _, a := range overrides {
		overridden[a.Name] = true
	}
	command := make([]string, 0, len(base)+len(overrides))
	for _, a := range base {
		if !overridden[a.Name] {
			command = append(command, formatArg(a))
		}
	}
	for _, a := range overrides {
		command = append(command, formatArg(a))
	}
	return command
}

func formatArg(a config.Arg) string {
	return fmt.Sprintf("--%s=%s", a.Name, a.Value)
}

func sortedArgs(args []config.Arg) []config.Arg {
	out := append([]config.Arg(nil), args...)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Name == out[j].Name {
			return out[i].Value < out[j].Value
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// argValue returns the value of the last argument called name, and whether
// one exists (kubeadm's GetArgValue searches backwards).
func argValue(args []config.Arg, name string) (string, bool) {
	for i := len(args) - 1; i >= 0; i-- {
		if args[i].Name == name {
			return args[i].Value, true
		}
	}
	return "", false
}

// argSet is an ordered set of default arguments keyed by name; set replaces
// the value of an existing name or appends a new one.
type argSet []config.Arg

func (s *argSet) set(name, value string) {
	for i := len(*s) - 1; i >= 0; i-- {
		if (*s)[i].Name == name {
			(*s)[i].Value = value
			return
		}
	}
	*s = append(*s, config.Arg{Name: name, Value: value})
}
