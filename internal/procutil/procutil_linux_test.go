package procutil

import (
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// rssFileKiB is this process's resident file-backed memory.
func rssFileKiB(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status")
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "RssFile:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	t.Skip("no RssFile in /proc/self/status")
	return 0
}

func TestReleaseStartupPagesShrinksFileBackedMemory(t *testing.T) {
	img, err := readImage(selfExe)
	if err != nil {
		t.Fatal(err)
	}
	if err := img.releasable(); err != nil {
		t.Skipf("the test binary is not built like kubeadmin: %v", err)
	}
	before := rssFileKiB(t)
	n, err := TryReleaseStartupPages()
	if err != nil || n == 0 {
		t.Fatalf("TryReleaseStartupPages() = %d, %v", n, err)
	}
	after := rssFileKiB(t)
	if after >= before {
		t.Errorf("file-backed RSS %d KiB before, %d KiB after: nothing was released", before, after)
	}
}

// buildRelease builds testdata/release with the given extra go build
// arguments and runs it.
func buildRelease(t *testing.T, args ...string) (string, string) {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not on PATH: cannot build the test program")
	}
	exe := filepath.Join(t.TempDir(), "release")
	build := exec.Command(goBin, append(append([]string{"build"}, args...), "-o", exe, "./testdata/release")...)
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", build, err, out)
	}
	out, err := exec.Command(exe).CombinedOutput()
	if err != nil {
		t.Fatalf("%s after the release: %v\n%s", exe, err, out)
	}
	want := fmt.Sprintf("sha256 %x\n", sha256.Sum256([]byte(exe)))
	if !strings.HasSuffix(string(out), want) {
		t.Errorf("output does not end with %q:\n%s", want, out)
	}
	return exe, string(out)
}

// The binary as the Makefile builds it is judged safe, its pages are
// released, and it keeps working afterwards.
func TestReleaseInAStaticExecutable(t *testing.T) {
	exe, out := buildRelease(t, "-trimpath", "-ldflags", "-s -w")
	first, _, _ := strings.Cut(out, "\n")
	n, ok := strings.CutPrefix(first, "released ")
	if !ok {
		t.Fatalf("%s was not judged safe: %s", exe, first)
	}
	if bytes, err := strconv.ParseUint(n, 10, 64); err != nil || bytes == 0 {
		t.Errorf("released %q bytes", n)
	}
}

// A position-independent build is relocated by the loader: the release is
// skipped with the reason, and the program keeps working.
func TestReleaseSkipsAPositionIndependentExecutable(t *testing.T) {
	_, out := buildRelease(t, "-buildmode=pie", "-trimpath", "-ldflags", "-s -w")
	first, _, _ := strings.Cut(out, "\n")
	if !strings.HasPrefix(first, "skipped: ") || !strings.Contains(first, "ET_DYN") {
		t.Errorf("PIE build: %q, want the release skipped because of ET_DYN", first)
	}
}

func TestReleasableRefusesRelocatedImages(t *testing.T) {
	tests := []struct {
		name string
		img  image
		want string
	}{
		{"static", image{typ: etExec, segments: []segment{{typ: ptLoad}}}, ""},
		{"pie", image{typ: etDyn}, "ET_DYN"},
		{"dynamic", image{typ: etExec, segments: []segment{{typ: ptInterp}}}, "PT_INTERP"},
		{"relocations", image{typ: etExec, segments: []segment{{typ: ptDynamic}}}, "PT_DYNAMIC"},
		{"relro", image{typ: etExec, segments: []segment{{typ: ptGNURelro}}}, "PT_GNU_RELRO"},
		{"object", image{typ: 1}, "ELF type 1"},
	}
	for _, tt := range tests {
		err := tt.img.releasable()
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%s: releasable() = %v, want %q", tt.name, err, tt.want)
		}
	}
}

func TestPristineMatchesSegmentsByAddressAndOffset(t *testing.T) {
	const page = 0x1000
	img := image{typ: etExec, segments: []segment{
		{typ: ptLoad, flags: 5, offset: 0, vaddr: 0x400000, size: 0xa25b1},
		{typ: ptLoad, flags: 4, offset: 0xa3000, vaddr: 0x4a3000, size: 0xdc218},
		{typ: ptLoad, flags: 6, offset: 0x180000, vaddr: 0x580000, size: 0xab40},
	}}
	tests := []struct {
		m    mapping
		want bool
	}{
		{mapping{0x400000, 0x4a3000, 0}, true},
		{mapping{0x4a3000, 0x580000, 0xa3000}, true},
		{mapping{0x4a3000, 0x580000, 0xa4000}, false},  // wrong offset
		{mapping{0x580000, 0x58b000, 0x180000}, false}, // writable segment
		{mapping{0x400000, 0x4a4000, 0}, false},        // beyond the segment
	}
	for _, tt := range tests {
		if got := img.pristine(tt.m, page); got != tt.want {
			t.Errorf("pristine(%#x-%#x @%#x) = %v, want %v", tt.m.start, tt.m.end, tt.m.offset, got, tt.want)
		}
	}
}
