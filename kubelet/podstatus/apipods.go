package podstatus

import (
	"context"
	"errors"
	"fmt"
	"sync"

	v1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeadmin/kubeadmin/kubelet/status"
)

// syncAPIPods writes the status the agent reports for the pods it runs
// from the API server, through the status subresource, when it differs
// from what the API shows; and it finishes the deletion of a pod being
// deleted (grace 0, same UID) once the agent says nothing of it is left
// on the node, as the upstream kubelet confirms a graceful deletion.
func (s *syncer) syncAPIPods(ctx context.Context, rep *status.Report, existing map[string]*v1.Pod) error {
	ctx, cancel := context.WithTimeout(ctx, apiCallTimeout)
	defer cancel()
	byUID := reportByUID(rep)
	runtimeName := s.node.RuntimeName()
	var errs []error
	var writes []*v1.Pod
	for _, p := range existing {
		if IsMirrorPod(p) {
			continue
		}
		if p.DeletionTimestamp != nil && s.provider.PodGone(p.UID) {
			if err := s.finishDeletion(ctx, p); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		rp, ok := byUID[string(p.UID)]
		if !ok {
			continue
		}
		st := PodStatus(p, rp, p.Status, s.opts.NodeIP, runtimeName, s.opts.Now())
		if apiequality.Semantic.DeepEqual(st, p.Status) {
			continue
		}
		upd := p.DeepCopy()
		upd.Status = st
		writes = append(writes, upd)
	}
	return errors.Join(append(errs, s.writeStatuses(ctx, writes)...)...)
}

// statusWriters is how many pod status writes are in flight at once: a
// burst of pods starting is not written one round trip after another.
const statusWriters = 4

// writeStatuses writes the pods' statuses through the status subresource,
// statusWriters at a time.
func (s *syncer) writeStatuses(ctx context.Context, pods []*v1.Pod) []error {
	errs := make([]error, len(pods))
	sem := make(chan struct{}, statusWriters)
	var wg sync.WaitGroup
	for i, upd := range pods {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			_, err := s.opts.Client.CoreV1().Pods(upd.Namespace).UpdateStatus(ctx, upd, metav1.UpdateOptions{})
			if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
				// Not found or conflict: the store catches up; the next
				// round writes again.
				errs[i] = fmt.Errorf("failed to update the status of pod %q: %w", podKey(upd), err)
			}
		})
	}
	wg.Wait()
	return errs
}

// reportByUID indexes the report's pods by UID.
func reportByUID(rep *status.Report) map[string]status.Pod {
	byUID := make(map[string]status.Pod, len(rep.Pods))
	for _, p := range rep.Pods {
		byUID[p.UID] = p
	}
	return byUID
}

// finishDeletion removes a pod object whose containers and volumes are
// gone from the node.
func (s *syncer) finishDeletion(ctx context.Context, p *v1.Pod) error {
	if err := s.deleteNow(ctx, p); err != nil {
		return fmt.Errorf("failed to finish the deletion of pod %q: %w", podKey(p), err)
	}
	return nil
}

// deleteNow deletes p with grace 0 if it is still the same object (UID
// precondition); a pod already gone or replaced is not an error.
func (s *syncer) deleteNow(ctx context.Context, p *v1.Pod) error {
	grace := int64(0)
	uid := p.UID
	err := s.opts.Client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{
		GracePeriodSeconds: &grace,
		Preconditions:      &metav1.Preconditions{UID: &uid},
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return err
	}
	return nil
}
