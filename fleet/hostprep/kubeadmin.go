package hostprep

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"

	"github.com/kubeadmin/kubeadmin/fleet/remote"
)

// kubeadminMode is the mode of the installed binary.
const kubeadminMode = 0o755

// InstallKubeadmin uploads localBinary to RemoteKubeadmin, unless the same
// content is already there. The binary is renamed into place, so a running
// node agent keeps its file.
func InstallKubeadmin(ctx context.Context, r remote.Runner, localBinary string, progress remote.ProgressFunc) (changed bool, err error) {
	res, err := r.Upload(ctx, localBinary, RemoteKubeadmin, kubeadminMode, progress)
	if err != nil {
		return false, stepError(r, "install kubeadmin", err)
	}
	return !res.Skipped, nil
}

// elfMachines maps ELF e_machine values to what `uname -m` prints.
var elfMachines = map[uint16][]string{
	62:  {"x86_64"},                            // EM_X86_64
	183: {"aarch64", "arm64"},                  // EM_AARCH64
	40:  {"armv7l", "armv6l", "armv8l", "arm"}, // EM_ARM
	243: {"riscv64"},                           // EM_RISCV
	21:  {"ppc64le", "ppc64"},                  // EM_PPC64
	22:  {"s390x"},                             // EM_S390
	3:   {"i686", "i386"},                      // EM_386
}

// CheckBinaryArch fails when localBinary is not an ELF executable for the
// host's architecture, before a useless upload. It reads the ELF header
// itself: debug/elf would add to the binary for two fields.
func CheckBinaryArch(localBinary string, f *Facts) error {
	file, err := os.Open(localBinary)
	if err != nil {
		return fmt.Errorf("kubeadmin binary: %w", err)
	}
	defer file.Close()
	var h [20]byte
	if _, err := io.ReadFull(file, h[:]); err != nil || string(h[:4]) != "\x7fELF" {
		return fmt.Errorf("kubeadmin binary %s is not a Linux (ELF) executable: build it with GOOS=linux", localBinary)
	}
	var order binary.ByteOrder = binary.LittleEndian
	if h[5] == 2 {
		order = binary.BigEndian
	}
	machine := order.Uint16(h[18:20])
	names, known := elfMachines[machine]
	for _, n := range names {
		if n == f.Arch {
			return nil
		}
	}
	if !known {
		return fmt.Errorf("kubeadmin binary %s is for an unknown machine (ELF e_machine %d); the host runs %s", localBinary, machine, f.Arch)
	}
	return fmt.Errorf("kubeadmin binary %s is built for %s but the host runs %s: build it with the matching GOARCH and set artifacts.kubeadminBinary", localBinary, names[0], f.Arch)
}
