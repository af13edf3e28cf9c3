package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/switchyard-ai/switchyard/internal/limits"
	"github.com/switchyard-ai/switchyard/internal/llm"
	"github.com/switchyard-ai/switchyard/internal/pricing"
	"github.com/switchyard-ai/switchyard/internal/store"
)

// TeamLookup returns a team by id, cached (keys.Teams).
type TeamLookup interface {
	Lookup(ctx context.Context, id string) (store.Team, error)
	Purge()
}

// ticket is what admission counted for a request, for its settle.
type ticket struct {
	subjects []limits.Subject
	estimate int64
}

// bufferedBody is a request body the admission read to estimate tokens;
// readBody takes it back rather than reading it twice.
type bufferedBody struct {
	*bytes.Reader
	data []byte
}

func (bufferedBody) Close() error { return nil }

// admit checks a key's expiry, then its and its team's rate limits and
// budgets, and counts the request. It runs before the handler, for the
// model-calling (POST) endpoints.
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
	var subjects []limits.Subject
	var team store.Team
	if limited(k.Limits) {
		subjects = append(subjects, limits.Subject{ID: "key:" + k.ID, Limits: k.Limits})
	}
	if k.TeamID != "" && s.Teams != nil {
		var err error
		team, err = s.Teams.Lookup(r.Context(), k.TeamID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			// A key whose team was never created has no team limits.
		case err != nil:
			s.Logger.Error("team lookup failed", "team", k.TeamID, "err", err)
			return &llm.Error{Kind: llm.KindUnavailable, RetryAfter: "1", Class: "store_unavailable",
				Message: "The gateway could not check the key's team: its store is unavailable."}
		case limited(team.Limits):
			subjects = append(subjects, limits.Subject{ID: "team:" + team.ID, Limits: team.Limits})
		}
	}
	if len(subjects) == 0 {
		return nil
	}
	var estimate int64
	for _, sub := range subjects {
		if sub.Limits.TPM > 0 {
			body, e := s.readBody(w, r)
			if e != nil {
				return e
			}
			r.Body = bufferedBody{bytes.NewReader(body), body}
			estimate = limits.Estimate(body)
			break
		}
	}
	d, err := s.Limits.Admit(r.Context(), now, c.id, subjects, estimate)
	if err != nil {
		s.Logger.Error("rate limit check failed", "err", err)
		return &llm.Error{Kind: llm.KindUnavailable, RetryAfter: "1", Class: "limits_unavailable",
			Message: "The gateway could not check the key's rate limits and budget."}
	}
	rateHeaders(w.Header(), d)
	if !d.Allowed {
		return refusal(d, subjects[d.Subject], k, team)
	}
	c.ticket = &ticket{subjects: subjects, estimate: estimate}
	return nil
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

// settle prices a finished request and, if admission counted it, settles
// its tokens and adds its cost to the budgets. It runs before the record
// is logged, so that the record carries the cost.
func (s *Server) settle(rec *store.RequestLog, c *call) {
	rec.TeamID = c.key.TeamID
	if rec.Provider != "" && c.router != nil {
		typ := ""
		if p, ok := c.router.ProviderSet().Get(rec.Provider); ok {
			typ = p.Type()
		}
		rec.Cost = s.cost(rec.Provider, typ, rec.Model, rec.Usage)
	}
	if c.ticket == nil || s.Limits == nil {
		return
	}
	// The client has its answer: this must finish even if it went away.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := s.Limits.Settle(ctx, time.Now(), c.ticket.subjects, c.ticket.estimate, rec.Usage.Total(), rec.Cost); err != nil {
		s.Logger.Error("settling rate limits and budget failed", "request", rec.ID, "err", err)
	}
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

// drainBody is readBody's fast path for a body admission already read.
func drainBody(r *http.Request) ([]byte, bool) {
	if b, ok := r.Body.(bufferedBody); ok {
		io.Copy(io.Discard, b.Reader) // consumed, as a read body is
		return b.data, true
	}
	return nil, false
}
