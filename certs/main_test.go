package certs

import (
	"crypto"
	"os"
	"testing"

	"github.com/kubeadmin/kubeadmin/internal/config"
)

// TestMain makes RSA-3072 and RSA-4096 keys come from testdata: generating
// them takes seconds each, and the tests only need their type and size.
// Every other algorithm is generated for real.
func TestMain(m *testing.M) {
	fixtures := map[config.EncryptionAlgorithm]string{
		config.EncryptionAlgorithmRSA3072: "testdata/rsa-3072.key",
		config.EncryptionAlgorithmRSA4096: "testdata/rsa-4096.key",
	}
	real := generateKey
	generateKey = func(alg config.EncryptionAlgorithm) (crypto.Signer, error) {
		if path, ok := fixtures[alg]; ok {
			return LoadKey(path)
		}
		return real(alg)
	}
	os.Exit(m.Run())
}
