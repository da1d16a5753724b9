package volume

import (
	"os"
	"syscall"
	"testing"

	v1 "k8s.io/api/core/v1"
)

func groupOf(t *testing.T, p string) int {
	t.Helper()
	st, err := os.Lstat(p)
	must(t, err)
	return int(st.Sys().(*syscall.Stat_t).Gid)
}

func TestFSUser(t *testing.T) {
	pod := testPod()
	pod.Spec.Containers = []v1.Container{{Name: "a"}, {Name: "b"}}
	if u := fsUser(pod); u != nil {
		t.Errorf("no runAsUser: fsUser %d, want none", *u)
	}
	pod.Spec.SecurityContext = &v1.PodSecurityContext{RunAsUser: ptr(int64(1000))}
	if u := fsUser(pod); u == nil || *u != 1000 {
		t.Errorf("pod runAsUser: fsUser %v, want 1000", u)
	}
	pod.Spec.Containers[1].SecurityContext = &v1.SecurityContext{RunAsUser: ptr(int64(2000))}
	if u := fsUser(pod); u != nil {
		t.Errorf("two users: fsUser %d, want none", *u)
	}
}

func ownerOf(st os.FileInfo) (uid, gid int) {
	s := st.Sys().(*syscall.Stat_t)
	return int(s.Uid), int(s.Gid)
}
