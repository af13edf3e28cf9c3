package limits

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis counts in Redis, shared by every replica. Each Admit and Settle is
// one Lua script, so concurrent replicas never admit more than a limit
// allows. Counters live under Prefix (replicas of one deployment share it;
// tests use one per test).
//
// The keys of one request are not in one hash slot; this targets a single
// Redis (with replicas for failover), not Redis Cluster.
type Redis struct {
	rdb    redis.UniversalClient
	prefix string
	spend  SpendSource
}

// NewRedis returns a Counter over rdb; spend seeds budget counters that
// Redis does not have (nil: from zero).
func NewRedis(rdb redis.UniversalClient, prefix string, spend SpendSource) *Redis {
	return &Redis{rdb: rdb, prefix: prefix, spend: spend}
}

// ErrSpendSource wraps a failure of the SpendSource, to tell it apart from
// a failure of Redis.
var ErrSpendSource = errors.New("spend source failed")

//go:embed admit.lua
var admitLua string

//go:embed settle.lua
var settleLua string

var (
	admitScript  = redis.NewScript(admitLua)
	settleScript = redis.NewScript(settleLua)
)

// keys returns the RPM window, TPM bucket and budget counter keys of s.
func (r *Redis) keys(s Subject, now time.Time) (rpm, tpm, spent string, start, end time.Time) {
	start, end, name := Period(s.Limits.BudgetPeriod, now)
	return r.prefix + "rpm:" + s.ID, r.prefix + "tpm:" + s.ID, r.prefix + "spend:" + s.ID + ":" + name, start, end
}

// spendTTL keeps a period's counter a day past its end, for reports that
// straddle it; "total" never expires.
func spendTTL(end, now time.Time) int64 {
	if end.IsZero() {
		return 0
	}
	return end.Add(24 * time.Hour).Sub(now).Milliseconds()
}

// Admit implements Counter.
func (r *Redis) Admit(ctx context.Context, now time.Time, member string, subjects []Subject, estimate int64) (Decision, error) {
	keys := make([]string, 0, 3*len(subjects))
	args := []any{now.UnixMilli(), member, estimate, Window.Milliseconds()}
	for _, s := range subjects {
		rpm, tpm, spent, _, _ := r.keys(s, now)
		keys = append(keys, rpm, tpm, spent)
		args = append(args, s.Limits.RPM, s.Limits.TPM, s.Limits.Budget)
	}
	for try := 0; ; try++ {
		res, err := admitScript.Run(ctx, r.rdb, keys, args...).Int64Slice()
		if err != nil {
			return Decision{}, fmt.Errorf("limits: redis admit: %w", err)
		}
		if res[0] == -1 {
			// A budget counter Redis does not have: seed it from the
			// request log and try again.
			if try == 3 {
				return Decision{}, errors.New("limits: redis budget counter vanished while seeding")
			}
			if err := r.seed(ctx, now, subjects[res[1]]); err != nil {
				return Decision{}, err
			}
			continue
		}
		d := Decision{Allowed: res[0] == 1, Refused: Kind(res[2]), Subject: int(res[1]), RetryAfter: time.Duration(res[3]) * time.Millisecond}
		d.LimitRequests, d.RemainingRequests, d.ResetRequests = res[4], res[5], time.Duration(res[6])*time.Millisecond
		d.LimitTokens, d.RemainingTokens, d.ResetTokens = res[7], res[8], time.Duration(res[9])*time.Millisecond
		return d, nil
	}
}

// seed sets a subject's budget counter from the spend source unless it
// exists (another replica may have seeded it, or counted since).
func (r *Redis) seed(ctx context.Context, now time.Time, s Subject) error {
	_, _, key, start, end := r.keys(s, now)
	var v int64
	if r.spend != nil {
		var err error
		if v, err = r.spend(ctx, s.ID, start); err != nil {
			return fmt.Errorf("limits: seed budget of %s: %w: %w", s.ID, ErrSpendSource, err)
		}
	}
	ttl := time.Duration(spendTTL(end, now)) * time.Millisecond
	if err := r.rdb.SetNX(ctx, key, v, ttl).Err(); err != nil {
		return fmt.Errorf("limits: redis seed: %w", err)
	}
	return nil
}

// Settle implements Counter.
func (r *Redis) Settle(ctx context.Context, now time.Time, subjects []Subject, estimate, actual, cost int64) error {
	keys := make([]string, 0, 2*len(subjects))
	args := []any{now.UnixMilli(), estimate - actual, cost, Window.Milliseconds()}
	for _, s := range subjects {
		_, tpm, spent, _, end := r.keys(s, now)
		keys = append(keys, tpm, spent)
		args = append(args, s.Limits.TPM, s.Limits.Budget, spendTTL(end, now))
	}
	if err := settleScript.Run(ctx, r.rdb, keys, args...).Err(); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("limits: redis settle: %w", err)
	}
	return nil
}

// Spent implements Counter.
func (r *Redis) Spent(ctx context.Context, now time.Time, s Subject) (int64, error) {
	if s.Limits.Budget <= 0 {
		return 0, nil
	}
	_, _, key, _, _ := r.keys(s, now)
	v, err := r.rdb.Get(ctx, key).Int64()
	if errors.Is(err, redis.Nil) {
		if err := r.seed(ctx, now, s); err != nil {
			return 0, err
		}
		v, err = r.rdb.Get(ctx, key).Int64()
	}
	if err != nil {
		return 0, fmt.Errorf("limits: redis spent: %w", err)
	}
	return v, nil
}
