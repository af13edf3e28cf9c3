package secrets

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func TestSealOpen(t *testing.T) {
	key := make([]byte, 32)
	rand.Read(key)
	b, err := New(key)
	if err != nil {
		t.Fatal(err)
	}
	const secret = "sk-proj-abcdef0123456789"
	sealed := b.Seal("openai", secret)
	if bytes.Contains(sealed, []byte(secret)) || bytes.Contains(sealed, []byte("abcdef")) {
		t.Fatal("the plaintext is visible in the sealed value")
	}
	if got, err := b.Open("openai", sealed); err != nil || got != secret {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if bytes.Equal(sealed, b.Seal("openai", secret)) {
		t.Error("two seals of one secret are equal: the nonce is not random")
	}
	// Another name, another key, a flipped bit, a truncation: refused.
	if _, err := b.Open("deepseek", sealed); !errors.Is(err, ErrDecrypt) {
		t.Errorf("moved to another name: %v", err)
	}
	other := make([]byte, 32)
	rand.Read(other)
	b2, _ := New(other)
	if _, err := b2.Open("openai", sealed); !errors.Is(err, ErrDecrypt) {
		t.Errorf("another master key: %v", err)
	}
	for i := range sealed {
		bad := bytes.Clone(sealed)
		bad[i] ^= 1
		if _, err := b.Open("openai", bad); !errors.Is(err, ErrDecrypt) {
			t.Fatalf("bit %d flipped: %v", i, err)
		}
	}
	if _, err := b.Open("openai", sealed[:10]); !errors.Is(err, ErrDecrypt) {
		t.Errorf("truncated: %v", err)
	}
}

func TestParseKey(t *testing.T) {
	key := make([]byte, 32)
	rand.Read(key)
	for _, s := range []string{hex.EncodeToString(key), base64.StdEncoding.EncodeToString(key),
		base64.RawURLEncoding.EncodeToString(key), " " + base64.StdEncoding.EncodeToString(key) + "\n"} {
		if got, err := ParseKey(s); err != nil || !bytes.Equal(got, key) {
			t.Errorf("ParseKey(%q) = %x, %v", s, got, err)
		}
	}
	if _, err := ParseKey(""); !errors.Is(err, ErrNoMasterKey) {
		t.Errorf("empty: %v", err)
	}
	for _, s := range []string{"hunter2", hex.EncodeToString(key[:16]), base64.StdEncoding.EncodeToString(append(key, 1))} {
		_, err := ParseKey(s)
		if err == nil || strings.Contains(err.Error(), s) {
			t.Errorf("ParseKey(%q) = %v: want an error that does not show the value", s, err)
		}
	}
}

func FuzzOpen(f *testing.F) {
	key := bytes.Repeat([]byte{7}, 32)
	b, _ := New(key)
	f.Add("openai", b.Seal("openai", "sk-1"))
	f.Add("x", []byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, name string, sealed []byte) {
		// Never panics; opens only what it sealed.
		if pt, err := b.Open(name, sealed); err == nil {
			if again, err := b.Open(name, b.Seal(name, pt)); err != nil || again != pt {
				t.Fatal("round trip")
			}
		}
	})
}
