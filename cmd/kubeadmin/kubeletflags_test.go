package main

import (
	"os"
	"strings"
	"testing"

	"github.com/kubeadmin/kubeadmin/internal/config"
	"github.com/kubeadmin/kubeadmin/kubelet/service"
	"github.com/kubeadmin/kubeadmin/manifests"
)

func TestValidateAgentArgs(t *testing.T) {
	// What kubelet-start passes with kubeadm's defaults and common extra
	// arguments must be accepted, or init could never start the agent.
	env := manifests.KubeletFlagsEnv("node1", "host1", []config.Arg{{Name: "node-labels", Value: "a=b"}, {Name: "v", Value: "2"}}, nil, false)
	if err := validateAgentArgs(service.AgentFlags(env)); err != nil {
		t.Errorf("the default agent flags are refused: %v", err)
	}
	for _, bad := range [][]string{{"--no-such-flag=1"}, {"stray"}, {"--register-with-taints=k=v:Sometimes"}, {"--root-dir=relative"}} {
		if err := validateAgentArgs(bad); err == nil {
			t.Errorf("validateAgentArgs(%q) accepted them", bad)
		}
	}
}

// An unknown kubelet flag in kubeletExtraArgs is found by preflight, not
// by an agent that exits at once under its supervisor.
func TestInitPreflightNamesAnUnknownKubeletFlag(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "")
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.Replace(string(b), "  name: node1\n", "  name: node1\n  kubeletExtraArgs:\n  - name: no-such-flag\n    value: \"1\"\n", 1)
	if err := os.WriteFile(cfg, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	// Every other check of this machine only warns.
	out, err, _ := runKubeadmin(t, "init", "phase", "preflight", "--config", cfg, "--ignore-preflight-errors=all")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(out, `[WARNING KubeletFlags]: nodeRegistration.kubeletExtraArgs: the node agent (kubeadmin kubelet) does not accept "--no-such-flag=1"`) {
		t.Errorf("preflight did not name the unknown flag:\n%s", out)
	}
}
