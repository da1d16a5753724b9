package remote

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// progressInterval is the most often a ProgressFunc is called (besides
// every whole percent).
const progressInterval = 200 * time.Millisecond

// maxUploadTime bounds a whole upload; a stalled one fails much earlier,
// after the runner's command timeout without progress.
const maxUploadTime = 24 * time.Hour

// uploadTempInfix names the temporary file next to an upload's target.
const uploadTempInfix = ".kubeadmin-upload-"

// SHA256Func defines the POSIX shell function sha256hex [FILE], which
// prints the hex SHA-256 of FILE (or stdin). It uses OpenSSL when the host
// has it: on CPUs with SHA instructions that is about six times faster
// than coreutils' sha256sum (measured here: 0.19 s against 1.17 s for the
// 170 MB image bundle), and every host hashes the bundle at least twice.
// hostprep's import-bundle.sh defines the same function for itself.
const SHA256Func = `sha256hex() { if command -v openssl >/dev/null 2>&1; then openssl dgst -sha256 -r "$@"; else sha256sum "$@"; fi | cut -d' ' -f1; }
`

// commander is what upload and fetch need: Host and Local both are one.
type commander interface {
	Name() string
	Run(ctx context.Context, cmd string, opts RunOptions) (Result, error)
	commandTimeout() time.Duration
}

// upload streams the file into a temporary file next to remotePath,
// checks its SHA-256 there, sets its mode and renames it into place, so
// that remotePath is never half written. All in one command (`cat` reads
// stdin), which runs through sudo like every other.
func upload(ctx context.Context, r commander, localPath, remotePath string, mode os.FileMode, progress ProgressFunc) (UploadResult, error) {
	if !path.IsAbs(remotePath) {
		return UploadResult{}, fmt.Errorf("host %s: upload target %q is not an absolute path", r.Name(), remotePath)
	}
	sum, size, err := fileSHA256(localPath)
	if err != nil {
		return UploadResult{}, err
	}
	res := UploadResult{Bytes: size, SHA256: sum}
	perm := strconv.FormatUint(uint64(mode.Perm()), 8)
	q := shellQuote(remotePath)

	out, err := r.Run(ctx, SHA256Func+"if [ -f "+q+" ]; then sha256hex "+q+" && stat -c %a "+q+"; fi", RunOptions{})
	if err != nil {
		return res, err
	}
	if f := strings.Fields(out.Stdout); len(f) == 2 && f[0] == sum {
		res.Skipped = true
		if f[len(f)-1] != perm {
			if _, err := r.Run(ctx, "chmod "+perm+" "+q, RunOptions{}); err != nil {
				return res, err
			}
		}
		if progress != nil {
			progress(size, size)
		}
		return res, nil
	}

	f, err := os.Open(localPath)
	if err != nil {
		return res, fmt.Errorf("upload to host %s: %w", r.Name(), err)
	}
	defer f.Close()
	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix)
	tmp := path.Join(path.Dir(remotePath), "."+path.Base(remotePath)+uploadTempInfix+hex.EncodeToString(suffix))
	script := SHA256Func + strings.Join([]string{
		"set -e",
		"t=" + shellQuote(tmp),
		"trap 'rm -f \"$t\"' EXIT",
		"mkdir -p " + shellQuote(path.Dir(remotePath)),
		"cat > \"$t\"",
		"s=$(sha256hex \"$t\")",
		"if [ \"$s\" != " + sum + " ]; then echo \"the uploaded copy has SHA-256 $s, expected " + sum + "\" >&2; exit 1; fi",
		"chmod " + perm + " \"$t\"",
		"mv -f \"$t\" " + q,
	}, "\n")

	// The transfer has no fixed deadline: it fails when no byte moved for
	// the command timeout.
	stall := r.commandTimeout()
	uctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	pr := &progressReader{r: f, total: size, fn: progress}
	pr.touch()
	go func() {
		t := time.NewTicker(stall / 10)
		defer t.Stop()
		for {
			select {
			case <-uctx.Done():
				return
			case <-t.C:
				if time.Since(pr.last()) > stall {
					cancel(fmt.Errorf("the upload of %s stalled: no data moved for %s", localPath, stall))
					return
				}
			}
		}
	}()
	if _, err := r.Run(uctx, script, RunOptions{Stdin: pr, Timeout: maxUploadTime}); err != nil {
		var ce *CommandError
		if errors.As(err, &ce) {
			ce.Command = fmt.Sprintf("upload %s to %s", localPath, remotePath)
		}
		return res, err
	}
	pr.finish()
	return res, nil
}

// fetch reads a remote file.
func fetch(ctx context.Context, r commander, remotePath string) ([]byte, error) {
	out, err := r.Run(ctx, "cat -- "+shellQuote(remotePath), RunOptions{})
	if err != nil {
		return nil, err
	}
	return []byte(out.Stdout), nil
}

// fileSHA256 returns the hex SHA-256 and size of a local file. One run
// uploads the same files (the binary, the image bundle) to every host:
// the sum is computed once per path, size and modification time.
func fileSHA256(p string) (string, int64, error) {
	st, err := os.Stat(p)
	if err != nil {
		return "", 0, fmt.Errorf("upload: %w", err)
	}
	key := sumKey{path: p, size: st.Size(), mtime: st.ModTime().UnixNano()}
	v, _ := localSums.LoadOrStore(key, &localSum{})
	e := v.(*localSum)
	e.once.Do(func() { e.sum, e.size, e.err = hashFile(p) })
	if e.err != nil {
		localSums.Delete(key) // not kept: the next call tries again
	}
	return e.sum, e.size, e.err
}

type sumKey struct {
	path        string
	size, mtime int64
}

type localSum struct {
	once sync.Once
	sum  string
	size int64
	err  error
}

var localSums sync.Map // sumKey → *localSum

func hashFile(p string) (string, int64, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", 0, fmt.Errorf("upload: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, fmt.Errorf("upload: reading %s: %w", p, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// progressReader counts the bytes read and reports them, throttled.
type progressReader struct {
	r        io.Reader
	total    int64
	fn       ProgressFunc
	done     int64
	reported int64
	lastCall time.Time
	lastRead atomic.Int64 // unix nanoseconds of the last progress
}

func (p *progressReader) touch()          { p.lastRead.Store(time.Now().UnixNano()) }
func (p *progressReader) last() time.Time { return time.Unix(0, p.lastRead.Load()) }

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.touch()
		p.done += int64(n)
		if p.fn != nil && p.done < p.total {
			step := p.total / 100
			if p.done-p.reported >= step || time.Since(p.lastCall) >= progressInterval {
				p.report()
			}
		}
	}
	return n, err
}

func (p *progressReader) report() {
	p.reported = p.done
	p.lastCall = time.Now()
	p.fn(p.done, p.total)
}

// finish reports the end once.
func (p *progressReader) finish() {
	if p.fn != nil {
		p.done = p.total
		p.report()
	}
}
