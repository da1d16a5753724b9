package certificate

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"k8s.io/client-go/util/certificate"
)

// storeStampLayout is how client-go's file store names each pair it
// writes: <pair>-<stamp>.pem, to the second.
const storeStampLayout = "2006-01-02-15-04-05"

// storeNameWait is how long Update waits between looks for a free name.
const storeNameWait = 50 * time.Millisecond

// openStore opens the certificate store of one pair (client or serving)
// in dir.
func openStore(pair, dir, certFile, keyFile string) (certificate.FileStore, error) {
	s, err := certificate.NewFileStore(pair, dir, dir, certFile, keyFile)
	if err != nil {
		return nil, err
	}
	return &distinctStore{FileStore: s, pair: pair, dir: dir}, nil
}

// distinctStore gives every stored pair its own file. client-go names
// the file by the second and truncates one of the same name: a pair
// renewed in the second it was stored (kubeadm init's certificate is
// replaced at once) would be rewritten in place, under the
// <pair>-current.pem link, and a reader could find it empty. Update
// waits for a second whose name is free.
type distinctStore struct {
	certificate.FileStore
	pair, dir string
}

func (s *distinctStore) Update(cert, key []byte) (*tls.Certificate, error) {
	for {
		name := filepath.Join(s.dir, s.pair+"-"+time.Now().Format(storeStampLayout)+".pem")
		_, err := os.Lstat(name)
		if errors.Is(err, fs.ErrNotExist) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("failed to check %q before storing a certificate: %w", name, err)
		}
		time.Sleep(storeNameWait)
	}
	return s.FileStore.Update(cert, key)
}
