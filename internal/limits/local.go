package limits

import (
	"context"
	"math"
	"strings"
	"sync"
	"time"
)

// Local counts in this process: exact for one node, per replica for many.
type Local struct {
	spend SpendSource

	mu      sync.Mutex
	windows map[string]*window // RPM, by subject
	buckets map[string]*bucket // TPM, by subject
	spent   map[string]int64   // by subject and period name
	swept   time.Time
}

// window holds the admission times of the last Window, oldest first.
type window struct{ times []time.Time }

// bucket is a token bucket of capacity TPM refilled at TPM per minute.
type bucket struct {
	tokens   float64
	at       time.Time
	capacity int64
}

// NewLocal returns an in-process Counter; spend seeds budget counters
// (nil: from zero).
func NewLocal(spend SpendSource) *Local {
	return &Local{spend: spend, windows: map[string]*window{}, buckets: map[string]*bucket{}, spent: map[string]int64{}}
}

func (w *window) trim(now time.Time) {
	i := 0
	for i < len(w.times) && !w.times[i].After(now.Add(-Window)) {
		i++
	}
	w.times = w.times[i:]
}

func (b *bucket) refill(now time.Time, capacity int64) {
	if el := now.Sub(b.at); el > 0 {
		b.tokens = math.Min(float64(capacity), b.tokens+float64(capacity)*el.Seconds()/Window.Seconds())
	}
	b.at = now
}

// refillTime converts a token deficit into the time to refill it.
func refillTime(deficit float64, capacity int64) time.Duration {
	if deficit <= 0 {
		return 0
	}
	return time.Duration(math.Ceil(deficit / float64(capacity) * float64(Window)))
}

// Admit implements Counter.
func (l *Local) Admit(ctx context.Context, now time.Time, member string, subjects []Subject, estimate int64) (Decision, error) {
	// Seed budget counters outside the lock: it may query the store.
	names := make([]string, len(subjects))
	for i, s := range subjects {
		if s.Limits.Budget > 0 {
			var err error
			if names[i], err = l.seed(ctx, now, s); err != nil {
				return Decision{}, err
			}
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	d := Decision{Allowed: true}
	refuse := func(k Kind, i int, after time.Duration) {
		if d.Allowed {
			d.Allowed, d.Refused, d.Subject, d.RetryAfter = false, k, i, after
		}
	}
	for i, s := range subjects {
		lim := s.Limits
		if lim.Budget > 0 && l.spent[s.ID+"/"+names[i]] >= lim.Budget {
			refuse(Budget, i, 0)
		}
		var remReq int64
		var resetReq time.Duration
		if lim.RPM > 0 {
			w := l.window(s.ID)
			w.trim(now)
			n := int64(len(w.times))
			remReq = lim.RPM - n - 1
			if n > 0 {
				resetReq = w.times[0].Add(Window).Sub(now)
			}
			if n >= lim.RPM {
				refuse(Requests, i, w.times[n-lim.RPM].Add(Window).Sub(now))
			}
		}
		var remTok int64
		var resetTok time.Duration
		if lim.TPM > 0 {
			b := l.bucket(s.ID, lim.TPM, now)
			need := float64(min(estimate, lim.TPM))
			if b.tokens < need {
				refuse(Tokens, i, refillTime(need-b.tokens, lim.TPM))
			}
			remTok = int64(math.Floor(b.tokens - float64(estimate)))
			resetTok = refillTime(float64(lim.TPM)-(b.tokens-float64(estimate)), lim.TPM)
		}
		d.tightest(lim.RPM, remReq, resetReq, lim.TPM, remTok, resetTok)
	}
	if !d.Allowed {
		return d, nil
	}
	for _, s := range subjects {
		if s.Limits.RPM > 0 {
			w := l.windows[s.ID]
			w.times = append(w.times, now)
		}
		if s.Limits.TPM > 0 {
			l.buckets[s.ID].tokens -= float64(estimate)
		}
	}
	return d, nil
}

func (l *Local) window(id string) *window {
	w := l.windows[id]
	if w == nil {
		w = &window{}
		l.windows[id] = w
	}
	return w
}

func (l *Local) bucket(id string, capacity int64, now time.Time) *bucket {
	b := l.buckets[id]
	if b == nil {
		b = &bucket{tokens: float64(capacity), at: now, capacity: capacity}
		l.buckets[id] = b
	}
	b.capacity = capacity
	b.refill(now, capacity)
	return b
}

// seed makes sure the subject's budget counter for the current period
// exists, from the spend source, and returns the period's name.
func (l *Local) seed(ctx context.Context, now time.Time, s Subject) (string, error) {
	start, _, name := Period(s.Limits.BudgetPeriod, now)
	l.mu.Lock()
	_, ok := l.spent[s.ID+"/"+name]
	l.mu.Unlock()
	if ok || l.spend == nil {
		if !ok {
			l.mu.Lock()
			if _, ok := l.spent[s.ID+"/"+name]; !ok {
				l.spent[s.ID+"/"+name] = 0
			}
			l.mu.Unlock()
		}
		return name, nil
	}
	v, err := l.spend(ctx, s.ID, start)
	if err != nil {
		return "", err
	}
	l.mu.Lock()
	if _, ok := l.spent[s.ID+"/"+name]; !ok {
		l.spent[s.ID+"/"+name] = v
	}
	l.mu.Unlock()
	return name, nil
}

// Settle implements Counter.
func (l *Local) Settle(ctx context.Context, now time.Time, subjects []Subject, estimate, actual, cost int64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range subjects {
		if s.Limits.TPM > 0 && actual != estimate {
			if b := l.buckets[s.ID]; b != nil {
				b.refill(now, s.Limits.TPM)
				b.tokens = math.Min(float64(s.Limits.TPM), b.tokens+float64(estimate-actual))
			}
		}
		if s.Limits.Budget > 0 && cost != 0 {
			_, _, name := Period(s.Limits.BudgetPeriod, now)
			// A counter not seeded yet is left alone: seeding reads the
			// request log, which will hold this request's cost.
			if v, ok := l.spent[s.ID+"/"+name]; ok {
				l.spent[s.ID+"/"+name] = v + cost
			}
		}
	}
	return nil
}

// Spent implements Counter.
func (l *Local) Spent(ctx context.Context, now time.Time, s Subject) (int64, error) {
	if s.Limits.Budget <= 0 {
		return 0, nil
	}
	name, err := l.seed(ctx, now, s)
	if err != nil {
		return 0, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.spent[s.ID+"/"+name], nil
}

// sweep drops idle windows and full buckets, at most once per Window.
func (l *Local) sweep(now time.Time) {
	if now.Sub(l.swept) < Window {
		return
	}
	l.swept = now
	for id, w := range l.windows {
		if w.trim(now); len(w.times) == 0 {
			delete(l.windows, id)
		}
	}
	for id, b := range l.buckets {
		if b.refill(now, b.capacity); b.tokens >= float64(b.capacity) {
			delete(l.buckets, id) // full: the same as absent
		}
	}
	// Budget counters of past periods are no longer read.
	_, _, day := Period("day", now)
	_, _, month := Period("month", now)
	for k := range l.spent {
		if p := k[strings.LastIndexByte(k, '/')+1:]; p != day && p != month && p != "total" {
			delete(l.spent, k)
		}
	}
}
