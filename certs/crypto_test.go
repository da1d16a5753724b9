package certs_test

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kubeadmin/kubeadmin/certs"
	"github.com/kubeadmin/kubeadmin/internal/config"
)

func TestCreateCertificateKey(t *testing.T) {
	seen := map[string]bool{}
	for range 3 {
		k, err := certs.CreateCertificateKey()
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(k) {
			t.Errorf("key %q is not 64 lowercase hex characters", k)
		}
		if seen[k] {
			t.Errorf("key %q repeated", k)
		}
		seen[k] = true
	}
}

func TestEncryptDecrypt(t *testing.T) {
	hexKey, err := certs.CreateCertificateKey()
	if err != nil {
		t.Fatal(err)
	}
	key, _ := hex.DecodeString(hexKey)
	otherKey := bytes.Repeat([]byte{7}, 32)
	plain := []byte("-----BEGIN RSA PRIVATE KEY-----\nsecret\n")

	sealed, err := certs.EncryptBytes(plain, key)
	if err != nil {
		t.Fatal(err)
	}
	// nonce (12) + plaintext + tag (16)
	if len(sealed) != 12+len(plain)+16 {
		t.Errorf("sealed length = %d, want %d", len(sealed), 12+len(plain)+16)
	}
	if bytes.Contains(sealed, []byte("secret")) {
		t.Error("ciphertext contains the plaintext")
	}
	again, err := certs.EncryptBytes(plain, key)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(sealed[:12], again[:12]) {
		t.Error("nonce reused")
	}

	tests := []struct {
		name    string
		data    []byte
		key     []byte
		want    []byte
		wantErr string
	}{
		{"round trip", sealed, key, plain, ""},
		{"wrong key", sealed, otherKey, nil, "cipher: message authentication failed"},
		{"tampered", append(append([]byte{}, sealed[:20]...), append([]byte{sealed[20] ^ 1}, sealed[21:]...)...), key, nil, "message authentication failed"},
		{"shorter than the nonce", sealed[:5], key, nil, "less than the nonce"},
		{"bad key size", sealed, key[:5], nil, "invalid key size"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := certs.DecryptBytes(tc.data, tc.key)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCAPinHash(t *testing.T) {
	quiet(t)
	for _, alg := range []config.EncryptionAlgorithm{config.EncryptionAlgorithmECDSAP256, config.EncryptionAlgorithmRSA2048} {
		t.Run(string(alg), func(t *testing.T) {
			dir := t.TempDir()
			if err := certs.CreateCert("ca", newConfig(alg), dir, &bytes.Buffer{}); err != nil {
				t.Fatal(err)
			}
			ca := readCert(t, filepath.Join(dir, "ca.crt"))
			der, err := x509.MarshalPKIXPublicKey(ca.PublicKey)
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(der)
			want := "sha256:" + hex.EncodeToString(sum[:])
			if got := certs.CAPinHash(ca); got != want {
				t.Errorf("CAPinHash = %s, want %s", got, want)
			}
		})
	}
}
