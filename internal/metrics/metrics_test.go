package metrics

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/switchyard-ai/switchyard/internal/llm"
	"github.com/switchyard-ai/switchyard/internal/reqlog"
	"github.com/switchyard-ai/switchyard/internal/router"
	"github.com/switchyard-ai/switchyard/internal/store"
)

type fakeLog reqlog.Stats

func (f fakeLog) Stats() reqlog.Stats { return reqlog.Stats(f) }

type fakeStore struct{ err error }

func (f fakeStore) Ping(context.Context) error { return f.err }

func TestObserveRouter(t *testing.T) {
	m := New(Sources{})
	rec := &store.RequestLog{Endpoint: "chat.completions", RequestedModel: "smart", Provider: "b", Model: "m2", Status: http.StatusOK,
		Latency: time.Second, Usage: llm.Usage{InputTokens: 7, CachedInputTokens: 3, OutputTokens: 5, ReasoningTokens: 2}}
	attempts := []router.Attempt{
		{Target: "a/m1", Outcome: "upstream_5xx"},
		{Target: "a/m1", Outcome: "upstream_5xx"},
		{Target: "b/m2", Outcome: "ok", Hedge: true},
	}
	m.Observe(rec, attempts, "team", "smart")
	for name, tc := range map[string]struct {
		got, want float64
	}{
		"retries a":     {testutil.ToFloat64(m.retries.WithLabelValues("a/m1")), 1},
		"hedges":        {testutil.ToFloat64(m.hedges.WithLabelValues("smart")), 1},
		"fallbacks":     {testutil.ToFloat64(m.fallbacks.WithLabelValues("smart")), 1},
		"attempts 5xx":  {testutil.ToFloat64(m.attempts.WithLabelValues("a/m1", "upstream_5xx")), 2},
		"attempts ok":   {testutil.ToFloat64(m.attempts.WithLabelValues("b/m2", "ok")), 1},
		"cached tokens": {testutil.ToFloat64(m.tokens.WithLabelValues("cached_input", "b", "m2", "team")), 3},
		"reasoning":     {testutil.ToFloat64(m.tokens.WithLabelValues("reasoning", "b", "m2", "team")), 2},
		"requests":      {testutil.ToFloat64(m.requests.WithLabelValues("chat.completions", "b", "smart", "team", "200", "")), 1},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %v, want %v", name, tc.got, tc.want)
		}
	}
	if n := testutil.CollectAndCount(m.retries); n != 1 {
		t.Errorf("%d retry series", n)
	}

	// Served by the first target attempted: no fallback.
	m.Observe(&store.RequestLog{Endpoint: "embeddings", Provider: "a", Model: "m1", Status: http.StatusOK},
		[]router.Attempt{{Target: "a/m1", Outcome: "ok"}}, "team", "emb")
	if n := testutil.CollectAndCount(m.fallbacks); n != 1 {
		t.Errorf("%d fallback series", n)
	}

	var nilM *Metrics
	nilM.Observe(rec, attempts, "", "") // must not panic
}

func TestIsTarget(t *testing.T) {
	for _, tc := range []struct {
		target, p, m string
		want         bool
	}{
		{"a/m", "a", "m", true},
		{"a/m/x", "a", "m/x", true},
		{"a/m", "a", "mm", false},
		{"ab/m", "a", "b/m", false},
		{"a", "a", "", false},
	} {
		if got := isTarget(tc.target, tc.p, tc.m); got != tc.want {
			t.Errorf("isTarget(%q, %q, %q) = %v", tc.target, tc.p, tc.m, got)
		}
	}
}

func TestScrapeGauges(t *testing.T) {
	m := New(Sources{Log: fakeLog{Queued: 4, Written: 10, Dropped: 2, Failed: 1}, Store: fakeStore{errors.New("down")}})
	want := `
# HELP switchyard_request_log_queue_depth Request logs accepted and not yet written or given up on.
# TYPE switchyard_request_log_queue_depth gauge
switchyard_request_log_queue_depth 4
# HELP switchyard_request_log_written_total Request logs stored.
# TYPE switchyard_request_log_written_total counter
switchyard_request_log_written_total 10
# HELP switchyard_request_log_dropped_total Request logs refused: queue full or writer closed.
# TYPE switchyard_request_log_dropped_total counter
switchyard_request_log_dropped_total 2
# HELP switchyard_request_log_failed_total Request logs given up on after the store kept failing.
# TYPE switchyard_request_log_failed_total counter
switchyard_request_log_failed_total 1
# HELP switchyard_store_up Whether the store answered a ping at scrape time (1) or not (0).
# TYPE switchyard_store_up gauge
switchyard_store_up 0
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want),
		"switchyard_request_log_queue_depth", "switchyard_request_log_written_total", "switchyard_request_log_dropped_total",
		"switchyard_request_log_failed_total", "switchyard_store_up"); err != nil {
		t.Error(err)
	}
}

func BenchmarkObserve(b *testing.B) {
	m := New(Sources{})
	rec := &store.RequestLog{Endpoint: "chat.completions", RequestedModel: "smart", Provider: "b", Model: "m2", Status: http.StatusOK,
		Stream: true, TTFT: time.Millisecond, Latency: time.Second, Usage: llm.Usage{InputTokens: 7, OutputTokens: 5}}
	attempts := []router.Attempt{{Target: "b/m2", Outcome: "ok"}}
	b.ReportAllocs()
	for b.Loop() {
		m.Observe(rec, attempts, "team", "smart")
	}
}
