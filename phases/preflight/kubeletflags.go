package preflight

import (
	"fmt"
	"strings"

	"github.com/kubeadmin/kubeadmin/internal/config"
)

// kubeletFlagsCheck parses the node agent's arguments with validate (the
// agent's own flag set) before kubelet-start: a flag the agent does not
// accept would otherwise only show as an agent that exits at once, over and
// over, under its supervisor or systemd. Each rejected argument is named,
// and traced to nodeRegistration.kubeletExtraArgs when it comes from there.
func kubeletFlagsCheck(args []string, extra []config.Arg, validate func(args []string) error) Checker {
	return Check{Label: "KubeletFlags", Run: func() (_, errs []error) {
		err := validate(args)
		if err == nil {
			return nil, nil
		}
		for _, a := range args {
			if aErr := validate([]string{a}); aErr != nil {
				errs = append(errs, rejectedKubeletFlag(a, aErr, extra))
			}
		}
		if len(errs) == 0 {
			// Each argument passes alone; together they do not.
			errs = append(errs, fmt.Errorf("the node agent (kubeadmin kubelet) does not accept its arguments %q: %v", args, err))
		}
		return nil, errs
	}}
}

// rejectedKubeletFlag explains why the agent refuses arg, and where to fix it.
func rejectedKubeletFlag(arg string, err error, extra []config.Arg) error {
	name, _, _ := strings.Cut(strings.TrimLeft(arg, "-"), "=")
	for _, e := range extra {
		if e.Name == name {
			return fmt.Errorf("nodeRegistration.kubeletExtraArgs: the node agent (kubeadmin kubelet) does not accept %q (%v); "+
				"remove %q from kubeletExtraArgs or correct its value (see \"kubeadmin kubelet --help\")", arg, err, name)
		}
	}
	return fmt.Errorf("the node agent (kubeadmin kubelet) does not accept %q, which kubeadmin passes it (%v); "+
		"check the configuration that sets it (see \"kubeadmin kubelet --help\")", arg, err)
}
