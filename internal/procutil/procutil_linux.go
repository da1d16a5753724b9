// Package procutil holds helpers about kubeadmin's own long-running processes.
package procutil

import (
	"bufio"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// ReleaseStartupPages drops this process's mappings of the read-only pages
// of its own executable. kubeadmin is one binary for every command; at
// start the kernel maps much of it around the code that package
// initialisers touch (fault-around), and those pages then count in the
// agent's resident memory for its whole life although it never uses them
// again. The pages stay in the page cache: whatever the agent still
// needs is mapped back on its next use. Writable mappings are left alone.
func ReleaseStartupPages() {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return
	}
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return
	}
	defer f.Close()
	var ranges [][2]uintptr
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// 00400000-00452000 r-xp 00000000 08:02 173521 /usr/bin/kubeadmin
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || fields[5] != exe || strings.Contains(fields[1], "w") {
			continue
		}
		lo, hi, ok := strings.Cut(fields[0], "-")
		if !ok {
			continue
		}
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 == nil && err2 == nil && end > start {
			ranges = append(ranges, [2]uintptr{uintptr(start), uintptr(end)})
		}
	}
	for _, r := range ranges {
		_, _, _ = unix.Syscall(unix.SYS_MADVISE, r[0], r[1]-r[0], unix.MADV_DONTNEED)
	}
}
