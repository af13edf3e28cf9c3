package server

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/switchyard-ai/switchyard/internal/limits"
	"github.com/switchyard-ai/switchyard/internal/llm"
	"github.com/switchyard-ai/switchyard/internal/pricing"
	"github.com/switchyard-ai/switchyard/internal/router"
	"github.com/switchyard-ai/switchyard/internal/store"
)

// TeamLookup returns a team by id, cached (keys.Teams).
type TeamLookup interface {
	Lookup(ctx context.Context, id string) (store.Team, error)
	Purge()
}

// ticket is what a request reserved, for its settle.
type ticket struct {
	subjects []limits.Subject
	limits.Reservation
}

// admit checks a key's expiry, finds the key's and its team's limits and
// counts the request against their RPM. It runs before the handler, for
// the model-calling (POST) endpoints, on headers alone; TPM and budgets
// are reserved by the handler once the model is known (reserve).
func (s *Server) admit(w http.ResponseWriter, r *http.Request, c *call) *llm.Error {
	now := time.Now()
	k := c.key
	if k.ExpiresAt != nil && !now.Before(*k.ExpiresAt) {
		return &llm.Error{Kind: llm.KindAuthentication, Code: "key_expired", Class: "auth",
			Message: "The API key " + k.Prefix + "… (" + k.Name + ") expired at " + k.ExpiresAt.UTC().Format(time.RFC3339) + "."}
	}
	if s.Limits == nil {
		return nil
	}
	if limited(k.Limits) {
		c.subjects = append(c.subjects, limits.Subject{ID: "key:" + k.ID, Limits: k.Limits})
	}
	if k.TeamID != "" && s.Teams != nil {
		var err error
		c.team, err = s.Teams.Lookup(r.Context(), k.TeamID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			// A key whose team was never created has no team limits.
		case err != nil:
			s.Logger.Error("team lookup failed", "team", k.TeamID, "err", err)
			return &llm.Error{Kind: llm.KindUnavailable, RetryAfter: "1", Class: "store_unavailable",
				Message: "The gateway could not check the key's team: its store is unavailable."}
		case limited(c.team.Limits):
			c.subjects = append(c.subjects, limits.Subject{ID: "team:" + c.team.ID, Limits: c.team.Limits})
		}
	}
	if !slices.ContainsFunc(c.subjects, func(sub limits.Subject) bool { return sub.Limits.RPM > 0 }) {
		return nil
	}
	d, err := s.Limits.Admit(r.Context(), now, c.id, c.subjects)
	if err != nil {
		s.Logger.Error("rate limit check failed", "err", err)
		return limitsUnavailable()
	}
	rateHeaders(w.Header(), d)
	if !d.Allowed {
		return refusal(d, c.subjects[d.Subject], k, c.team)
	}
	return nil
}

func limitsUnavailable() *llm.Error {
	return &llm.Error{Kind: llm.KindUnavailable, RetryAfter: "1", Class: "limits_unavailable",
		Message: "The gateway could not check the key's rate limits and budget."}
}

// reserve holds a request's worst case against its key's and team's TPM
// limits and budgets: its input bound plus the most it may generate, in
// tokens, and those tokens priced at the dearest of the route's targets
// and fallbacks (docs/limits.md). Every model-calling handler calls it
// once the route is resolved and before any upstream call. bounds returns
// the request's input bound and its max_tokens (-1 when it set none: a
// configured default is reserved; 0 for requests that generate nothing);
// it is called only for limited keys.
func (s *Server) reserve(ctx context.Context, w http.ResponseWriter, c *call, rt *router.Route, bounds func() (in, out int64)) *llm.Error {
	if s.Limits == nil || !slices.ContainsFunc(c.subjects, func(sub limits.Subject) bool { return sub.Limits.TPM > 0 || sub.Limits.Budget > 0 }) {
		return nil
	}
	in, out := bounds()
	targets := slices.Concat(rt.Targets, rt.Fallbacks)
	if out < 0 {
		out = limits.DefaultOutputTokens
		if s.OutputReservation != nil {
			names := []string{c.route}
			for _, t := range targets {
				names = append(names, t.String())
			}
			out = s.OutputReservation(names)
		}
	}
	res := limits.Reservation{ID: c.id, Tokens: in + out}
	for _, t := range targets {
		res.Cost = max(res.Cost, s.maxCost(t, in, out))
	}
	// Not cancelled with the request: a reservation made by a script whose
	// answer was abandoned would be held until it expires.
	d, err := s.Limits.Reserve(context.WithoutCancel(ctx), time.Now(), c.subjects, res)
	if err != nil {
		s.Logger.Error("rate limit check failed", "err", err)
		return limitsUnavailable()
	}
	rateHeaders(w.Header(), d)
	if !d.Allowed {
		return refusal(d, c.subjects[d.Subject], c.key, c.team)
	}
	c.ticket = &ticket{subjects: c.subjects, Reservation: res}
	return nil
}

// requestBounds returns the reservation bounds of a canonical request
// (nil: one the canonical form could not hold, bounded by the raw bytes of
// its body).
func requestBounds(req *llm.Request, raw int) (in, out int64) {
	if req == nil {
		return limits.MaxTextTokens(raw), -1
	}
	out = -1
	if req.MaxTokens > 0 {
		out = int64(req.MaxTokens)
	}
	return limits.MaxInputTokens(req), out
}

// inputEstimate estimates the input tokens of a canonical request for the
// model that served it (raw as for requestBounds).
func inputEstimate(req func() *llm.Request, raw int) func(typ, model string) int64 {
	return func(typ, model string) int64 {
		if r := req(); r != nil {
			return limits.InputTokens(typ, model, r)
		}
		return limits.MaxTextTokens(raw)
	}
}

// maxCost prices in input and out output tokens at t as dearly as they
// can be billed: input as prompt-cache writes where those cost more,
// output as reasoning where that does.
func (s *Server) maxCost(t router.Target, in, out int64) int64 {
	if s.Pricing == nil {
		return 0
	}
	price, ok := s.Pricing.Lookup(t.Provider.Name(), t.Provider.Type(), t.Model)
	if !ok {
		return 0
	}
	var worst int64
	for _, write := range []int64{0, in} {
		for _, reasoning := range []int64{0, out} {
			worst = max(worst, price.Cost(llm.Usage{InputTokens: in, CacheWriteTokens: write, OutputTokens: out, ReasoningTokens: reasoning}))
		}
	}
	return worst
}

func limited(l store.Limits) bool { return l.RPM > 0 || l.TPM > 0 || l.Budget > 0 }

// rateHeaders sets OpenAI's x-ratelimit-* headers from the tightest limits.
func rateHeaders(h http.Header, d limits.Decision) {
	if d.LimitRequests > 0 {
		h.Set("X-Ratelimit-Limit-Requests", strconv.FormatInt(d.LimitRequests, 10))
		h.Set("X-Ratelimit-Remaining-Requests", strconv.FormatInt(d.RemainingRequests, 10))
		h.Set("X-Ratelimit-Reset-Requests", resetValue(d.ResetRequests))
	}
	if d.LimitTokens > 0 {
		h.Set("X-Ratelimit-Limit-Tokens", strconv.FormatInt(d.LimitTokens, 10))
		h.Set("X-Ratelimit-Remaining-Tokens", strconv.FormatInt(d.RemainingTokens, 10))
		h.Set("X-Ratelimit-Reset-Tokens", resetValue(d.ResetTokens))
	}
}

// resetValue formats a reset delay as OpenAI does: "1s", "6m0s", "250ms".
func resetValue(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// refusal is the 429 for a request a limit refused.
func refusal(d limits.Decision, sub limits.Subject, k store.Key, team store.Team) *llm.Error {
	who := "This API key"
	if sub.ID != "key:"+k.ID {
		who = "This API key's team " + strconv.Quote(team.Name)
	}
	lim := sub.Limits
	if d.Refused == limits.Budget && d.Held {
		return &llm.Error{Kind: llm.KindRateLimit, Code: "budget_exceeded", Type: "insufficient_quota", Class: "budget_held",
			RetryAfter: "1",
			Message:    who + "'s budget of $" + pricing.FormatUSD(lim.Budget) + " is held by its requests in flight, which may cost up to what is left of it. Retry after 1 s, or ask an administrator to raise it."}
	}
	if d.Refused == limits.Budget {
		period := lim.BudgetPeriod
		if period == "" {
			period = "month"
		}
		msg := who + " has spent its budget of $" + pricing.FormatUSD(lim.Budget)
		if period == "total" {
			msg += " in total."
		} else {
			_, end, _ := limits.Period(period, time.Now())
			msg += " for this " + period + "; it renews at " + end.Format(time.RFC3339) + "."
		}
		return &llm.Error{Kind: llm.KindRateLimit, Code: "budget_exceeded", Type: "insufficient_quota", Class: "budget_exceeded",
			Message: msg + " Ask an administrator to raise it."}
	}
	secs := int64(math.Ceil(d.RetryAfter.Seconds()))
	secs = max(secs, 1)
	what := fmt.Sprintf("%d requests per minute", lim.RPM)
	if d.Refused == limits.Tokens {
		what = fmt.Sprintf("%d tokens per minute", lim.TPM)
	}
	return &llm.Error{Kind: llm.KindRateLimit, Code: "rate_limit_exceeded", Type: "requests", Class: "rate_limited",
		RetryAfter: strconv.FormatInt(secs, 10),
		Message:    fmt.Sprintf("%s is limited to %s. Retry after %d s.", who, what, secs)}
}

// settle prices a finished request and, if it reserved, settles its
// reservation to its real tokens and cost. It runs before the record is
// logged, so that the record carries the cost, and for every request,
// whatever became of it (finish is deferred), so that no reservation is
// left behind.
func (s *Server) settle(rec *store.RequestLog, c *call) {
	rec.TeamID = c.key.TeamID
	if rec.Provider != "" && c.router != nil {
		rec.Cost = s.cost(rec.Provider, s.providerType(c, rec.Provider), rec.Model, rec.Usage)
	}
	if c.ticket == nil || s.Limits == nil {
		return
	}
	// This must finish even if the client went away.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := s.Limits.Settle(ctx, time.Now(), c.ticket.subjects, c.ticket.Reservation, rec.Usage.Total(), rec.Cost); err != nil {
		s.Logger.Error("settling rate limits and budget failed", "request", rec.ID, "err", err)
	}
}

// providerType is the type of the provider called name on the request's
// router, or "".
func (s *Server) providerType(c *call, name string) string {
	if c.router != nil {
		if p, ok := c.router.ProviderSet().Get(name); ok {
			return p.Type()
		}
	}
	return ""
}

// cost prices usage at a provider (name and type) and model; 0 without a
// price.
func (s *Server) cost(name, typ, model string, u llm.Usage) int64 {
	if s.Pricing == nil {
		return 0
	}
	if price, ok := s.Pricing.Lookup(name, typ, model); ok {
		return price.Cost(u)
	}
	return 0
}
