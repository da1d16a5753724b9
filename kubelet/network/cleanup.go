package network

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Cleanup removes what the built-in network made on this host (for
// reset): our conflist in confDir ("" = DefaultConfDir), our tagged
// routes, the masquerade chain and its jump, and the cni0 bridge. Other
// files in confDir and other routes are left alone. Missing pieces are
// not errors.
func Cleanup(confDir string) error {
	if confDir == "" {
		confDir = DefaultConfDir
	}
	var errs []error
	if err := os.Remove(filepath.Join(confDir, ConfFileName)); err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, fmt.Errorf("failed to remove the CNI configuration: %w", err))
	}
	for _, fam := range []uint8{afInet, afInet6} {
		ours, _, err := mainRoutes(fam)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, r := range ours {
			errs = append(errs, deleteRoute(r))
		}
	}
	errs = append(errs, iptables{run: execRunner}.cleanup(context.Background()), deleteLink(BridgeName))
	return errors.Join(errs...)
}
