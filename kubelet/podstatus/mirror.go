package podstatus

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
)

// Static pod annotations.
const (
	// AnnotationConfigHash is the static pod's content hash.
	AnnotationConfigHash = "kubernetes.io/config.hash"
	// AnnotationConfigMirror marks a mirror pod; its value is the hash of
	// the static pod it mirrors.
	AnnotationConfigMirror = "kubernetes.io/config.mirror"
)

// podKey is namespace/name.
func podKey(p *v1.Pod) string { return p.Namespace + "/" + p.Name }

// staticHash is the hash a mirror of p carries.
func staticHash(p *v1.Pod) string {
	if h := p.Annotations[AnnotationConfigHash]; h != "" {
		return h
	}
	return string(p.UID)
}

// IsMirrorPod reports whether p is a mirror pod.
func IsMirrorPod(p *v1.Pod) bool {
	_, ok := p.Annotations[AnnotationConfigMirror]
	return ok
}

// MirrorPod is the API object mirroring the static pod: same name,
// namespace, labels and annotations plus kubernetes.io/config.mirror, the
// spec bound to the node, owned by the Node.
func MirrorPod(static *v1.Pod, nodeName string, nodeUID types.UID) *v1.Pod {
	s := static.DeepCopy()
	anno := map[string]string{}
	for k, v := range s.Annotations {
		anno[k] = v
	}
	anno[AnnotationConfigMirror] = staticHash(static)
	controller := true
	p := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:        s.Name,
			Namespace:   s.Namespace,
			Labels:      s.Labels,
			Annotations: anno,
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "v1", Kind: "Node", Name: nodeName, UID: nodeUID, Controller: &controller,
			}},
		},
		Spec: s.Spec,
	}
	p.Spec.NodeName = nodeName
	return p
}

// mirrors is the pod loop's view of this node's mirror pods.
type mirrors struct {
	byKey map[string]*v1.Pod
	valid bool
}

// podLoop keeps mirror pods and their status in step with the agent. It
// polls the provider every PodSyncPeriod; the API server is listed when
// the static pods change, after an error, and every MirrorResyncPeriod.
func (s *syncer) podLoop(ctx context.Context) {
	m := &mirrors{byKey: map[string]*v1.Pod{}}
	var lastList time.Time
	lastSet := ""
	for {
		pods := s.provider.StaticPods()
		set := staticSet(pods)
		now := time.Now()
		if !m.valid || set != lastSet || now.Sub(lastList) >= s.opts.MirrorResyncPeriod {
			if err := s.syncMirrors(ctx, pods, m); err != nil {
				m.valid = false
				s.logState("mirror", fmt.Sprintf("failed to sync the mirror pods of node %q (will retry): %v", s.opts.NodeName, err))
			} else {
				m.valid, lastList, lastSet = true, now, set
				s.logState("mirror", fmt.Sprintf("mirror pods of node %q in sync", s.opts.NodeName))
			}
		}
		if m.valid {
			if err := s.syncPodStatuses(ctx, pods, m); err != nil {
				m.valid = false
				s.logState("podstatus", fmt.Sprintf("failed to update pod status (will retry): %v", err))
			} else {
				s.logState("podstatus", "")
			}
		}
		if !sleep(ctx, s.opts.PodSyncPeriod) {
			return
		}
	}
}

// staticSet is a cheap fingerprint of the static pods and their hashes.
func staticSet(pods []*v1.Pod) string {
	keys := make([]string, 0, len(pods))
	for _, p := range pods {
		keys = append(keys, podKey(p)+"="+staticHash(p))
	}
	sort.Strings(keys)
	return strings.Join(keys, ",")
}

// syncMirrors lists this node's pods and creates, replaces and deletes
// mirror pods so that every static pod has exactly one current mirror.
func (s *syncer) syncMirrors(ctx context.Context, pods []*v1.Pod, m *mirrors) error {
	ctx, cancel := context.WithTimeout(ctx, apiCallTimeout)
	defer cancel()
	uid := s.node.UID()
	if uid == "" {
		return fmt.Errorf("the UID of node %q is not known yet", s.opts.NodeName)
	}
	client := s.opts.Client.CoreV1().Pods(metav1.NamespaceAll)
	list, err := client.List(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("spec.nodeName", s.opts.NodeName).String()})
	if err != nil {
		return err
	}
	existing := map[string]*v1.Pod{}
	for i := range list.Items {
		p := &list.Items[i]
		if p.Spec.NodeName == s.opts.NodeName {
			existing[podKey(p)] = p
		}
	}
	byKey := map[string]*v1.Pod{}
	want := map[string]bool{}
	var errs []string
	for _, sp := range pods {
		key := podKey(sp)
		want[key] = true
		cur := existing[key]
		if cur != nil && !IsMirrorPod(cur) {
			s.logState("mirror-"+key, fmt.Sprintf("pod %q exists in the API server but is not a mirror pod: not mirroring the static pod", key))
			continue
		}
		if cur != nil && cur.Annotations[AnnotationConfigMirror] == staticHash(sp) && cur.DeletionTimestamp == nil {
			byKey[key] = cur
			continue
		}
		if cur != nil {
			if err := s.deleteMirror(ctx, cur, "it is outdated"); err != nil {
				errs = append(errs, err.Error())
				continue
			}
		}
		created, err := s.opts.Client.CoreV1().Pods(sp.Namespace).Create(ctx, MirrorPod(sp, s.opts.NodeName, uid), metav1.CreateOptions{})
		if err != nil {
			errs = append(errs, fmt.Sprintf("failed to create the mirror pod %q: %v", key, err))
			continue
		}
		s.opts.Logger.Printf("created the mirror pod %q", key)
		byKey[key] = created
	}
	for key, p := range existing {
		// Also when being deleted: a grace-0 delete finishes it.
		if !want[key] && IsMirrorPod(p) {
			if err := s.deleteMirror(ctx, p, "its static pod is gone"); err != nil {
				errs = append(errs, err.Error())
			}
		}
	}
	m.byKey = byKey
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// deleteMirror deletes p at once, if it is still the same object.
func (s *syncer) deleteMirror(ctx context.Context, p *v1.Pod, why string) error {
	grace := int64(0)
	uid := p.UID
	err := s.opts.Client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{
		GracePeriodSeconds: &grace,
		Preconditions:      &metav1.Preconditions{UID: &uid},
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("failed to delete the mirror pod %q: %w", podKey(p), err)
	}
	s.opts.Logger.Printf("deleted the mirror pod %q: %s", podKey(p), why)
	return nil
}
