package limits

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Failover counts in Redis while Redis answers and in this process while
// it does not, so that losing Redis degrades shared limits to per-replica
// ones instead of failing requests. It logs each change of state, and Up
// reports the current one (for the switchyard_redis_up gauge and /readyz).
//
// During an outage every replica enforces each limit on its own, so a
// deployment of N replicas may admit up to N times a limit, and spend
// counted locally does not reach Redis: after recovery, budget counters
// that survived in Redis miss the outage's spend (counters Redis lost are
// seeded again from the request log, which has it).
type Failover struct {
	Redis *Redis
	Local *Local
	rdb   redis.UniversalClient
	log   *slog.Logger
	up    atomic.Bool
	stop  context.CancelFunc
	done  chan struct{}

	mu    sync.Mutex
	local map[string]struct{} // reservations held by Local, by request id
}

// NewFailover starts watching rdb (a PING every interval) and returns a
// Counter that uses r while Redis is up and l while it is down. Close
// stops the watch.
func NewFailover(rdb redis.UniversalClient, r *Redis, l *Local, interval time.Duration, log *slog.Logger) *Failover {
	ctx, cancel := context.WithCancel(context.Background())
	f := &Failover{Redis: r, Local: l, rdb: rdb, log: log, stop: cancel, done: make(chan struct{}), local: map[string]struct{}{}}
	pctx, pcancel := context.WithTimeout(ctx, interval)
	f.up.Store(rdb.Ping(pctx).Err() == nil)
	pcancel()
	if !f.up.Load() {
		log.Warn("redis is unreachable: rate limits and budgets are per replica until it answers")
	}
	go f.watch(ctx, interval)
	return f
}

// Up reports whether Redis answered the last check.
func (f *Failover) Up() bool { return f.up.Load() }

// Close stops watching Redis.
func (f *Failover) Close() {
	f.stop()
	<-f.done
}

func (f *Failover) watch(ctx context.Context, interval time.Duration) {
	defer close(f.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, interval)
		err := f.rdb.Ping(pctx).Err()
		cancel()
		if ctx.Err() != nil {
			return
		}
		f.set(err == nil, err)
	}
}

func (f *Failover) set(up bool, err error) {
	if f.up.Swap(up) == up {
		return
	}
	if up {
		f.log.Info("redis is reachable again: rate limits and budgets are shared across replicas again")
	} else {
		f.log.Warn("redis is unreachable: rate limits and budgets are per replica until it answers", "err", err)
	}
}

// Admit implements Counter.
func (f *Failover) Admit(ctx context.Context, now time.Time, id string, subjects []Subject) (Decision, error) {
	if f.up.Load() {
		d, err := f.Redis.Admit(ctx, now, id, subjects)
		if err == nil || ctx.Err() != nil {
			return d, err
		}
		f.set(false, err)
	}
	return f.Local.Admit(ctx, now, id, subjects)
}

// Reserve implements Counter. A reservation made in process (Redis was
// down) is remembered, so that its settle releases it there.
func (f *Failover) Reserve(ctx context.Context, now time.Time, subjects []Subject, r Reservation) (Decision, error) {
	if f.up.Load() {
		d, err := f.Redis.Reserve(ctx, now, subjects, r)
		if err == nil || ctx.Err() != nil || errors.Is(err, ErrSpendSource) {
			return d, err
		}
		f.set(false, err)
	}
	d, err := f.Local.Reserve(ctx, now, subjects, r)
	if err == nil && d.Allowed {
		f.mu.Lock()
		f.local[r.ID] = struct{}{}
		f.mu.Unlock()
	}
	return d, err
}

// Settle implements Counter. A reservation held in Redis that cannot be
// settled there (Redis went down meanwhile) lapses after its TTL; its
// cost is counted in process.
func (f *Failover) Settle(ctx context.Context, now time.Time, subjects []Subject, r Reservation, tokens, cost int64) error {
	f.mu.Lock()
	_, local := f.local[r.ID]
	delete(f.local, r.ID)
	f.mu.Unlock()
	if !local && f.up.Load() {
		err := f.Redis.Settle(ctx, now, subjects, r, tokens, cost)
		if err == nil || ctx.Err() != nil {
			return err
		}
		f.set(false, err)
	}
	return f.Local.Settle(ctx, now, subjects, r, tokens, cost)
}

// Spent implements Counter.
func (f *Failover) Spent(ctx context.Context, now time.Time, s Subject) (int64, error) {
	if f.up.Load() {
		v, err := f.Redis.Spent(ctx, now, s)
		if err == nil || ctx.Err() != nil || errors.Is(err, ErrSpendSource) {
			return v, err
		}
		f.set(false, err)
	}
	return f.Local.Spent(ctx, now, s)
}
