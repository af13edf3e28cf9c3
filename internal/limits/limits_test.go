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
				d, err := c.Admit(t.Context(), now, fmt.Sprint("req", i), []limits.Subject{key(store.Limits{RPM: limit})})
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
			d, err := c.Admit(t.Context(), now, fmt.Sprint(i), s)
			if err != nil || !d.Allowed || d.LimitRequests != 3 || d.RemainingRequests != wantRem || d.LimitTokens != 0 {
				t.Errorf("request %d: %+v, %v", i, d, err)
			}
		}
		d, _ := c.Admit(t.Context(), now, "x", s)
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
		d, err := c.Admit(t.Context(), t0.Add(at), fmt.Sprint(at), s)
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

// res is a reservation of tokens and cost.
func res(id string, tokens, cost int64) limits.Reservation {
	return limits.Reservation{ID: id, Tokens: tokens, Cost: cost}
}

// The TPM log holds what requests reserved until they settle, and what they
// used after. (This replaces a test of the token bucket it was before.)
func TestTPMReserveAndSettle(t *testing.T) {
	counters(t, func(t *testing.T, c limits.Counter, _ *fakeSpend) {
		now := time.Now()
		s := []limits.Subject{key(store.Limits{TPM: 1000})}
		for i := range 2 {
			if d, err := c.Reserve(t.Context(), now, s, res(fmt.Sprint(i), 400, 0)); err != nil || !d.Allowed {
				t.Fatalf("request %d: %+v, %v", i, d, err)
			}
		}
		d, err := c.Reserve(t.Context(), now, s, res("3", 400, 0))
		if err != nil || d.Allowed || d.Refused != limits.Tokens || d.RetryAfter <= 0 || d.RetryAfter > limits.Window || d.LimitTokens != 1000 {
			t.Fatalf("third: %+v, %v", d, err)
		}
		// Both used 100 tokens, not 400: 600 come back.
		for i := range 2 {
			if err := c.Settle(t.Context(), now, s, res(fmt.Sprint(i), 400, 0), 100, 0); err != nil {
				t.Fatal(err)
			}
		}
		d, err = c.Reserve(t.Context(), now, s, res("4", 400, 0))
		if err != nil || !d.Allowed || d.RemainingTokens != 1000-200-400 {
			t.Fatalf("after settling: %+v, %v", d, err)
		}
		// A request larger than the whole limit passes when the window is
		// empty, rather than never.
		big := []limits.Subject{{ID: "key:big", Limits: store.Limits{TPM: 100}}}
		if d, err := c.Reserve(t.Context(), now, big, res("5", 5000, 0)); err != nil || !d.Allowed {
			t.Fatalf("oversized request on an empty window: %+v, %v", d, err)
		}
		if d, _ := c.Reserve(t.Context(), now, big, res("6", 1, 0)); d.Allowed {
			t.Fatalf("the window is over its limit: %+v", d)
		}
	})
}

// TPM is a cap on the tokens admitted in any minute. Requests of 100
// tokens arrive every second against a TPM of 500: exactly 5 pass in any
// 60 s. The token bucket this replaces started full and refilled as it
// went, and let 10 through in the first minute.
func TestTPMSlidingWindow(t *testing.T) {
	c := limits.NewLocal(nil) // Redis uses its own clock
	t0 := time.Now()
	s := []limits.Subject{key(store.Limits{TPM: 500})}
	var admitted []int
	for sec := range 180 {
		now := t0.Add(time.Duration(sec) * time.Second)
		r := res(fmt.Sprint(sec), 100, 0)
		d, err := c.Reserve(t.Context(), now, s, r)
		if err != nil {
			t.Fatal(err)
		}
		if d.Allowed {
			admitted = append(admitted, sec)
			c.Settle(t.Context(), now, s, r, 100, 0)
		}
	}
	for i := range admitted {
		n := 0
		for _, a := range admitted[i:] {
			if a < admitted[i]+60 {
				n++
			}
		}
		if n > 5 {
			t.Fatalf("%d requests of 100 tokens admitted in the 60 s from second %d (TPM 500): %v", n, admitted[i], admitted)
		}
	}
	if len(admitted) != 15 {
		t.Errorf("admitted %d in 3 minutes, want 15: %v", len(admitted), admitted)
	}
}

// Under concurrency a TPM limit admits exactly what fits.
func TestTPMExactUnderConcurrency(t *testing.T) {
	counters(t, func(t *testing.T, c limits.Counter, _ *fakeSpend) {
		var admitted atomic.Int64
		var wg sync.WaitGroup
		now := time.Now()
		s := []limits.Subject{key(store.Limits{TPM: 500})}
		for i := range 50 {
			wg.Go(func() {
				d, err := c.Reserve(t.Context(), now, s, res(fmt.Sprint("r", i), 60, 0))
				if err != nil {
					t.Error(err)
				}
				if d.Allowed {
					admitted.Add(1)
				}
			})
		}
		wg.Wait()
		if got := admitted.Load(); got != 500/60 {
			t.Errorf("admitted %d requests of 60 tokens on a TPM of 500, want %d", got, 500/60)
		}
	})
}

func TestBudget(t *testing.T) {
	counters(t, func(t *testing.T, c limits.Counter, spend *fakeSpend) {
		now := time.Now()
		spend.v = map[string]int64{"key:k1": 900}
		s := []limits.Subject{key(store.Limits{Budget: 1000, BudgetPeriod: "day"})}
		if d, err := c.Reserve(t.Context(), now, s, res("1", 0, 50)); err != nil || !d.Allowed {
			t.Fatalf("under budget: %+v, %v", d, err)
		}
		if err := c.Settle(t.Context(), now, s, res("1", 0, 50), 0, 100); err != nil {
			t.Fatal(err)
		}
		if v, err := c.Spent(t.Context(), now, s[0]); err != nil || v != 1000 {
			t.Errorf("Spent = %d, %v; want the seed 900 + 100", v, err)
		}
		d, err := c.Reserve(t.Context(), now, s, res("2", 0, 0))
		if err != nil || d.Allowed || d.Refused != limits.Budget || d.Held || d.RetryAfter != 0 {
			t.Errorf("at budget: %+v, %v", d, err)
		}
		if spend.calls != 1 {
			t.Errorf("the spend source was read %d times, want once", spend.calls)
		}
		// Raising the budget lets it pass.
		s[0].Limits.Budget = 2000
		if d, _ := c.Reserve(t.Context(), now, s, res("3", 0, 0)); !d.Allowed {
			t.Errorf("after raising the budget: %+v", d)
		}
	})
}

// Reservations in flight hold a budget as if spent: 50 concurrent requests
// that may each cost 100 against a budget of 1000 admit exactly 10.
// Counting only what was spent, as before, admitted all 50.
func TestBudgetHardCapUnderConcurrency(t *testing.T) {
	counters(t, func(t *testing.T, c limits.Counter, _ *fakeSpend) {
		now := time.Now()
		s := []limits.Subject{key(store.Limits{Budget: 1000, BudgetPeriod: "month"})}
		var mu sync.Mutex
		var admitted []limits.Reservation
		var wg sync.WaitGroup
		for i := range 50 {
			wg.Go(func() {
				r := res(fmt.Sprint("r", i), 0, 100)
				d, err := c.Reserve(t.Context(), now, s, r)
				if err != nil {
					t.Error(err)
					return
				}
				if d.Allowed {
					mu.Lock()
					admitted = append(admitted, r)
					mu.Unlock()
				} else if d.Refused != limits.Budget || !d.Held || d.RetryAfter <= 0 {
					t.Errorf("refusal %+v, want the budget held by requests in flight", d)
				}
			})
		}
		wg.Wait()
		if len(admitted) != 10 {
			t.Fatalf("admitted %d, want 10", len(admitted))
		}
		// They cost 80 each, not 100: 800 spent, room for two more.
		for _, r := range admitted {
			if err := c.Settle(t.Context(), now, s, r, 0, 80); err != nil {
				t.Fatal(err)
			}
		}
		for i, want := range []bool{true, true, false} {
			if d, _ := c.Reserve(t.Context(), now, s, res(fmt.Sprint("after", i), 0, 100)); d.Allowed != want {
				t.Errorf("after settling, request %d: %+v, want allowed %v", i, d, want)
			}
		}
	})
}

// A request dearer than what is left of a budget passes when nothing else
// is in flight, so that a budget can always be used up: the overshoot is
// bounded by that one request.
func TestBudgetLastRequest(t *testing.T) {
	counters(t, func(t *testing.T, c limits.Counter, spend *fakeSpend) {
		now := time.Now()
		spend.v = map[string]int64{"key:k1": 950}
		s := []limits.Subject{key(store.Limits{Budget: 1000, BudgetPeriod: "day"})}
		if d, _ := c.Reserve(t.Context(), now, s, res("a", 0, 500)); !d.Allowed {
			t.Fatalf("the only request in flight: %+v", d)
		}
		if d, _ := c.Reserve(t.Context(), now, s, res("b", 0, 1)); d.Allowed || !d.Held {
			t.Fatalf("a second one: %+v", d)
		}
		c.Settle(t.Context(), now, s, res("a", 0, 500), 0, 30)
		if d, _ := c.Reserve(t.Context(), now, s, res("c", 0, 500)); !d.Allowed {
			t.Fatalf("after it settled at 980 of 1000: %+v", d)
		}
	})
}

// A reservation that is never settled (its replica crashed) lapses after
// its TTL.
func TestReservationExpires(t *testing.T) {
	s := []limits.Subject{key(store.Limits{Budget: 1000, BudgetPeriod: "month"})}
	t.Run("Local", func(t *testing.T) {
		c := limits.NewLocal(nil)
		c.TTL = 5 * time.Minute
		t0 := time.Now()
		c.Reserve(t.Context(), t0, s, res("lost", 0, 1000))
		if d, _ := c.Reserve(t.Context(), t0.Add(time.Minute), s, res("b", 0, 1)); d.Allowed {
			t.Fatalf("while held: %+v", d)
		}
		if d, _ := c.Reserve(t.Context(), t0.Add(6*time.Minute), s, res("c", 0, 1)); !d.Allowed {
			t.Fatalf("after the TTL: %+v", d)
		}
	})
	t.Run("Redis", func(t *testing.T) {
		_, prefix, rdb := testenv.Redis(t)
		c := limits.NewRedis(rdb, prefix, nil)
		c.TTL = 200 * time.Millisecond
		c.Reserve(t.Context(), time.Now(), s, res("lost", 0, 1000))
		if d, _ := c.Reserve(t.Context(), time.Now(), s, res("b", 0, 1)); d.Allowed {
			t.Fatalf("while held: %+v", d)
		}
		time.Sleep(300 * time.Millisecond) // Redis's clock decides
		if d, _ := c.Reserve(t.Context(), time.Now(), s, res("c", 0, 1)); !d.Allowed {
			t.Fatalf("after the TTL: %+v", d)
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
			d, err := c.Admit(t.Context(), now, fmt.Sprint(i), []limits.Subject{k, team})
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
			if d, _ := c.Admit(t.Context(), now, fmt.Sprint("b", i), []limits.Subject{k}); d.Allowed {
				alone++
			}
		}
		if alone != 8 {
			t.Errorf("key alone admitted %d more, want 8", alone)
		}
		// Reservations likewise: the team's budget refuses, and the key's
		// TPM holds nothing.
		kt := limits.Subject{ID: "key:c", Limits: store.Limits{TPM: 100}}
		tb := limits.Subject{ID: "team:u", Limits: store.Limits{Budget: 10}}
		c.Reserve(t.Context(), now, []limits.Subject{kt, tb}, res("x", 10, 10))
		if d, _ := c.Reserve(t.Context(), now, []limits.Subject{kt, tb}, res("y", 10, 10)); d.Allowed || d.Subject != 1 || d.Refused != limits.Budget {
			t.Errorf("refused by %+v, want the team's budget", d)
		}
		if d, _ := c.Reserve(t.Context(), now, []limits.Subject{kt}, res("z", 90, 0)); !d.Allowed {
			t.Errorf("the key's TPM counted a refused reservation: %+v", d)
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
	b := []limits.Subject{{ID: "key:b", Limits: store.Limits{Budget: 100}}}
	if d, err := f.Reserve(t.Context(), time.Now(), b, res("held", 0, 100)); err != nil || !d.Allowed {
		t.Fatalf("degraded reserve: %+v, %v", d, err)
	}
	if d, err := f.Admit(t.Context(), time.Now(), "a", s); err != nil || !d.Allowed {
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
	if d, err := f.Admit(t.Context(), time.Now(), "b", s); err != nil || !d.Allowed {
		t.Fatalf("admit after recovery: %+v, %v", d, err)
	}
	// The reservation made in process is released there, though Redis is
	// back.
	if err := f.Settle(t.Context(), time.Now(), b, res("held", 0, 100), 0, 10); err != nil {
		t.Fatal(err)
	}
	if d, _ := f.Local.Reserve(t.Context(), time.Now(), b, res("next", 0, 90)); !d.Allowed {
		t.Errorf("the in-process reservation was not released: %+v", d)
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
	c.Reserve(t.Context(), day1, s, res("a", 0, 10))
	c.Settle(t.Context(), day1, s, res("a", 0, 10), 0, 100)
	if d, _ := c.Reserve(t.Context(), day1, s, res("b", 0, 0)); d.Allowed {
		t.Fatal("over budget on day 1")
	}
	day2 := day1.Add(2 * time.Minute)
	if d, _ := c.Reserve(t.Context(), day2, s, res("c", 0, 0)); !d.Allowed {
		t.Error("refused on day 2: the budget did not renew")
	}
	if v, _ := c.Spent(t.Context(), day2, s[0]); v != 0 {
		t.Errorf("day 2 spend %d", v)
	}
	if spend.calls != 2 {
		t.Errorf("spend source read %d times, want once per period", spend.calls)
	}
}
