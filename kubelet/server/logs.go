package server

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kubeadmin/kubeadmin/kubelet/crilog"
	"github.com/kubeadmin/kubeadmin/kubelet/status"
)

// LogOptions are the containerLogs query parameters (crilog.Options).
type LogOptions = crilog.Options

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
	if err := crilog.Write(r.Context(), f, w, o, stop); err != nil {
		s.logf("failed to stream the logs of %s/%s/%s: %v", ns, name, cname, err)
	}
}
