package service

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// LogMaxSize is the size at which the supervised process's log is rotated;
// one old file (LogFile + ".1") is kept, so the log never takes more than
// twice this.
const LogMaxSize = 10 << 20

// Modes of the log file and its directory.
const (
	logFileMode os.FileMode = 0o600
	logDirMode  os.FileMode = 0o755
)

// oldLogSuffix names the one rotated log file.
const oldLogSuffix = ".1"

// rotatingLog appends to a file and, before a write would take it past
// max bytes, renames it to path.1 (replacing the previous one) and starts a
// new file. Written by the child's stdout and stderr copiers and by the
// supervisor's own lines, so it is locked.
type rotatingLog struct {
	mu   sync.Mutex
	path string
	max  int64
	f    *os.File
	size int64
}

// openLog opens (appends to) the log at path.
func openLog(path string, max int64) (*rotatingLog, error) {
	l := &rotatingLog{path: path, max: max}
	if err := l.open(); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *rotatingLog) open() error {
	if err := os.MkdirAll(filepath.Dir(l.path), logDirMode); err != nil {
		return fmt.Errorf("failed to create the log directory of %q: %w", l.path, err)
	}
	f, err := os.OpenFile(l.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, logFileMode)
	if err != nil {
		return fmt.Errorf("failed to open the log file %q: %w", l.path, err)
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return fmt.Errorf("failed to open the log file %q: %w", l.path, err)
	}
	l.f, l.size = f, st.Size()
	return nil
}

// Write appends p, rotating first when p would not fit.
func (l *rotatingLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.size > 0 && l.size+int64(len(p)) > l.max {
		// A failed rotation keeps writing to the current file: a log that
		// grows beats a log that stops.
		_ = l.rotate()
	}
	n, err := l.f.Write(p)
	l.size += int64(n)
	return n, err
}

func (l *rotatingLog) rotate() error {
	if err := os.Rename(l.path, l.path+oldLogSuffix); err != nil {
		return err
	}
	old := l.f
	if err := l.open(); err != nil {
		l.f = old
		return err
	}
	return old.Close()
}

// Close closes the current file.
func (l *rotatingLog) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.f.Close()
}
