package podsource

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files under testdata/identity")

// identityCases pin the static-pod identity of the manifests under
// testdata/identity: the UID, the name and the config annotations are
// what mirror pods and running containers are matched by, so they must
// not change between versions of the agent.
var identityCases = []struct {
	file, node, uid, name string
}{
	{"kube-apiserver.yaml", "cp-1", "3c1c12f498598cc395f9c957f5d4d344", "kube-apiserver-cp-1"},
	{"pinned.yaml", "Worker-A", "11111111-2222-3333-4444-555555555555", "pinned-worker-a"},
	{"web.json", "Node1", "444080cb5a2aeefbefa8508f6433ac65", "web-node1"},
}

// TestIdentityIsStable decodes each manifest as it would be found under
// /etc/kubernetes/manifests and compares the whole decoded pod (identity
// and defaults) with its golden file; run with -update to record them.
func TestIdentityIsStable(t *testing.T) {
	for _, tc := range identityCases {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "identity", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			pod, err := DecodePod(data, "/etc/kubernetes/manifests/"+tc.file, tc.node)
			if err != nil {
				t.Fatalf("DecodePod: %v", err)
			}
			if string(pod.UID) != tc.uid || pod.Name != tc.name {
				t.Errorf("uid %s, name %s; want uid %s, name %s", pod.UID, pod.Name, tc.uid, tc.name)
			}
			if got := pod.Annotations[ConfigHashAnnotation]; got != string(pod.UID) {
				t.Errorf("%s = %q, want the UID", ConfigHashAnnotation, got)
			}
			if got := pod.Annotations[ConfigSourceAnnotation]; got != FileSource {
				t.Errorf("%s = %q, want %q", ConfigSourceAnnotation, got, FileSource)
			}
			got, err := json.MarshalIndent(pod, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := filepath.Join("testdata", "identity", strings.TrimSuffix(tc.file, filepath.Ext(tc.file))+".golden.json")
			if *updateGolden {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run the test with -update to record it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("decoded pod differs from %s:\n%s", golden, got)
			}
		})
	}
}
