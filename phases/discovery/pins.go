package discovery

import (
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/kubeadmin/kubeadmin/certs"
)

// pinFormat is the only hash format of a CA pin.
const pinFormat = "sha256"

// ParsePins checks CA public-key pins "sha256:<64 hex>" (the format name in
// any case) and returns them as certs.CAPinHash prints them: "sha256:"
// followed by lowercase hex. The error names the flag and config field.
func ParsePins(hashes []string) ([]string, error) {
	pins := make([]string, 0, len(hashes))
	for i, h := range hashes {
		format, value, ok := strings.Cut(h, ":")
		where := fmt.Sprintf("--discovery-token-ca-cert-hash (discovery.bootstrapToken.caCertHashes[%d])", i)
		if !ok {
			return nil, fmt.Errorf("invalid CA certificate hash %q in %s: expected %q followed by the hex SHA-256 of the CA's public key", h, where, pinFormat+":")
		}
		if !strings.EqualFold(format, pinFormat) {
			return nil, fmt.Errorf("invalid CA certificate hash %q in %s: unknown hash format %q, the only known format is %q", h, where, format, pinFormat)
		}
		sum, err := hex.DecodeString(value)
		if err != nil || len(sum) != 32 {
			return nil, fmt.Errorf("invalid CA certificate hash %q in %s: the value must be 64 hex characters (32 bytes)", h, where)
		}
		pins = append(pins, pinFormat+":"+hex.EncodeToString(sum))
	}
	return pins, nil
}

// matchPins reports whether one of cas has a public-key hash in pins. It
// also returns the hashes of all cas, for the error message.
func matchPins(cas []*x509.Certificate, pins []string) (bool, []string) {
	var seen []string
	found := false
	for _, ca := range cas {
		h := certs.CAPinHash(ca)
		seen = append(seen, h)
		for _, p := range pins {
			if h == p {
				found = true
			}
		}
	}
	return found, seen
}
