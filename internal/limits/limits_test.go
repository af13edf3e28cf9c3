package limits_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchyard-ai/switchyard/internal/limits"
	"github.com/switchyard-ai/switchyard/internal/store"
	"github.com/switchyard-ai/switchyard/internal/testenv"
)

// counters runs a test against every Counter: in process, and in Redis.
func counters(t *testing.T, fn func(t *testing.T, c limits.Counter, spend *fakeSpend)) {
	t.Run("Local", func(t *testing.T) {
		spend := &fakeSpend{}
		fn(t, limits.NewLocal(spend.get), spend)
	})
	t.Run("Redis", func(t *testing.T) {
		_, prefix, rdb := testenv.Redis(t)
		spend := &fakeSpend{}
		fn(t, limits.NewRedis(rdb, prefix, spend.get), spend)
	})
}

// fakeSpend is the request log's record of spend.
type fakeSpend struct {
	mu    sync.Mutex
	v     map[string]int64
	calls int
}

func (f *fakeSpend) get(ctx context.Context, id string, since time.Time) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	return f.v[id], nil
}

func key(l store.Limits) limits.Subject { return limits.Subject{ID: "key:k1", Limits: l} }

func TestRPMExactUnderConcurrency(t *testing.T) {
	counters(t, func(t *testing.T, c limits.Counter, _ *fakeSpend) {
		const limit, tries = 17, 100
		var admitted atomic.Int64
		var wg sync.WaitGroup
		now := time.Now()
		for i := range tries {
			wg.Go(func() {
				d, err := c.Admit(t.Context(), now, fmt.Sprint("req", i), []limits.Subject{key(store.Limits{RPM: limit})}, 0)
				if err != nil {
					t.Error(err)
				}
				if d.Allowed {
					admitted.Add(1)
				} else if d.Refused != limits.Requests || d.RetryAfter <= 0 || d.RetryAfter > time.Minute {
					t.Errorf("refusal %+v", d)
				}
			})
		}
		wg.Wait()
		if got := admitted.Load(); got != limit {
			t.Errorf("admitted %d of %d with RPM %d", got, tries, limit)
		}
	})
}

func TestRPMHeaders(t *testing.T) {
	counters(t, func(t *testing.T, c limits.Counter, _ *fakeSpend) {
		now := time.Now()
		s := []limits.Subject{key(store.Limits{RPM: 3})}
		for i, wantRem := range []int64{2, 1, 0} {
			d, err := c.Admit(t.Context(), now, fmt.Sprint(i), s, 0)
			if err != nil || !d.Allowed || d.LimitRequests != 3 || d.RemainingRequests != wantRem || d.LimitTokens != 0 {
				t.Errorf("request %d: %+v, %v", i, d, err)
			}
		}
		d, _ := c.Admit(t.Context(), now, "x", s, 0)
		if d.Allowed || d.RemainingRequests != 0 || d.ResetRequests <= 0 {
			t.Errorf("4th: %+v", d)
		}
	})
}

func TestRPMWindowSlides(t *testing.T) {
	// Only Local: Redis uses its own clock.
	c := limits.NewLocal(nil)
	t0 := time.Now()
	s := []limits.Subject{key(store.Limits{RPM: 2})}
	admit := func(at time.Duration) limits.Decision {
		d, err := c.Admit(t.Context(), t0.Add(at), fmt.Sprint(at), s, 0)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	admit(0)
	admit(10 * time.Second)
	if d := admit(30 * time.Second); d.Allowed || d.RetryAfter != 30*time.Second {
		t.Errorf("third in the window: %+v, want refused for 30s", d)
	}
	if d := admit(60*time.Second + time.Millisecond); !d.Allowed {
		t.Errorf("after the first left the window: %+v", d)
	}
	if d := admit(65 * time.Second); d.Allowed || d.RetryAfter != 5*time.Second {
		t.Errorf("the second is still in the window: %+v", d)
	}
}

func TestTPMEstimateAndSettle(t *testing.T) {
	counters(t, func(t *testing.T, c limits.Counter, _ *fakeSpend) {
		now := time.Now()
		s := []limits.Subject{key(store.Limits{TPM: 1000})}
		for i := range 2 {
			if d, err := c.Admit(t.Context(), now, fmt.Sprint(i), s, 400); err != nil || !d.Allowed {
				t.Fatalf("request %d: %+v, %v", i, d, err)
			}
		}
		d, err := c.Admit(t.Context(), now, "3", s, 400)
		if err != nil || d.Allowed || d.Refused != limits.Tokens || d.RetryAfter <= 0 || d.LimitTokens != 1000 {
			t.Fatalf("third: %+v, %v", d, err)
		}
		// Both used 100 tokens, not 400: 600 come back.
		for range 2 {
			if err := c.Settle(t.Context(), now, s, 400, 100, 0); err != nil {
				t.Fatal(err)
			}
		}
		if d, err := c.Admit(t.Context(), now, "4", s, 400); err != nil || !d.Allowed {
			t.Fatalf("after settling: %+v, %v", d, err)
		}
		// A request larger than the whole limit passes when the bucket
		// is full, rather than never.
		big := []limits.Subject{{ID: "key:big", Limits: store.Limits{TPM: 100}}}
		if d, err := c.Admit(t.Context(), now, "5", big, 5000); err != nil || !d.Allowed {
			t.Fatalf("oversized request on a full bucket: %+v, %v", d, err)
		}
		if d, _ := c.Admit(t.Context(), now, "6", big, 1); d.Allowed {
			t.Fatalf("the bucket is in debt: %+v", d)
		}
	})
}

func TestBudget(t *testing.T) {
	counters(t, func(t *testing.T, c limits.Counter, spend *fakeSpend) {
		now := time.Now()
		spend.v = map[string]int64{"key:k1": 900}
		s := []limits.Subject{key(store.Limits{Budget: 1000, BudgetPeriod: "day"})}
		if d, err := c.Admit(t.Context(), now, "1", s, 0); err != nil || !d.Allowed {
			t.Fatalf("under budget: %+v, %v", d, err)
		}
		if err := c.Settle(t.Context(), now, s, 0, 0, 100); err != nil {
			t.Fatal(err)
		}
		if v, err := c.Spent(t.Context(), now, s[0]); err != nil || v != 1000 {
			t.Errorf("Spent = %d, %v; want the seed 900 + 100", v, err)
		}
		d, err := c.Admit(t.Context(), now, "2", s, 0)
		if err != nil || d.Allowed || d.Refused != limits.Budget {
			t.Errorf("at budget: %+v, %v", d, err)
		}
		if spend.calls != 1 {
			t.Errorf("the spend source was read %d times, want once", spend.calls)
		}
		// Raising the budget lets it pass.
		s[0].Limits.Budget = 2000
		if d, _ := c.Admit(t.Context(), now, "3", s, 0); !d.Allowed {
			t.Errorf("after raising the budget: %+v", d)
		}
	})
}

// A request refused by one subject is counted against none.
func TestAllOrNothing(t *testing.T) {
	counters(t, func(t *testing.T, c limits.Counter, _ *fakeSpend) {
		now := time.Now()
		k := limits.Subject{ID: "key:a", Limits: store.Limits{RPM: 10}}
		team := limits.Subject{ID: "team:t", Limits: store.Limits{RPM: 2}}
		admitted := 0
		for i := range 5 {
			d, err := c.Admit(t.Context(), now, fmt.Sprint(i), []limits.Subject{k, team}, 0)
			if err != nil {
				t.Fatal(err)
			}
			if d.Allowed {
				admitted++
			} else if d.Subject != 1 || d.Refused != limits.Requests {
				t.Errorf("refused by %+v, want the team's RPM", d)
			}
		}
		if admitted != 2 {
			t.Errorf("admitted %d, want the team's 2", admitted)
		}
		// The key alone still has 8 of its 10: the refusals were not
		// counted against it.
		alone := 0
		for i := range 10 {
			if d, _ := c.Admit(t.Context(), now, fmt.Sprint("b", i), []limits.Subject{k}, 0); d.Allowed {
				alone++
			}
		}
		if alone != 8 {
			t.Errorf("key alone admitted %d more, want 8", alone)
		}
	})
}

func TestPeriod(t *testing.T) {
	now := time.Date(2026, 2, 28, 23, 0, 0, 0, time.FixedZone("X", -3600)) // March 1st, 00:00 UTC
	for _, tc := range []struct{ p, start, name string }{
		{"day", "2026-03-01", "d20260301"}, {"month", "2026-03-01", "m202603"}, {"", "2026-03-01", "m202603"}, {"total", "0001-01-01", "total"},
	} {
		start, _, name := limits.Period(tc.p, now)
		if start.Format("2006-01-02") != tc.start || name != tc.name {
			t.Errorf("Period(%q) = %v, %s", tc.p, start, name)
		}
	}
}

// Losing Redis degrades to per-replica counting, and Redis is used again
// once it answers.
func TestFailover(t *testing.T) {
	_, prefix, rdb := testenv.Redis(t)
	// A client of a Redis that does not exist, switched to the real one
	// by its dialer.
	var real atomic.Bool
	down := redis.NewClient(&redis.Options{Addr: "unused", MaxRetries: -1, DialTimeout: 100 * time.Millisecond,
		Dialer: func(ctx context.Context, network, addr string) (conn netConn, err error) {
			if !real.Load() {
				return nil, fmt.Errorf("connection refused")
			}
			return dialer(ctx, rdb.Options().Addr)
		}})
	defer down.Close()
	f := limits.NewFailover(down, limits.NewRedis(down, prefix, nil), limits.NewLocal(nil), 50*time.Millisecond, slog.New(slog.DiscardHandler))
	defer f.Close()
	if f.Up() {
		t.Fatal("up before Redis answered")
	}
	s := []limits.Subject{key(store.Limits{RPM: 1})}
	if d, err := f.Admit(t.Context(), time.Now(), "a", s, 0); err != nil || !d.Allowed {
		t.Fatalf("degraded admit: %+v, %v", d, err)
	}
	real.Store(true)
	deadline := time.Now().Add(5 * time.Second)
	for !f.Up() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !f.Up() {
		t.Fatal("did not recover")
	}
	// Redis has not seen the degraded request: one more passes there.
	if d, err := f.Admit(t.Context(), time.Now(), "b", s, 0); err != nil || !d.Allowed {
		t.Fatalf("admit after recovery: %+v, %v", d, err)
	}
	if n := rdb.ZCard(t.Context(), prefix+"rpm:key:k1").Val(); n != 1 {
		t.Errorf("Redis window holds %d requests, want 1", n)
	}
}

// A new period starts from the request log's spend in it, and the last
// period's counter is forgotten.
func TestBudgetNewPeriod(t *testing.T) {
	spend := &fakeSpend{}
	c := limits.NewLocal(spend.get)
	s := []limits.Subject{key(store.Limits{Budget: 100, BudgetPeriod: "day"})}
	day1 := time.Date(2026, 3, 1, 23, 59, 0, 0, time.UTC)
	c.Admit(t.Context(), day1, "a", s, 0)
	c.Settle(t.Context(), day1, s, 0, 0, 100)
	if d, _ := c.Admit(t.Context(), day1, "b", s, 0); d.Allowed {
		t.Fatal("over budget on day 1")
	}
	day2 := day1.Add(2 * time.Minute)
	if d, _ := c.Admit(t.Context(), day2, "c", s, 0); !d.Allowed {
		t.Error("refused on day 2: the budget did not renew")
	}
	if v, _ := c.Spent(t.Context(), day2, s[0]); v != 0 {
		t.Errorf("day 2 spend %d", v)
	}
	if spend.calls != 2 {
		t.Errorf("spend source read %d times, want once per period", spend.calls)
	}
}
