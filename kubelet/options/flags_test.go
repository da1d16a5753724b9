package options

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	f, err := Parse([]string{"--node-ip=10.0.0.7", "--node-labels", "a=1,b=2", "--config", "/var/lib/kubelet/config.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	if f.NodeIP != "10.0.0.7" || f.NodeLabels != "a=1,b=2" || f.ConfigFile != "/var/lib/kubelet/config.yaml" || f.RootDir != DefaultRootDir {
		t.Errorf("flags = %+v", f)
	}
	for args, want := range map[string]string{
		"--no-such-flag=1":  "no-such-flag",
		"--node-ip=x":       "--node-ip",
		"--root-dir=rel":    "--root-dir",
		"--node-labels=a":   "--node-labels",
		"--config=/c extra": "extra",
	} {
		_, err := Parse(strings.Fields(args))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want an error naming %s", args, err, want)
		}
	}
}
