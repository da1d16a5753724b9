// Package crilog owns the CRI container log files that the runtime writes
// below podLogsDir: "<RFC 3339 time> <stream> <P|F> <message>" lines, with
// partial (P) lines joined. Write tails, filters and follows a log file
// (across rotations); Rotator bounds the disk the logs use, as the
// upstream kubelet's container log manager does.
//
// The reader is our own rather than k8s.io/cri-client/pkg/logs. Measured
// for v0.37.2 (CGO_ENABLED=0, -trimpath -s -w): it adds 0.36 MB to the
// binary (70,090,914 to 70,455,458 bytes) but 26 packages, among them
// cri-client's remote client, OpenTelemetry with otelgrpc, component-base
// log reduction and k8s.io/utils/exec, which the agent avoids on purpose
// (see kubelet/cri); it also wants the whole cri-api RuntimeService where
// the agent has a small subset, counts --tail in raw lines rather than
// joined entries, and moves to a rotated log's new file the moment it is
// created, losing what the runtime still writes to the old one.
package crilog

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// followPoll is how often a followed log file is checked for new data
// and the container for having stopped.
const followPoll = 250 * time.Millisecond

// Options choose what Write copies: they are the containerLogs query
// parameters of the kubelet API.
type Options struct {
	Follow     bool
	Previous   bool
	Timestamps bool
	// TailLines < 0 means all lines; LimitBytes < 0 means no limit.
	TailLines  int64
	LimitBytes int64
	// Since drops entries older than it (sinceSeconds or sinceTime).
	Since time.Time
}

// logEntry is one joined log line.
type logEntry struct {
	ts     time.Time
	stream string
	msg    []byte // ends with '\n'
}

// timestampOut is how `kubectl logs --timestamps` shows an entry's time: the
// upstream kubelet pads the fraction to nine digits so that columns line up.
const timestampOut = "2006-01-02T15:04:05.000000000Z07:00"

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

// switchTo reads on from r, a new file of the same log. An incomplete
// line at the end of the old file is dropped; partial entries carry over.
func (lr *logReader) switchTo(r io.Reader) {
	lr.r.Reset(r)
	lr.line = nil
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

// Write copies the CRI log file r to w as the upstream kubelet shows it;
// with Follow it keeps reading until ctx ends or stop returns true at the
// end of the file. When r is an *os.File, a follower also survives
// rotation: once a new file appears at r's path it reads the old file to
// its end and goes on in the new one.
func Write(ctx context.Context, r io.Reader, w io.Writer, o Options, stop func() bool) error {
	lr := newLogReader(r)
	lw := &limitWriter{w: w, left: o.LimitBytes}
	write := func(e *logEntry) error {
		if !o.Since.IsZero() && e.ts.Before(o.Since) {
			return nil
		}
		if o.Timestamps {
			if _, err := lw.Write([]byte(e.ts.Format(timestampOut) + " ")); err != nil {
				return err
			}
		}
		_, err := lw.Write(e.msg)
		if f, ok := w.(http.Flusher); ok && o.Follow {
			f.Flush()
		}
		return err
	}
	// The existing content: all of it is written as it is read; a tail
	// keeps only the last TailLines entries in memory.
	var tail []*logEntry
	for {
		e, err := lr.next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				return err
			}
			break
		}
		if o.TailLines < 0 {
			if err := write(e); err != nil {
				return ignoreLimit(err)
			}
			continue
		}
		if !o.Since.IsZero() && e.ts.Before(o.Since) {
			continue
		}
		tail = append(tail, e)
		if int64(len(tail)) > o.TailLines {
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
	var ff *followedFile
	if f, ok := r.(*os.File); ok {
		ff = &followedFile{path: f.Name(), cur: f}
		defer ff.close()
	}
	// drain copies what the current file holds now.
	drain := func() error {
		for {
			e, err := lr.next()
			if err != nil {
				if errors.Is(err, io.EOF) {
					return nil
				}
				return err
			}
			if err := write(e); err != nil {
				return err
			}
		}
	}
	for {
		if err := drain(); err != nil {
			return ignoreLimit(err)
		}
		// At the end of the current file. A new file at the path seen one
		// poll ago means the runtime has reopened the log: the old file is
		// complete, read on in the new one.
		if ff != nil {
			if next := ff.take(); next != nil {
				lr.switchTo(next)
				continue
			}
			ff.look()
		}
		if stop != nil && stop() {
			// Drain what was written before the container stopped.
			err := drain()
			if err == nil && ff != nil && ff.next != nil {
				lr.switchTo(ff.take())
				err = drain()
			}
			return ignoreLimit(err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(followPoll):
		}
	}
}

// followedFile watches the path of a followed log for a rotation: the
// file is renamed and the runtime creates a new one at the same path.
type followedFile struct {
	path   string
	cur    *os.File // the file being read
	next   *os.File // a new file at path, read once cur is done
	opened []*os.File
}

// look opens the file now at the path if it is not the one being read.
func (ff *followedFile) look() {
	if ff.next != nil {
		return
	}
	at, err := os.Stat(ff.path)
	if err != nil {
		return // renamed, not reopened yet
	}
	cur, err := ff.cur.Stat()
	if err != nil || os.SameFile(cur, at) {
		return
	}
	f, err := os.Open(ff.path)
	if err != nil {
		return
	}
	ff.next = f
	ff.opened = append(ff.opened, f)
}

// take returns the new file found by look, if any, and makes it current.
func (ff *followedFile) take() *os.File {
	f := ff.next
	if f != nil {
		ff.cur, ff.next = f, nil
	}
	return f
}

// close closes the files opened here, not the caller's.
func (ff *followedFile) close() {
	for _, f := range ff.opened {
		_ = f.Close()
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
