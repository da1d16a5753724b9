package remote

import (
	"os"
	"path/filepath"
	"testing"
)

func TestSSHConfigApply(t *testing.T) {
	dir := t.TempDir()
	home, _ := os.UserHomeDir()
	writeFile(t, filepath.Join(dir, "extra.conf"), `
Host jump
  HostName 10.0.0.1
  User hopper
  IdentityFile ~/.ssh/jump_key
`)
	cfgPath := filepath.Join(dir, "config")
	writeFile(t, cfgPath, `# fleet test
Include extra.conf

Host web1 web2
  HostName %h.example.com
  Port=2222
  User "ops"
  ProxyJump admin@outer:2200,jump
  IdentityFile ~/.ssh/id_%r_%h

Host !web2 web*
  User ignored-first-wins
  UserKnownHostsFile ~/.ssh/fleet_known_hosts

Match exec "true"
  User never

Host *
  IdentityFile ~/.ssh/id_ed25519
`)
	c, err := LoadSSHConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Apply(Target{Address: "web1", UseAgent: true})
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "web1" || got.Address != "web1.example.com" || got.Port != 2222 || got.User != "ops" || !got.UseAgent {
		t.Fatalf("target %+v", got)
	}
	wantKeys := []string{filepath.Join(home, ".ssh/id_ops_web1.example.com"), filepath.Join(home, ".ssh/id_ed25519")}
	if len(got.IdentityFiles) != 2 || got.IdentityFiles[0] != wantKeys[0] || got.IdentityFiles[1] != wantKeys[1] {
		t.Errorf("identity files %v, want %v", got.IdentityFiles, wantKeys)
	}
	if got.KnownHosts != filepath.Join(home, ".ssh/fleet_known_hosts") {
		t.Errorf("known hosts %q", got.KnownHosts)
	}
	// ProxyJump admin@outer:2200,jump: jump is the nearest hop, reached
	// through outer.
	j := got.Bastion
	if j == nil || j.Address != "10.0.0.1" || j.User != "hopper" || j.Name != "jump" {
		t.Fatalf("bastion %+v", j)
	}
	if len(j.IdentityFiles) != 2 || j.IdentityFiles[0] != filepath.Join(home, ".ssh/jump_key") {
		t.Errorf("bastion keys %v", j.IdentityFiles)
	}
	o := j.Bastion
	if o == nil || o.Address != "outer" || o.Port != 2200 || o.User != "admin" || o.Bastion != nil {
		t.Fatalf("outer bastion %+v", o)
	}
	if len(o.IdentityFiles) != 1 || o.IdentityFiles[0] != filepath.Join(home, ".ssh/id_ed25519") {
		t.Errorf("outer bastion keys %v", o.IdentityFiles)
	}

	// The inventory's values win; web2 is excluded from the second block.
	got, err = c.Apply(Target{Address: "web2", User: "root", Port: 22, Bastion: &Target{Address: "b"}})
	if err != nil {
		t.Fatal(err)
	}
	if got.User != "root" || got.Port != 22 || got.Bastion.Address != "b" || got.KnownHosts != "" {
		t.Errorf("target %+v", got)
	}

	// A missing file says nothing.
	c, err = LoadSSHConfig(filepath.Join(dir, "nope"))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := c.Apply(Target{Address: "x"}); got.Address != "x" || got.Bastion != nil {
		t.Errorf("target %+v", got)
	}
}

func TestSSHConfigErrors(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "config")
	writeFile(t, p, "Host a\n  Port ssh\n")
	c, err := LoadSSHConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Apply(Target{Address: "a"}); err == nil {
		t.Error("a bad Port was accepted")
	}
	writeFile(t, p, "Host a\n  ProxyJump a\n")
	c, _ = LoadSSHConfig(p)
	if _, err := c.Apply(Target{Address: "a"}); err == nil {
		t.Error("a ProxyJump loop was accepted")
	}
	writeFile(t, p, "Host a\n  User \"open\n")
	if _, err := LoadSSHConfig(p); err == nil {
		t.Error("an open quote was accepted")
	}
}
