package health

import (
	"sync"
	"time"
)

// State is a circuit breaker's state.
type State int

const (
	// Closed lets every request through and counts their outcomes.
	Closed State = iota
	// Open admits no request of its own until its OpenFor has passed.
	// (The router still sends to an open target when a route has nothing
	// better: see docs/routing.md.)
	Open
	// HalfOpen admits a share of the requests as probes, to learn whether
	// the target has recovered.
	HalfOpen
)

func (s State) String() string {
	switch s {
	case Closed:
		return "closed"
	case Open:
		return "open"
	case HalfOpen:
		return "half-open"
	}
	return "unknown"
}

// BreakerConfig configures a [Breaker]. Zero fields take the defaults that
// [BreakerConfig.SetDefaults] documents.
type BreakerConfig struct {
	// Window is how far back outcomes count (default 30s).
	Window time.Duration
	// MinRequests is how many outcomes the window must hold before the
	// breaker may open (default 10), so that one early failure cannot open
	// it.
	MinRequests int
	// FailureRate is the share of failures in the window, from 0 to 1, at
	// or above which the breaker opens (default 0.5).
	FailureRate float64
	// OpenFor is how long the breaker stays open before it lets probes
	// through (default 30s).
	OpenFor time.Duration
	// HalfOpenShare is the share of requests, from 0 to 1, that a
	// half-open breaker admits as probes (default 0.1). However small, a
	// half-open breaker with no probe in flight admits the next request,
	// so that it is never starved of a verdict.
	HalfOpenShare float64
}

// SetDefaults replaces zero or negative fields with their defaults.
func (c *BreakerConfig) SetDefaults() {
	if c.Window <= 0 {
		c.Window = 30 * time.Second
	}
	if c.MinRequests <= 0 {
		c.MinRequests = 10
	}
	if c.FailureRate <= 0 {
		c.FailureRate = 0.5
	}
	if c.OpenFor <= 0 {
		c.OpenFor = 30 * time.Second
	}
	if c.HalfOpenShare <= 0 {
		c.HalfOpenShare = 0.1
	}
	c.HalfOpenShare = min(c.HalfOpenShare, 1)
}

// numBuckets is how many buckets the window is split into. Outcomes expire a
// bucket at a time, so the window really covers between 9/10 of Window and
// Window; in exchange, recording is O(1) and allocates nothing.
const numBuckets = 10

// bucket counts the outcomes of one slice of the window.
type bucket struct {
	epoch              int64 // which slice of time since the breaker began
	requests, failures int
}

// BreakerSnapshot is a breaker's state at one moment, for reporting.
type BreakerSnapshot struct {
	State State
	// Requests and Failures are the outcomes counted in the current window.
	Requests, Failures int
	// ErrorRate is Failures/Requests, or 0 with no requests.
	ErrorRate float64
	// OpenUntil is when an open breaker will let probes through; zero
	// unless State is Open.
	OpenUntil time.Time
}

// Breaker is a circuit breaker for one upstream target.
//
// Callers ask [Breaker.Allow] before each request and report its outcome
// with [Breaker.Record] (or, for a probe that ended with no verdict,
// [Breaker.Abandon]). While closed, outcomes are counted in a sliding
// window and the breaker opens when the window holds at least MinRequests
// outcomes of which at least FailureRate failed. While open, requests are
// refused for OpenFor; then the breaker is half-open and admits
// HalfOpenShare of the requests as probes, and always one when none is in
// flight: the first probe to succeed closes it, and a probe that fails
// opens it again for another OpenFor. A probe's verdict is known as soon
// as its answer starts (for a stream, its first event), so a long stream
// holds nothing up.
//
// A Breaker is safe for concurrent use.
type Breaker struct {
	cfg   BreakerConfig
	now   func() time.Time
	start time.Time     // epochs count from here, so a monotonic clock stays monotonic
	width time.Duration // of one bucket

	mu        sync.Mutex
	state     State
	openUntil time.Time
	probes    int       // probes in flight while half-open
	probeAt   time.Time // when the latest probe was let through
	seen      int       // requests asked about since the breaker half-opened
	admitted  int       // probes admitted among them
	lastEpoch int64     // latest epoch seen, so a clock that steps back cannot resurrect old buckets
	buckets   [numBuckets]bucket
}

// NewBreaker returns a closed breaker. now is its clock; nil means
// time.Now. Tests pass a fake clock to step through windows and timeouts.
func NewBreaker(cfg BreakerConfig, now func() time.Time) *Breaker {
	cfg.SetDefaults()
	if now == nil {
		now = time.Now
	}
	width := cfg.Window / numBuckets
	if width <= 0 {
		width = 1
	}
	return &Breaker{cfg: cfg, now: now, start: now(), width: width}
}

// Allow reports whether a request may be sent now. probe is true when the
// breaker is half-open and this request is one of its probes: the caller
// must then report the request's outcome with Record(success, true) or
// Abandon. An unreported probe is given up for lost after OpenFor.
func (b *Breaker) Allow() (ok, probe bool) {
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.advance(now)
	switch b.state {
	case Closed:
		return true, false
	case HalfOpen:
		// A probe that has not reported within OpenFor was most likely
		// lost by a caller; it must not count as one in flight forever.
		if b.probes > 0 && now.Sub(b.probeAt) >= b.cfg.OpenFor {
			b.probes = 0
		}
		// Counting rather than drawing at random keeps the share exact
		// and tests deterministic: the n-th request is admitted when
		// fewer than share×n were.
		b.seen++
		if b.probes == 0 || float64(b.admitted) < b.cfg.HalfOpenShare*float64(b.seen) {
			b.probes++
			b.admitted++
			b.probeAt = now
			return true, true
		}
	}
	return false, false
}

// Abandon reports that a probe Allow admitted ended with no verdict: it
// was cancelled, or the target answered with something that says nothing
// of its health (a rate limit). Its slot is freed and the state stays.
func (b *Breaker) Abandon(probe bool) {
	if !probe {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == HalfOpen && b.probes > 0 {
		b.probes--
	}
}

// Record reports the outcome of a request that Allow let through. probe
// must be what Allow returned for it.
//
// Outcomes of ordinary requests that finish after the breaker opened are
// dropped: they were sent before the failure was noticed and say nothing
// about whether the target has recovered since.
func (b *Breaker) Record(success, probe bool) {
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.advance(now)
	if probe && b.state == HalfOpen {
		if b.probes > 0 {
			b.probes--
		}
		if success {
			b.state = Closed
			b.probes = 0
			b.buckets = [numBuckets]bucket{} // the failures that opened it are history
		} else {
			b.open(now)
		}
		return
	}
	// A probe reporting after a sibling probe closed the breaker is an
	// ordinary outcome; one reporting after a sibling reopened it is dropped
	// like any other outcome while open.
	if b.state != Closed {
		return
	}
	e := b.epoch(now)
	bk := &b.buckets[e%numBuckets]
	if bk.epoch != e {
		*bk = bucket{epoch: e}
	}
	bk.requests++
	if !success {
		bk.failures++
	}
	if req, fail := b.counts(e); req >= b.cfg.MinRequests && rate(req, fail) >= b.cfg.FailureRate {
		b.open(now)
	}
}

// State returns the breaker's current state.
func (b *Breaker) State() State {
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.advance(now)
	return b.state
}

// Snapshot returns the breaker's state and the outcomes in its window.
func (b *Breaker) Snapshot() BreakerSnapshot {
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.advance(now)
	s := BreakerSnapshot{State: b.state}
	s.Requests, s.Failures = b.counts(b.epoch(now))
	s.ErrorRate = rate(s.Requests, s.Failures)
	if b.state == Open {
		s.OpenUntil = b.openUntil
	}
	return s
}

// RetryAfter returns how long until an open breaker lets probes through, or
// 0 if it is not open. A half-open breaker whose probe slots are all taken
// also returns 0: when it will admit again depends on the probes.
func (b *Breaker) RetryAfter() time.Duration {
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.advance(now)
	if b.state != Open {
		return 0
	}
	return b.openUntil.Sub(now)
}

// advance moves an open breaker whose time is up to half-open. State changes
// that depend only on time happen lazily here rather than on a timer, so an
// idle breaker costs nothing.
func (b *Breaker) advance(now time.Time) {
	if b.state == Open && !now.Before(b.openUntil) {
		b.state = HalfOpen
		b.probes, b.seen, b.admitted = 0, 0, 0
	}
}

func (b *Breaker) open(now time.Time) {
	b.state = Open
	b.openUntil = now.Add(b.cfg.OpenFor)
	b.probes = 0
}

// epoch returns the index of the bucket-wide slice of time that now falls
// in, never less than one already seen.
func (b *Breaker) epoch(now time.Time) int64 {
	e := int64(now.Sub(b.start) / b.width)
	if e < b.lastEpoch {
		return b.lastEpoch
	}
	b.lastEpoch = e
	return e
}

// counts sums the buckets still inside the window that ends in epoch e.
func (b *Breaker) counts(e int64) (requests, failures int) {
	for i := range b.buckets {
		bk := &b.buckets[i]
		if bk.requests > 0 && e-bk.epoch < numBuckets {
			requests += bk.requests
			failures += bk.failures
		}
	}
	return requests, failures
}

// rate divides rather than comparing failures with FailureRate*requests:
// division is correctly rounded, so 3 of 10 is exactly the float 0.3 and a
// configured 0.3 trips on it, where 0.3*10 would round up past 3.
func rate(requests, failures int) float64 {
	if requests == 0 {
		return 0
	}
	return float64(failures) / float64(requests)
}
