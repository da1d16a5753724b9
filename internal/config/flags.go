package config

import (
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// flagsAllowedWithConfig may be combined with --config (besides any
// "skip-*" flag), as in kubeadm.
var flagsAllowedWithConfig = []string{
	"config", "ignore-preflight-errors", "dry-run", "kubeconfig", "node-name", "kubeconfig-dir",
	"upload-certs", "print-manifest", "allow-missing-template-keys", "output", "show-managed-fields",
	"print-join-command", "rootfs", "v", "log-file", "yes",
}

// CheckMixedConfigFlags implements kubeadm's rule that --config cannot be
// combined with flags that would change the configuration. changedFlags
// are the names (without dashes) of the flags the user set; the check
// applies when configPath is set or "config" is among them.
func CheckMixedConfigFlags(configPath string, changedFlags []string) error {
	if configPath == "" && !contains(changedFlags, "config") {
		return nil
	}
	var mixed []string
	for _, name := range changedFlags {
		if contains(flagsAllowedWithConfig, name) || strings.HasPrefix(name, "skip-") {
			continue
		}
		if !contains(mixed, name) {
			mixed = append(mixed, name)
		}
	}
	if len(mixed) == 0 {
		return nil
	}
	sort.Strings(mixed)
	return fmt.Errorf("can not mix '--config' with arguments %v", mixed)
}

// ParseIgnorePreflightErrors merges --ignore-preflight-errors and
// nodeRegistration.ignorePreflightErrors into a set of lower-cased check
// names. "all" cannot be combined with individual names.
func ParseIgnorePreflightErrors(flagValues, cfgValues []string) (map[string]bool, error) {
	set := map[string]bool{}
	for _, v := range append(append([]string(nil), cfgValues...), flagValues...) {
		set[strings.ToLower(v)] = true
	}
	if set["all"] && len(set) > 1 {
		err := field.Invalid(field.NewPath("ignore-preflight-errors"), strings.Join(sortedKeys(set), ","), "don't specify individual checks if 'all' is used")
		return set, err
	}
	return set, nil
}
