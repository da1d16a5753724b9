package server

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kubeadmin/kubeadmin/kubelet/status"
)

// followPoll is how often a followed log file is checked for new data
// and the container for having stopped.
const followPoll = 250 * time.Millisecond

// LogOptions are the containerLogs query parameters.
type LogOptions struct {
	Follow     bool
	Previous   bool
	Timestamps bool
	// TailLines < 0 means all lines; LimitBytes < 0 means no limit.
	TailLines  int64
	LimitBytes int64
	// Since drops entries older than it (sinceSeconds or sinceTime).
	Since time.Time
}

// ParseLogOptions reads the query of a containerLogs request.
func ParseLogOptions(q url.Values, now time.Time) (LogOptions, error) {
	o := LogOptions{TailLines: -1, LimitBytes: -1}
	var err error
	boolean := func(name string) bool {
		if err != nil {
			return false
		}
		v := q.Get(name)
		if v == "" {
			return false
		}
		b, perr := strconv.ParseBool(v)
		if perr != nil {
			err = fmt.Errorf("invalid query parameter %s=%q: use true or false", name, v)
		}
		return b
	}
	integer := func(name string, def int64) int64 {
		v := q.Get(name)
		if err != nil || v == "" {
			return def
		}
		n, perr := strconv.ParseInt(v, 10, 64)
		if perr != nil || n < 0 {
			err = fmt.Errorf("invalid query parameter %s=%q: use a non-negative integer", name, v)
			return def
		}
		return n
	}
	o.Follow, o.Previous, o.Timestamps = boolean("follow"), boolean("previous"), boolean("timestamps")
	o.TailLines, o.LimitBytes = integer("tailLines", -1), integer("limitBytes", -1)
	if s := integer("sinceSeconds", 0); s > 0 {
		o.Since = now.Add(-time.Duration(s) * time.Second)
	}
	if v := q.Get("sinceTime"); v != "" && err == nil {
		t, perr := time.Parse(time.RFC3339, v)
		if perr != nil {
			err = fmt.Errorf("invalid query parameter sinceTime=%q: use RFC 3339, e.g. 2026-01-01T00:00:00Z", v)
		}
		o.Since = t
	}
	return o, err
}

// logEntry is one joined log line.
type logEntry struct {
	ts     time.Time
	stream string
	msg    []byte // ends with '\n'
}

// parseCRILine splits "<RFC3339Nano> <stream> <P|F>[:tags] <msg>".
func parseCRILine(line []byte) (ts time.Time, stream string, partial bool, msg []byte, err error) {
	line = bytes.TrimSuffix(line, []byte("\n"))
	parts := bytes.SplitN(line, []byte(" "), 4)
	if len(parts) < 3 {
		return ts, "", false, nil, fmt.Errorf("invalid CRI log line %q", truncate(line))
	}
	if ts, err = time.Parse(time.RFC3339Nano, string(parts[0])); err != nil {
		return ts, "", false, nil, fmt.Errorf("invalid timestamp in CRI log line %q", truncate(line))
	}
	tag, _, _ := strings.Cut(string(parts[2]), ":")
	if len(parts) == 4 {
		msg = parts[3]
	}
	return ts, string(parts[1]), tag == "P", msg, nil
}

func truncate(b []byte) string {
	if len(b) > 80 {
		return string(b[:80]) + "..."
	}
	return string(b)
}

// logReader turns a CRI log file into joined entries; at the end of the
// file it keeps an incomplete line and partial entries for the next call.
type logReader struct {
	r       *bufio.Reader
	line    []byte
	partial map[string]*logEntry
}

func newLogReader(r io.Reader) *logReader {
	return &logReader{r: bufio.NewReader(r), partial: map[string]*logEntry{}}
}

// next returns the next complete entry, or io.EOF when there is none yet.
func (lr *logReader) next() (*logEntry, error) {
	for {
		chunk, err := lr.r.ReadBytes('\n')
		lr.line = append(lr.line, chunk...)
		if err != nil {
			return nil, err
		}
		line := lr.line
		lr.line = nil
		ts, stream, partial, msg, perr := parseCRILine(line)
		if perr != nil {
			continue
		}
		e := lr.partial[stream]
		if e == nil {
			e = &logEntry{ts: ts, stream: stream}
		}
		e.msg = append(e.msg, msg...)
		if partial {
			lr.partial[stream] = e
			continue
		}
		delete(lr.partial, stream)
		e.msg = append(e.msg, '\n')
		return e, nil
	}
}

// WriteLogs copies the CRI log file r to w as the upstream kubelet shows
// it; with Follow it keeps reading until ctx ends or stop returns true at
// the end of the file.
func WriteLogs(ctx context.Context, r io.Reader, w io.Writer, o LogOptions, stop func() bool) error {
	lr := newLogReader(r)
	lw := &limitWriter{w: w, left: o.LimitBytes}
	write := func(e *logEntry) error {
		if !o.Since.IsZero() && e.ts.Before(o.Since) {
			return nil
		}
		if o.Timestamps {
			if _, err := lw.Write([]byte(e.ts.Format(time.RFC3339Nano) + " ")); err != nil {
				return err
			}
		}
		_, err := lw.Write(e.msg)
		if f, ok := w.(http.Flusher); ok && o.Follow {
			f.Flush()
		}
		return err
	}
	// The existing content, tailed.
	var tail []*logEntry
	for {
		e, err := lr.next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				return err
			}
			break
		}
		if !o.Since.IsZero() && e.ts.Before(o.Since) {
			continue
		}
		tail = append(tail, e)
		if o.TailLines >= 0 && int64(len(tail)) > o.TailLines {
			tail = tail[1:]
		}
	}
	for _, e := range tail {
		if err := write(e); err != nil {
			return ignoreLimit(err)
		}
	}
	if !o.Follow {
		return nil
	}
	for {
		e, err := lr.next()
		if err == nil {
			if err := write(e); err != nil {
				return ignoreLimit(err)
			}
			continue
		}
		if !errors.Is(err, io.EOF) {
			return err
		}
		if stop != nil && stop() {
			// Drain what was written before the container stopped.
			for {
				e, err := lr.next()
				if err != nil {
					return nil
				}
				if err := write(e); err != nil {
					return ignoreLimit(err)
				}
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(followPoll):
		}
	}
}

var errLimit = errors.New("limit reached")

func ignoreLimit(err error) error {
	if errors.Is(err, errLimit) {
		return nil
	}
	return err
}

// limitWriter stops after left bytes (left < 0: no limit).
type limitWriter struct {
	w    io.Writer
	left int64
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if l.left < 0 {
		return l.w.Write(p)
	}
	if l.left == 0 {
		return 0, errLimit
	}
	cut := false
	if int64(len(p)) > l.left {
		p, cut = p[:l.left], true
	}
	n, err := l.w.Write(p)
	l.left -= int64(n)
	if err == nil && (cut || l.left == 0) {
		err = errLimit
	}
	return n, err
}

// logFile picks the log file of the container: the newest instance, or
// the one before it with previous. Files are
// <podLogsDir>/<ns>_<pod>_<uid>/<container>/<restartCount>.log.
func logFile(podLogsDir string, p *status.Pod, c *status.Container, previous bool) (string, error) {
	dir := filepath.Join(podLogsDir, p.Namespace+"_"+p.Name+"_"+p.UID, c.Name)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("container %q in pod %q has no logs yet", c.Name, p.Name)
	}
	var counts []int
	for _, e := range entries {
		if n, err := strconv.Atoi(strings.TrimSuffix(e.Name(), ".log")); err == nil && strings.HasSuffix(e.Name(), ".log") {
			counts = append(counts, n)
		}
	}
	sort.Sort(sort.Reverse(sort.IntSlice(counts)))
	cur := -1
	for _, n := range counts {
		if n <= int(c.RestartCount) {
			cur = n
			break
		}
	}
	if cur < 0 && len(counts) > 0 {
		cur = counts[0]
	}
	if cur < 0 {
		return "", fmt.Errorf("container %q in pod %q has no logs yet", c.Name, p.Name)
	}
	if !previous {
		return filepath.Join(dir, strconv.Itoa(cur)+".log"), nil
	}
	for _, n := range counts {
		if n < cur {
			return filepath.Join(dir, strconv.Itoa(n)+".log"), nil
		}
	}
	return "", fmt.Errorf("previous terminated container %q in pod %q not found", c.Name, p.Name)
}

// serveLogs answers GET /containerLogs/{namespace}/{pod}/{container}.
func (s *Server) serveLogs(w http.ResponseWriter, r *http.Request) {
	ns, name, cname := r.PathValue("namespace"), r.PathValue("pod"), r.PathValue("container")
	o, err := ParseLogOptions(r.URL.Query(), time.Now())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	p, ok := s.findPod(ns, name)
	if !ok {
		http.Error(w, fmt.Sprintf("pod %q not found in namespace %q on node %q", name, ns, s.opts.NodeName), http.StatusNotFound)
		return
	}
	c, ok := findContainer(p, cname)
	if !ok {
		http.Error(w, fmt.Sprintf("container %q not found in pod %q", cname, name), http.StatusNotFound)
		return
	}
	path, err := logFile(s.opts.PodLogsDir, p, c, o.Previous)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f, err := os.Open(path)
	if err != nil {
		http.Error(w, fmt.Sprintf("failed to open the log file of container %q in pod %q: %v", cname, name, err), http.StatusInternalServerError)
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusOK)
	// Follow stops when the container is no longer the running instance.
	id := c.ID
	stop := func() bool {
		if o.Previous {
			return true
		}
		p, ok := s.findPod(ns, name)
		if !ok {
			return true
		}
		c, ok := findContainer(p, cname)
		return !ok || c.ID != id || c.State != status.StateRunning
	}
	if err := WriteLogs(r.Context(), f, w, o, stop); err != nil {
		s.logf("failed to stream the logs of %s/%s/%s: %v", ns, name, cname, err)
	}
}
