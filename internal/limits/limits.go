// Package limits enforces rate limits and spend budgets: requests per
// minute (a sliding window: never more than N requests in any 60 seconds),
// tokens per minute (a token bucket charged with an estimate before the
// call and settled with the real usage after it), and a spend budget per
// day, month or in total.
//
// A Counter keeps the counts. Local keeps them in this process, for one
// node; Redis keeps them in Redis with one atomic Lua script per request,
// so that several replicas share them exactly; Failover uses Redis while it
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

// Decision is the outcome of Admit.
type Decision struct {
	Allowed bool
	// Refused says which limit of which subject (an index into the
	// subjects) refused; RetryAfter is when it may pass again (zero for a
	// budget: it passes when the period ends or the budget is raised).
	Refused    Kind
	Subject    int
	RetryAfter time.Duration

	// The tightest RPM and TPM figures among the subjects that have them,
	// for the x-ratelimit-* headers; LimitRequests (LimitTokens) is 0
	// when no subject has an RPM (TPM) limit.
	LimitRequests, RemainingRequests int64
	ResetRequests                    time.Duration
	LimitTokens, RemainingTokens     int64
	ResetTokens                      time.Duration
}

// SpendSource tells a Counter how much a subject spent since a time, for
// budget counters it has not seen (a restart, a new period, a Redis that
// lost its data): the request log is the record of spend.
type SpendSource func(ctx context.Context, subjectID string, since time.Time) (int64, error)

// Counter counts requests, tokens and spend for subjects.
type Counter interface {
	// Admit checks every subject's limits and, only if all pass, counts
	// one request (member identifies it; unique) and estimate tokens
	// against each. It is atomic: concurrent callers never admit more
	// than a limit allows.
	Admit(ctx context.Context, now time.Time, member string, subjects []Subject, estimate int64) (Decision, error)
	// Settle corrects each subject's token count by actual-estimate and
	// adds cost (micro-dollars) to its spend in the current period.
	Settle(ctx context.Context, now time.Time, subjects []Subject, estimate, actual, cost int64) error
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

// tightest folds one subject's figures into d's header figures.
func (d *Decision) tightest(rpm, remReq int64, resetReq time.Duration, tpm, remTok int64, resetTok time.Duration) {
	if rpm > 0 && (d.LimitRequests == 0 || remReq < d.RemainingRequests) {
		d.LimitRequests, d.RemainingRequests, d.ResetRequests = rpm, max(remReq, 0), resetReq
	}
	if tpm > 0 && (d.LimitTokens == 0 || remTok < d.RemainingTokens) {
		d.LimitTokens, d.RemainingTokens, d.ResetTokens = tpm, max(remTok, 0), resetTok
	}
}
