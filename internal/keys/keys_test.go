package keys

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/internal/store"
	"github.com/switchyard-ai/switchyard/internal/store/sqlite"
)

func isBase62(s string) bool {
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

func TestGenerate(t *testing.T) {
	models := []string{"openai/*", "chat-default"}
	before := time.Now().Add(-time.Second)
	secret, k, err := Generate("  ci bot ", models)
	if err != nil {
		t.Fatal(err)
	}
	body, ok := strings.CutPrefix(secret, SecretPrefix)
	if !ok || len(body) != 43 || !isBase62(body) {
		t.Errorf("secret %q: want %q + 43 base62 characters", secret, SecretPrefix)
	}
	if k.Prefix != secret[:10] || !strings.HasPrefix(k.Prefix, SecretPrefix) {
		t.Errorf("Prefix = %q, want %q", k.Prefix, secret[:10])
	}
	sum := sha256.Sum256([]byte(secret))
	if k.Hash != hex.EncodeToString(sum[:]) || k.Hash != Hash(secret) {
		t.Errorf("Hash = %q, want hex SHA-256 of the secret", k.Hash)
	}
	if id, ok := strings.CutPrefix(k.ID, IDPrefix); !ok || len(id) != 17 || !isBase62(id) {
		t.Errorf("ID = %q, want %q + 17 base62 characters", k.ID, IDPrefix)
	}
	if k.Name != "ci bot" {
		t.Errorf("Name = %q, want trimmed", k.Name)
	}
	if k.CreatedAt.Before(before) || k.CreatedAt.After(time.Now()) || k.CreatedAt.Location() != time.UTC {
		t.Errorf("CreatedAt = %v, want now in UTC", k.CreatedAt)
	}
	if k.RevokedAt != nil {
		t.Error("new key is revoked")
	}
	if strings.Join(k.Models, ",") != "openai/*,chat-default" {
		t.Errorf("Models = %v", k.Models)
	}
	models[0] = "changed"
	if k.Models[0] != "openai/*" {
		t.Error("Generate kept the caller's slice")
	}
	if strings.Contains(k.ID, secret) || strings.Contains(k.Hash, body) {
		t.Error("key fields contain the secret")
	}

	_, k, err = Generate("all", nil)
	if err != nil || k.Models != nil {
		t.Errorf("Generate(nil models) = %v, %v; want nil models (all)", k.Models, err)
	}
	_, k, err = Generate("all", []string{})
	if err != nil || k.Models != nil {
		t.Errorf("Generate(empty models) = %v, %v; want nil models (all)", k.Models, err)
	}
}

func TestGenerateUnique(t *testing.T) {
	secrets, ids := map[string]bool{}, map[string]bool{}
	for range 2000 {
		s, k, err := Generate("n", nil)
		if err != nil {
			t.Fatal(err)
		}
		if secrets[s] || ids[k.ID] {
			t.Fatal("duplicate secret or id")
		}
		if len(s) != len(SecretPrefix)+43 || len(k.ID) != len(IDPrefix)+17 {
			t.Fatalf("length varies: %q %q", s, k.ID)
		}
		secrets[s], ids[k.ID] = true, true
	}
}

func TestGenerateErrors(t *testing.T) {
	for _, c := range []struct {
		name   string
		models []string
	}{
		{"", nil},
		{"   ", nil},
		{"x", []string{"openai/["}},
		{"x", []string{""}},
	} {
		if _, _, err := Generate(c.name, c.models); err == nil {
			t.Errorf("Generate(%q, %q) succeeded", c.name, c.models)
		}
	}
}

func TestHash(t *testing.T) {
	if got := Hash("abc"); got != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Errorf("Hash(abc) = %s", got)
	}
}

func TestAllowed(t *testing.T) {
	k := func(models ...string) store.Key { return store.Key{Models: models} }
	for _, c := range []struct {
		key   store.Key
		model string
		want  bool
	}{
		{k(), "anything/at-all", true},
		{store.Key{Models: []string{}}, "x", true},
		{k("openai/*"), "openai/gpt-4o", true},
		{k("openai/*"), "openai/", true},
		{k("openai/*"), "openai", false},
		{k("openai/*"), "openai/ft/custom", false}, // '*' does not cross '/'
		{k("openai/*"), "azure/gpt-4o", false},
		{k("deepseek/deepseek-*"), "deepseek/deepseek-chat", true},
		{k("deepseek/deepseek-*"), "deepseek/r1", false},
		{k("chat-default"), "chat-default", true},
		{k("chat-default"), "chat-default-2", false},
		{k("chat-default"), "CHAT-DEFAULT", false},
		{k("gpt-4o?"), "gpt-4o1", true},
		{k("a", "b/*"), "b/c", true},
		{k("a", "b/*"), "c", false},
		{k("bad["), "bad[", true}, // malformed pattern: literal match only
		{k("bad["), "bad", false},
		{k("*"), "gpt-4o", true},
		{k("*"), "openai/gpt-4o", false},
		{k("*/*"), "openai/gpt-4o", true},
	} {
		if got := Allowed(c.key, c.model); got != c.want {
			t.Errorf("Allowed(%q, %q) = %v, want %v", c.key.Models, c.model, got, c.want)
		}
	}
}

// countingStore counts lookups that reach the store.
type countingStore struct {
	store.Store
	lookups atomic.Int32
	err     error  // returned instead of looking up, when set
	hash    string // returned as the key's hash, when set
}

func (c *countingStore) KeyByHash(ctx context.Context, hash string) (store.Key, error) {
	c.lookups.Add(1)
	if c.err != nil {
		return store.Key{}, c.err
	}
	k, err := c.Store.KeyByHash(ctx, hash)
	if c.hash != "" {
		k.Hash = c.hash
	}
	return k, err
}

type fixture struct {
	st    *countingStore
	auth  *Authenticator
	clock time.Time
	mu    sync.Mutex
}

func newFixture(t *testing.T, ttl time.Duration) *fixture {
	t.Helper()
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "keys.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	f := &fixture{st: &countingStore{Store: s}, clock: time.Unix(1_700_000_000, 0)}
	f.auth = NewAuthenticator(f.st, AuthenticatorOptions{TTL: ttl})
	f.auth.now = func() time.Time {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.clock
	}
	return f
}

func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	f.clock = f.clock.Add(d)
	f.mu.Unlock()
}

func (f *fixture) create(t *testing.T, name string) (string, store.Key) {
	t.Helper()
	secret, k, err := Generate(name, []string{"openai/*"})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.st.CreateKey(t.Context(), k); err != nil {
		t.Fatal(err)
	}
	return secret, k
}

func TestLookup(t *testing.T) {
	f := newFixture(t, time.Minute)
	secret, k := f.create(t, "a")
	for i := range 3 {
		got, err := f.auth.Lookup(t.Context(), secret)
		if err != nil {
			t.Fatalf("Lookup #%d: %v", i, err)
		}
		if got.ID != k.ID || got.Name != "a" || !Allowed(got, "openai/gpt-4o") {
			t.Errorf("Lookup = %+v, want key %s", got, k.ID)
		}
	}
	if n := f.st.lookups.Load(); n != 1 {
		t.Errorf("store lookups = %d, want 1 (cached)", n)
	}
}

func TestLookupRejectsMalformedWithoutLookup(t *testing.T) {
	f := newFixture(t, time.Minute)
	secret, _ := f.create(t, "a")
	for _, s := range []string{
		"",
		"Bearer " + secret,
		strings.TrimPrefix(secret, SecretPrefix),
		"sk-proj-abc",
		secret + strings.Repeat("x", 200),
	} {
		if _, err := f.auth.Lookup(t.Context(), s); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("Lookup(%.20q...) error = %v, want ErrInvalidKey", s, err)
		}
	}
	if n := f.st.lookups.Load(); n != 0 {
		t.Errorf("store lookups = %d, want 0", n)
	}
}

func TestLookupNoNegativeCaching(t *testing.T) {
	f := newFixture(t, time.Minute)
	secret, k, err := Generate("late", nil)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := f.auth.Lookup(t.Context(), secret); !errors.Is(err, ErrInvalidKey) {
			t.Fatalf("unknown key: error = %v, want ErrInvalidKey", err)
		}
	}
	if n := f.st.lookups.Load(); n != 2 {
		t.Errorf("store lookups = %d, want 2 (no negative caching)", n)
	}
	if err := f.st.CreateKey(t.Context(), k); err != nil {
		t.Fatal(err)
	}
	if _, err := f.auth.Lookup(t.Context(), secret); err != nil {
		t.Errorf("freshly created key: %v", err)
	}
}

func TestLookupRevoked(t *testing.T) {
	f := newFixture(t, 5*time.Second)
	secret, k := f.create(t, "a")
	other, _ := f.create(t, "b")
	if err := f.st.RevokeKey(t.Context(), k.Name); err != nil {
		t.Fatal(err)
	}
	if _, err := f.auth.Lookup(t.Context(), secret); !errors.Is(err, ErrRevoked) {
		t.Errorf("revoked key: error = %v, want ErrRevoked", err)
	}

	// A cached key revoked elsewhere is accepted until the TTL runs out.
	if _, err := f.auth.Lookup(t.Context(), other); err != nil {
		t.Fatal(err)
	}
	if err := f.st.RevokeKey(t.Context(), "b"); err != nil {
		t.Fatal(err)
	}
	f.advance(4 * time.Second)
	if _, err := f.auth.Lookup(t.Context(), other); err != nil {
		t.Errorf("within TTL: error = %v, want cached success", err)
	}
	f.advance(time.Second)
	if _, err := f.auth.Lookup(t.Context(), other); !errors.Is(err, ErrRevoked) {
		t.Errorf("after TTL: error = %v, want ErrRevoked", err)
	}
	f.auth.mu.RLock()
	n := len(f.auth.cache)
	f.auth.mu.RUnlock()
	if n != 0 {
		t.Errorf("cache holds %d entries after the revocation was seen", n)
	}
}

func TestPurge(t *testing.T) {
	f := newFixture(t, time.Hour)
	secret, k := f.create(t, "a")
	if _, err := f.auth.Lookup(t.Context(), secret); err != nil {
		t.Fatal(err)
	}
	if err := f.st.RevokeKey(t.Context(), k.ID); err != nil {
		t.Fatal(err)
	}
	f.auth.Purge()
	if _, err := f.auth.Lookup(t.Context(), secret); !errors.Is(err, ErrRevoked) {
		t.Errorf("after Purge: error = %v, want ErrRevoked", err)
	}
}

func TestLookupStoreError(t *testing.T) {
	f := newFixture(t, time.Minute)
	secret, _ := f.create(t, "a")
	boom := errors.New("database is down")
	f.st.err = boom
	_, err := f.auth.Lookup(t.Context(), secret)
	if !errors.Is(err, boom) || errors.Is(err, ErrInvalidKey) || errors.Is(err, ErrRevoked) {
		t.Errorf("store failure: error = %v, want the store's error, not a verdict on the key", err)
	}
	if strings.Contains(err.Error(), secret) {
		t.Errorf("error leaks the secret: %v", err)
	}
}

func TestLookupHashMismatch(t *testing.T) {
	f := newFixture(t, time.Minute)
	secret, _ := f.create(t, "a")
	f.st.hash = strings.ToUpper(Hash(secret)) // a loosely matching store
	if _, err := f.auth.Lookup(t.Context(), secret); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("hash mismatch: error = %v, want ErrInvalidKey", err)
	}
}

func TestCacheSweep(t *testing.T) {
	f := newFixture(t, time.Second)
	var secrets []string
	for _, n := range []string{"a", "b", "c"} {
		s, _ := f.create(t, n)
		secrets = append(secrets, s)
	}
	for _, s := range secrets[:2] {
		if _, err := f.auth.Lookup(t.Context(), s); err != nil {
			t.Fatal(err)
		}
	}
	f.advance(2 * time.Second)
	if _, err := f.auth.Lookup(t.Context(), secrets[2]); err != nil {
		t.Fatal(err)
	}
	f.auth.mu.RLock()
	n := len(f.auth.cache)
	f.auth.mu.RUnlock()
	if n != 1 {
		t.Errorf("cache holds %d entries, want 1 after expired ones were swept", n)
	}
}

func TestLookupConcurrent(t *testing.T) {
	f := newFixture(t, 10*time.Millisecond)
	f.auth.now = time.Now
	var secrets []string
	for _, n := range []string{"a", "b", "c", "d"} {
		s, _ := f.create(t, n)
		secrets = append(secrets, s)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				s := secrets[(g+i)%len(secrets)]
				if _, err := f.auth.Lookup(context.Background(), s); err != nil {
					t.Error(err)
					return
				}
				if i%50 == 0 {
					f.auth.Purge()
				}
			}
		})
	}
	wg.Wait()
}

func BenchmarkLookupCached(b *testing.B) {
	s, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "keys.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	secret, k, _ := Generate("bench", nil)
	if err := s.CreateKey(b.Context(), k); err != nil {
		b.Fatal(err)
	}
	a := NewAuthenticator(s, AuthenticatorOptions{TTL: time.Hour})
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := a.Lookup(ctx, secret); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func TestDefaultTTL(t *testing.T) {
	if a := NewAuthenticator(nil, AuthenticatorOptions{}); a.ttl != DefaultTTL {
		t.Errorf("ttl = %v, want %v", a.ttl, DefaultTTL)
	}
}
