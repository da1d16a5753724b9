// Package crilog reads the CRI container log format that the runtime writes
// below podLogsDir: "<RFC 3339 time> <stream> <P|F> <message>" lines, with
// partial (P) lines joined. It tails, filters and follows a log file.
package crilog

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
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

// Write copies the CRI log file r to w as the upstream kubelet shows it;
// with Follow it keeps reading until ctx ends or stop returns true at the
// end of the file.
func Write(ctx context.Context, r io.Reader, w io.Writer, o Options, stop func() bool) error {
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
