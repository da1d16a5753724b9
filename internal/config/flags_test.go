package config

import (
	"strings"
	"testing"
)

func TestCheckMixedConfigFlags(t *testing.T) {
	cases := []struct {
		name    string
		config  string
		changed []string
		want    string
	}{
		{"no config", "", []string{"pod-network-cidr", "node-name"}, ""},
		{"allowed flags", "c.yaml", []string{"config", "node-name", "ignore-preflight-errors", "dry-run", "upload-certs", "v", "rootfs"}, ""},
		{"skip flags", "c.yaml", []string{"config", "skip-phases", "skip-token-print", "skip-certificate-key-print"}, ""},
		{"mixed, sorted", "c.yaml", []string{"config", "service-cidr", "apiserver-advertise-address", "node-name"},
			"can not mix '--config' with arguments [apiserver-advertise-address service-cidr]"},
		{"config flag changed but empty", "", []string{"config", "token"}, "can not mix '--config' with arguments [token]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckMixedConfigFlags(tc.config, tc.changed)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestParseIgnorePreflightErrors(t *testing.T) {
	cases := []struct {
		name        string
		flags, cfg  []string
		want        []string
		errContains string
	}{
		{"merged and lower-cased", []string{"Swap", "NumCPU"}, []string{"mem", "SWAP"}, []string{"mem", "numcpu", "swap"}, ""},
		{"all alone", []string{"ALL"}, nil, []string{"all"}, ""},
		{"all with others", []string{"all"}, []string{"Swap"}, nil, `ignore-preflight-errors: Invalid value: "all,swap": don't specify individual checks if 'all' is used`},
		{"nothing", nil, nil, []string{}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			set, err := ParseIgnorePreflightErrors(tc.flags, tc.cfg)
			if tc.errContains != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errContains) {
					t.Errorf("error %v, want %q", err, tc.errContains)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := sortedKeys(set); strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("set %v, want %v", got, tc.want)
			}
		})
	}
}
