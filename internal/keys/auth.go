package keys

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/switchyard-ai/switchyard/internal/store"
)

var (
	// ErrInvalidKey means the secret is malformed or names no key.
	ErrInvalidKey = errors.New("keys: invalid API key")
	// ErrRevoked means the secret names a revoked key.
	ErrRevoked = errors.New("keys: API key revoked")
)

// maxSecretLen bounds what is hashed and looked up for a presented secret;
// real secrets are about 50 bytes.
const maxSecretLen = 128

// KeySource is the part of store.Store an Authenticator needs.
type KeySource interface {
	KeyByHash(ctx context.Context, hash string) (store.Key, error)
}

// Authenticator resolves presented secrets to keys. It caches positive
// answers for TTL so that the hot path is a hash and a map read, not a
// database query. It caches nothing else: a key created a moment ago works
// at once, and a bad secret is never remembered (nor can it fill the
// cache). The price is that revoking a key in another process takes up to
// TTL to take effect here; Purge makes it immediate in this process.
type Authenticator struct {
	src KeySource
	ttl time.Duration
	now func() time.Time

	mu        sync.RWMutex
	cache     map[[sha256.Size]byte]cached // by SHA-256 of the secret; no hex on the hit path
	lastSweep time.Time

	// flights are the store lookups in progress, so that the requests of
	// a busy key whose entry just expired make one query, not one each.
	flightMu sync.Mutex
	flights  map[[sha256.Size]byte]*flight
}

type flight struct {
	done chan struct{}
	key  store.Key
	err  error
}

type cached struct {
	key     store.Key
	expires time.Time
}

// DefaultTTL is how long a successful lookup is reused.
const DefaultTTL = 5 * time.Second

// AuthenticatorOptions configure an Authenticator. Zero values select the
// defaults.
type AuthenticatorOptions struct {
	// TTL is how long a successful lookup is reused; default DefaultTTL.
	// It bounds how long a key revoked by another process stays usable here.
	TTL time.Duration
}

// NewAuthenticator returns an Authenticator over src (usually the store).
func NewAuthenticator(src KeySource, opts AuthenticatorOptions) *Authenticator {
	if opts.TTL <= 0 {
		opts.TTL = DefaultTTL
	}
	return &Authenticator{src: src, ttl: opts.TTL, now: time.Now, cache: map[[sha256.Size]byte]cached{},
		flights: map[[sha256.Size]byte]*flight{}}
}

// Lookup returns the active key whose secret is secret. It fails with
// ErrInvalidKey or ErrRevoked, or with another error when the store cannot
// answer (which callers should not report as a bad key). The returned key
// may be shared with other callers: do not modify its Models.
func (a *Authenticator) Lookup(ctx context.Context, secret string) (store.Key, error) {
	// Cheap rejection before hashing or querying: not one of our secrets.
	if !strings.HasPrefix(secret, SecretPrefix) || len(secret) > maxSecretLen {
		return store.Key{}, ErrInvalidKey
	}
	// Through a stack buffer: converting a string this long to []byte
	// would allocate on every request.
	var buf [maxSecretLen]byte
	sum := sha256.Sum256(buf[:copy(buf[:], secret)])
	now := a.now()

	// Looking up by hash leaks nothing useful through timing: an attacker
	// controls the secret, not its hash, so how much of a stored hash a
	// guess's hash shares says nothing about the stored secret.
	a.mu.RLock()
	c, ok := a.cache[sum]
	a.mu.RUnlock()
	if ok && now.Before(c.expires) {
		return c.key, nil
	}

	hash := hex.EncodeToString(sum[:])
	// reject drops a stale entry for hash, if there was one.
	reject := func(err error) (store.Key, error) {
		if ok {
			a.mu.Lock()
			delete(a.cache, sum)
			a.mu.Unlock()
		}
		return store.Key{}, err
	}
	k, err := a.fetch(ctx, sum, hash)
	if errors.Is(err, store.ErrNotFound) {
		return reject(ErrInvalidKey)
	}
	if err != nil {
		return store.Key{}, fmt.Errorf("keys: look up key: %w", err)
	}
	// Defence in depth against a store that matched loosely (collation,
	// truncation): the stored hash must be exactly ours.
	if subtle.ConstantTimeCompare([]byte(k.Hash), []byte(hash)) != 1 {
		return reject(ErrInvalidKey)
	}
	if k.RevokedAt != nil {
		return reject(ErrRevoked)
	}

	a.mu.Lock()
	a.cache[sum] = cached{key: k, expires: now.Add(a.ttl)}
	if now.Sub(a.lastSweep) > a.ttl {
		// Expired entries of keys no longer presented would otherwise stay
		// forever. Sweeping on the miss path, at most once per TTL, keeps
		// the hit path free of it.
		a.lastSweep = now
		for h, c := range a.cache {
			if !now.Before(c.expires) {
				delete(a.cache, h)
			}
		}
	}
	a.mu.Unlock()
	return k, nil
}

// fetch looks a hash up in the store, sharing the lookup with concurrent
// callers for the same hash. A caller whose context ends stops waiting;
// the lookup itself runs under the context of the caller that started it.
func (a *Authenticator) fetch(ctx context.Context, sum [sha256.Size]byte, hash string) (store.Key, error) {
	a.flightMu.Lock()
	f, ok := a.flights[sum]
	if !ok {
		f = &flight{done: make(chan struct{})}
		a.flights[sum] = f
	}
	a.flightMu.Unlock()
	if ok {
		select {
		case <-f.done:
			if ctx.Err() == nil && (errors.Is(f.err, context.Canceled) || errors.Is(f.err, context.DeadlineExceeded)) {
				// The leader's client went away, not ours: ask again.
				return a.src.KeyByHash(ctx, hash)
			}
			return f.key, f.err
		case <-ctx.Done():
			return store.Key{}, ctx.Err()
		}
	}
	f.key, f.err = a.src.KeyByHash(ctx, hash)
	a.flightMu.Lock()
	delete(a.flights, sum)
	a.flightMu.Unlock()
	close(f.done)
	return f.key, f.err
}

// Purge empties the cache, so that a key revoked through this process is
// rejected at once rather than after TTL.
func (a *Authenticator) Purge() {
	a.mu.Lock()
	clear(a.cache)
	a.mu.Unlock()
}
