package metrics

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/switchyard-ai/switchyard/internal/config"
	"github.com/switchyard-ai/switchyard/internal/llm"
	"github.com/switchyard-ai/switchyard/internal/pricing"
	"github.com/switchyard-ai/switchyard/internal/provider"
	_ "github.com/switchyard-ai/switchyard/internal/provider/all"
	"github.com/switchyard-ai/switchyard/internal/reqlog"
	"github.com/switchyard-ai/switchyard/internal/router"
	"github.com/switchyard-ai/switchyard/internal/store"
)

type fakeLog reqlog.Stats

func (f fakeLog) Stats() reqlog.Stats { return reqlog.Stats(f) }

type fakeStore struct{ err error }

func (f fakeStore) Ping(context.Context) error { return f.err }

// testRouter has providers a and b, and a route "smart" over a/m1
// falling back to b/m2.
func testRouter(t testing.TB) *router.Router {
	ps, err := provider.NewSet([]config.Provider{
		{Name: "a", Type: "openai", BaseURL: "http://127.0.0.1:1/v1", Models: []string{"listed"}},
		{Name: "b", Type: "anthropic", BaseURL: "http://127.0.0.1:1"},
	}, func(config.Provider) provider.Options { return provider.Options{} })
	if err != nil {
		t.Fatal(err)
	}
	r, err := router.New(ps, []config.Model{{Name: "smart", Target: "a/m1", Fallbacks: []string{"b/m2"}}, {Name: "emb", Target: "a/m1"}}, config.Router{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestObserveRouter(t *testing.T) {
	r := testRouter(t)
	m := New(Sources{Router: func() *router.Router { return r }})
	rec := &store.RequestLog{Endpoint: "chat.completions", RequestedModel: "smart", Provider: "b", Model: "m2", Status: http.StatusOK,
		Latency: time.Second, Usage: llm.Usage{InputTokens: 7, CachedInputTokens: 3, OutputTokens: 5, ReasoningTokens: 2}}
	attempts := []router.Attempt{
		{Target: "a/m1", Outcome: "circuit_open"}, // passed over, then tried: not a retry
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

// Model, target and route labels take only configured names (and priced
// ones); everything else a client sends is one "_other" series.
func TestLabelsOnlyFromConfig(t *testing.T) {
	r := testRouter(t)
	prices := fakePrices{{Provider: "openai", Model: "gpt-4o"}, {Provider: "openai", Model: "gpt-4o-2024-*"}}
	m := New(Sources{Router: func() *router.Router { return r }, Pricing: prices})
	for i := range 1000 {
		bogus := fmt.Sprintf("bogus-%d", i)
		// Refused: unknown model.
		m.Observe(&store.RequestLog{Endpoint: "chat.completions", RequestedModel: bogus, Status: 404, ErrorClass: "not_found"}, nil, "k", bogus)
		// Served: a configured provider, a model of the client's choosing.
		m.Observe(&store.RequestLog{Endpoint: "chat.completions", RequestedModel: "a/" + bogus, Provider: "a", Model: bogus, Status: 200,
			Latency: time.Second, Stream: true, TTFT: time.Millisecond, Usage: llm.Usage{InputTokens: 1, OutputTokens: 1}, Cost: 1},
			[]router.Attempt{{Target: "a/" + bogus, Outcome: "upstream_5xx"}, {Target: "a/" + bogus, Outcome: "ok", Hedge: true}}, "k", "a/"+bogus)
		// A pattern of the price list does not let dated names through.
		m.Observe(&store.RequestLog{Endpoint: "embeddings", RequestedModel: "a/gpt-4o-2024-" + bogus, Provider: "a", Model: "gpt-4o-2024-" + bogus, Status: 200}, nil, "k", "")
	}
	for _, known := range []struct{ requested, model string }{{"smart", "m1"}, {"a/m1", "m1"}, {"listed", "listed"}, {"a/gpt-4o", "gpt-4o"}} {
		m.Observe(&store.RequestLog{Endpoint: "chat.completions", RequestedModel: known.requested, Provider: "a", Model: known.model, Status: 200,
			Usage: llm.Usage{InputTokens: 1}}, []router.Attempt{{Target: "a/" + known.model, Outcome: "ok"}}, "k", known.requested)
	}
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	values := map[string]bool{}
	for _, f := range fams {
		for _, s := range f.GetMetric() {
			for _, lp := range s.GetLabel() {
				switch lp.GetName() {
				case "model", "gen_ai_request_model", "gen_ai_response_model", "target", "route":
					values[lp.GetName()+"="+lp.GetValue()] = true
				}
			}
		}
	}
	for v := range values {
		if strings.Contains(v, "bogus") {
			t.Errorf("label %s came from a client", v)
		}
	}
	for _, want := range []string{"model=_other", "gen_ai_request_model=_other", "gen_ai_response_model=_other", "target=a/_other", "route=_other",
		"model=smart", "model=a/m1", "model=listed", "model=a/gpt-4o", "gen_ai_response_model=gpt-4o", "target=a/m1"} {
		if !values[want] {
			t.Errorf("no series with %s; have %v", want, values)
		}
	}
	if n := testutil.CollectAndCount(m.requests); n > 8 {
		t.Errorf("%d request series after 3,000 requests with bogus models", n)
	}
}

type fakePrices []pricing.Entry

func (f fakePrices) Entries() []pricing.Entry { return f }

func BenchmarkObserve(b *testing.B) {
	r := testRouter(b)
	m := New(Sources{Router: func() *router.Router { return r }})
	rec := &store.RequestLog{Endpoint: "chat.completions", RequestedModel: "smart", Provider: "b", Model: "m2", Status: http.StatusOK,
		Stream: true, TTFT: time.Millisecond, Latency: time.Second, Usage: llm.Usage{InputTokens: 7, OutputTokens: 5}}
	attempts := []router.Attempt{{Target: "b/m2", Outcome: "ok"}}
	b.ReportAllocs()
	for b.Loop() {
		m.Observe(rec, attempts, "team", "smart")
	}
}
