package limits

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis counts in Redis, shared by every replica. Each Admit, Reserve and
// Settle is one Lua script, so concurrent replicas never admit more than a
// limit allows. Counters live under Prefix (replicas of one deployment
// share it; tests use one per test).
//
// The keys of one request are not in one hash slot; this targets a single
// Redis (with replicas for failover), not Redis Cluster.
type Redis struct {
	// TTL is how long a reservation whose replica never settles it (it
	// crashed) holds its room: DefaultReservationTTL when zero. Set it
	// longer than the longest request.
	TTL time.Duration

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

var (
	//go:embed admit.lua
	admitLua string
	//go:embed reserve.lua
	reserveLua string
	//go:embed settle.lua
	settleLua string

	admitScript   = redis.NewScript(admitLua)
	reserveScript = redis.NewScript(reserveLua)
	settleScript  = redis.NewScript(settleLua)
)

func (r *Redis) ttl() time.Duration {
	if r.TTL > 0 {
		return r.TTL
	}
	return DefaultReservationTTL
}

// spentKey returns the key of s's budget counter for the period of now,
// and the period's bounds.
func (r *Redis) spentKey(s Subject, now time.Time) (key string, start, end time.Time) {
	start, end, name := Period(s.Limits.BudgetPeriod, now)
	return r.prefix + "spend:" + s.ID + ":" + name, start, end
}

// reserveKeys returns the five keys of s that reserve.lua and settle.lua
// take.
func (r *Redis) reserveKeys(s Subject, now time.Time) []string {
	spent, _, _ := r.spentKey(s, now)
	p := r.prefix
	return []string{p + "tpml:" + s.ID, p + "tpms:" + s.ID, spent, p + "held:" + s.ID, p + "helds:" + s.ID}
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
func (r *Redis) Admit(ctx context.Context, now time.Time, id string, subjects []Subject) (Decision, error) {
	var keys []string
	args := []any{id, Window.Milliseconds()}
	for _, s := range subjects {
		if s.Limits.RPM > 0 {
			keys = append(keys, r.prefix+"rpm:"+s.ID)
			args = append(args, s.Limits.RPM)
		}
	}
	if len(keys) == 0 {
		return Decision{Allowed: true}, nil
	}
	res, err := admitScript.Run(ctx, r.rdb, keys, args...).Int64Slice()
	if err != nil {
		return Decision{}, fmt.Errorf("limits: redis admit: %w", err)
	}
	d := Decision{Allowed: res[0] == 1, RetryAfter: time.Duration(res[2]) * time.Millisecond}
	if !d.Allowed {
		d.Refused, d.Subject = Requests, rpmSubject(subjects, int(res[1]))
	}
	d.LimitRequests, d.RemainingRequests, d.ResetRequests = res[3], res[4], time.Duration(res[5])*time.Millisecond
	return d, nil
}

// rpmSubject maps an index among the subjects with an RPM limit back to
// an index among all subjects.
func rpmSubject(subjects []Subject, i int) int {
	for j, s := range subjects {
		if s.Limits.RPM > 0 {
			if i == 0 {
				return j
			}
			i--
		}
	}
	return 0
}

// Reserve implements Counter.
func (r *Redis) Reserve(ctx context.Context, now time.Time, subjects []Subject, res Reservation) (Decision, error) {
	if !reserves(subjects) {
		return Decision{Allowed: true}, nil
	}
	keys := make([]string, 0, 5*len(subjects))
	args := []any{res.ID, res.Tokens, res.Cost, Window.Milliseconds(), r.ttl().Milliseconds()}
	for _, s := range subjects {
		keys = append(keys, r.reserveKeys(s, now)...)
		args = append(args, s.Limits.TPM, s.Limits.Budget)
	}
	for try := 0; ; try++ {
		out, err := reserveScript.Run(ctx, r.rdb, keys, args...).Int64Slice()
		if err != nil {
			return Decision{}, fmt.Errorf("limits: redis reserve: %w", err)
		}
		if out[0] == -1 {
			// A budget counter Redis does not have: seed it from the
			// request log and try again.
			if try == 3 {
				return Decision{}, errors.New("limits: redis budget counter vanished while seeding")
			}
			if err := r.seed(ctx, now, subjects[out[1]]); err != nil {
				return Decision{}, err
			}
			continue
		}
		d := Decision{Allowed: out[0] == 1, Subject: int(out[1]), Refused: Kind(out[2]),
			RetryAfter: time.Duration(out[3]) * time.Millisecond, Held: out[4] == 1}
		d.LimitTokens, d.RemainingTokens, d.ResetTokens = out[5], out[6], time.Duration(out[7])*time.Millisecond
		return d, nil
	}
}

// seed sets a subject's budget counter from the spend source unless it
// exists (another replica may have seeded it, or counted since).
func (r *Redis) seed(ctx context.Context, now time.Time, s Subject) error {
	key, start, end := r.spentKey(s, now)
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
func (r *Redis) Settle(ctx context.Context, now time.Time, subjects []Subject, res Reservation, tokens, cost int64) error {
	keys := make([]string, 0, 5*len(subjects))
	args := []any{res.ID, strconv.FormatInt(res.Tokens, 10), strconv.FormatInt(res.Cost, 10), tokens, cost}
	for _, s := range subjects {
		keys = append(keys, r.reserveKeys(s, now)...)
		ttl := int64(-1)
		if s.Limits.Budget > 0 {
			_, _, end := r.spentKey(s, now)
			ttl = spendTTL(end, now)
		}
		args = append(args, ttl)
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
	key, _, _ := r.spentKey(s, now)
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
