package volume

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	v1 "k8s.io/api/core/v1"
)

// Permission bits an fsGroup adds, as upstream for its read-only volumes
// (configMap, secret, projected, downwardAPI): group read on everything,
// group search and set-group-ID on directories.
const (
	fsGroupReadMask   = 0o440
	fsGroupSearchMask = 0o110
)

// applyFSGroup gives everything below dir (dir included) group gid and
// the fsGroup bits; symbolic links get the group only.
func applyFSGroup(dir string, gid int64) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := os.Lchown(p, -1, int(gid)); err != nil {
			return fmt.Errorf("failed to set group %d on %q: %w", gid, p, err)
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		mode := info.Mode() | fsGroupReadMask
		if d.IsDir() {
			mode |= os.ModeSetgid | fsGroupSearchMask
		}
		if err := os.Chmod(p, mode); err != nil {
			return fmt.Errorf("failed to set the mode of %q: %w", p, err)
		}
		return nil
	})
}

// fsGroup is the pod's fsGroup, nil when unset.
func fsGroup(pod *v1.Pod) *int64 {
	if sc := pod.Spec.SecurityContext; sc != nil {
		return sc.FSGroup
	}
	return nil
}

// fsUser is the user every container of pod runs as, nil when they differ
// or one has none set (the owner upstream gives a projected token).
func fsUser(pod *v1.Pod) *int64 {
	var user *int64
	for _, cs := range [][]v1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for i := range cs {
			u := runAsUser(pod, &cs[i])
			if u == nil || (user != nil && *user != *u) {
				return nil
			}
			user = u
		}
	}
	for i := range pod.Spec.EphemeralContainers {
		sc := pod.Spec.EphemeralContainers[i].SecurityContext
		var u *int64
		if sc != nil && sc.RunAsUser != nil {
			u = sc.RunAsUser
		} else if psc := pod.Spec.SecurityContext; psc != nil {
			u = psc.RunAsUser
		}
		if u == nil || (user != nil && *user != *u) {
			return nil
		}
		user = u
	}
	return user
}

func runAsUser(pod *v1.Pod, c *v1.Container) *int64 {
	if c.SecurityContext != nil && c.SecurityContext.RunAsUser != nil {
		return c.SecurityContext.RunAsUser
	}
	if psc := pod.Spec.SecurityContext; psc != nil {
		return psc.RunAsUser
	}
	return nil
}
