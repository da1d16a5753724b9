package crilog

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kubeadmin/kubeadmin/internal/constants"
	"github.com/kubeadmin/kubeadmin/internal/fsutil"
)

// Names of rotated logs, the same as the upstream kubelet's so that either
// agent understands (and cleans up) the other's files: <log>.<stamp> for
// the newest rotated file, <log>.<stamp>.gz for older ones, and a ".tmp"
// suffix while a file is being compressed.
const (
	rotatedStamp = "20060102-150405"
	gzSuffix     = ".gz"
	tmpSuffix    = ".tmp"
)

// minRotateInterval is the shortest containerLogMonitorInterval the
// upstream kubelet accepts.
const minRotateInterval = 3 * time.Second

// RotatePolicy says when container logs are rotated and how many files
// each keeps.
type RotatePolicy struct {
	// MaxSize is the size in bytes from which a log is rotated; negative
	// turns rotation off.
	MaxSize int64
	// MaxFiles is the most files a container's log has, the current one
	// included.
	MaxFiles int
	// Interval is how often the logs are checked.
	Interval time.Duration
}

// NewRotatePolicy reads the KubeletConfiguration fields
// containerLogMaxSize, containerLogMaxFiles and containerLogMonitorInterval;
// unset ones ("" or nil) get the upstream defaults. Errors name the field.
func NewRotatePolicy(maxSize string, maxFiles *int32, interval *metav1.Duration) (RotatePolicy, error) {
	bad := func(field string, value any, fix string) error {
		return fmt.Errorf("invalid kubelet configuration: field %q has a bad value %v: %s", field, value, fix)
	}
	p := RotatePolicy{MaxFiles: constants.ContainerLogMaxFiles, Interval: constants.ContainerLogMonitorInterval}
	if maxSize == "" {
		maxSize = constants.ContainerLogMaxSize
	}
	q, err := resource.ParseQuantity(maxSize)
	if err != nil {
		return p, bad("containerLogMaxSize", fmt.Sprintf("%q", maxSize), "use a size such as 10Mi, or -1 to turn log rotation off")
	}
	var ok bool
	if p.MaxSize, ok = q.AsInt64(); !ok {
		return p, bad("containerLogMaxSize", fmt.Sprintf("%q", maxSize), "use a whole number of bytes such as 10Mi")
	}
	if maxFiles != nil {
		if *maxFiles < 2 {
			return p, bad("containerLogMaxFiles", *maxFiles, "use 2 or more (the current file and at least one rotated file)")
		}
		p.MaxFiles = int(*maxFiles)
	}
	if interval != nil {
		if interval.Duration < minRotateInterval {
			return p, bad("containerLogMonitorInterval", interval.Duration, "use "+minRotateInterval.String()+" or more, such as 10s")
		}
		p.Interval = interval.Duration
	}
	return p, nil
}

// Runtime is the part of the CRI RuntimeService the rotator uses (same
// signatures as cri-api's, so its fake fits).
type Runtime interface {
	ListContainers(ctx context.Context, filter *runtimeapi.ContainerFilter) ([]*runtimeapi.Container, error)
	ContainerStatus(ctx context.Context, containerID string, verbose bool) (*runtimeapi.ContainerStatusResponse, error)
	ReopenContainerLog(ctx context.Context, containerID string) error
}

// Rotator keeps the logs of a node's running containers within the
// policy: a current log that has reached MaxSize is renamed to
// <log>.<stamp> and the runtime asked to reopen it; older rotated files
// are gzipped and the oldest removed, so that at most MaxFiles remain.
// Logs of stopped containers are left as they are: they do not grow.
type Rotator struct {
	rt     Runtime
	policy RotatePolicy
	node   string
	logf   func(format string, args ...any)
	now    func() time.Time
}

// NewRotator returns a rotator for the containers that carry nodeName's
// node label ("": all containers). logf receives one line per rotation
// and per failure.
func NewRotator(rt Runtime, p RotatePolicy, nodeName string, logf func(format string, args ...any)) *Rotator {
	return &Rotator{rt: rt, policy: p, node: nodeName, logf: logf, now: time.Now}
}

// Run checks the logs at once and then every policy interval until ctx
// ends. With rotation turned off it returns at once.
func (r *Rotator) Run(ctx context.Context) {
	if r.policy.MaxSize < 0 {
		return
	}
	wait.UntilWithContext(ctx, func(ctx context.Context) {
		if err := r.checkAll(ctx); err != nil && ctx.Err() == nil {
			r.logf("container log rotation: %v", err)
		}
	}, r.policy.Interval)
}

// checkAll checks the log of every running container of the node.
func (r *Rotator) checkAll(ctx context.Context) error {
	filter := &runtimeapi.ContainerFilter{State: &runtimeapi.ContainerStateValue{State: runtimeapi.ContainerState_CONTAINER_RUNNING}}
	if r.node != "" {
		filter.LabelSelector = map[string]string{constants.KubeletNodeLabel: r.node}
	}
	cs, err := r.rt.ListContainers(ctx, filter)
	if err != nil {
		return fmt.Errorf("failed to list the running containers: %w", err)
	}
	for _, c := range cs {
		if ctx.Err() != nil {
			return nil
		}
		if err := r.check(ctx, c.GetId()); err != nil {
			r.logf("container log rotation: container %q (%s): %v", c.GetMetadata().GetName(), shortID(c.GetId()), err)
		}
	}
	return nil
}

// check rotates the container's log if it has reached the maximum size.
func (r *Rotator) check(ctx context.Context, id string) error {
	resp, err := r.rt.ContainerStatus(ctx, id, false)
	if status.Code(err) == codes.NotFound {
		return nil // removed since the list
	}
	if err != nil {
		return fmt.Errorf("failed to read the container status: %w", err)
	}
	path := resp.GetStatus().GetLogPath()
	if path == "" {
		return nil
	}
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		// A rotation renamed the log but the reopen did not follow (the
		// agent stopped in between): the runtime still writes to the
		// renamed file until it reopens the log.
		if err := r.rt.ReopenContainerLog(ctx, id); err != nil {
			return fmt.Errorf("the log %q is missing and reopening it failed: %w", path, err)
		}
		fi, err = os.Stat(path)
	}
	if err != nil {
		return fmt.Errorf("failed to check the log: %w", err)
	}
	if fi.Size() < r.policy.MaxSize {
		return nil
	}
	rotated, err := r.rotate(ctx, id, path)
	if err != nil {
		return err
	}
	if rotated != "" {
		r.logf("rotated the log of container %s at %d bytes: %s", shortID(id), fi.Size(), rotated)
	}
	return nil
}

// rotate makes room for one more rotated file of the log at path, then
// renames the log and has the runtime reopen it. It returns the rotated
// file's name, or "" when a file of this second's name already exists
// (the next check tries again).
func (r *Rotator) rotate(ctx context.Context, id, path string) (string, error) {
	old, err := rotatedFiles(path)
	if err != nil {
		return "", err
	}
	// After the rename there are the new current log and the newest
	// rotated file besides these.
	keep := max(r.policy.MaxFiles-2, 0)
	for len(old) > keep {
		if err := os.Remove(old[0]); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("failed to remove the old log %q: %w", old[0], err)
		}
		old = old[1:]
	}
	for _, f := range old {
		if !strings.HasSuffix(f, gzSuffix) {
			if err := compress(f); err != nil {
				return "", err
			}
		}
	}
	rotated := path + "." + r.now().Format(rotatedStamp)
	if fsutil.Exists(rotated) || fsutil.Exists(rotated+gzSuffix) {
		return "", nil
	}
	if err := os.Rename(path, rotated); err != nil {
		return "", fmt.Errorf("failed to rename the log to %q: %w", rotated, err)
	}
	if err := r.rt.ReopenContainerLog(ctx, id); err != nil {
		// Put the log back so that nothing is lost and the next check
		// tries again.
		if berr := os.Rename(rotated, path); berr != nil {
			return "", fmt.Errorf("failed to reopen the log (%v), and to rename %q back: %w", err, rotated, berr)
		}
		return "", fmt.Errorf("failed to reopen the log after rotating it: %w", err)
	}
	return rotated, nil
}

// rotatedFiles lists the rotated files of the log at path, oldest first.
// It removes what interrupted work left: temporary files, and plain files
// whose compressed copy exists (the removal after compressing did not
// happen). Files whose names do not have the rotated form are left alone.
func rotatedFiles(path string) ([]string, error) {
	dir, base := filepath.Split(path)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("failed to list the rotated logs in %q: %w", dir, err)
	}
	plain, gz := map[string]bool{}, map[string]bool{}
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), base+".")
		if !ok || !e.Type().IsRegular() {
			continue
		}
		if strings.HasSuffix(rest, tmpSuffix) {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("failed to remove the stale file %q: %w", e.Name(), err)
			}
			continue
		}
		stamp, zipped := strings.CutSuffix(rest, gzSuffix)
		if _, err := time.Parse(rotatedStamp, stamp); err != nil {
			continue
		}
		if zipped {
			gz[stamp] = true
		} else {
			plain[stamp] = true
		}
	}
	var stamps []string
	for s := range gz {
		stamps = append(stamps, s)
		if plain[s] {
			leftover := path + "." + s
			if err := os.Remove(leftover); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("failed to remove %q, already compressed: %w", leftover, err)
			}
			delete(plain, s)
		}
	}
	for s := range plain {
		stamps = append(stamps, s)
	}
	sort.Strings(stamps)
	files := make([]string, len(stamps))
	for i, s := range stamps {
		files[i] = path + "." + s
		if gz[s] {
			files[i] += gzSuffix
		}
	}
	return files, nil
}

// compress replaces name by name.gz. It streams through a temporary file
// (synced, renamed, directory synced) instead of using fsutil, which takes
// the whole content in memory: a rotated log is up to containerLogMaxSize.
func compress(name string) (err error) {
	src, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("failed to open %q to compress it: %w", name, err)
	}
	defer src.Close()
	fi, err := src.Stat()
	if err != nil {
		return fmt.Errorf("failed to compress %q: %w", name, err)
	}
	tmp := name + tmpSuffix
	dst, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, fi.Mode().Perm())
	if err != nil {
		return fmt.Errorf("failed to create %q: %w", tmp, err)
	}
	defer func() {
		if err != nil {
			_ = dst.Close()
			_ = os.Remove(tmp)
		}
	}()
	zw := gzip.NewWriter(dst)
	if _, err = io.Copy(zw, src); err == nil {
		err = zw.Close()
	}
	if err == nil {
		err = dst.Sync()
	}
	if err != nil {
		return fmt.Errorf("failed to compress %q: %w", name, err)
	}
	if err = dst.Close(); err != nil {
		return fmt.Errorf("failed to compress %q: %w", name, err)
	}
	if err = os.Rename(tmp, name+gzSuffix); err != nil {
		return fmt.Errorf("failed to move %q into place: %w", name+gzSuffix, err)
	}
	syncDir(filepath.Dir(name))
	if err := os.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("failed to remove %q after compressing it: %w", name, err)
	}
	return nil
}

// syncDir makes a rename in dir durable; a failure only risks the rename.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}

// shortID is the first 13 characters of a container ID, as crictl shows it.
func shortID(id string) string {
	if len(id) > 13 {
		return id[:13]
	}
	return id
}
