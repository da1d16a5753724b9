// Package hostinfo reads facts about the host that both the workflows'
// preflight checks and the node agent need, so each is read one way.
package hostinfo

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// ProcMeminfo is where the kernel reports the machine's memory.
const ProcMeminfo = "/proc/meminfo"

// MemTotal returns the machine's memory in bytes: the MemTotal line of a
// meminfo file (ProcMeminfo on a real host; tests point it elsewhere).
func MemTotal(path string) (int64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return ParseMemTotal(data)
}

// ParseMemTotal reads the MemTotal line ("MemTotal: <n> kB") of meminfo
// content and returns it in bytes.
func ParseMemTotal(meminfo []byte) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(meminfo))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 || fields[0] != "MemTotal:" {
			continue
		}
		kb, err := strconv.ParseInt(fields[1], 10, 64)
		if err != nil || kb < 0 {
			return 0, fmt.Errorf("invalid MemTotal value %q", fields[1])
		}
		return kb * 1024, nil
	}
	return 0, errors.New("no MemTotal line")
}
