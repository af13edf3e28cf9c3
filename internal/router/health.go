package router

import (
	"time"

	"github.com/switchyard-ai/switchyard/internal/router/health"
)

// targetHealth is what the router knows of one target's recent behaviour.
type targetHealth struct {
	breaker  *health.Breaker
	cooldown *health.Cooldown
	latency  *health.Latency // time to first token (or whole answer) of successes
}

func (r *Router) health(t Target) *targetHealth {
	key := t.String()
	if h, ok := r.targets.Load(key); ok {
		return h.(*targetHealth)
	}
	b := r.policy.Breaker
	h := &targetHealth{
		breaker: health.NewBreaker(health.BreakerConfig{Window: b.Window, MinRequests: b.MinRequests, FailureRate: b.FailureRate,
			OpenFor: b.OpenFor, HalfOpenShare: b.HalfOpenShare}, r.now),
		cooldown: health.NewCooldown(r.now),
		latency:  health.NewLatency(1000),
	}
	actual, _ := r.targets.LoadOrStore(key, h)
	return actual.(*targetHealth)
}

// InheritHealth takes over old's knowledge of target health (breakers,
// latencies), so that a config reload does not forget which vendor is down.
// Their breakers keep the settings they were made with; changed breaker
// settings apply to targets first seen after the reload. The count of
// skipped shadows and what is known of the providers' credentials carry
// on too, so that counters stay counters.
func (r *Router) InheritHealth(old *Router) {
	if old == nil {
		return
	}
	r.skipped = old.skipped
	if old.creds != nil {
		r.creds = old.creds
	}
	old.targets.Range(func(k, v any) bool {
		r.targets.LoadOrStore(k, v)
		return true
	})
}

// TargetHealth is a target's live health, for GET /admin/routes.
type TargetHealth struct {
	Target   string  `json:"target"`
	Weight   float64 `json:"weight,omitempty"`
	Fallback bool    `json:"fallback,omitempty"`
	// Breaker is "closed", "half-open" or "open".
	Breaker string `json:"breaker"`
	// CooldownUntil is when a target that its vendor asked to rest (a
	// 429, a 503 with retry-after, no quota) is preferred again, and
	// CooldownReason why ("rate_limited", "overloaded",
	// "quota_exhausted"); both empty when it is not cooling down.
	CooldownUntil  *time.Time `json:"cooldown_until,omitempty"`
	CooldownReason string     `json:"cooldown_reason,omitempty"`
	// CredentialsRejected: the provider's latest answer refused the
	// gateway's credentials.
	CredentialsRejected bool    `json:"credentials_rejected,omitempty"`
	Requests            int     `json:"recent_requests"`
	ErrorRate           float64 `json:"recent_error_rate"`
	P50Ms               float64 `json:"p50_ms,omitempty"`
	P95Ms               float64 `json:"p95_ms,omitempty"`
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
	if until, reason, ok := h.cooldown.State(); ok {
		th.CooldownUntil, th.CooldownReason = &until, reason
	}
	if p, ok := r.creds.providers.Load(t.Provider.Name()); ok {
		th.CredentialsRejected = p.(*providerCreds).refused.Load()
	}
	if q, ok := h.latency.Quantile(0.5); ok {
		th.P50Ms = ms(q)
	}
	if q, ok := h.latency.Quantile(0.95); ok {
		th.P95Ms = ms(q)
	}
	return th
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
