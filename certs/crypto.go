package certs

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/kubeadmin/kubeadmin/internal/constants"
)

// CreateCertificateKey returns a new certificate key for the kubeadm-certs
// Secret: 32 random bytes, hex encoded (64 characters).
func CreateCertificateKey() (string, error) {
	b := make([]byte, constants.CertificateKeySize)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("failed to generate a certificate key: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// EncryptBytes encrypts data with AES-GCM (AES-256 for a 32-byte key) and
// returns nonce || ciphertext+tag, without additional data, as kubeadm.
func EncryptBytes(data, key []byte) ([]byte, error) {
	gcm, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, gcm.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("failed to generate a nonce: %w", err)
	}
	return gcm.Seal(nonce, nonce, data, nil), nil
}

// DecryptBytes reverses EncryptBytes. A wrong key fails with
// "cipher: message authentication failed", as kubeadm.
func DecryptBytes(data, key []byte) ([]byte, error) {
	gcm, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	if len(data) < gcm.NonceSize() {
		return nil, errors.New("failed to decrypt data: size of data is less than the nonce")
	}
	nonce, sealed := data[:gcm.NonceSize()], data[gcm.NonceSize():]
	out, err := gcm.Open(nil, nonce, sealed, nil)
	if err != nil {
		return nil, fmt.Errorf("failed to decrypt data: %w", err)
	}
	return out, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("failed to create an AES cipher: %w", err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("failed to create an AES-GCM cipher: %w", err)
	}
	return gcm, nil
}

// CAPinHash returns the public key pin of cert as used by
// --discovery-token-ca-cert-hash: "sha256:" + hex(SHA-256(SubjectPublicKeyInfo)).
func CAPinHash(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return "sha256:" + hex.EncodeToString(sum[:])
}
