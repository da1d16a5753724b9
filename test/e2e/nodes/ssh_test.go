package nodes

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestUpArgs(t *testing.T) {
	if got, want := upArgs(false, []string{"a", "b"}), []string{"up", "a", "b"}; !reflect.DeepEqual(got, want) {
		t.Errorf("upArgs(false) = %q, want %q", got, want)
	}
	if got, want := upArgs(true, []string{"a"}), []string{"up", "--bare", "a"}; !reflect.DeepEqual(got, want) {
		t.Errorf("upArgs(true) = %q, want %q", got, want)
	}
}

func TestSSHDArgs(t *testing.T) {
	tests := []struct {
		name string
		o    SSHDOptions
		want []string
	}{
		{name: "key only", o: SSHDOptions{AuthorizedKeys: []string{"k.pub"}}, want: []string{"sshd", "n1", "--authorized-key", "k.pub"}},
		{name: "no options (keys kept from before)", want: []string{"sshd", "n1"}},
		{
			name: "everything",
			o:    SSHDOptions{AuthorizedKeys: []string{"a.pub", "b.pub"}, User: "deploy", OnlyFrom: "10.77.0.2", Port: 2222},
			want: []string{"sshd", "n1", "--authorized-key", "a.pub", "--authorized-key", "b.pub", "--user", "deploy", "--only-from", "10.77.0.2", "--port", "2222"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := sshdArgs("n1", tc.o); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("sshdArgs = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestParseFingerprint(t *testing.T) {
	tests := []struct {
		out     string
		want    string
		wantErr bool
	}{
		{out: "SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8\n", want: "SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8"},
		{out: "", wantErr: true},
		{out: "SHA256:\n", wantErr: true},
		{out: "256 SHA256:abc root@n1 (ED25519)\n", wantErr: true},
		{out: "MD5:aa:bb\n", wantErr: true},
		{out: "SHA256:a\nSHA256:b\n", wantErr: true},
	}
	for _, tc := range tests {
		got, err := parseFingerprint(tc.out)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("parseFingerprint(%q) = %q, %v; want %q, error %v", tc.out, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestCheckKnownHosts(t *testing.T) {
	tests := []struct {
		out     string
		wantErr bool
	}{
		{out: "10.77.0.2 ssh-ed25519 AAAA\n10.77.0.2 ecdsa-sha2-nistp256 AAAA\n"},
		{out: "[10.77.0.2]:2222 ssh-ed25519 AAAA\n"},
		{out: "", wantErr: true},
		{out: "10.77.0.2 ssh-ed25519\n", wantErr: true},
	}
	for _, tc := range tests {
		if err := checkKnownHosts(tc.out); (err != nil) != tc.wantErr {
			t.Errorf("checkKnownHosts(%q) = %v, wantErr %v", tc.out, err, tc.wantErr)
		}
	}
}

// TestBareSSHD brings up one bare node with sshd and logs in with ssh and
// the known_hosts lines KnownHosts returns.
func TestBareSSHD(t *testing.T) {
	if os.Geteuid() != 0 {
		SkipOrFail(t, "test nodes need root")
	}
	for _, bin := range []string{"/usr/sbin/sshd", "ssh", "ssh-keygen"} {
		if _, err := exec.LookPath(bin); err != nil {
			SkipOrFail(t, "%s is not installed (hack/sshd.sh install)", bin)
		}
	}
	name := "fe-nodes-unit"
	UpBare(t, name)
	dir := t.TempDir()
	key := filepath.Join(dir, "key")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	SSHD(t, name, SSHDOptions{AuthorizedKeys: []string{key + ".pub"}})
	ip := IP(t, name)
	kh := KnownHosts(t, name)
	if n := strings.Count(kh, ip+" "); n != len(HostKeyTypes) {
		t.Errorf("known_hosts has %d lines for %s, want one per host key type (%d):\n%s", n, ip, len(HostKeyTypes), kh)
	}
	khFile := filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(khFile, []byte(kh), 0o600); err != nil {
		t.Fatal(err)
	}
	// The ed25519 fingerprint is the one of the ed25519 line.
	fp := HostKey(t, name, HostKeyED25519)
	out, err := exec.Command("ssh-keygen", "-l", "-E", "sha256", "-f", khFile).Output()
	if err != nil || !strings.Contains(string(out), fp+" "+ip+" (ED25519)") {
		t.Errorf("HostKey(ed25519) = %s is not in ssh-keygen -l of the known_hosts lines (%v):\n%s", fp, err, out)
	}
	sshHostname := func() {
		t.Helper()
		ssh := exec.Command("ssh", "-F", "none", "-i", key, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
			"-o", "ConnectTimeout=5", "-o", "UserKnownHostsFile="+khFile, "-o", "GlobalKnownHostsFile=/dev/null",
			"-o", "StrictHostKeyChecking=yes", "root@"+ip, "hostname")
		if out, err := ssh.CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != name {
			t.Errorf("ssh root@%s hostname = %q, %v; want %q", ip, out, err, name)
		}
	}
	sshHostname()

	// A new node on the same address (a new MAC address) is reachable from
	// the host at once, although the host just talked to the old one.
	if err := Down(name); err != nil {
		t.Fatal(err)
	}
	UpBare(t, name)
	SSHD(t, name, SSHDOptions{AuthorizedKeys: []string{key + ".pub"}})
	if again := IP(t, name); again != ip {
		t.Skipf("the node came back on %s instead of %s (another node took the address)", again, ip)
	}
	if err := os.WriteFile(khFile, []byte(KnownHosts(t, name)), 0o600); err != nil {
		t.Fatal(err)
	}
	sshHostname()
}
