package health

import (
	"sync"
	"testing"
	"time"
)

// observeMs records each of ms as that many milliseconds.
func observeMs(l *Latency, ms ...int) {
	for _, m := range ms {
		l.Observe(time.Duration(m) * time.Millisecond)
	}
}

// oneTo returns 1..n in a scrambled but fixed order, so a quantile cannot
// come out right merely because the samples arrived sorted.
func oneTo(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = (i*37)%n + 1 // 37 is coprime with the sizes used here
	}
	return out
}

func TestLatencyQuantile(t *testing.T) {
	l := NewLatency(0)
	observeMs(l, oneTo(100)...)
	tests := []struct {
		q    float64
		want time.Duration
	}{
		{0.5, 50 * time.Millisecond},
		{0.95, 95 * time.Millisecond},
		{0.99, 99 * time.Millisecond},
		{0.01, 1 * time.Millisecond},
		{0, 1 * time.Millisecond},
		{1, 100 * time.Millisecond},
		{-1, 1 * time.Millisecond},
		{2, 100 * time.Millisecond},
	}
	for _, tt := range tests {
		got, ok := l.Quantile(tt.q)
		if !ok {
			t.Fatalf("Quantile(%v) not ok with 100 samples", tt.q)
		}
		if diff := got - tt.want; diff < -time.Millisecond || diff > time.Millisecond {
			t.Errorf("Quantile(%v) = %v, want %v within one sample", tt.q, got, tt.want)
		}
	}
}

func TestLatencyNeedsSamples(t *testing.T) {
	tests := []struct {
		size, n int
		wantOK  bool
	}{
		{1000, 0, false},
		{1000, 19, false},
		{1000, 20, true},
		{5, 4, false},
		{5, 5, true}, // a ring smaller than 20 answers once full
		{5, 50, true},
	}
	for _, tt := range tests {
		l := NewLatency(tt.size)
		observeMs(l, oneTo(max(tt.n, 1))[:tt.n]...)
		if _, ok := l.Quantile(0.5); ok != tt.wantOK {
			t.Errorf("size %d, %d samples: ok = %v, want %v", tt.size, tt.n, ok, tt.wantOK)
		}
		if got, want := l.Count(), min(tt.n, tt.size); got != want {
			t.Errorf("size %d, %d samples: Count = %d, want %d", tt.size, tt.n, got, want)
		}
	}
}

func TestLatencyRingForgetsOld(t *testing.T) {
	l := NewLatency(100)
	for range 100 {
		l.Observe(time.Hour)
	}
	observeMs(l, oneTo(100)...)
	if got := l.Count(); got != 100 {
		t.Errorf("Count = %d, want 100", got)
	}
	if got, _ := l.Quantile(1); got != 100*time.Millisecond {
		t.Errorf("max = %v, want 100ms: old samples are still held", got)
	}
}

func TestLatencyCacheRefreshes(t *testing.T) {
	clk := newFakeClock()
	newLatency := func() *Latency {
		l := NewLatency(1000)
		l.now = clk.Now
		for range 100 {
			l.Observe(10 * time.Millisecond)
		}
		if got, _ := l.Quantile(0.9); got != 10*time.Millisecond {
			t.Fatalf("p90 = %v, want 10ms", got)
		}
		return l
	}
	p90 := func(l *Latency) time.Duration {
		d, _ := l.Quantile(0.9)
		return d
	}

	t.Run("after 100 observations", func(t *testing.T) {
		l := newLatency()
		for range refreshObservations - 1 {
			l.Observe(time.Second)
		}
		if got := p90(l); got != 10*time.Millisecond {
			t.Errorf("p90 = %v after %d observations, want the cached 10ms", got, refreshObservations-1)
		}
		l.Observe(time.Second)
		if got := p90(l); got != time.Second {
			t.Errorf("p90 = %v after %d observations, want a fresh 1s", got, refreshObservations)
		}
	})
	t.Run("after 100ms", func(t *testing.T) {
		l := newLatency()
		for range 50 {
			l.Observe(time.Second)
		}
		clk.Advance(refreshEvery - time.Nanosecond)
		if got := p90(l); got != 10*time.Millisecond {
			t.Errorf("p90 = %v before %v, want the cached 10ms", got, refreshEvery)
		}
		clk.Advance(time.Nanosecond)
		if got := p90(l); got != time.Second {
			t.Errorf("p90 = %v at %v, want a fresh 1s", got, refreshEvery)
		}
	})
	t.Run("not without new observations", func(t *testing.T) {
		l := newLatency()
		before := l.cache.Load()
		clk.Advance(time.Hour)
		l.Quantile(0.5)
		if l.cache.Load() != before {
			t.Error("re-sorted although nothing was observed")
		}
	})
}

func TestLatencyConcurrent(t *testing.T) {
	l := NewLatency(100)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 2000 {
				l.Observe(time.Duration(g*1000+i) * time.Microsecond)
			}
		})
		wg.Go(func() {
			for range 500 {
				if d, ok := l.Quantile(0.95); ok && d < 0 {
					t.Errorf("p95 = %v", d)
				}
				if n := l.Count(); n > 100 {
					t.Errorf("Count = %d, more than the ring holds", n)
				}
			}
		})
	}
	wg.Wait()
	if got := l.Count(); got != 100 {
		t.Errorf("Count = %d, want 100", got)
	}
}

func TestLatencyDoesNotAllocate(t *testing.T) {
	l := NewLatency(1000)
	observeMs(l, oneTo(100)...)
	l.Quantile(0.5)
	if allocs := testing.AllocsPerRun(1000, func() { l.Observe(time.Millisecond) }); allocs != 0 {
		t.Errorf("Observe allocates %v times", allocs)
	}
	// Nothing observed since this sort, so Quantile answers from the cache.
	l.Quantile(0.5)
	if allocs := testing.AllocsPerRun(50, func() { l.Quantile(0.95) }); allocs != 0 {
		t.Errorf("cached Quantile allocates %v times", allocs)
	}
}

func BenchmarkLatencyObserve(b *testing.B) {
	l := NewLatency(1000)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		d := time.Millisecond
		for pb.Next() {
			l.Observe(d)
			d += time.Microsecond
		}
	})
}

func BenchmarkLatencyQuantile(b *testing.B) {
	l := NewLatency(1000)
	for i := range 1000 {
		l.Observe(time.Duration(i) * time.Millisecond)
	}
	b.ReportAllocs()
	for b.Loop() {
		l.Quantile(0.95)
	}
}
