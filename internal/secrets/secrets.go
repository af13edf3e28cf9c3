// Package secrets encrypts provider API keys for storage: AES-256-GCM
// under a master key that never touches the database, so that a copy of
// the database (a backup, a replica, a leaked dump) does not give away the
// vendors' keys.
package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
)

// MasterKeyEnv names the variable holding the master key: 32 random bytes
// in base64 or hex, such as the output of `openssl rand -base64 32`.
const MasterKeyEnv = "SWITCHYARD_MASTER_KEY"

// version prefixes each sealed value, so the format can change.
const version = 1

// ErrNoMasterKey means secrets cannot be stored or read: no master key.
var ErrNoMasterKey = errors.New("secrets: no master key: set " + MasterKeyEnv + " to 32 random bytes in base64 (openssl rand -base64 32)")

// ErrDecrypt means a sealed value does not open with this master key under
// this name: the key changed, or the value was altered or moved.
var ErrDecrypt = errors.New("secrets: cannot decrypt: wrong master key, or the stored value was altered")

// Box seals and opens secrets with one master key.
type Box struct{ aead cipher.AEAD }

// ParseKey decodes a master key: 32 bytes in standard or URL base64
// (padded or not) or in hex. Anything else is refused rather than
// stretched: a weak passphrase would make the encryption a formality.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, ErrNoMasterKey
	}
	for _, dec := range []func(string) ([]byte, error){
		hex.DecodeString, base64.StdEncoding.DecodeString, base64.RawStdEncoding.DecodeString,
		base64.URLEncoding.DecodeString, base64.RawURLEncoding.DecodeString,
	} {
		if b, err := dec(s); err == nil && len(b) == 32 {
			return b, nil
		}
	}
	// Never echo the value.
	return nil, errors.New("secrets: " + MasterKeyEnv + " must be 32 bytes in base64 or hex (openssl rand -base64 32)")
}

// New returns a Box for a 32-byte master key.
func New(key []byte) (*Box, error) {
	if len(key) != 32 {
		return nil, errors.New("secrets: the master key must be 32 bytes")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Box{aead: aead}, nil
}

// FromEnv returns the Box for $SWITCHYARD_MASTER_KEY, ErrNoMasterKey when
// it is unset, or an error when it is malformed.
func FromEnv(getenv func(string) string) (*Box, error) {
	key, err := ParseKey(getenv(MasterKeyEnv))
	if err != nil {
		return nil, err
	}
	return New(key)
}

// Seal encrypts plaintext for storage under name. The name is
// authenticated: a value copied to another name does not open.
func (b *Box) Seal(name, plaintext string) []byte {
	nonce := make([]byte, b.aead.NonceSize())
	rand.Read(nonce)
	out := append([]byte{version}, nonce...)
	return b.aead.Seal(out, nonce, []byte(plaintext), []byte(name))
}

// Open decrypts what Seal returned for name.
func (b *Box) Open(name string, sealed []byte) (string, error) {
	n := b.aead.NonceSize()
	if len(sealed) < 1+n+b.aead.Overhead() || sealed[0] != version {
		return "", ErrDecrypt
	}
	pt, err := b.aead.Open(nil, sealed[1:1+n], sealed[1+n:], []byte(name))
	if err != nil {
		return "", ErrDecrypt
	}
	return string(pt), nil
}
