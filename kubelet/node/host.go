package node

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"github.com/kubeadmin/kubeadmin/internal/hostinfo"
)

// HostInfo are the machine facts reported in the Node status.
type HostInfo struct {
	Hostname      string
	MachineID     string
	SystemUUID    string
	BootID        string
	KernelVersion string
	OSImage       string
	// CPUs is the number of CPUs; MemoryBytes is MemTotal;
	// EphemeralBytes is the size of the file system of the root dir.
	CPUs           int
	MemoryBytes    int64
	EphemeralBytes int64
}

// ReadHostInfo reads the machine facts from /etc, /proc and /sys; what
// cannot be read stays empty.
func ReadHostInfo(rootDir string) HostInfo {
	h := HostInfo{
		MachineID:     readTrim("/etc/machine-id"),
		SystemUUID:    strings.ToLower(readTrim("/sys/class/dmi/id/product_uuid")),
		BootID:        readTrim("/proc/sys/kernel/random/boot_id"),
		KernelVersion: readTrim("/proc/sys/kernel/osrelease"),
		OSImage:       osImage(readString("/etc/os-release")),
		CPUs:          runtime.NumCPU(),
		MemoryBytes:   MemTotal(),
	}
	h.Hostname, _ = os.Hostname()
	var st syscall.Statfs_t
	if err := syscall.Statfs(rootDir, &st); err == nil {
		h.EphemeralBytes = int64(st.Blocks) * st.Bsize
	} else if err := syscall.Statfs("/", &st); err == nil {
		h.EphemeralBytes = int64(st.Blocks) * st.Bsize
	}
	return h
}

func readString(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return string(data)
}

func readTrim(path string) string { return strings.TrimSpace(readString(path)) }

// osImage is PRETTY_NAME from an os-release file, else "Linux".
func osImage(osRelease string) string {
	for _, line := range strings.Split(osRelease, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "PRETTY_NAME="); ok {
			if u, err := strconv.Unquote(v); err == nil {
				return u
			}
			return strings.Trim(v, `"'`)
		}
	}
	return "Linux"
}

// MemTotal is the machine's memory in bytes (0 if unknown).
func MemTotal() int64 {
	n, _ := hostinfo.MemTotal(hostinfo.ProcMeminfo)
	return n
}

// CPUCapacityMilli is the machine's CPU capacity in millicores.
func CPUCapacityMilli() int64 { return int64(runtime.NumCPU()) * 1000 }
