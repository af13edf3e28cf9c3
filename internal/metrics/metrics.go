// Package metrics exposes the gateway's Prometheus metrics: per-request
// latency, token usage and time to first token named after the
// OpenTelemetry GenAI semantic conventions (in Prometheus form), request
// and router counters, and gauges read at scrape time from the router's
// breakers, the request log writer and the store.
//
// Label cardinality is bounded by configuration: a model, target or route
// label takes only the names the config gives (routes, providers, the
// models providers list, route targets, fallbacks and shadows) and the
// models of the price list; any other name a client sends is counted as
// "_other" (a target as "provider/_other"). Key names are set by the
// admin. Request ids, user ids and key secrets are never labels. See
// docs/security.md.
//
// Cost is exported as switchyard_cost_usd_total, from each request's
// priced cost (internal/pricing).
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/switchyard-ai/switchyard/internal/pricing"
	"github.com/switchyard-ai/switchyard/internal/reqlog"
	"github.com/switchyard-ai/switchyard/internal/router"
	"github.com/switchyard-ai/switchyard/internal/store"
)

// Sources are what the scrape-time gauges read. Any may be nil.
type Sources struct {
	// Router returns the router in use (it changes on a config reload); it
	// gives the breaker states and the provider types.
	Router func() *router.Router
	// Log is the request log writer.
	Log interface{ Stats() reqlog.Stats }
	// Store is pinged for switchyard_store_up.
	Store interface {
		Ping(ctx context.Context) error
	}
	// PingTimeout bounds the store ping at scrape time; zero means 1 s.
	PingTimeout time.Duration
	// RedisUp, when set, is exported as switchyard_redis_up.
	RedisUp func() bool
	// Pricing, when set, adds the models it prices by exact name to the
	// model label values.
	Pricing interface{ Entries() []pricing.Entry }
	// Connections, when set, is the bound on client connections
	// (connlimit.Limiter).
	Connections interface {
		Open() int64
		Max() int
		Reached() int64
	}
}

// Other is the label value of every model, target or route name the
// configuration does not know.
const Other = "_other"

// Bucket boundaries. Durations follow the OpenTelemetry GenAI advice,
// extended up to 300 s for long generations; token buckets are the
// advised powers of four.
var (
	durationBuckets = []float64{0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92, 163.84, 300}
	ttftBuckets     = []float64{0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 30, 60, 120, 300}
	tokenBuckets    = []float64{1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864}
)

// Metrics holds the gateway's collectors in their own registry.
type Metrics struct {
	reg *prometheus.Registry
	src Sources

	duration   *prometheus.HistogramVec
	tokenUsage *prometheus.HistogramVec
	ttft       *prometheus.HistogramVec
	tokens     *prometheus.CounterVec
	requests   *prometheus.CounterVec
	attempts   *prometheus.CounterVec
	fallbacks  *prometheus.CounterVec
	retries    *prometheus.CounterVec
	hedges     *prometheus.CounterVec
	cost       *prometheus.CounterVec

	// labels are the label values allowed under the router in use.
	labels atomic.Pointer[labels]
}

// New builds the metrics and registers them, with the Go runtime and
// process collectors, in a fresh registry.
func New(src Sources) *Metrics {
	genAI := []string{"gen_ai_operation_name", "gen_ai_system", "gen_ai_request_model", "gen_ai_response_model", "provider", "key"}
	m := &Metrics{
		src: src,
		reg: prometheus.NewRegistry(),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gen_ai_client_operation_duration_seconds",
			Help:    "Duration of GenAI operations through the gateway, arrival to last byte.",
			Buckets: durationBuckets,
		}, append(genAI[:len(genAI):len(genAI)], "error_type")),
		tokenUsage: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gen_ai_client_token_usage",
			Help:    "Tokens used per request, by token type (input, output).",
			Buckets: tokenBuckets,
		}, append(genAI[:len(genAI):len(genAI)], "gen_ai_token_type")),
		ttft: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gen_ai_server_time_to_first_token_seconds",
			Help:    "Time from request arrival to the first streamed byte, for streamed requests.",
			Buckets: ttftBuckets,
		}, genAI),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchyard_tokens_total",
			Help: "Tokens used, by type (input, output, cached_input, reasoning); model is the upstream model.",
		}, []string{"type", "provider", "model", "key"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchyard_requests_total",
			Help: "API requests answered; model is the model the client named.",
		}, []string{"endpoint", "provider", "model", "key", "status", "error_type"}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchyard_upstream_attempts_total",
			Help: "Upstream attempts by target and outcome (ok, circuit_open, or the error class).",
		}, []string{"target", "outcome"}),
		fallbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchyard_fallbacks_total",
			Help: "Requests served by a target other than the first one attempted.",
		}, []string{"route"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchyard_retries_total",
			Help: "Attempts on a target already attempted within the same request.",
		}, []string{"target"}),
		hedges: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchyard_hedges_total",
			Help: "Hedge requests started.",
		}, []string{"route"}),
	}
	m.cost = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "switchyard_cost_usd_total",
		Help: "What requests cost in US dollars, from their usage and the pricing table; model is the upstream model.",
	}, []string{"provider", "model", "key"})
	m.reg.MustRegister(m.cost)
	if src.RedisUp != nil {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "switchyard_redis_up",
			Help: "1 while Redis answers (limits and budgets shared across replicas), 0 while it does not (per replica).",
		}, func() float64 {
			if src.RedisUp() {
				return 1
			}
			return 0
		}))
	}
	m.labels.Store(&labels{})
	if src.PingTimeout <= 0 {
		src.PingTimeout = time.Second
	}
	m.reg.MustRegister(m.duration, m.tokenUsage, m.ttft, m.tokens, m.requests, m.attempts, m.fallbacks, m.retries, m.hedges,
		&scrapeCollector{src: src},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// Registry returns the registry the metrics are in.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// statusText caches the status label values so the hot path does not
// format numbers.
var statusText = func() (s [600]string) {
	for i := range s {
		s[i] = strconv.Itoa(i)
	}
	return s
}()

func status(code int) string {
	if code >= 0 && code < len(statusText) {
		return statusText[code]
	}
	return strconv.Itoa(code)
}

// operation maps a request log endpoint to gen_ai.operation.name; "" for
// endpoints that are not GenAI operations.
func operation(endpoint string) string {
	switch endpoint {
	case "chat.completions":
		return "chat"
	case "embeddings":
		return "embeddings"
	}
	return ""
}

// labels are the values the model, target, route and provider labels may
// take under one router: the names its configuration gives, and the
// models the price list names exactly. Built once per router (a reload
// makes a new one).
type labels struct {
	router    *router.Router
	types     map[string]string // provider name → type (gen_ai_system)
	requested map[string]bool   // model names as a client may send them
	upstream  map[string]bool   // upstream model names
	targets   map[string]bool   // provider/model
	routes    map[string]bool
}

func newLabels(r *router.Router, prices []pricing.Entry) *labels {
	l := &labels{router: r, types: map[string]string{}, requested: map[string]bool{}, upstream: map[string]bool{},
		targets: map[string]bool{}, routes: map[string]bool{}}
	if r == nil {
		return l
	}
	target := func(provider, model string) {
		l.upstream[model] = true
		l.targets[provider+"/"+model] = true
		l.requested[provider+"/"+model] = true
	}
	for _, p := range r.Providers() {
		l.types[p.Name()] = p.Type()
		for _, m := range p.Models() {
			target(p.Name(), m)
			l.requested[m] = true // addressable by bare name
		}
		for _, e := range prices {
			if (e.Provider == p.Name() || e.Provider == p.Type()) && !strings.ContainsAny(e.Model, `*?[\`) {
				target(p.Name(), e.Model)
			}
		}
	}
	for _, name := range r.Names() {
		l.requested[name], l.routes[name] = true, true
		rt, err := r.Resolve(name)
		if err != nil {
			continue
		}
		ts := append(append([]router.Target{}, rt.Targets...), rt.Fallbacks...)
		for _, sh := range rt.Shadows {
			ts = append(ts, sh.Target)
		}
		for _, t := range ts {
			target(t.Provider.Name(), t.Model)
		}
	}
	return l
}

// current returns the labels of the router in use.
func (m *Metrics) current() *labels {
	l := m.labels.Load()
	if m.src.Router != nil {
		if r := m.src.Router(); r != l.router {
			var prices []pricing.Entry
			if m.src.Pricing != nil {
				prices = m.src.Pricing.Entries()
			}
			l = newLabels(r, prices)
			m.labels.Store(l)
		}
	}
	return l
}

// allowed returns v if set has it, "" if v is "", else Other.
func allowed(set map[string]bool, v string) string {
	if v == "" || set[v] {
		return v
	}
	return Other
}

// provider returns a provider label: a configured provider's name.
func (l *labels) provider(v string) string {
	if _, ok := l.types[v]; ok || v == "" {
		return v
	}
	return Other
}

// target returns a target label: provider/model when configured, else
// provider/_other for a configured provider, else _other.
func (l *labels) target(v string) string {
	if l.targets[v] {
		return v
	}
	if p, _, ok := strings.Cut(v, "/"); ok {
		if _, known := l.types[p]; known {
			return p + "/" + Other
		}
	}
	return Other
}

// Observe records one finished request: rec is its request log record,
// attempts the router's attempts, key the virtual key's id ("" when
// unauthenticated) and route the route it resolved to ("" if none).
// It is safe for concurrent use and a nil *Metrics ignores it.
func (m *Metrics) Observe(rec *store.RequestLog, attempts []router.Attempt, key, route string) {
	if m == nil {
		return
	}
	l := m.current()
	provider := l.provider(rec.Provider)
	requested, upstream := allowed(l.requested, rec.RequestedModel), allowed(l.upstream, rec.Model)
	m.requests.WithLabelValues(rec.Endpoint, provider, requested, key, status(rec.Status), rec.ErrorClass).Inc()

	if op := operation(rec.Endpoint); op != "" {
		system := l.types[rec.Provider]
		m.duration.WithLabelValues(op, system, requested, upstream, provider, key, rec.ErrorClass).Observe(rec.Latency.Seconds())
		u := rec.Usage
		if u.InputTokens > 0 || u.OutputTokens > 0 {
			m.tokenUsage.WithLabelValues(op, system, requested, upstream, provider, key, "input").Observe(float64(u.InputTokens))
			m.tokenUsage.WithLabelValues(op, system, requested, upstream, provider, key, "output").Observe(float64(u.OutputTokens))
		}
		if rec.Stream && rec.TTFT > 0 {
			m.ttft.WithLabelValues(op, system, requested, upstream, provider, key).Observe(rec.TTFT.Seconds())
		}
		m.addTokens("input", u.InputTokens, provider, upstream, key)
		m.addTokens("output", u.OutputTokens, provider, upstream, key)
		m.addTokens("cached_input", u.CachedInputTokens, provider, upstream, key)
		m.addTokens("reasoning", u.ReasoningTokens, provider, upstream, key)
	}
	if rec.Cost > 0 {
		m.cost.WithLabelValues(provider, upstream, key).Add(float64(rec.Cost) / 1e6)
	}

	route = allowed(l.routes, route)
	for i := range attempts {
		a := &attempts[i]
		target := l.target(a.Target)
		m.attempts.WithLabelValues(target, a.Outcome).Inc()
		for j := range i {
			// A target passed over for a healthier one and tried later
			// was not retried: that is its first attempt.
			if attempts[j].Target == a.Target && !attempts[j].PassedOver() {
				m.retries.WithLabelValues(target).Inc()
				break
			}
		}
		if a.Hedge {
			m.hedges.WithLabelValues(route).Inc()
		}
	}
	if len(attempts) > 0 && rec.Status == http.StatusOK && rec.Provider != "" && !isTarget(attempts[0].Target, rec.Provider, rec.Model) {
		m.fallbacks.WithLabelValues(route).Inc()
	}
}

func (m *Metrics) addTokens(typ string, n int64, provider, model, key string) {
	if n > 0 {
		m.tokens.WithLabelValues(typ, provider, model, key).Add(float64(n))
	}
}

// isTarget reports whether target is provider/model, without building the
// string.
func isTarget(target, provider, model string) bool {
	rest, ok := strings.CutPrefix(target, provider)
	return ok && len(rest) == len(model)+1 && rest[0] == '/' && rest[1:] == model
}

// scrapeCollector reads the gauges that describe live state when scraped.
type scrapeCollector struct {
	src Sources
}

var (
	shadowsSkippedDesc = prometheus.NewDesc("switchyard_shadows_skipped_total",
		"Shadow requests not sent because every shadow slot was taken.", nil, nil)
	credentialFailuresDesc = prometheus.NewDesc("switchyard_upstream_credential_failures_total",
		"Upstream answers (401, 403) refusing the gateway's own credentials for a provider.", []string{"provider"}, nil)
	breakerDesc = prometheus.NewDesc("switchyard_breaker_state",
		"Circuit breaker state of a route's target: 0 closed, 1 half-open, 2 open.", []string{"route", "target"}, nil)
	queueDesc = prometheus.NewDesc("switchyard_request_log_queue_depth",
		"Request logs accepted and not yet written or given up on.", nil, nil)
	writtenDesc = prometheus.NewDesc("switchyard_request_log_written_total",
		"Request logs stored.", nil, nil)
	droppedDesc = prometheus.NewDesc("switchyard_request_log_dropped_total",
		"Request logs refused: queue full or writer closed.", nil, nil)
	failedDesc = prometheus.NewDesc("switchyard_request_log_failed_total",
		"Request logs given up on after the store kept failing.", nil, nil)
	storeUpDesc = prometheus.NewDesc("switchyard_store_up",
		"Whether the store answered a ping at scrape time (1) or not (0).", nil, nil)
	connsOpenDesc = prometheus.NewDesc("switchyard_connections_open",
		"Client connections open.", nil, nil)
	connsMaxDesc = prometheus.NewDesc("switchyard_connections_max",
		"The bound on open client connections (http.max_connections).", nil, nil)
	connsReachedDesc = prometheus.NewDesc("switchyard_connection_limit_reached_total",
		"Connections that had to wait to be accepted because http.max_connections were open.", nil, nil)
)

func (c *scrapeCollector) Describe(ch chan<- *prometheus.Desc) {
	if c.src.Router != nil {
		ch <- breakerDesc
		ch <- shadowsSkippedDesc
		ch <- credentialFailuresDesc
	}
	if c.src.Log != nil {
		ch <- queueDesc
		ch <- writtenDesc
		ch <- droppedDesc
		ch <- failedDesc
	}
	if c.src.Store != nil {
		ch <- storeUpDesc
	}
	if c.src.Connections != nil {
		ch <- connsOpenDesc
		ch <- connsMaxDesc
		ch <- connsReachedDesc
	}
}

func (c *scrapeCollector) Collect(ch chan<- prometheus.Metric) {
	if c.src.Router != nil {
		r := c.src.Router()
		type pair struct{ route, target string }
		seen := map[pair]bool{}
		for _, rh := range r.Health() {
			for _, th := range rh.Targets {
				p := pair{rh.Name, th.Target}
				if seen[p] {
					continue
				}
				seen[p] = true
				ch <- prometheus.MustNewConstMetric(breakerDesc, prometheus.GaugeValue, breakerValue(th.Breaker), rh.Name, th.Target)
			}
		}
		ch <- prometheus.MustNewConstMetric(shadowsSkippedDesc, prometheus.CounterValue, float64(r.ShadowsSkipped()))
		// Provider names come from the config, so the label is bounded.
		for p, n := range r.CredentialFailures() {
			ch <- prometheus.MustNewConstMetric(credentialFailuresDesc, prometheus.CounterValue, float64(n), p)
		}
	}
	if l := c.src.Log; l != nil {
		s := l.Stats()
		ch <- prometheus.MustNewConstMetric(queueDesc, prometheus.GaugeValue, float64(s.Queued))
		ch <- prometheus.MustNewConstMetric(writtenDesc, prometheus.CounterValue, float64(s.Written))
		ch <- prometheus.MustNewConstMetric(droppedDesc, prometheus.CounterValue, float64(s.Dropped))
		ch <- prometheus.MustNewConstMetric(failedDesc, prometheus.CounterValue, float64(s.Failed))
	}
	if st := c.src.Store; st != nil {
		ctx, cancel := context.WithTimeout(context.Background(), c.src.PingTimeout)
		up := 0.0
		if st.Ping(ctx) == nil {
			up = 1
		}
		cancel()
		ch <- prometheus.MustNewConstMetric(storeUpDesc, prometheus.GaugeValue, up)
	}
	if cs := c.src.Connections; cs != nil {
		ch <- prometheus.MustNewConstMetric(connsOpenDesc, prometheus.GaugeValue, float64(cs.Open()))
		ch <- prometheus.MustNewConstMetric(connsMaxDesc, prometheus.GaugeValue, float64(cs.Max()))
		ch <- prometheus.MustNewConstMetric(connsReachedDesc, prometheus.CounterValue, float64(cs.Reached()))
	}
}

// breakerValue maps a breaker state name to the gauge value.
func breakerValue(state string) float64 {
	switch state {
	case "closed":
		return 0
	case "half-open":
		return 1
	case "open":
		return 2
	}
	return -1
}
