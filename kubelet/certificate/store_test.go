package certificate

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kubeadmin/kubeadmin/internal/constants"
)

// Pairs stored in quick succession (three within a second or two, so
// that two fall in the same second) each keep their own file, and
// every file is still whole after the later ones were written.
func TestStoreGivesEveryPairItsOwnFile(t *testing.T) {
	n := newNode(t)
	store, err := openStore(constants.KubeletClientCertPairName, n.pki, "", "")
	if err != nil {
		t.Fatal(err)
	}
	written := map[string][]byte{}
	for i := range 3 {
		certPEM, keyPEM := n.ca.clientPair(t, time.Now(), time.Hour)
		if _, err := store.Update(certPEM, keyPEM); err != nil {
			t.Fatalf("update %d: %v", i, err)
		}
		target, err := filepath.EvalSymlinks(store.CurrentPath())
		if err != nil {
			t.Fatal(err)
		}
		if _, seen := written[target]; seen {
			t.Fatalf("update %d rewrote %s, which an earlier update had stored", i, target)
		}
		written[target] = certPEM
	}
	for path, certPEM := range written {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(data, certPEM) {
			t.Errorf("%s no longer holds the certificate stored in it", path)
		}
	}
}
