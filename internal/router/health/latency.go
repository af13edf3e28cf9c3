package health

import (
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// minSamples is how many latencies Quantile wants before it answers: a p95
// of a handful of samples is mostly noise.
const minSamples = 20

// Quantile answers from a sorted copy of the ring that is refreshed at most
// every refreshEvery or every refreshObservations observations, whichever
// comes first. The router asks for a quantile on every hedged request, and
// sorting a thousand samples each time would cost more than the request's
// own routing.
const (
	refreshEvery        = 100 * time.Millisecond
	refreshObservations = 100
)

// Latency keeps the most recent latencies of one target and answers
// quantile queries over them. It is safe for concurrent use.
type Latency struct {
	now func() time.Time // time.Now; tests replace it

	mu    sync.Mutex
	ring  []time.Duration
	total atomic.Uint64 // observations ever; written under mu, read without it

	cache      atomic.Pointer[latencySnapshot]
	refreshing atomic.Bool // one goroutine re-sorts; the others use the old copy
}

// latencySnapshot is a sorted copy of the ring at one moment.
type latencySnapshot struct {
	at     time.Time
	total  uint64 // Latency.total when the copy was taken
	sorted []time.Duration
}

// NewLatency returns a tracker of the last size latencies; size <= 0 means
// 1000.
func NewLatency(size int) *Latency {
	if size <= 0 {
		size = 1000
	}
	return &Latency{now: time.Now, ring: make([]time.Duration, size)}
}

// Observe records one latency. It is O(1) and does not allocate.
func (l *Latency) Observe(d time.Duration) {
	l.mu.Lock()
	n := l.total.Load()
	l.ring[n%uint64(len(l.ring))] = d
	l.total.Store(n + 1)
	l.mu.Unlock()
}

// Count returns how many latencies are held: the observations so far, up to
// the ring's size.
func (l *Latency) Count() int {
	return int(min(l.total.Load(), uint64(len(l.ring))))
}

// Quantile returns the q-quantile (0 <= q <= 1; 0.95 for p95) of the recent
// latencies, by nearest rank: the smallest sample that at least q of the
// samples do not exceed. ok is false while fewer than 20 samples are held
// (or, for a ring smaller than that, until it is full).
//
// The answer may lag the latest observations by up to 100 ms or 100
// observations; see refreshEvery.
func (l *Latency) Quantile(q float64) (d time.Duration, ok bool) {
	s := l.snapshot()
	n := len(s.sorted)
	if n < min(minSamples, len(l.ring)) || math.IsNaN(q) {
		return 0, false
	}
	i := int(math.Ceil(q*float64(n))) - 1
	i = max(0, min(i, n-1))
	return s.sorted[i], true
}

// snapshot returns a sorted copy of the ring no staler than the refresh
// limits allow, re-sorting when it is.
func (l *Latency) snapshot() *latencySnapshot {
	now := l.now()
	total := l.total.Load()
	s := l.cache.Load()
	if s != nil && (s.total == total || total-s.total < refreshObservations && now.Sub(s.at) < refreshEvery) {
		return s
	}
	// Only one goroutine re-sorts at a time; the rest carry on with the
	// stale copy rather than queue behind it. With no copy yet there is
	// nothing to carry on with, so they sort their own.
	if !l.refreshing.CompareAndSwap(false, true) {
		if s != nil {
			return s
		}
		return l.sort(now)
	}
	defer l.refreshing.Store(false)
	s = l.sort(now)
	l.cache.Store(s)
	return s
}

func (l *Latency) sort(now time.Time) *latencySnapshot {
	l.mu.Lock()
	total := l.total.Load()
	sorted := slices.Clone(l.ring[:min(total, uint64(len(l.ring)))])
	l.mu.Unlock()
	slices.Sort(sorted)
	return &latencySnapshot{at: now, total: total, sorted: sorted}
}
