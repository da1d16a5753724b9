package podstatus

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"

	"github.com/kubeadmin/kubeadmin/kubelet/podsource"
)

// Static pod annotations.
const (
	// AnnotationConfigHash is the static pod's content hash.
	AnnotationConfigHash = podsource.ConfigHashAnnotation
	// AnnotationConfigMirror marks a mirror pod; its value is the hash of
	// the static pod it mirrors.
	AnnotationConfigMirror = podsource.MirrorAnnotation
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

// mirrors is the pod loop's view of this node's mirror pods: the last
// object written (created or status-updated) per namespace/name. The
// informer's store can lag behind a write; these copies do not.
type mirrors struct {
	byKey map[string]*v1.Pod
	valid bool
}

// podLoop keeps mirror pods and pod status in step with the agent. The
// store (one informer on spec.nodeName, shared with the engine) keeps
// this node's pods in memory, so the API server is listed once and then
// watched. Every PodSyncPeriod the
// provider's static pods are compared with the store: mirror pods are
// fixed when the static pods or the store changed, after an error, and
// every MirrorResyncPeriod; their status is written when it changed.
func (s *syncer) podLoop(ctx context.Context) {
	store := s.opts.Pods
	if !cache.WaitForCacheSync(ctx.Done(), store.HasSynced) {
		return
	}
	m := &mirrors{byKey: map[string]*v1.Pod{}}
	var lastSync time.Time
	lastSet, lastGen := "", int64(-1)
	round := func(ctx context.Context) {
		pods := s.provider.StaticPods()
		set, gen := staticSet(pods), store.Generation()
		now := time.Now()
		existing := store.NodePods()
		if !m.valid || set != lastSet || gen != lastGen || now.Sub(lastSync) >= s.opts.MirrorResyncPeriod {
			if err := s.syncMirrors(ctx, pods, existing, m); err != nil {
				m.valid = false
				s.logState("mirror", fmt.Sprintf("failed to sync the mirror pods of node %q (will retry): %v", s.opts.NodeName, err))
			} else {
				m.valid, lastSync, lastSet, lastGen = true, now, set, gen
				s.logState("mirror", fmt.Sprintf("mirror pods of node %q in sync", s.opts.NodeName))
			}
		}
		rep := s.provider.Report()
		err := errors.Join(s.syncPodStatuses(ctx, rep, pods, existing, m), s.syncAPIPods(ctx, rep, existing))
		if err != nil {
			m.valid = false
			s.logState("podstatus", fmt.Sprintf("failed to update pod status (will retry): %v", err))
		} else {
			s.logState("podstatus", "")
		}
	}
	// A round runs every PodSyncPeriod, and at once when the engine says
	// a pod's status changed, so a started container shows within
	// milliseconds rather than up to a period later.
	tick := time.NewTicker(s.opts.PodSyncPeriod)
	defer tick.Stop()
	for {
		round(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-s.provider.StatusChanged():
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

// syncMirrors creates, replaces and deletes mirror pods so that every
// static pod has exactly one current mirror; existing is this node's
// pods as the store has them.
func (s *syncer) syncMirrors(ctx context.Context, pods []*v1.Pod, existing map[string]*v1.Pod, m *mirrors) error {
	ctx, cancel := context.WithTimeout(ctx, apiCallTimeout)
	defer cancel()
	uid := s.node.UID()
	if uid == "" {
		return fmt.Errorf("the UID of node %q is not known yet", s.opts.NodeName)
	}
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
			if mine := m.byKey[key]; mine == nil || mine.UID != cur.UID {
				m.byKey[key] = cur
			}
			continue
		}
		if cur != nil {
			if err := s.deleteMirror(ctx, cur, "it is outdated"); err != nil {
				errs = append(errs, err.Error())
				continue
			}
			delete(m.byKey, key)
		}
		created, err := s.opts.Client.CoreV1().Pods(sp.Namespace).Create(ctx, MirrorPod(sp, s.opts.NodeName, uid), metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			// Created in an earlier round; the store has not seen it yet.
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Sprintf("failed to create the mirror pod %q: %v", key, err))
			continue
		}
		s.opts.Logger.Printf("created the mirror pod %q", key)
		m.byKey[key] = created
	}
	for key, p := range existing {
		// Also when being deleted: a grace-0 delete finishes it.
		if !want[key] && IsMirrorPod(p) {
			if err := s.deleteMirror(ctx, p, "its static pod is gone"); err != nil {
				errs = append(errs, err.Error())
			}
		}
	}
	for key := range m.byKey {
		if !want[key] {
			delete(m.byKey, key)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// currentMirror is the mirror of sp to write status into: the copy last
// written by the loop while the store shows the same pod or has not seen
// it yet, else the store's; nil when there is no current mirror.
func currentMirror(sp *v1.Pod, existing map[string]*v1.Pod, m *mirrors) *v1.Pod {
	key := podKey(sp)
	cur, mine := existing[key], m.byKey[key]
	p := cur
	if mine != nil && (cur == nil || (cur.UID == mine.UID && !newer(cur, mine))) {
		p = mine
	}
	if p == nil || !IsMirrorPod(p) || p.Annotations[AnnotationConfigMirror] != staticHash(sp) || p.DeletionTimestamp != nil {
		return nil
	}
	return p
}

// newer reports whether a is a later version of the same object than b:
// someone else (the node lifecycle controller, say) wrote it after the
// loop's last write, which must then be compared against.
func newer(a, b *v1.Pod) bool {
	ra, errA := strconv.ParseUint(a.ResourceVersion, 10, 64)
	rb, errB := strconv.ParseUint(b.ResourceVersion, 10, 64)
	return errA == nil && errB == nil && ra > rb
}

// deleteMirror deletes p at once, if it is still the same object.
func (s *syncer) deleteMirror(ctx context.Context, p *v1.Pod, why string) error {
	if err := s.deleteNow(ctx, p); err != nil {
		return fmt.Errorf("failed to delete the mirror pod %q: %w", podKey(p), err)
	}
	s.opts.Logger.Printf("deleted the mirror pod %q: %s", podKey(p), why)
	return nil
}
