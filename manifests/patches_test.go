package manifests

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	kubeletv1beta1 "k8s.io/kubelet/config/v1beta1"
	"sigs.k8s.io/yaml"
)

func writePatchDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func marshalTestPod(t *testing.T, component string) []byte {
	t.Helper()
	cfg := testConfig()
	pods := testRenderer().ControlPlanePods(cfg)
	pods["etcd"] = EtcdPod(cfg)
	data, err := MarshalPod(pods[component])
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestApplyPatches(t *testing.T) {
	dir := writePatchDir(t, map[string]string{
		"kube-apiserver.yaml":        "spec:\n  containers:\n  - name: kube-apiserver\n    resources:\n      requests:\n        cpu: 500m\n",
		"etcd+strategic.json":        `{"metadata":{"labels":{"extra":"yes"}}}`,
		"kube-scheduler0+merge.yaml": "metadata:\n  annotations:\n    a: first\n---\nmetadata:\n  annotations:\n    b: second\n",
		"kube-scheduler1+merge.yaml": "metadata:\n  annotations:\n    a: last\n",
		"kube-controller-manager+json.yaml": "- op: replace\n  path: /spec/containers/0/command/1\n  value: --authentication-kubeconfig=/x.conf\n" +
			"- op: add\n  path: /metadata/labels/patched\n  value: json\n",
		"README.md":        "ignored: extension",
		"something.yaml":   "ignored: unknown target",
		"kube-proxy.empty": "",
	})
	var out bytes.Buffer
	p, err := LoadPatches(dir, &out)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		target    string
		check     func(t *testing.T, patched []byte)
		wantLines []string
	}{
		{
			target: "kube-apiserver",
			check: func(t *testing.T, patched []byte) {
				pod, err := UnmarshalPod(patched)
				if err != nil {
					t.Fatal(err)
				}
				c := pod.Spec.Containers[0]
				if got := c.Resources.Requests.Cpu().String(); got != "500m" {
					t.Errorf("cpu request = %s, want 500m", got)
				}
				if c.Image == "" || len(c.Command) < 10 {
					t.Errorf("strategic merge lost the container: %+v", c)
				}
			},
			wantLines: []string{`[patches] Applied patch of type "application/strategic-merge-patch+json" to target "kube-apiserver"`},
		},
		{
			target: "etcd",
			check: func(t *testing.T, patched []byte) {
				pod, err := UnmarshalPod(patched)
				if err != nil {
					t.Fatal(err)
				}
				if pod.Labels["extra"] != "yes" || pod.Labels["component"] != "etcd" {
					t.Errorf("labels = %v", pod.Labels)
				}
			},
			wantLines: []string{`[patches] Applied patch of type "application/strategic-merge-patch+json" to target "etcd"`},
		},
		{
			target: "kube-scheduler",
			check: func(t *testing.T, patched []byte) {
				pod, err := UnmarshalPod(patched)
				if err != nil {
					t.Fatal(err)
				}
				if pod.Annotations["a"] != "last" || pod.Annotations["b"] != "second" {
					t.Errorf("annotations = %v, want a=last (alphanumeric file order) and b=second", pod.Annotations)
				}
			},
			wantLines: []string{
				`[patches] Applied patch of type "application/merge-patch+json" to target "kube-scheduler"`,
				`[patches] Applied patch of type "application/merge-patch+json" to target "kube-scheduler"`,
				`[patches] Applied patch of type "application/merge-patch+json" to target "kube-scheduler"`,
			},
		},
		{
			target: "kube-controller-manager",
			check: func(t *testing.T, patched []byte) {
				pod, err := UnmarshalPod(patched)
				if err != nil {
					t.Fatal(err)
				}
				if got := pod.Spec.Containers[0].Command[1]; got != "--authentication-kubeconfig=/x.conf" {
					t.Errorf("command[1] = %q", got)
				}
				if pod.Labels["patched"] != "json" {
					t.Errorf("labels = %v", pod.Labels)
				}
			},
			wantLines: []string{`[patches] Applied patch of type "application/json-patch+json" to target "kube-controller-manager"`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.target, func(t *testing.T) {
			out.Reset()
			patched, err := p.Apply(tc.target, marshalTestPod(t, tc.target))
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, patched)
			// The result is a manifest exactly as MarshalPod writes it.
			pod, _ := UnmarshalPod(patched)
			if again, _ := MarshalPod(pod); !bytes.Equal(again, patched) {
				t.Errorf("patched manifest is not in MarshalPod form:\n%s", patched)
			}
			if got := strings.Split(strings.TrimSpace(out.String()), "\n"); strings.Join(got, "\n") != strings.Join(tc.wantLines, "\n") {
				t.Errorf("output = %q, want %q", got, tc.wantLines)
			}
		})
	}
}

func TestLoadPatchesOutputAndCache(t *testing.T) {
	dir := writePatchDir(t, map[string]string{
		"etcd.yaml":      "metadata:\n  labels:\n    a: b\n",
		"notes.txt":      "x",
		"kubeproxy.yaml": "",
	})
	var out bytes.Buffer
	p1, err := LoadPatches(dir, &out)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		`[patches] Reading patches from path "` + dir + `"`,
		`[patches] Ignoring file "kubeproxy.yaml": unknown target, must be one of [etcd kube-apiserver kube-controller-manager kube-scheduler kubeletconfiguration corednsdeployment kubeproxydaemonset]`,
		`[patches] Ignoring file "notes.txt": the file extension must be one of [json yaml]`,
		`[patches] Found the following patch files: [etcd.yaml]`,
		`[patches] Ignored the following files: [kubeproxy.yaml notes.txt]`,
	}, "\n") + "\n"
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
	out.Reset()
	p2, err := ApplyPatches(dir, "kube-scheduler", []byte("unchanged: true\n"), &out)
	if err != nil {
		t.Fatal(err)
	}
	if string(p2) != "unchanged: true\n" {
		t.Errorf("a target without patches changed: %q", p2)
	}
	if out.Len() != 0 {
		t.Errorf("second load printed %q; the directory must be read once", out.String())
	}
	if p, _ := LoadPatches(dir, nil); p != p1 {
		t.Error("LoadPatches did not reuse the parsed directory")
	}
}

func TestPatchErrors(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string
		target  string
		wantErr string
	}{
		{name: "missing patch type after +", files: map[string]string{"etcd+bogus.yaml": "a: b"}, wantErr: "unknown or missing patch type after '+'"},
		{name: "invalid json patch", files: map[string]string{"etcd+json.json": `{"op":"add"}`}, target: "etcd", wantErr: "failed to apply the patch"},
		{name: "unknown apply target", files: map[string]string{}, target: "kubelet", wantErr: `unknown patch target name "kubelet"`},
		{name: "patch makes it not a pod", files: map[string]string{"etcd+merge.yaml": "kind: Service"}, target: "etcd", wantErr: "not a valid Pod"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := writePatchDir(t, tc.files)
			_, err := ApplyPatches(dir, tc.target, marshalTestPod(t, "etcd"), nil)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
	if _, err := LoadPatches(filepath.Join(t.TempDir(), "missing"), nil); err == nil {
		t.Error("LoadPatches of a missing directory succeeded")
	}
}

func TestPatchKubeletConfiguration(t *testing.T) {
	dir := writePatchDir(t, map[string]string{
		"kubeletconfiguration+strategic.yaml": "maxPods: 42\nclusterDNS:\n- 10.96.0.100\n",
	})
	kc := &kubeletv1beta1.KubeletConfiguration{ClusterDNS: []string{"10.96.0.10"}, ClusterDomain: "cluster.local"}
	var out bytes.Buffer
	data, err := BuildKubeletConfigFile(kc, "unix:///run/containerd/containerd.sock", dir, &out)
	if err != nil {
		t.Fatal(err)
	}
	var got kubeletv1beta1.KubeletConfiguration
	if err := yaml.UnmarshalStrict(data, &got); err != nil {
		t.Fatal(err)
	}
	if got.MaxPods != 42 || len(got.ClusterDNS) != 1 || got.ClusterDNS[0] != "10.96.0.100" || got.ClusterDomain != "cluster.local" {
		t.Errorf("patched config = %+v", got)
	}
	if got.ContainerRuntimeEndpoint != "unix:///run/containerd/containerd.sock" {
		t.Errorf("containerRuntimeEndpoint = %q", got.ContainerRuntimeEndpoint)
	}
	wantTail := `[patches] Applied patch of type "application/strategic-merge-patch+json" to target "kubeletconfiguration"` + "\n" +
		`[patches] Applied patch of type "application/strategic-merge-patch+json" to target "kubeletconfiguration"` + "\n"
	if !strings.HasSuffix(out.String(), wantTail) {
		t.Errorf("output = %q, want it to end with the user patch line and the instance config line", out.String())
	}
}
