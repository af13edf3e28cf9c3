package router

import (
	"time"

	"github.com/switchyard-ai/switchyard/internal/router/health"
)

// targetHealth is what the router knows of one target's recent behaviour.
type targetHealth struct {
	breaker *health.Breaker
	latency *health.Latency // time to first token (or whole answer) of successes
}

func (r *Router) health(t Target) *targetHealth {
	key := t.String()
	if h, ok := r.targets.Load(key); ok {
		return h.(*targetHealth)
	}
	b := r.policy.Breaker
	h := &targetHealth{
		breaker: health.NewBreaker(health.BreakerConfig{Window: b.Window, MinRequests: b.MinRequests, FailureRate: b.FailureRate, OpenFor: b.OpenFor}, nil),
		latency: health.NewLatency(1000),
	}
	actual, _ := r.targets.LoadOrStore(key, h)
	return actual.(*targetHealth)
}

// InheritHealth takes over old's knowledge of target health (breakers,
// latencies), so that a config reload does not forget which vendor is down.
// Their breakers keep the settings they were made with; changed breaker
// settings apply to targets first seen after the reload. The count of
// skipped shadows carries on too, so that it stays a counter.
func (r *Router) InheritHealth(old *Router) {
	if old == nil {
		return
	}
	r.skipped = old.skipped
	old.targets.Range(func(k, v any) bool {
		r.targets.LoadOrStore(k, v)
		return true
	})
}

// TargetHealth is a target's live health, for GET /admin/routes.
type TargetHealth struct {
	Target    string  `json:"target"`
	Weight    float64 `json:"weight,omitempty"`
	Fallback  bool    `json:"fallback,omitempty"`
	Breaker   string  `json:"breaker"`
	Requests  int     `json:"recent_requests"`
	ErrorRate float64 `json:"recent_error_rate"`
	P50Ms     float64 `json:"p50_ms,omitempty"`
	P95Ms     float64 `json:"p95_ms,omitempty"`
}

// RouteHealth is a route's targets with their health.
type RouteHealth struct {
	Name    string         `json:"name"`
	Targets []TargetHealth `json:"targets"`
}

// Health reports every configured route's targets with their live health.
func (r *Router) Health() []RouteHealth {
	out := make([]RouteHealth, 0, len(r.names))
	for _, name := range r.names {
		rt := r.routes[name]
		rh := RouteHealth{Name: name}
		for i, t := range rt.Targets {
			th := r.targetHealth(t)
			th.Weight = rt.Weights[i]
			rh.Targets = append(rh.Targets, th)
		}
		for _, t := range rt.Fallbacks {
			th := r.targetHealth(t)
			th.Fallback = true
			rh.Targets = append(rh.Targets, th)
		}
		out = append(out, rh)
	}
	return out
}

func (r *Router) targetHealth(t Target) TargetHealth {
	h := r.health(t)
	s := h.breaker.Snapshot()
	th := TargetHealth{Target: t.String(), Breaker: s.State.String(), Requests: s.Requests, ErrorRate: s.ErrorRate}
	if q, ok := h.latency.Quantile(0.5); ok {
		th.P50Ms = ms(q)
	}
	if q, ok := h.latency.Quantile(0.95); ok {
		th.P95Ms = ms(q)
	}
	return th
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
