package keys

import (
	"context"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"
)

// Broadcast tells every replica that keys or teams changed, through Redis
// pub/sub, so that each purges its caches at once: a revoked key stops
// working on every replica within a Redis round trip, not a cache TTL.
// The TTL stays the backstop for a message lost while a replica was
// disconnected (it also purges on every reconnection, when it may have
// missed some).
type Broadcast struct {
	rdb     redis.UniversalClient
	channel string
	log     *slog.Logger
}

// NewBroadcast returns a Broadcast on channel prefix+"invalidate".
func NewBroadcast(rdb redis.UniversalClient, prefix string, log *slog.Logger) *Broadcast {
	return &Broadcast{rdb: rdb, channel: prefix + "invalidate", log: log}
}

// Publish announces a change; what is a short description ("key key_…").
func (b *Broadcast) Publish(ctx context.Context, what string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return b.rdb.Publish(ctx, b.channel, what).Err()
}

// Run calls purge for every announcement, and whenever the subscription
// is (re)established, until ctx is done.
func (b *Broadcast) Run(ctx context.Context, purge func()) {
	for ctx.Err() == nil {
		ps := b.rdb.Subscribe(ctx, b.channel)
		// Receive the confirmation before purging, so that a change
		// published after the purge is delivered.
		if _, err := ps.Receive(ctx); err != nil {
			ps.Close()
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			continue
		}
		purge()
		b.listen(ctx, ps, purge)
		ps.Close()
	}
}

// listen purges on every message until the subscription breaks.
func (b *Broadcast) listen(ctx context.Context, ps *redis.PubSub, purge func()) {
	for {
		msg, err := ps.Receive(ctx)
		if err != nil {
			if ctx.Err() == nil {
				b.log.Warn("redis invalidation channel lost; key changes from other replicas take up to the cache TTL until it returns", "err", err)
			}
			return
		}
		switch msg.(type) {
		case *redis.Message:
			purge()
		case *redis.Subscription:
			// go-redis resubscribed after a reconnection: messages may
			// have been missed in between.
			purge()
		}
	}
}
