package options

import (
	"reflect"
	"strconv"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"

	"github.com/kubeadmin/kubeadmin/internal/config"
	"github.com/kubeadmin/kubeadmin/manifests"
)

func TestParse(t *testing.T) {
	f, err := Parse([]string{"--node-ip=10.0.0.7", "--node-labels", "a=1,b=2", "--config", "/var/lib/kubelet/config.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	if f.NodeIP != "10.0.0.7" || f.NodeLabels != "a=1,b=2" || f.ConfigFile != "/var/lib/kubelet/config.yaml" || f.RootDir != DefaultRootDir {
		t.Errorf("flags = %+v", f)
	}
	if f.PodNetwork != PodNetworkBuiltin {
		t.Errorf("--pod-network default %q, want %q", f.PodNetwork, PodNetworkBuiltin)
	}
	if f, err := Parse([]string{"--pod-network=none"}); err != nil || f.PodNetwork != PodNetworkNone {
		t.Errorf("--pod-network=none: %+v, %v", f, err)
	}
	for args, want := range map[string]string{
		"--no-such-flag=1":              "--no-such-flag",
		"-v=4":                          "'v'",
		"--node-ip=x":                   "--node-ip",
		"--root-dir=rel":                "--root-dir",
		"--node-labels=a":               "--node-labels",
		"--node-labels=a=b,bad/key/x=1": "bad/key/x",
		"--node-labels=node-role.kubernetes.io/worker=":      "node-role.kubernetes.io/worker",
		"--register-with-taints=a=b":                         "--register-with-taints",
		"--register-with-taints=a=b:Sometimes":               "Sometimes",
		"--register-with-taints=a:NoSchedule,a=x:NoSchedule": "twice",
		"--register-with-taints=bad/key/x:NoExecute":         "bad/key/x",
		"--max-pods=-1":        "--max-pods",
		"--max-pods=many":      "--max-pods",
		"--config=/c extra":    "extra",
		"--pod-network=calico": "--pod-network",
	} {
		_, err := Parse(strings.Fields(args))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want an error naming %s", args, err, want)
		}
	}
}

func TestParseTaints(t *testing.T) {
	got, err := ParseTaints("node-role.kubernetes.io/control-plane:NoSchedule, dedicated=infra:NoExecute,a=:PreferNoSchedule")
	if err != nil {
		t.Fatal(err)
	}
	want := []v1.Taint{
		{Key: "node-role.kubernetes.io/control-plane", Effect: v1.TaintEffectNoSchedule},
		{Key: "dedicated", Value: "infra", Effect: v1.TaintEffectNoExecute},
		{Key: "a", Effect: v1.TaintEffectPreferNoSchedule},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("taints = %+v, want %+v", got, want)
	}
}

func TestParseNodeLabels(t *testing.T) {
	got, err := ParseNodeLabels("node.kubernetes.io/pool=a,kubelet.kubernetes.io/x=y,example.com/team=db,kubernetes.io/hostname=n1,plain=")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"node.kubernetes.io/pool": "a", "kubelet.kubernetes.io/x": "y", "example.com/team": "db", "kubernetes.io/hostname": "n1", "plain": ""}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("labels = %v, want %v", got, want)
	}
}

// TestLoadHonoursRegistrationFlags checks the flags that shape the Node
// reach the configuration, over the file's values.
func TestLoadHonoursRegistrationFlags(t *testing.T) {
	file := writeConfig(t, "maxPods: 50\nregisterWithTaints:\n- key: from-file\n  effect: NoSchedule\n")
	cfg, err := Load(Flags{ConfigFile: file, HostnameOverride: "n"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MaxPods != 50 || len(cfg.RegisterTaints) != 1 || cfg.RegisterTaints[0].Key != "from-file" {
		t.Errorf("from the file: maxPods %d, taints %+v", cfg.MaxPods, cfg.RegisterTaints)
	}
	cfg, err = Load(Flags{ConfigFile: file, HostnameOverride: "n", MaxPods: 7, RegisterWithTaints: "x=y:NoExecute",
		NodeLabels: "node.kubernetes.io/pool=a", PodInfraContainerImage: "registry.k8s.io/pause:3.10"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MaxPods != 7 || !reflect.DeepEqual(cfg.RegisterTaints, []v1.Taint{{Key: "x", Value: "y", Effect: v1.TaintEffectNoExecute}}) {
		t.Errorf("flags: maxPods %d, taints %+v", cfg.MaxPods, cfg.RegisterTaints)
	}
	if cfg.PodInfraContainerImage != "registry.k8s.io/pause:3.10" || cfg.NodeLabels["node.kubernetes.io/pool"] != "a" {
		t.Errorf("flags: image %q, labels %v", cfg.PodInfraContainerImage, cfg.NodeLabels)
	}
	cfg, err = Load(Flags{ConfigFile: writeConfig(t, ""), HostnameOverride: "n"})
	if err != nil || cfg.MaxPods != 110 || cfg.RegisterTaints != nil {
		t.Errorf("defaults: maxPods %d, taints %+v, %v", cfg.MaxPods, cfg.RegisterTaints, err)
	}
	for body, want := range map[string]string{
		"maxPods: -3\n": `"maxPods"`,
		"registerWithTaints:\n- key: a\n  effect: Never\n": `"registerWithTaints[0]"`,
	} {
		if _, err := Load(Flags{ConfigFile: writeConfig(t, body), HostnameOverride: "n"}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("config %q: %v, want an error naming %s", body, err, want)
		}
	}
}

// TestKubeadmFlagsEnvIsAccepted feeds the agent what kubeadm-flags.env
// holds for a joining worker with taints, a node name that is not the
// host name and common kubeletExtraArgs.
func TestKubeadmFlagsEnvIsAccepted(t *testing.T) {
	env := manifests.KubeletFlagsEnv("worker-1", "host-a", []config.Arg{
		{Name: "node-ip", Value: "10.0.0.9"}, {Name: "node-labels", Value: "node.kubernetes.io/pool=a"},
		{Name: "max-pods", Value: "30"}, {Name: "pod-infra-container-image", Value: "registry.k8s.io/pause:3.10"},
	}, []v1.Taint{{Key: "dedicated", Value: "db", Effect: v1.TaintEffectNoSchedule}}, true)
	_, value, _ := strings.Cut(strings.TrimSpace(string(env)), "=")
	value, err := strconv.Unquote(value)
	if err != nil {
		t.Fatalf("kubeadm-flags.env %q: %v", env, err)
	}
	f, err := Parse(strings.Fields(value))
	if err != nil {
		t.Fatalf("Parse(%q): %v", value, err)
	}
	f.ConfigFile = writeConfig(t, "")
	cfg, err := Load(*f)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.NodeName != "worker-1" || cfg.NodeIP != "10.0.0.9" || cfg.MaxPods != 30 || cfg.NodeLabels["node.kubernetes.io/pool"] != "a" ||
		cfg.PodInfraContainerImage != "registry.k8s.io/pause:3.10" ||
		!reflect.DeepEqual(cfg.RegisterTaints, []v1.Taint{{Key: "dedicated", Value: "db", Effect: v1.TaintEffectNoSchedule}}) {
		t.Errorf("config from %q: %+v", value, cfg)
	}
}

// TestRegisterWithTaintsFlagReachesTheConfig: the flag used to be
// accepted and dropped.
func TestRegisterWithTaintsFlagReachesTheConfig(t *testing.T) {
	cfg, err := Load(Flags{ConfigFile: writeConfig(t, ""), HostnameOverride: "n", RegisterWithTaints: "x=y:NoExecute"})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Kubelet.RegisterWithTaints) != 1 || cfg.Kubelet.RegisterWithTaints[0].Key != "x" {
		t.Errorf("--register-with-taints dropped: %+v", cfg.Kubelet.RegisterWithTaints)
	}
	if _, err := Parse([]string{"--register-with-taints=a=b:Sometimes"}); err == nil {
		t.Errorf("a bad taint effect was accepted")
	}
}
