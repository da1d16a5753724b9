package hostinfo

import (
	"os"
	"path/filepath"
	"testing"
)

func TestParseMemTotal(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{"MemTotal:       24576000 kB\nMemFree: 1 kB\n", 24576000 * 1024, false},
		{"MemFree: 1 kB\nMemTotal: 2048 kB\n", 2048 * 1024, false},
		{"MemFree: 1 kB\n", 0, true},
		{"MemTotal: lots kB\n", 0, true},
		{"MemTotal: -5 kB\n", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseMemTotal([]byte(tt.in))
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseMemTotal(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestMemTotalReadsTheFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "meminfo")
	if err := os.WriteFile(p, []byte("MemTotal: 1024 kB\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := MemTotal(p); err != nil || got != 1<<20 {
		t.Errorf("MemTotal = %d, %v; want %d", got, err, 1<<20)
	}
	if _, err := MemTotal(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("MemTotal of a missing file: want an error")
	}
	if got, err := MemTotal(ProcMeminfo); err != nil || got <= 0 {
		t.Errorf("MemTotal(%s) = %d, %v; want the host's memory", ProcMeminfo, got, err)
	}
}
