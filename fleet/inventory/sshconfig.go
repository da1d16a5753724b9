package inventory

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"

	"github.com/kevinburke/ssh_config"
)

// sshLookup answers what an ssh config file says for one alias.
type sshLookup interface {
	lookup(alias string) sshSettings
}

// sshConfigFile reads the keywords the fleet honours with
// github.com/kevinburke/ssh_config (about 110 KB in the binary): Host
// patterns with "*", "?" and "!", first value wins, Include.
type sshConfigFile struct {
	cfg *ssh_config.Config
}

// loadSSHConfig parses the file at path; a missing file reads as empty.
func loadSSHConfig(path string) (sshLookup, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("failed to read the ssh config file: %w", err)
	}
	cfg, err := ssh_config.DecodeBytes(data)
	if err != nil {
		return nil, fmt.Errorf("failed to parse the ssh config file %s: %v; kubeadmin fleet reads Host blocks (and Match host/all) for HostName, User, Port, IdentityFile and ProxyJump: fix the file, or do not read it", path, err)
	}
	return &sshConfigFile{cfg: cfg}, nil
}

func (f *sshConfigFile) lookup(alias string) sshSettings {
	get := func(key string) string {
		v, _ := f.cfg.Get(alias, key)
		return v
	}
	s := sshSettings{
		hostName:  get("HostName"),
		user:      get("User"),
		proxyJump: get("ProxyJump"),
	}
	if p, err := strconv.ParseUint(get("Port"), 10, 16); err == nil {
		s.port = int(p)
	}
	s.identityFiles, _ = f.cfg.GetAll(alias, "IdentityFile")
	return s
}
