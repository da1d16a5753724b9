// Package podsource is the node agent's static-pod file source. It reads
// one Pod (YAML or JSON) from every file of a directory whose name does not
// start with ".", gives it its static-pod identity (name suffix
// "-<node>", UID hashed from node, file and content, the
// kubernetes.io/config.* annotations), and emits full snapshots: at start,
// after every inotify event (coalesced for a few milliseconds, so a
// write-then-rename is one change) and on a periodic re-list.
//
// A file that does not decode or validate never affects other pods: it is
// reported in the snapshot's Errors (file and problem). If that file held a
// valid pod before, the last valid pod is kept, so a half-written edit
// does not stop a running control plane. When two files define the same
// pod name, the first in name order wins and the other is reported.
//
// A directory that cannot be read (permission denied, too many open files,
// an I/O error) never empties the set: the source sends the pods of its
// last good read again, with the problem among the Errors under the
// directory's name, and reads again on the next event or period. Before
// any read has worked it sends nothing at all, and Err tells why. Only a
// path that does not exist means "no static pods", as in the upstream
// kubelet (it is how `kubeadm reset` and operators remove them all). An
// empty path is no source: Run sends nothing.
package podsource

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
	v1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// coalesceDelay groups the events of one write (create, write, chmod,
// rename) into one re-list.
const coalesceDelay = 5 * time.Millisecond

// watchRetryPeriod is how often a missing directory is watched again.
const watchRetryPeriod = time.Second

// maxFileSize bounds what is read from one manifest.
const maxFileSize = 10 << 20

// FileError is a manifest that could not be used.
type FileError struct {
	File  string `json:"file"`
	Error string `json:"error"`
}

// Snapshot is the complete set of pods the source defines.
type Snapshot struct {
	// Pods are sorted by file name; each has a unique full name.
	Pods []*v1.Pod
	// Files maps each pod UID to the file that defines it.
	Files map[string]string
	// Errors are the files that were skipped, sorted by file name.
	Errors []FileError
}

// Source watches a manifest directory (or a single file).
type Source struct {
	path     string
	nodeName string
	period   time.Duration
	logf     func(format string, args ...any)
	now      func() time.Time

	// The file system calls, replaced in tests to inject failures.
	stat      func(string) (os.FileInfo, error)
	readDir   func(string) ([]os.DirEntry, error)
	readBytes func(string) ([]byte, error)

	updates  chan Snapshot
	seen     map[string]string  // UID -> config.seen
	lastGood map[string]*v1.Pod // file -> last valid pod
	last     Snapshot           // own copy of the last good read
	good     bool               // a read of the path has worked
	lastKey  string
	sent     bool
	logged   string // the last problem logged before the first snapshot
	missing  bool   // the path did not exist at the last read

	mu  sync.Mutex
	err error // why the last read of the path failed; nil if it worked
}

// New returns a source for path (a directory or a file) on node nodeName,
// re-listed every period. logf receives one line per problem; it may be nil.
func New(path, nodeName string, period time.Duration, logf func(format string, args ...any)) *Source {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	return &Source{
		path: path, nodeName: nodeName, period: period, logf: logf, now: time.Now,
		stat: os.Stat, readDir: os.ReadDir, readBytes: os.ReadFile,
		updates:  make(chan Snapshot, 1),
		seen:     map[string]string{},
		lastGood: map[string]*v1.Pod{},
	}
}

// Updates delivers snapshots. Only the newest undelivered snapshot is kept.
func (s *Source) Updates() <-chan Snapshot { return s.updates }

// Err is why the last read of the path failed, or nil. It matters most
// before the first snapshot, when nothing else reports the problem; it is
// safe to call from any goroutine.
func (s *Source) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

func (s *Source) setErr(err error) {
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
}

// Run lists the path at once, then on every change and every period, until
// ctx ends. With an empty path it returns at once and sends nothing.
func (s *Source) Run(ctx context.Context) {
	if s.path == "" {
		s.logf("static pods: no staticPodPath, the file source is off")
		return
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		s.logf("static pods: failed to create a file watcher, relying on the %s re-list: %v", s.period, err)
		w = nil
	} else {
		defer w.Close()
	}
	watching := s.watch(w)
	s.relist()

	ticker := time.NewTicker(s.period)
	defer ticker.Stop()
	retry := time.NewTicker(watchRetryPeriod)
	defer retry.Stop()
	coalesce := time.NewTimer(time.Hour)
	coalesce.Stop()
	pending := false
	var events chan fsnotify.Event
	var watchErrs chan error
	if w != nil {
		events, watchErrs = w.Events, w.Errors
	}
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			if filepath.Clean(ev.Name) == filepath.Clean(s.watchDir()) && ev.Has(fsnotify.Remove|fsnotify.Rename) {
				watching = false
			}
			if strings.HasPrefix(filepath.Base(ev.Name), ".") {
				continue
			}
			if !pending {
				pending = true
				coalesce.Reset(coalesceDelay)
			}
		case err, ok := <-watchErrs:
			if !ok {
				watchErrs = nil
				continue
			}
			s.logf("static pods: watch error on %q: %v", s.path, err)
		case <-coalesce.C:
			pending = false
			s.relist()
		case <-retry.C:
			if !watching {
				if watching = s.watch(w); watching {
					s.relist()
				}
			}
		case <-ticker.C:
			s.relist()
		}
	}
}

// watchDir is the directory to watch: path itself, or the parent of a
// single manifest file.
func (s *Source) watchDir() string {
	if st, err := s.stat(s.path); err == nil && !st.IsDir() {
		return filepath.Dir(s.path)
	}
	return s.path
}

func (s *Source) watch(w *fsnotify.Watcher) bool {
	if w == nil {
		return false
	}
	dir := s.watchDir()
	if err := w.Add(dir); err != nil {
		return false
	}
	return true
}

// relist reads the path and sends a snapshot if it differs from the last
// one sent (or if none was sent yet).
func (s *Source) relist() {
	snap, ok := s.list()
	if !ok && !s.good {
		// Nothing is known yet: an empty snapshot would make the agent
		// stop the pods it finds running. Wait for a good read.
		if msg := snap.Errors[0].Error; msg != s.logged {
			s.logf("static pods: %s", msg)
			s.logged = msg
		}
		return
	}
	key := snapshotKey(snap)
	if s.sent && key == s.lastKey {
		return
	}
	for i, fe := range snap.Errors {
		if i == 0 && !ok {
			s.logf("static pods: %s", fe.Error)
			continue
		}
		s.logf("static pods: skipping %s", fe.Error)
	}
	s.sent, s.lastKey = true, key
	select {
	case <-s.updates:
	default:
	}
	s.updates <- snap
}

func snapshotKey(snap Snapshot) string {
	var b strings.Builder
	for _, p := range snap.Pods {
		fmt.Fprintf(&b, "%s|", p.UID)
	}
	for _, e := range snap.Errors {
		fmt.Fprintf(&b, "%s:%s|", e.File, e.Error)
	}
	return b.String()
}

// List reads the path once and returns the snapshot it defines. If the
// path cannot be read, that is the last good read's snapshot with the
// problem first in Errors.
func (s *Source) List() Snapshot {
	snap, _ := s.list()
	return snap
}

// list is List; ok is false when the path could not be read, so the
// snapshot repeats an earlier one (empty if there was none).
func (s *Source) list() (snap Snapshot, ok bool) {
	files, err := s.files()
	missing := errors.Is(err, os.ErrNotExist)
	if err != nil && !missing {
		s.setErr(err)
		return s.keepLast(err), false
	}
	s.setErr(nil)
	if missing != s.missing {
		if missing {
			s.logf("static pods: %q does not exist: no static pods until it is created", s.path)
		}
		s.missing = missing
	}
	snap = Snapshot{Files: map[string]string{}}
	byName := map[string]string{}
	present := map[string]bool{}
	for _, f := range files {
		present[f] = true
		pod, err := s.readPod(f)
		if err != nil {
			msg := err.Error()
			if old := s.lastGood[f]; old != nil {
				msg += "; keeping the previously loaded pod"
				pod = old
			}
			snap.Errors = append(snap.Errors, FileError{File: f, Error: msg})
			if pod == nil {
				continue
			}
		}
		full := pod.Name + "_" + pod.Namespace
		if other, dup := byName[full]; dup {
			snap.Errors = append(snap.Errors, FileError{File: f, Error: fmt.Sprintf("file %q: pod %q in namespace %q is already defined by file %q", f, pod.Name, pod.Namespace, other)})
			continue
		}
		byName[full] = f
		s.lastGood[f] = pod
		snap.Pods = append(snap.Pods, pod.DeepCopy())
		snap.Files[string(pod.UID)] = f
	}
	for f := range s.lastGood {
		if !present[f] {
			delete(s.lastGood, f)
		}
	}
	s.stampSeen(snap.Pods)
	s.last, s.good = copySnapshot(snap), true
	return snap, true
}

// keepLast is the snapshot to send when reading the path failed with err:
// the last good one, with err in front of its errors.
func (s *Source) keepLast(err error) Snapshot {
	snap := copySnapshot(s.last)
	msg := fmt.Sprintf("%v; keeping the last good read's pods (%d), reading again on the next change or in %s", err, len(snap.Pods), s.period)
	if !s.good {
		msg = fmt.Sprintf("%v; no pod is started or stopped until it can be read, reading again on the next change or in %s", err, s.period)
	}
	snap.Errors = append([]FileError{{File: s.path, Error: msg}}, snap.Errors...)
	return snap
}

// copySnapshot is a deep copy, so the source never shares a pod with the
// snapshot's receiver.
func copySnapshot(in Snapshot) Snapshot {
	out := Snapshot{Files: make(map[string]string, len(in.Files))}
	for _, p := range in.Pods {
		out.Pods = append(out.Pods, p.DeepCopy())
	}
	for uid, f := range in.Files {
		out.Files[uid] = f
	}
	out.Errors = append(out.Errors, in.Errors...)
	return out
}

// stampSeen sets config.seen to the first time each UID was seen.
func (s *Source) stampSeen(pods []*v1.Pod) {
	live := map[string]bool{}
	for _, p := range pods {
		uid := string(p.UID)
		live[uid] = true
		if _, ok := s.seen[uid]; !ok {
			s.seen[uid] = s.now().UTC().Format(time.RFC3339Nano)
		}
		p.Annotations[ConfigSeenAnnotation] = s.seen[uid]
	}
	for uid := range s.seen {
		if !live[uid] {
			delete(s.seen, uid)
		}
	}
}

// files lists the manifest files: every regular file not starting with
// "." (directories are skipped), sorted.
func (s *Source) files() ([]string, error) {
	st, err := s.stat(s.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("failed to read the static pod path: %w", err)
	}
	if !st.IsDir() {
		return []string{s.path}, nil
	}
	entries, err := s.readDir(s.path)
	if err != nil {
		// Partial results are not used: a missing file would stop its pod.
		return nil, fmt.Errorf("failed to read the static pod directory %q: %w", s.path, err)
	}
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		f := filepath.Join(s.path, e.Name())
		// A file that vanished since the listing is skipped; one whose
		// metadata cannot be read is kept so that readPod reports it and
		// keeps its last pod.
		st, err := s.stat(f)
		if errors.Is(err, os.ErrNotExist) || err == nil && st.IsDir() {
			continue
		}
		out = append(out, f)
	}
	sort.Strings(out)
	return out, nil
}

func (s *Source) readPod(f string) (*v1.Pod, error) {
	st, err := s.stat(f)
	if err != nil {
		return nil, fmt.Errorf("file %q: %w", f, err)
	}
	if st.Size() > maxFileSize {
		return nil, fmt.Errorf("file %q: larger than %d bytes", f, maxFileSize)
	}
	data, err := s.readBytes(f)
	if err != nil {
		return nil, fmt.Errorf("file %q: %w", f, err)
	}
	return DecodePod(data, f, s.nodeName)
}

// DecodePod turns the content of manifest file into a static pod of node
// nodeName: decode (YAML or JSON), default, identity, validate. Errors name
// the file and the problem.
func DecodePod(data []byte, file, nodeName string) (*v1.Pod, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf("file %q: the file is empty; it must hold one Pod", file)
	}
	pod := &v1.Pod{}
	if err := yaml.Unmarshal(data, pod); err != nil {
		return nil, fmt.Errorf("file %q: failed to decode a Pod: %v", file, err)
	}
	if pod.APIVersion != "v1" || pod.Kind != "Pod" {
		return nil, fmt.Errorf("file %q: apiVersion %q, kind %q: a manifest must hold one object with apiVersion \"v1\" and kind \"Pod\"", file, pod.APIVersion, pod.Kind)
	}
	if pod.Name == "" {
		return nil, fmt.Errorf("file %q: metadata.name: Required value: the pod needs a name", file)
	}
	setDefaults(pod)
	if err := bindStatic(pod, nodeName, file); err != nil {
		return nil, fmt.Errorf("file %q: %w", file, err)
	}
	if errs := validatePod(pod); len(errs) > 0 {
		return nil, fmt.Errorf("file %q: invalid pod: %v", file, errs.ToAggregate())
	}
	return pod, nil
}
