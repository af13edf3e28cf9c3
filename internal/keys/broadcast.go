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

// Run calls changed with every announcement, and with "" whenever the
// subscription is (re)established, until ctx is done. go-redis reconnects and
// resubscribes by itself after a connection loss; the resubscription is
// delivered as a *redis.Subscription, and changed("") then covers the
// changes that may have been missed in between.
func (b *Broadcast) Run(ctx context.Context, changed func(what string)) {
	ps := b.rdb.Subscribe(ctx, b.channel)
	defer ps.Close()
	ch := ps.ChannelWithSubscriptions()
	for {
		select {
		case <-ctx.Done():
			return
		case msg, ok := <-ch:
			if !ok {
				return
			}
			switch m := msg.(type) {
			case *redis.Message:
				changed(m.Payload)
			case *redis.Subscription:
				changed("")
			}
		}
	}
}
