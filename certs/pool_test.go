package certs

import (
	"crypto"
	"sync/atomic"
	"testing"

	"github.com/kubeadmin/kubeadmin/internal/config"
)

func TestPregeneratedKeysAreHandedOut(t *testing.T) {
	var generated atomic.Int32
	old := generateKey
	generateKey = func(alg config.EncryptionAlgorithm) (crypto.Signer, error) {
		generated.Add(1)
		return GeneratePrivateKey(alg)
	}
	t.Cleanup(func() { generateKey = old })

	// A dedicated algorithm value keeps other tests' pools out of the way.
	const alg = config.EncryptionAlgorithmECDSAP384
	PregenerateKeys(alg, 3)
	seen := map[string]bool{}
	for range 4 {
		k, err := NewPrivateKey(alg)
		if err != nil {
			t.Fatal(err)
		}
		der, err := EncodePrivateKeyPEM(k)
		if err != nil {
			t.Fatal(err)
		}
		if seen[string(der)] {
			t.Fatal("the same key was handed out twice")
		}
		seen[string(der)] = true
	}
	// 3 from the pool, 1 generated inline once the pool was empty.
	if got := generated.Load(); got != 4 {
		t.Errorf("generated %d keys, want 4", got)
	}
	pool.mu.Lock()
	defer pool.mu.Unlock()
	if q := pool.queues[alg]; q == nil || q.outstanding != 0 {
		t.Errorf("pool not drained: %+v", q)
	}
}

func TestPregenerateUnknownAlgorithmIsIgnored(t *testing.T) {
	PregenerateKeys("DSA-1024", 2)
	pool.mu.Lock()
	defer pool.mu.Unlock()
	if _, ok := pool.queues["DSA-1024"]; ok {
		t.Error("a queue was created for an unknown algorithm")
	}
}
