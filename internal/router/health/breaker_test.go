package health

import (
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// fakeClock is a clock that moves only when told to, so tests can step
// through windows and timeouts without sleeping.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// record feeds b outcomes written as a string: 'S' for a success, 'F' for a
// failure.
func record(b *Breaker, outcomes string) {
	for _, o := range outcomes {
		b.Record(o == 'S', false)
	}
}

// tripped returns a breaker, with its clock, that has just opened.
func tripped(t *testing.T, cfg BreakerConfig) (*Breaker, *fakeClock) {
	t.Helper()
	clk := newFakeClock()
	b := NewBreaker(cfg, clk.Now)
	for b.State() == Closed {
		b.Record(false, false)
	}
	if got := b.State(); got != Open {
		t.Fatalf("state = %v after failures, want open", got)
	}
	return b, clk
}

func TestStateString(t *testing.T) {
	for s, want := range map[State]string{Closed: "closed", Open: "open", HalfOpen: "half-open", State(9): "unknown"} {
		if got := s.String(); got != want {
			t.Errorf("State(%d).String() = %q, want %q", int(s), got, want)
		}
	}
}

func TestSetDefaults(t *testing.T) {
	var c BreakerConfig
	c.SetDefaults()
	want := BreakerConfig{Window: 30 * time.Second, MinRequests: 10, FailureRate: 0.5, OpenFor: 30 * time.Second, HalfOpenShare: 0.1}
	if c != want {
		t.Errorf("zero config with defaults = %+v, want %+v", c, want)
	}
	set := BreakerConfig{Window: time.Second, MinRequests: 3, FailureRate: 0.2, OpenFor: time.Minute, HalfOpenShare: 0.25}
	c = set
	c.SetDefaults()
	if c != set {
		t.Errorf("SetDefaults changed set fields: %+v, want %+v", c, set)
	}
}

func TestBreakerOpensAtThreshold(t *testing.T) {
	tests := []struct {
		name     string
		cfg      BreakerConfig
		outcomes string
		openAt   int // index of the outcome that opens it; -1 for never
	}{
		{"fewer than MinRequests, all failing", BreakerConfig{}, "FFFFFFFFF", -1},
		{"all failing opens at MinRequests", BreakerConfig{}, "FFFFFFFFFF", 9},
		{"exactly the failure rate", BreakerConfig{}, "SSSSSFFFFF", 9},
		{"just under the failure rate", BreakerConfig{}, "SSSSSSFFFF", -1},
		{"a success that reaches MinRequests", BreakerConfig{}, "FFFFFFFFFS", 9},
		{"rate reached after MinRequests", BreakerConfig{}, "SSSSSSSSSSFFFFFFFFFF", 19},
		{"rate 0.3 trips on exactly 3 of 10", BreakerConfig{FailureRate: 0.3}, "SSSSSSSFFF", 9},
		{"rate 0.3, 2 of 10", BreakerConfig{FailureRate: 0.3}, "SSSSSSSSFF", -1},
		{"MinRequests 1", BreakerConfig{MinRequests: 1}, "F", 0},
		{"all successes", BreakerConfig{}, "SSSSSSSSSSSSSSSSSSSS", -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewBreaker(tt.cfg, newFakeClock().Now)
			for i, o := range tt.outcomes {
				b.Record(o == 'S', false)
				want := Closed
				if tt.openAt >= 0 && i >= tt.openAt {
					want = Open
				}
				if got := b.State(); got != want {
					t.Fatalf("after outcome %d (%q): state %v, want %v", i, tt.outcomes[:i+1], got, want)
				}
				if want == Open {
					if ok, _ := b.Allow(); ok {
						t.Fatal("open breaker allowed a request")
					}
					return
				}
			}
		})
	}
}

func TestBreakerWindowSlides(t *testing.T) {
	// A 10s window is ten 1s buckets.
	type step struct {
		at       time.Duration // since the start
		outcomes string
	}
	tests := []struct {
		name          string
		steps         []step
		want          State
		wantRequests  int
		wantFailures  int
		wantOpenAtEnd bool
	}{
		{"failures 9s ago still count", []step{{0, "FFFFF"}, {9 * time.Second, "FFFFF"}}, Open, 10, 10, true},
		{"failures 10s ago have expired", []step{{0, "FFFFF"}, {10 * time.Second, "FFFFF"}}, Closed, 5, 5, false},
		{"expiry is per bucket", []step{{0, "FFFF"}, {5 * time.Second, "SSSS"}, {10 * time.Second, "FF"}}, Closed, 6, 2, false},
		{"long idle empties the window", []step{{0, "SSFFF"}, {time.Hour, ""}}, Closed, 0, 0, false},
		{"a clock stepping back revives nothing", []step{{0, "FFFFF"}, {20 * time.Second, "S"}, {0, "FFFFF"}}, Closed, 6, 5, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFakeClock()
			start := clk.Now()
			b := NewBreaker(BreakerConfig{Window: 10 * time.Second}, clk.Now)
			for _, s := range tt.steps {
				clk.Advance(start.Add(s.at).Sub(clk.Now()))
				record(b, s.outcomes)
			}
			s := b.Snapshot()
			if s.State != tt.want || s.Requests != tt.wantRequests || s.Failures != tt.wantFailures {
				t.Errorf("snapshot = %+v, want state %v, %d requests, %d failures", s, tt.want, tt.wantRequests, tt.wantFailures)
			}
			if want := rate(tt.wantRequests, tt.wantFailures); s.ErrorRate != want {
				t.Errorf("error rate = %v, want %v", s.ErrorRate, want)
			}
			if !s.OpenUntil.IsZero() != tt.wantOpenAtEnd {
				t.Errorf("OpenUntil = %v with state %v", s.OpenUntil, s.State)
			}
		})
	}
}

func TestBreakerHalfOpensAfterOpenFor(t *testing.T) {
	b, clk := tripped(t, BreakerConfig{OpenFor: 30 * time.Second})
	openedAt := clk.Now()
	if got := b.Snapshot().OpenUntil; !got.Equal(openedAt.Add(30 * time.Second)) {
		t.Errorf("OpenUntil = %v, want opening time + 30s", got)
	}
	clk.Advance(30*time.Second - time.Nanosecond)
	if ok, _ := b.Allow(); ok || b.State() != Open {
		t.Fatalf("1ns before OpenFor: allowed %v, state %v; want refused, open", ok, b.State())
	}
	clk.Advance(time.Nanosecond)
	if got := b.State(); got != HalfOpen {
		t.Fatalf("at OpenFor: state %v, want half-open", got)
	}
	if ok, probe := b.Allow(); !ok || !probe {
		t.Fatalf("half-open Allow() = %v, %v; want a probe", ok, probe)
	}
	if ok, probe := b.Allow(); ok || probe {
		t.Fatalf("second half-open Allow() = %v, %v; want refused while the probe is out", ok, probe)
	}
}

// A half-open breaker admits its share of the requests as probes, not a
// fixed number: with no probe ever reporting (a long stream), the n-th
// request is still admitted when fewer than share×n were.
func TestBreakerHalfOpenShare(t *testing.T) {
	const callers = 50
	for share, want := range map[float64]int{0.01: 1, 0.1: 5, 0.25: 13, 0.5: 25, 1: 50} {
		for _, concurrent := range []bool{false, true} {
			b, clk := tripped(t, BreakerConfig{HalfOpenShare: share})
			clk.Advance(time.Minute)
			results := make(chan [2]bool, callers)
			var wg sync.WaitGroup
			for range callers {
				call := func() {
					ok, probe := b.Allow()
					results <- [2]bool{ok, probe}
				}
				if concurrent {
					wg.Go(call)
				} else {
					call()
				}
			}
			wg.Wait()
			close(results)
			admitted := 0
			for r := range results {
				if r[0] != r[1] {
					t.Fatalf("half-open Allow() = %v, %v; a half-open breaker admits only probes", r[0], r[1])
				}
				if r[0] {
					admitted++
				}
			}
			if admitted != want {
				t.Errorf("HalfOpenShare %v, concurrent %v: %d of %d callers admitted, want %d", share, concurrent, admitted, callers, want)
			}
		}
	}
}

// However small the share, a half-open breaker with no probe in flight
// admits the next request: it is never starved of a verdict.
func TestBreakerHalfOpenNeverStarves(t *testing.T) {
	b, clk := tripped(t, BreakerConfig{HalfOpenShare: 0.001})
	clk.Advance(time.Minute)
	for i := range 5 {
		ok, probe := b.Allow()
		if !ok || !probe {
			t.Fatalf("round %d: Allow() = %v, %v with no probe in flight; want a probe", i, ok, probe)
		}
		if ok, _ := b.Allow(); ok {
			t.Fatalf("round %d: a second probe at a share of 0.001", i)
		}
		b.Abandon(true) // cancelled: no verdict, the slot is free again
		if got := b.State(); got != HalfOpen {
			t.Fatalf("an abandoned probe changed the state to %v", got)
		}
	}
}

func TestBreakerProbeOutcome(t *testing.T) {
	tests := []struct {
		name    string
		success bool
		want    State
	}{
		{"success closes", true, Closed},
		{"failure reopens", false, Open},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, clk := tripped(t, BreakerConfig{OpenFor: 30 * time.Second})
			clk.Advance(35 * time.Second)
			if ok, probe := b.Allow(); !ok || !probe {
				t.Fatalf("Allow() = %v, %v; want a probe", ok, probe)
			}
			clk.Advance(2 * time.Second) // the probe takes a while
			b.Record(tt.success, true)
			s := b.Snapshot()
			if s.State != tt.want {
				t.Fatalf("state = %v, want %v", s.State, tt.want)
			}
			ok, probe := b.Allow()
			switch tt.want {
			case Closed:
				if s.Requests != 0 || s.Failures != 0 {
					t.Errorf("closing kept the window: %+v", s)
				}
				if !ok || probe {
					t.Errorf("closed Allow() = %v, %v; want an ordinary request", ok, probe)
				}
				// The old failures are gone, so it takes a fresh
				// MinRequests to open again.
				record(b, "FFFFFFFFF")
				if b.State() != Closed {
					t.Errorf("reopened on %d failures after closing", 9)
				}
			case Open:
				if ok {
					t.Error("reopened breaker allowed a request")
				}
				if got := b.RetryAfter(); got != 30*time.Second {
					t.Errorf("RetryAfter = %v, want a full OpenFor from the failed probe", got)
				}
				clk.Advance(30 * time.Second)
				if ok, probe := b.Allow(); !ok || !probe {
					t.Errorf("Allow() after the second OpenFor = %v, %v; want a probe", ok, probe)
				}
			}
		})
	}
}

func TestBreakerSiblingProbes(t *testing.T) {
	t.Run("after a failure reopens, a late success is dropped", func(t *testing.T) {
		b, clk := tripped(t, BreakerConfig{HalfOpenShare: 1})
		clk.Advance(time.Minute)
		b.Allow()
		b.Allow()
		b.Record(false, true)
		b.Record(true, true)
		if got := b.State(); got != Open {
			t.Errorf("state = %v, want open", got)
		}
	})
	t.Run("after a success closes, a late failure counts as ordinary", func(t *testing.T) {
		b, clk := tripped(t, BreakerConfig{HalfOpenShare: 1})
		clk.Advance(time.Minute)
		b.Allow()
		b.Allow()
		b.Record(true, true)
		b.Record(false, true)
		s := b.Snapshot()
		if s.State != Closed || s.Requests != 1 || s.Failures != 1 {
			t.Errorf("snapshot = %+v, want closed with the late failure counted", s)
		}
	})
}

func TestBreakerDropsOutcomesWhileNotClosed(t *testing.T) {
	b, clk := tripped(t, BreakerConfig{OpenFor: 30 * time.Second})
	before := b.Snapshot()
	clk.Advance(10 * time.Second)
	// Requests admitted before it opened finish now.
	record(b, "FFFSSS")
	after := b.Snapshot()
	if after.Requests != before.Requests || !after.OpenUntil.Equal(before.OpenUntil) {
		t.Errorf("outcomes while open changed the breaker: before %+v, after %+v", before, after)
	}
	clk.Advance(20 * time.Second)
	record(b, "SSS") // ordinary outcomes do not close a half-open breaker
	if got := b.State(); got != HalfOpen {
		t.Errorf("state = %v, want half-open", got)
	}
}

func TestBreakerLostProbeExpires(t *testing.T) {
	b, clk := tripped(t, BreakerConfig{OpenFor: 30 * time.Second})
	clk.Advance(30 * time.Second)
	if _, probe := b.Allow(); !probe {
		t.Fatal("no probe admitted")
	}
	// The caller never reports.
	clk.Advance(30*time.Second - time.Nanosecond)
	if ok, _ := b.Allow(); ok {
		t.Fatal("second probe admitted while the first may still report")
	}
	clk.Advance(time.Nanosecond)
	if ok, probe := b.Allow(); !ok || !probe {
		t.Fatalf("Allow() = %v, %v after the probe was lost for OpenFor; want a new probe", ok, probe)
	}
}

func TestBreakerRetryAfter(t *testing.T) {
	const openFor = 30 * time.Second
	tests := []struct {
		name  string
		setup func(b *Breaker, clk *fakeClock)
		want  time.Duration
	}{
		{"just opened", func(*Breaker, *fakeClock) {}, openFor},
		{"part way", func(_ *Breaker, clk *fakeClock) { clk.Advance(12 * time.Second) }, 18 * time.Second},
		{"1ns left", func(_ *Breaker, clk *fakeClock) { clk.Advance(openFor - time.Nanosecond) }, time.Nanosecond},
		{"half-open", func(_ *Breaker, clk *fakeClock) { clk.Advance(openFor) }, 0},
		{"half-open, probe out", func(b *Breaker, clk *fakeClock) { clk.Advance(openFor); b.Allow() }, 0},
		{"reopened by a failed probe", func(b *Breaker, clk *fakeClock) {
			clk.Advance(openFor + 5*time.Second)
			b.Allow()
			clk.Advance(time.Second)
			b.Record(false, true)
			clk.Advance(4 * time.Second)
		}, openFor - 4*time.Second},
		{"closed by a probe", func(b *Breaker, clk *fakeClock) {
			clk.Advance(openFor)
			b.Allow()
			b.Record(true, true)
		}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, clk := tripped(t, BreakerConfig{OpenFor: openFor})
			tt.setup(b, clk)
			if got := b.RetryAfter(); got != tt.want {
				t.Errorf("RetryAfter = %v, want %v", got, tt.want)
			}
		})
	}
	if got := NewBreaker(BreakerConfig{}, nil).RetryAfter(); got != 0 {
		t.Errorf("closed breaker RetryAfter = %v, want 0", got)
	}
}

// TestBreakerConcurrent hammers a breaker from many goroutines while its
// clock moves, for the race detector, then checks that no probe slot leaked:
// after the storm, a half-open breaker must still admit a probe.
func TestBreakerConcurrent(t *testing.T) {
	clk := newFakeClock()
	b := NewBreaker(BreakerConfig{Window: time.Second, MinRequests: 5, OpenFor: 50 * time.Millisecond, HalfOpenShare: 0.3}, clk.Now)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 1))
			for range 2000 {
				if ok, probe := b.Allow(); ok {
					b.Record(r.IntN(3) > 0, probe)
				}
				switch r.IntN(50) {
				case 0:
					clk.Advance(10 * time.Millisecond)
				case 1:
					if s := b.Snapshot(); s.Failures > s.Requests || s.ErrorRate < 0 || s.ErrorRate > 1 {
						t.Errorf("inconsistent snapshot %+v", s)
					}
				case 2:
					if d := b.RetryAfter(); d < 0 {
						t.Errorf("RetryAfter = %v", d)
					}
				}
			}
		})
	}
	wg.Wait()
	for b.State() == Closed {
		b.Record(false, false)
	}
	clk.Advance(time.Second)
	if ok, probe := b.Allow(); !ok || !probe {
		t.Fatalf("Allow() after the storm = %v, %v (state %v); want a probe", ok, probe, b.State())
	}
}

func TestBreakerDoesNotAllocate(t *testing.T) {
	b := NewBreaker(BreakerConfig{FailureRate: 1}, nil)
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		ok, probe := b.Allow()
		if ok {
			b.Record(i%3 != 0, probe)
		}
		i++
	})
	if allocs != 0 {
		t.Errorf("Allow+Record allocates %v times", allocs)
	}
}

func BenchmarkBreakerAllowRecord(b *testing.B) {
	br := NewBreaker(BreakerConfig{FailureRate: 1}, nil)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if ok, probe := br.Allow(); ok {
				br.Record(i%4 != 0, probe)
			}
			i++
		}
	})
}
