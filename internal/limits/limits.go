// Package limits enforces rate limits and spend budgets as hard caps:
// requests per minute (a sliding window: never more than N requests in
// any 60 seconds), tokens per minute (a sliding log of the tokens each
// request reserved, corrected to its real usage when it ends) and a spend
// budget per day, month or in total.
//
// A request is counted in two steps. Admit counts it against the RPM
// limits as soon as its key is known. Reserve, once its model is resolved
// and its worst case can be priced, holds its maximum tokens and cost
// against the TPM limits and budgets; Settle replaces the reservation by
// what the request really used. Reservations in flight count against a
// budget as if spent, so that concurrent requests cannot together spend
// past it (docs/limits.md).
//
// A Counter keeps the counts. Local keeps them in this process, for one
// node; Redis keeps them in Redis with one atomic Lua script per step, so
// that several replicas share them exactly; Failover uses Redis while it
// answers and falls back to per-replica Local counts while it does not.
package limits

import (
	"context"
	"fmt"
	"time"

	"github.com/switchyard-ai/switchyard/internal/store"
)

// Window is the span of RPM and TPM limits.
const Window = time.Minute

// DefaultReservationTTL is how long a reservation lives when its request
// never settles: the replica that held it crashed. It must outlast the
// longest request (the default provider timeout is 10 minutes), or a
// long stream's reservation would lapse while it runs.
const DefaultReservationTTL = 15 * time.Minute

// DefaultOutputTokens is the output reserved for a request that sets no
// max_tokens, when the configuration names no other (limits.output_tokens).
const DefaultOutputTokens = 4096

// Subject is one thing limited: a key or a team.
type Subject struct {
	// ID names the counters: "key:<id>" or "team:<id>".
	ID     string
	Limits store.Limits
}

// Kind says which limit refused a request.
type Kind int

const (
	None     Kind = iota
	Requests      // RPM
	Tokens        // TPM
	Budget        // spend budget
)

func (k Kind) String() string {
	return [...]string{"none", "requests", "tokens", "budget"}[k]
}

// Decision is the outcome of Admit or Reserve.
type Decision struct {
	Allowed bool
	// Refused says which limit of which subject (an index into the
	// subjects) refused; RetryAfter is when it may pass again (zero for a
	// spent budget: it passes when the period ends or the budget is
	// raised).
	Refused    Kind
	Subject    int
	RetryAfter time.Duration
	// Held reports a budget refusal while the budget is not spent but held
	// by requests in flight: the request may pass once they settle below
	// what they reserved.
	Held bool

	// The tightest RPM (Admit) and TPM (Reserve) figures among the
	// subjects that have them, for the x-ratelimit-* headers;
	// LimitRequests (LimitTokens) is 0 when no subject has an RPM (TPM)
	// limit.
	LimitRequests, RemainingRequests int64
	ResetRequests                    time.Duration
	LimitTokens, RemainingTokens     int64
	ResetTokens                      time.Duration
}

// Reservation is what one request holds against its subjects' TPM limits
// and budgets from Reserve until Settle.
type Reservation struct {
	// ID identifies the request; unique.
	ID string
	// Tokens is held against each TPM limit: the request's input estimate
	// plus the most it may generate.
	Tokens int64
	// Cost is held against each budget, in micro-dollars: Tokens priced
	// at the dearest model the request may be served by.
	Cost int64
}

// SpendSource tells a Counter how much a subject spent since a time, for
// budget counters it has not seen (a restart, a new period, a Redis that
// lost its data): the request log is the record of spend.
type SpendSource func(ctx context.Context, subjectID string, since time.Time) (int64, error)

// Counter counts requests, tokens and spend for subjects. Each method is
// atomic: concurrent callers never admit more than a limit allows, and a
// request refused by one subject is counted against none.
type Counter interface {
	// Admit checks every subject's RPM limit and, only if all pass,
	// counts one request (id identifies it) against each.
	Admit(ctx context.Context, now time.Time, id string, subjects []Subject) (Decision, error)
	// Reserve checks every subject's TPM limit and budget and, only if
	// all pass, holds r against each. A TPM limit admits r when the
	// tokens admitted in the last Window plus r.Tokens fit, or when none
	// were (so a request larger than the limit is not refused forever). A
	// budget admits r when spend plus the reservations in flight plus
	// r.Cost fit, or when nothing is in flight and spend is under the
	// budget: the overshoot is then bounded by one request's cost.
	Reserve(ctx context.Context, now time.Time, subjects []Subject, r Reservation) (Decision, error)
	// Settle releases r, charges each TPM limit tokens instead of
	// r.Tokens (at r's admission time) and adds cost (micro-dollars) to
	// each budget's spend in the current period. It must be called for
	// every successful Reserve, whatever became of the request; a
	// reservation never settled expires after its TTL.
	Settle(ctx context.Context, now time.Time, subjects []Subject, r Reservation, tokens, cost int64) error
	// Spent returns a subject's spend in its current budget period, as
	// counted (0 for a subject without a budget).
	Spent(ctx context.Context, now time.Time, s Subject) (int64, error)
}

// Period returns the start of the budget period containing now, its end
// (zero for "total"), and a name for its counter.
func Period(period string, now time.Time) (start, end time.Time, name string) {
	now = now.UTC()
	switch period {
	case "day":
		start = time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
		return start, start.AddDate(0, 0, 1), start.Format("d20060102")
	case "total":
		return time.Time{}, time.Time{}, "total"
	default: // "month", and ""
		start = time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
		return start, start.AddDate(0, 1, 0), start.Format("m200601")
	}
}

// ValidPeriod reports whether p names a budget period.
func ValidPeriod(p string) error {
	switch p {
	case "", "day", "month", "total":
		return nil
	}
	return fmt.Errorf("budget period %q: want day, month or total", p)
}

// tightestRequests folds one subject's RPM figures into d's headers.
func (d *Decision) tightestRequests(rpm, rem int64, reset time.Duration) {
	if rpm > 0 && (d.LimitRequests == 0 || rem < d.RemainingRequests) {
		d.LimitRequests, d.RemainingRequests, d.ResetRequests = rpm, max(rem, 0), reset
	}
}

// tightestTokens folds one subject's TPM figures into d's headers.
func (d *Decision) tightestTokens(tpm, rem int64, reset time.Duration) {
	if tpm > 0 && (d.LimitTokens == 0 || rem < d.RemainingTokens) {
		d.LimitTokens, d.RemainingTokens, d.ResetTokens = tpm, max(rem, 0), reset
	}
}

// refuse records the first refusal in d.
func (d *Decision) refuse(k Kind, i int, after time.Duration, held bool) {
	if d.Allowed {
		d.Allowed, d.Refused, d.Subject, d.RetryAfter, d.Held = false, k, i, after, held
	}
}

// reserves reports whether any subject has a TPM limit or a budget.
func reserves(subjects []Subject) bool {
	for _, s := range subjects {
		if s.Limits.TPM > 0 || s.Limits.Budget > 0 {
			return true
		}
	}
	return false
}

// admitsBudget is the budget rule of Reserve.
func admitsBudget(budget, spent, held int64, inFlight int, cost int64) (ok, isHeld bool) {
	switch {
	case spent >= budget:
		return false, false
	case spent+held+cost <= budget || inFlight == 0:
		return true, false
	}
	return false, true
}

// admitsTokens is the TPM rule of Reserve.
func admitsTokens(tpm, inWindow, tokens int64) bool {
	return inWindow+tokens <= tpm || inWindow == 0
}

// heldRetry is the Retry-After of a budget held by requests in flight:
// they usually settle within seconds.
const heldRetry = time.Second
