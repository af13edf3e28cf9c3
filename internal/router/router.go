// Package router decides which provider and upstream model serve a request,
// and runs the policy around the call: weighted sticky splits, retries with
// backoff, and fallbacks.
//
// A client names a model in one of three ways, tried in this order:
//  1. a model declared under models: in the config ("chat-default"), with
//     one target or a weighted split, and fallbacks;
//  2. "provider/model", with a configured provider name
//     ("deepseek/deepseek-reasoner"); the model part is passed on as is;
//  3. a bare model name that a provider lists under its models:
//     ("gpt-4o"), so clients that hard-code vendor model names work by
//     changing only their base URL. The first provider in config order wins.
package router

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/switchyard-ai/switchyard/internal/config"
	"github.com/switchyard-ai/switchyard/internal/llm"
	"github.com/switchyard-ai/switchyard/internal/provider"
)

// Target is one provider model.
type Target struct {
	Provider provider.Provider
	Model    string
}

// String returns "provider/model".
func (t Target) String() string { return t.Provider.Name() + "/" + t.Model }

// Route is the policy for one public model name.
type Route struct {
	Name      string
	Targets   []Target  // the split, incumbent first
	Weights   []float64 // normalised, summing to 1
	Fallbacks []Target
	Sticky    string // "key", "user" or "header:NAME"
	Retries   int
	Hedge     *config.Hedge
	Timeouts  config.Timeouts
	Shadows   []ShadowTarget
	// StripReasoning hides the model's reasoning from clients.
	StripReasoning bool
}

// ShadowTarget receives a sampled share of a route's requests.
type ShadowTarget struct {
	Target
	Sample float64
}

// Router resolves model names to routes and runs them.
type Router struct {
	providers *provider.Set
	routes    map[string]*Route
	bare      map[string]Target
	names     []string
	policy    config.Router
	targets   sync.Map      // target string → *targetHealth
	creds     *credentials  // per provider
	shadows   chan struct{} // a slot per shadow request in flight
	skipped   *atomic.Int64 // shadow requests not sent for want of a slot
	// TracerProvider makes a client span per upstream attempt; nil
	// means no tracing. Set it before the router serves.
	TracerProvider trace.TracerProvider
	// Logger receives what an operator must act on, such as a vendor
	// refusing the gateway's credentials; nil means slog.Default().
	Logger *slog.Logger
	// sleep waits between retries, and now is the clock of breakers and
	// cooldowns; tests replace them.
	sleep func(d time.Duration, done <-chan struct{}) bool
	now   func() time.Time
}

// DefaultRetries is how often a target is retried when a route does not
// say.
const DefaultRetries = 1

// New builds a router over providers, the config's models and its policy.
func New(providers *provider.Set, models []config.Model, policy config.Router) (*Router, error) {
	r := &Router{providers: providers, routes: map[string]*Route{}, bare: map[string]Target{}, policy: withDefaults(policy),
		sleep: sleep, now: time.Now, creds: new(credentials),
		shadows: make(chan struct{}, max(1, policy.ShadowConcurrency)), skipped: new(atomic.Int64)}
	for _, p := range providers.All() {
		for _, m := range p.Models() {
			if _, dup := r.bare[m]; !dup {
				r.bare[m] = Target{Provider: p, Model: m}
			}
		}
	}
	for _, m := range models {
		rt, err := r.route(m)
		if err != nil {
			return nil, err
		}
		r.routes[m.Name] = rt
		r.names = append(r.names, m.Name)
	}
	return r, nil
}

// withDefaults fills the policy fields that health and waits cannot do
// without, for a policy built in code rather than by config.Parse.
func withDefaults(p config.Router) config.Router {
	if p.MaxRetryWait <= 0 {
		p.MaxRetryWait = config.DefaultMaxRetryWait
	}
	if p.Cooldown <= 0 {
		p.Cooldown = config.DefaultCooldown
	}
	if p.MaxCooldown <= 0 {
		p.MaxCooldown = config.DefaultMaxCooldown
	}
	return p
}

func (r *Router) logger() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.Default()
}

func (r *Router) route(m config.Model) (*Route, error) {
	rt := &Route{Name: m.Name, Sticky: m.Sticky, Retries: DefaultRetries, Hedge: m.Hedge, Timeouts: m.Timeouts, StripReasoning: m.Reasoning == "strip"}
	if m.Retries != nil {
		rt.Retries = *m.Retries
	}
	targets := m.Targets
	if m.Target != "" {
		targets = []config.Target{{Model: m.Target, Weight: 1}}
	}
	total := 0.0
	for _, ct := range targets {
		t, ok := r.qualified(ct.Model)
		if !ok {
			return nil, fmt.Errorf("model %q: target %q names no configured provider", m.Name, ct.Model)
		}
		rt.Targets = append(rt.Targets, t)
		rt.Weights = append(rt.Weights, ct.Weight)
		total += ct.Weight
	}
	for i := range rt.Weights {
		if total == 0 {
			rt.Weights[i] = 1 / float64(len(rt.Weights))
		} else {
			rt.Weights[i] /= total
		}
	}
	for _, sh := range m.Shadows {
		t, ok := r.qualified(sh.Model)
		if !ok {
			return nil, fmt.Errorf("model %q: shadow %q names no configured provider", m.Name, sh.Model)
		}
		rt.Shadows = append(rt.Shadows, ShadowTarget{Target: t, Sample: sh.Sample})
	}
	for _, f := range m.Fallbacks {
		t, ok := r.qualified(f)
		if !ok {
			return nil, fmt.Errorf("model %q: fallback %q names no configured provider", m.Name, f)
		}
		rt.Fallbacks = append(rt.Fallbacks, t)
	}
	return rt, nil
}

// Resolve returns the route for a client's model name, or a not_found
// *llm.Error.
func (r *Router) Resolve(model string) (*Route, error) {
	if rt, ok := r.routes[model]; ok {
		return rt, nil
	}
	t, ok := r.qualified(model)
	if !ok {
		t, ok = r.bare[model]
	}
	if !ok {
		return nil, &llm.Error{Kind: llm.KindNotFound, Param: "model", Code: "model_not_found", Class: "not_found",
			Message: fmt.Sprintf("The model `%s` does not exist: use a model from GET /v1/models or provider/model with a configured provider", model)}
	}
	return &Route{Name: model, Targets: []Target{t}, Weights: []float64{1}, Retries: DefaultRetries}, nil
}

func (r *Router) qualified(model string) (Target, bool) {
	name, m, ok := strings.Cut(model, "/")
	if !ok || m == "" {
		return Target{}, false
	}
	p, ok := r.providers.Get(name)
	if !ok {
		return Target{}, false
	}
	return Target{Provider: p, Model: m}, true
}

// Names returns the configured model names in config order.
func (r *Router) Names() []string { return r.names }

// ShadowsSkipped counts the shadow requests not sent for want of a slot,
// since the first router of the process.
func (r *Router) ShadowsSkipped() int64 { return r.skipped.Load() }

// ProviderSet returns the router's providers.
func (r *Router) ProviderSet() *provider.Set { return r.providers }

// Providers returns the configured providers in config order.
func (r *Router) Providers() []provider.Provider { return r.providers.All() }
