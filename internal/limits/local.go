package limits

import (
	"context"
	"strings"
	"sync"
	"time"
)

// Local counts in this process: exact for one node, per replica for many.
type Local struct {
	// TTL bounds how long a reservation that is never settled holds its
	// room (DefaultReservationTTL when zero). In one process only a bug
	// can leave one unsettled; the bound keeps such a bug from closing a
	// budget for good.
	TTL time.Duration

	spend SpendSource

	mu      sync.Mutex
	windows map[string]*window   // RPM, by subject
	logs    map[string]*tokenLog // TPM, by subject
	held    map[string]*holds    // budget reservations in flight, by subject
	spent   map[string]int64     // by subject and period name
	swept   time.Time
}

// window holds the admission times of the last Window, oldest first.
type window struct{ times []time.Time }

// tokenLog holds the tokens of the requests admitted in the last Window,
// oldest first: reserved while in flight, real once settled.
type tokenLog struct {
	entries []*tokenEntry
	byID    map[string]*tokenEntry
	sum     int64
}

type tokenEntry struct {
	at     time.Time
	id     string
	tokens int64
}

// holds are a subject's budget reservations in flight.
type holds struct {
	byID map[string]hold
	sum  int64
}

type hold struct {
	cost    int64
	expires time.Time
}

// NewLocal returns an in-process Counter; spend seeds budget counters
// (nil: from zero).
func NewLocal(spend SpendSource) *Local {
	return &Local{spend: spend, windows: map[string]*window{}, logs: map[string]*tokenLog{},
		held: map[string]*holds{}, spent: map[string]int64{}}
}

func (l *Local) ttl() time.Duration {
	if l.TTL > 0 {
		return l.TTL
	}
	return DefaultReservationTTL
}

func (w *window) trim(now time.Time) {
	i := 0
	for i < len(w.times) && !w.times[i].After(now.Add(-Window)) {
		i++
	}
	w.times = w.times[i:]
}

func (g *tokenLog) trim(now time.Time) {
	i := 0
	for i < len(g.entries) && !g.entries[i].at.After(now.Add(-Window)) {
		e := g.entries[i]
		g.sum -= e.tokens
		delete(g.byID, e.id)
		g.entries[i] = nil
		i++
	}
	g.entries = g.entries[i:]
}

// retry is when enough of the log has left the window for tokens more to
// fit in tpm.
func (g *tokenLog) retry(now time.Time, tpm, tokens int64) time.Duration {
	left := g.sum
	for _, e := range g.entries {
		left -= e.tokens
		if left+tokens <= tpm || left == 0 {
			return e.at.Add(Window).Sub(now)
		}
	}
	return Window
}

// Admit implements Counter.
func (l *Local) Admit(ctx context.Context, now time.Time, id string, subjects []Subject) (Decision, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	d := Decision{Allowed: true}
	for i, s := range subjects {
		rpm := s.Limits.RPM
		if rpm <= 0 {
			continue
		}
		w := l.window(s.ID)
		w.trim(now)
		n := int64(len(w.times))
		var reset time.Duration
		if n > 0 {
			reset = w.times[0].Add(Window).Sub(now)
		}
		if n >= rpm {
			// Passes when the request rpm places from the newest leaves.
			d.refuse(Requests, i, w.times[n-rpm].Add(Window).Sub(now), false)
		}
		d.tightestRequests(rpm, rpm-n-1, reset)
	}
	if !d.Allowed {
		return d, nil
	}
	for _, s := range subjects {
		if s.Limits.RPM > 0 {
			w := l.windows[s.ID]
			w.times = append(w.times, now)
		}
	}
	return d, nil
}

// Reserve implements Counter.
func (l *Local) Reserve(ctx context.Context, now time.Time, subjects []Subject, r Reservation) (Decision, error) {
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
	for i, s := range subjects {
		lim := s.Limits
		if lim.Budget > 0 {
			h := l.holds(s.ID)
			ok, held := admitsBudget(lim.Budget, l.spent[s.ID+"/"+names[i]], h.sum, len(h.byID), r.Cost)
			if !ok {
				after := time.Duration(0)
				if held {
					after = heldRetry
				}
				d.refuse(Budget, i, after, held)
			}
		}
		if lim.TPM > 0 {
			g := l.log(s.ID)
			g.trim(now)
			if !admitsTokens(lim.TPM, g.sum, r.Tokens) {
				d.refuse(Tokens, i, g.retry(now, lim.TPM, r.Tokens), false)
			}
			reset := Window
			if n := len(g.entries); n > 0 {
				reset = g.entries[n-1].at.Add(Window).Sub(now)
			}
			d.tightestTokens(lim.TPM, lim.TPM-g.sum-r.Tokens, reset)
		}
	}
	if !d.Allowed {
		return d, nil
	}
	for _, s := range subjects {
		if s.Limits.Budget > 0 {
			h := l.held[s.ID]
			h.byID[r.ID] = hold{cost: r.Cost, expires: now.Add(l.ttl())}
			h.sum += r.Cost
		}
		if s.Limits.TPM > 0 {
			g := l.logs[s.ID]
			e := &tokenEntry{at: now, id: r.ID, tokens: r.Tokens}
			g.entries = append(g.entries, e)
			g.byID[r.ID] = e
			g.sum += r.Tokens
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

func (l *Local) log(id string) *tokenLog {
	g := l.logs[id]
	if g == nil {
		g = &tokenLog{byID: map[string]*tokenEntry{}}
		l.logs[id] = g
	}
	return g
}

func (l *Local) holds(id string) *holds {
	h := l.held[id]
	if h == nil {
		h = &holds{byID: map[string]hold{}}
		l.held[id] = h
	}
	return h
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
func (l *Local) Settle(ctx context.Context, now time.Time, subjects []Subject, r Reservation, tokens, cost int64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range subjects {
		// Released whatever the limits say now: an administrator may have
		// changed them while the request ran.
		if h := l.held[s.ID]; h != nil {
			if v, ok := h.byID[r.ID]; ok {
				h.sum -= v.cost
				delete(h.byID, r.ID)
			}
		}
		if g := l.logs[s.ID]; g != nil {
			if e := g.byID[r.ID]; e != nil {
				g.sum += tokens - e.tokens
				e.tokens = tokens
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

// sweep drops idle windows and logs and lapsed reservations, at most once
// per Window.
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
	for id, g := range l.logs {
		if g.trim(now); len(g.entries) == 0 {
			delete(l.logs, id)
		}
	}
	for id, h := range l.held {
		for rid, v := range h.byID {
			if !now.Before(v.expires) {
				h.sum -= v.cost
				delete(h.byID, rid)
			}
		}
		if len(h.byID) == 0 {
			delete(l.held, id)
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
