package keys

import (
	"context"
	"sync"
	"time"

	"github.com/switchyard-ai/switchyard/internal/store"
)

// TeamSource is the part of store.Store a Teams cache needs.
type TeamSource interface {
	Team(ctx context.Context, idOrName string) (store.Team, error)
}

// Teams caches teams by id for TTL, like the Authenticator caches keys,
// so that checking a team's limits costs no query on the hot path. Purge
// empties it when a team changes.
type Teams struct {
	src TeamSource
	ttl time.Duration
	now func() time.Time

	mu    sync.Mutex
	cache map[string]cachedTeam
}

type cachedTeam struct {
	team    store.Team
	expires time.Time
}

// NewTeams returns a cache over src; ttl <= 0 means DefaultTTL.
func NewTeams(src TeamSource, ttl time.Duration) *Teams {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	return &Teams{src: src, ttl: ttl, now: time.Now, cache: map[string]cachedTeam{}}
}

// Lookup returns the team with this id (store.ErrNotFound if none).
func (t *Teams) Lookup(ctx context.Context, id string) (store.Team, error) {
	now := t.now()
	t.mu.Lock()
	c, ok := t.cache[id]
	t.mu.Unlock()
	if ok && now.Before(c.expires) {
		return c.team, nil
	}
	team, err := t.src.Team(ctx, id)
	if err != nil {
		return store.Team{}, err
	}
	t.mu.Lock()
	if len(t.cache) > 10000 {
		clear(t.cache) // teams are few; this only bounds a pathological case
	}
	t.cache[id] = cachedTeam{team: team, expires: now.Add(t.ttl)}
	t.mu.Unlock()
	return team, nil
}

// Purge empties the cache.
func (t *Teams) Purge() {
	t.mu.Lock()
	clear(t.cache)
	t.mu.Unlock()
}
