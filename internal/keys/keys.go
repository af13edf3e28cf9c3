// Package keys issues and checks Switchyard's virtual API keys.
//
// A secret is shown once, at creation; the store keeps only its SHA-256
// hash, the short display prefix and the key's metadata. Secrets are 32
// random bytes, so an unsalted fast hash is enough: there is nothing to
// brute-force.
package keys

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"path"
	"strings"
	"time"

	"github.com/switchyard-ai/switchyard/internal/store"
)

const (
	// SecretPrefix starts every secret, so that secret scanners and humans
	// recognise a Switchyard key.
	SecretPrefix = "sk-sy-"
	// IDPrefix starts every key ID.
	IDPrefix = "key_"
	// PrefixLen is how much of a secret is kept for display.
	PrefixLen = 10

	secretBytes = 32
	idBytes     = 12
)

// Generate creates a new key named name that may use the models matching
// patterns (path.Match syntax; none means all). It returns the secret, to
// be shown once, and the key to store.
func Generate(name string, models []string) (secret string, k store.Key, err error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "", store.Key{}, errors.New("keys: a key needs a name")
	}
	for _, m := range models {
		if _, err := path.Match(m, ""); err != nil || m == "" {
			return "", store.Key{}, fmt.Errorf("keys: bad model pattern %q", m)
		}
	}
	secret = SecretPrefix + randomBase62(secretBytes)
	k = store.Key{
		ID:        IDPrefix + randomBase62(idBytes),
		Name:      name,
		Prefix:    secret[:PrefixLen],
		Hash:      Hash(secret),
		Models:    append([]string(nil), models...),
		CreatedAt: time.Now().UTC().Truncate(time.Microsecond),
	}
	if len(k.Models) == 0 {
		k.Models = nil
	}
	return secret, k, nil
}

// randomBase62 encodes n random bytes in base62, left-padded to a fixed
// width. Base62 rather than base64url: no '-' or '_', so a double click
// selects the whole secret.
func randomBase62(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never returns an error; crashes the program if it cannot read
	s := new(big.Int).SetBytes(b).Text(62)
	// Text(62) uses 0-9a-zA-Z; any fixed alphabet is as good, and padding
	// keeps the length independent of leading zero bytes.
	width := base62Width(n)
	return strings.Repeat("0", width-len(s)) + s
}

// base62Width is the number of base62 digits that n bytes can need.
func base62Width(n int) int {
	max := new(big.Int).Lsh(big.NewInt(1), uint(8*n))
	return len(max.Sub(max, big.NewInt(1)).Text(62))
}

// Hash returns the hex SHA-256 of a secret, as stored in Key.Hash.
func Hash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// Allowed reports whether k may use model. Patterns use path.Match, so '*'
// does not cross a '/': "openai/*" allows "openai/gpt-4o" and
// "deepseek/deepseek-*" allows "deepseek/deepseek-chat". An empty list
// allows every model; a malformed pattern matches only itself.
func Allowed(k store.Key, model string) bool {
	if len(k.Models) == 0 {
		return true
	}
	for _, p := range k.Models {
		if p == model {
			return true
		}
		if ok, err := path.Match(p, model); ok && err == nil {
			return true
		}
	}
	return false
}
