package preflight

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/kubeadmin/kubeadmin/internal/config"
)

// standInFlags accepts the listed flag names, as the agent's flag set would.
func standInFlags(known ...string) func(args []string) error {
	return func(args []string) error {
		for _, a := range args {
			name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
			found := false
			for _, k := range known {
				found = found || k == name
			}
			if !found {
				return fmt.Errorf("unknown flag: --%s", name)
			}
		}
		return nil
	}
}

func TestKubeletFlagsCheck(t *testing.T) {
	validate := standInFlags("config", "kubeconfig", "hostname-override", "node-labels")
	extra := []config.Arg{{Name: "node-labels", Value: "a=b"}, {Name: "max-podz", Value: "3"}}
	tests := []struct {
		name string
		args []string
		errs []string
	}{
		{"all known", []string{"--config=/c", "--node-labels=a=b"}, nil},
		{"unknown extra argument", []string{"--config=/c", "--max-podz=3"},
			[]string{`nodeRegistration.kubeletExtraArgs: the node agent (kubeadmin kubelet) does not accept "--max-podz=3" (unknown flag: --max-podz); remove "max-podz" from kubeletExtraArgs`}},
		{"unknown flag kubeadmin passes", []string{"--bootstrap-kubeconfig=/b"},
			[]string{`does not accept "--bootstrap-kubeconfig=/b", which kubeadmin passes it (unknown flag: --bootstrap-kubeconfig)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := kubeletFlagsCheck(tt.args, extra, validate)
			if c.Name() != "KubeletFlags" {
				t.Errorf("name = %q", c.Name())
			}
			expect(t, run(c), nil, tt.errs)
		})
	}
}

func TestKubeletFlagsCheckArgumentsRefusedOnlyTogether(t *testing.T) {
	validate := func(args []string) error {
		if len(args) > 1 {
			return errors.New("--a and --b exclude each other")
		}
		return nil
	}
	expect(t, run(kubeletFlagsCheck([]string{"--a", "--b"}, nil, validate)), nil, []string{`does not accept its arguments ["--a" "--b"]: --a and --b exclude each other`})
}

func TestInitChecksRunKubeletFlagsWithAValidator(t *testing.T) {
	has := func(checks []Checker) bool {
		for _, c := range checks {
			if c.Name() == "KubeletFlags" {
				return true
			}
		}
		return false
	}
	cfg := config.DefaultInitConfig()
	if has(InitChecks(InitOptions{Cfg: cfg})) {
		t.Error("KubeletFlags runs without a validator")
	}
	if !has(InitChecks(InitOptions{Cfg: cfg, KubeletArgs: []string{"--x"}, ValidateKubeletArgs: standInFlags()})) {
		t.Error("KubeletFlags does not run with a validator")
	}
}
