package volume

import (
	"os"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
)

func testPod() *v1.Pod {
	p := &v1.Pod{}
	p.Name, p.Namespace, p.UID = "web", "default", "uid1"
	return p
}

// A new sandbox gets a new IP: the pod's hosts file must name it.
func TestEtcHostsFollowsThePodIP(t *testing.T) {
	root := t.TempDir()
	pod := testPod()
	for _, ip := range []string{"10.1.0.5", "10.1.0.9"} {
		p, err := EtcHostsFile(root, pod, ip, "web")
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(data), ip+"\tweb\n") {
			t.Errorf("hosts file for IP %s:\n%s", ip, data)
		}
	}
}
