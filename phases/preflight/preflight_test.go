package preflight

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

// fixed returns a check that reports the given messages.
func fixed(name string, warnings, errs []string) Checker {
	return Check{Label: name, Run: func() (w, e []error) {
		for _, s := range warnings {
			w = append(w, errors.New(s))
		}
		for _, s := range errs {
			e = append(e, errors.New(s))
		}
		return w, e
	}}
}

func TestRunChecks(t *testing.T) {
	checks := []Checker{
		fixed("Swap", []string{"swap is on"}, nil),
		fixed("Port-6443", nil, []string{"Port 6443 is in use"}),
		fixed("NumCPU", nil, nil),
		fixed("Mem", []string{"low"}, []string{"too little RAM", "really"}),
	}
	const hint = "[preflight] If you know what you are doing, you can make a check non-fatal with `--ignore-preflight-errors=...`"
	tests := []struct {
		name    string
		ignore  map[string]bool
		wantOut string
		wantErr string
	}{
		{
			name:    "errors are fatal",
			wantOut: "\t[WARNING Swap]: swap is on\n\t[WARNING Mem]: low\n",
			wantErr: "[preflight] Some fatal errors occurred:\n" +
				"\t[ERROR Port-6443]: Port 6443 is in use\n" +
				"\t[ERROR Mem]: too little RAM\n" +
				"\t[ERROR Mem]: really\n" + hint,
		},
		{
			name:    "ignored check names are case-insensitive",
			ignore:  map[string]bool{"port-6443": true, "MEM": true},
			wantOut: "\t[WARNING Swap]: swap is on\n\t[WARNING Port-6443]: Port 6443 is in use\n\t[WARNING Mem]: low\n\t[WARNING Mem]: too little RAM\n\t[WARNING Mem]: really\n",
		},
		{
			name:    "all ignores every check",
			ignore:  map[string]bool{"All": true},
			wantOut: "\t[WARNING Swap]: swap is on\n\t[WARNING Port-6443]: Port 6443 is in use\n\t[WARNING Mem]: low\n\t[WARNING Mem]: too little RAM\n\t[WARNING Mem]: really\n",
		},
		{
			name:    "false values and other names do not ignore",
			ignore:  map[string]bool{"Mem": false, "Swap": true},
			wantOut: "\t[WARNING Swap]: swap is on\n\t[WARNING Mem]: low\n",
			wantErr: "[preflight] Some fatal errors occurred:\n" +
				"\t[ERROR Port-6443]: Port 6443 is in use\n" +
				"\t[ERROR Mem]: too little RAM\n" +
				"\t[ERROR Mem]: really\n" + hint,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := RunChecks(checks, &out, tt.ignore)
			if got := out.String(); got != tt.wantOut {
				t.Errorf("output:\n%q\nwant:\n%q", got, tt.wantOut)
			}
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("expected an error")
			}
			if err.Error() != tt.wantErr {
				t.Errorf("error:\n%q\nwant:\n%q", err.Error(), tt.wantErr)
			}
			if !IsPreflightError(err) {
				t.Errorf("IsPreflightError(%T) = false", err)
			}
		})
	}
}

func TestRunChecksNoChecks(t *testing.T) {
	var out bytes.Buffer
	if err := RunChecks(nil, &out, nil); err != nil || out.Len() != 0 {
		t.Fatalf("RunChecks(nil) = %v, output %q", err, out.String())
	}
}

func TestIsPreflightError(t *testing.T) {
	pf := &Error{Failures: []Failure{{Check: "X", Err: errors.New("x")}}}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"plain", errors.New("boom"), false},
		{"preflight", pf, true},
		{"wrapped", fmt.Errorf("error execution phase preflight: %w", pf), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsPreflightError(tt.err); got != tt.want {
				t.Errorf("IsPreflightError() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestPathCheckName(t *testing.T) {
	tests := []struct{ prefix, path, want string }{
		{"FileAvailable", "/etc/kubernetes/manifests/kube-apiserver.yaml", "FileAvailable--etc-kubernetes-manifests-kube-apiserver.yaml"},
		{"DirAvailable", "/var/lib/etcd", "DirAvailable--var-lib-etcd"},
		{"FileContent", "/proc/sys/net/ipv4/ip_forward", "FileContent--proc-sys-net-ipv4-ip_forward"},
		{"FileExisting", "losetup", "FileExisting-losetup"},
	}
	for _, tt := range tests {
		if got := pathCheckName(tt.prefix, tt.path); got != tt.want {
			t.Errorf("pathCheckName(%q, %q) = %q, want %q", tt.prefix, tt.path, got, tt.want)
		}
	}
}
