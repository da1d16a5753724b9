package podsource

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
)

const podYAML = `apiVersion: v1
kind: Pod
metadata:
  name: %s
  namespace: kube-system
spec:
  hostNetwork: true
  containers:
  - name: app
    image: registry.k8s.io/etcd:3.7.0-0
    command: [%q]
    ports:
    - containerPort: 2379
    livenessProbe:
      httpGet:
        port: 2379
`

func podFile(name, cmd string) string {
	return strings.Replace(strings.Replace(podYAML, "%s", name, 1), "%q", `"`+cmd+`"`, 1)
}

func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDecodePodIdentityAndDefaults(t *testing.T) {
	pod, err := DecodePod([]byte(podFile("etcd", "etcd")), "/m/etcd.yaml", "Node1")
	if err != nil {
		t.Fatalf("DecodePod: %v", err)
	}
	checks := map[string][2]string{
		"name":         {pod.Name, "etcd-node1"},
		"namespace":    {pod.Namespace, "kube-system"},
		"nodeName":     {pod.Spec.NodeName, "Node1"},
		"config.hash":  {pod.Annotations[ConfigHashAnnotation], string(pod.UID)},
		"source":       {pod.Annotations[ConfigSourceAnnotation], "file"},
		"restart":      {string(pod.Spec.RestartPolicy), "Always"},
		"pullPolicy":   {string(pod.Spec.Containers[0].ImagePullPolicy), "IfNotPresent"},
		"probe scheme": {string(pod.Spec.Containers[0].LivenessProbe.HTTPGet.Scheme), "HTTP"},
	}
	for what, c := range checks {
		if c[0] != c[1] {
			t.Errorf("%s = %q, want %q", what, c[0], c[1])
		}
	}
	if len(pod.UID) != 32 {
		t.Errorf("UID %q is not an MD5 hex digest", pod.UID)
	}
	if p := pod.Spec.Containers[0].LivenessProbe; p.PeriodSeconds != 10 || p.TimeoutSeconds != 1 || p.FailureThreshold != 3 {
		t.Errorf("probe defaults not applied: %+v", p)
	}
	if hp := pod.Spec.Containers[0].Ports[0].HostPort; hp != 2379 {
		t.Errorf("hostPort = %d, want 2379 for a hostNetwork pod", hp)
	}
	if n := len(pod.Spec.Tolerations); n != 1 || pod.Spec.Tolerations[0].Effect != v1.TaintEffectNoExecute {
		t.Errorf("tolerations = %+v, want the NoExecute one", pod.Spec.Tolerations)
	}
	// Same content, different file: another UID. JSON with the same content: same UID.
	other, _ := DecodePod([]byte(podFile("etcd", "etcd")), "/m/other.yaml", "Node1")
	if other.UID == pod.UID {
		t.Error("the UID does not depend on the file path")
	}
	js := `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"etcd","namespace":"kube-system"},"spec":{"hostNetwork":true,"containers":[{"name":"app","image":"registry.k8s.io/etcd:3.7.0-0","command":["etcd"],"ports":[{"containerPort":2379}],"livenessProbe":{"httpGet":{"port":2379}}}]}}`
	same, err := DecodePod([]byte(js), "/m/etcd.yaml", "Node1")
	if err != nil {
		t.Fatalf("DecodePod(JSON): %v", err)
	}
	if same.UID != pod.UID {
		t.Errorf("JSON form of the same pod has UID %q, want %q", same.UID, pod.UID)
	}
}

func TestDecodePodErrors(t *testing.T) {
	tests := []struct {
		name, content, want string
	}{
		{"empty", "", "empty"},
		{"not yaml", "::: [", "failed to decode"},
		{"wrong kind", "apiVersion: v1\nkind: Service\nmetadata: {name: x}\n", `kind "Service"`},
		{"no image", "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec:\n  containers:\n  - name: c\n", "spec.containers[0].image"},
		{"no containers", "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {}\n", "spec.containers"},
		{"secret volume", "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec:\n  volumes:\n  - name: s\n    secret: {secretName: s}\n  containers:\n  - {name: c, image: i:1}\n", "spec.volumes[0]"},
		{"bad restart", "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec:\n  restartPolicy: Sometimes\n  containers:\n  - {name: c, image: i:1}\n", "spec.restartPolicy"},
		{"unknown mount", "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec:\n  containers:\n  - {name: c, image: i:1, volumeMounts: [{name: v, mountPath: /v}]}\n", "spec.containers[0].volumeMounts[0].name"},
		{"two probe handlers", "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec:\n  containers:\n  - name: c\n    image: i:1\n    readinessProbe: {tcpSocket: {port: 1}, exec: {command: [x]}}\n", "readinessProbe"},
		{"secret env", "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec:\n  containers:\n  - name: c\n    image: i:1\n    env: [{name: A, valueFrom: {secretKeyRef: {name: s, key: k}}}]\n", "spec.containers[0].env[0].valueFrom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodePod([]byte(tt.content), "/m/f.yaml", "n")
			if err == nil {
				t.Fatal("expected an error")
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "/m/f.yaml") {
				t.Errorf("error %q does not name the file and %q", err, tt.want)
			}
		})
	}
}

func TestListIgnoresDotFilesAndIsolatesBadFiles(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.yaml", podFile("a", "x"))
	write(t, dir, ".a.yaml.swp", podFile("swap", "x"))
	write(t, dir, "b.yaml", "not: a: pod")
	write(t, dir, "c.json", podFile("c", "x"))
	write(t, dir, "d.yaml.bak", podFile("a", "y")) // same name as a.yaml
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	s := New(dir, "n1", time.Hour, nil)
	snap := s.List()
	var names []string
	for _, p := range snap.Pods {
		names = append(names, p.Name)
	}
	if got := strings.Join(names, ","); got != "a-n1,c-n1" {
		t.Errorf("pods = %s, want a-n1,c-n1", got)
	}
	if len(snap.Errors) != 2 || !strings.HasSuffix(snap.Errors[0].File, "b.yaml") || !strings.HasSuffix(snap.Errors[1].File, "d.yaml.bak") {
		t.Fatalf("errors = %+v, want b.yaml and d.yaml.bak", snap.Errors)
	}
	if !strings.Contains(snap.Errors[1].Error, "already defined") {
		t.Errorf("duplicate error = %q", snap.Errors[1].Error)
	}
	for _, p := range snap.Pods {
		if p.Annotations[ConfigSeenAnnotation] == "" {
			t.Errorf("pod %s has no config.seen", p.Name)
		}
	}
}

func TestListKeepsLastGoodPodOfBrokenFile(t *testing.T) {
	dir := t.TempDir()
	f := write(t, dir, "a.yaml", podFile("a", "x"))
	s := New(dir, "n1", time.Hour, nil)
	first := s.List()
	write(t, dir, "a.yaml", "apiVersion: v1\nkind: Pod\n")
	second := s.List()
	if len(second.Pods) != 1 || second.Pods[0].UID != first.Pods[0].UID {
		t.Fatalf("pods after a broken edit = %v, want the previous pod", second.Pods)
	}
	if len(second.Errors) != 1 || second.Errors[0].File != f || !strings.Contains(second.Errors[0].Error, "keeping") {
		t.Errorf("errors = %+v", second.Errors)
	}
}

func TestUIDChangesOnlyWithContent(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.yaml", podFile("a", "x"))
	s := New(dir, "n1", time.Hour, nil)
	uid := func() string { return string(s.List().Pods[0].UID) }
	u1 := uid()
	seen1 := s.List().Pods[0].Annotations[ConfigSeenAnnotation]
	write(t, dir, "a.yaml", podFile("a", "x"))
	if u2 := uid(); u2 != u1 {
		t.Errorf("identical rewrite changed the UID: %s -> %s", u1, u2)
	}
	if seen2 := s.List().Pods[0].Annotations[ConfigSeenAnnotation]; seen2 != seen1 {
		t.Errorf("config.seen changed on identical rewrite: %s -> %s", seen1, seen2)
	}
	write(t, dir, "a.yaml", podFile("a", "y"))
	if u3 := uid(); u3 == u1 {
		t.Error("changed content kept the UID")
	}
}

func next(t *testing.T, s *Source) Snapshot {
	t.Helper()
	select {
	case snap := <-s.Updates():
		return snap
	case <-time.After(5 * time.Second):
		t.Fatal("no snapshot within 5s")
	}
	return Snapshot{}
}

func TestRunWatchesAndCoalescesRename(t *testing.T) {
	dir := t.TempDir()
	s := New(dir, "n1", time.Hour, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Run(ctx)
	if snap := next(t, s); len(snap.Pods) != 0 {
		t.Fatalf("initial snapshot = %v, want empty", snap.Pods)
	}
	// Write a dot-file, then rename it into place: one change.
	tmp := write(t, dir, ".a.yaml.tmp", podFile("a", "x"))
	if err := os.Rename(tmp, filepath.Join(dir, "a.yaml")); err != nil {
		t.Fatal(err)
	}
	snap := next(t, s)
	if len(snap.Pods) != 1 || snap.Pods[0].Name != "a-n1" {
		t.Fatalf("snapshot after rename = %v", snap.Pods)
	}
	select {
	case extra := <-s.Updates():
		t.Errorf("unexpected second snapshot %v", extra.Pods)
	case <-time.After(100 * time.Millisecond):
	}
	if err := os.Remove(filepath.Join(dir, "a.yaml")); err != nil {
		t.Fatal(err)
	}
	if snap := next(t, s); len(snap.Pods) != 0 {
		t.Errorf("snapshot after removal = %v, want empty", snap.Pods)
	}
}

func TestRunMissingDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "manifests")
	s := New(dir, "n1", time.Hour, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Run(ctx)
	if snap := next(t, s); len(snap.Pods) != 0 || len(snap.Errors) != 0 {
		t.Fatalf("missing dir: %+v", snap)
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, dir, "a.yaml", podFile("a", "x"))
	if snap := next(t, s); len(snap.Pods) != 1 {
		t.Errorf("after creating the directory: %+v", snap)
	}
}

func TestDefaultPullPolicy(t *testing.T) {
	tests := map[string]v1.PullPolicy{
		"nginx":                      v1.PullAlways,
		"nginx:latest":               v1.PullAlways,
		"nginx:1.2":                  v1.PullIfNotPresent,
		"localhost:5000/nginx":       v1.PullAlways,
		"localhost:5000/nginx:1":     v1.PullIfNotPresent,
		"nginx@sha256:0123456789abc": v1.PullIfNotPresent,
	}
	for image, want := range tests {
		if got := defaultPullPolicy(image); got != want {
			t.Errorf("defaultPullPolicy(%q) = %s, want %s", image, got, want)
		}
	}
}
