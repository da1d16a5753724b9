// Package procutil holds helpers about kubeadmin's own long-running processes.
package procutil

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// selfExe is the running executable, whatever its path says now.
const selfExe = "/proc/self/exe"

// selfMaps lists this process's mappings.
const selfMaps = "/proc/self/maps"

// ReleaseStartupPages drops this process's mappings of the read-only pages
// of its own executable when that is safe (see TryReleaseStartupPages),
// and does nothing otherwise.
func ReleaseStartupPages() { _, _ = TryReleaseStartupPages() }

// TryReleaseStartupPages drops this process's copies of the read-only
// pages of its own executable and returns how many bytes of address space
// it released. kubeadmin is one binary for every command; at start the
// kernel maps much of it around the code that package initialisers touch
// (fault-around), and those pages then count in the agent's resident
// memory for its whole life although it never uses them again.
//
// MADV_DONTNEED on a private file mapping throws away the process's view
// of those pages; the next access reads them again from the file (the page
// cache). That is only harmless if the pages still hold exactly the file's
// bytes. It is so for the binary the Makefile builds (CGO_ENABLED=0, static,
// ET_EXEC): nothing ever writes to its text or read-only data. A
// position-independent or dynamically linked binary has relocations that
// the loader writes into pages it then makes read-only (RELRO); dropping
// those would bring back the unrelocated bytes and crash the process. So
// the executable's ELF headers are checked first, and only mappings whose
// addresses and file offsets match a read-only segment are released. The
// error says why nothing was released.
func TryReleaseStartupPages() (uint64, error) {
	img, err := readImage(selfExe)
	if err != nil {
		return 0, err
	}
	if err := img.releasable(); err != nil {
		return 0, fmt.Errorf("not releasing the executable's start-up pages: %w", err)
	}
	exe, err := os.Readlink(selfExe)
	if err != nil {
		return 0, err
	}
	ranges, err := exeMappings(selfMaps, exe)
	if err != nil {
		return 0, err
	}
	page := uint64(os.Getpagesize())
	var released uint64
	var errs []error
	for _, m := range ranges {
		if !img.pristine(m, page) {
			continue
		}
		if _, _, e := unix.Syscall(unix.SYS_MADVISE, uintptr(m.start), uintptr(m.end-m.start), unix.MADV_DONTNEED); e != 0 {
			errs = append(errs, fmt.Errorf("madvise %#x-%#x: %w", m.start, m.end, e))
			continue
		}
		released += m.end - m.start
	}
	if released == 0 && len(errs) == 0 {
		return 0, errors.New("not releasing the executable's start-up pages: no read-only mapping of it matches its program headers")
	}
	return released, errors.Join(errs...)
}

// mapping is one line of /proc/self/maps that maps the executable
// without write permission.
type mapping struct {
	start, end, offset uint64
}

// exeMappings returns the non-writable mappings of the file named exe, as
// /proc/self/exe names it (with " (deleted)" once it was replaced).
func exeMappings(path, exe string) ([]mapping, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []mapping
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// 00400000-00452000 r-xp 00000000 08:02 173521   /usr/bin/kubeadmin
		fields := strings.SplitN(sc.Text(), " ", 6)
		if len(fields) < 6 || strings.Contains(fields[1], "w") || strings.TrimLeft(fields[5], " ") != exe {
			continue
		}
		lo, hi, ok := strings.Cut(fields[0], "-")
		if !ok {
			continue
		}
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		off, err3 := strconv.ParseUint(fields[2], 16, 64)
		if err1 == nil && err2 == nil && err3 == nil && end > start {
			out = append(out, mapping{start: start, end: end, offset: off})
		}
	}
	return out, sc.Err()
}
