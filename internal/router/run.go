package router

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/switchyard-ai/switchyard/internal/llm"
	"github.com/switchyard-ai/switchyard/internal/provider"
	"github.com/switchyard-ai/switchyard/internal/provider/upstream"
	"github.com/switchyard-ai/switchyard/internal/router/health"
)

// Attempt is one upstream call the router made (or skipped) for a request.
type Attempt struct {
	Target string `json:"target"`
	// Outcome is "ok", the error class, or for a target passed over for a
	// healthier one, "circuit_open" or "cooling_down".
	Outcome string        `json:"outcome"`
	Status  int           `json:"status"`
	Latency time.Duration `json:"-"`
	// LatencyMs is Latency in milliseconds, for the JSON form.
	LatencyMs float64 `json:"latency_ms"`
	// Hedge marks the second request of a hedged pair.
	Hedge bool   `json:"hedge,omitempty"`
	Error string `json:"error,omitempty"`
	// Tokens used by the attempt; only the one that served the request
	// reads an answer, so only it has any.
	InputTokens  int64 `json:"input_tokens,omitempty"`
	OutputTokens int64 `json:"output_tokens,omitempty"`
}

// PassedOver reports whether the router passed over the target (its
// circuit open, or cooling down) rather than sending it the request.
func (a Attempt) PassedOver() bool {
	return a.Status == 0 && (a.Outcome == "circuit_open" || a.Outcome == "cooling_down")
}

// Result is a served request: the reply, the target that produced it, and
// every attempt made.
type Result struct {
	Reply    *provider.Reply
	Target   Target
	Attempts []Attempt
	// Hedged reports that a hedge request was started.
	Hedged bool
}

// Call sends a request to one target. For streams it returns the reply
// before any event was read.
type Call func(ctx context.Context, t Target) (*provider.Reply, error)

var (
	errFirstToken = errors.New("first-token timeout")
	errIdle       = errors.New("idle timeout")
	errHedgeLost  = errors.New("the hedged request lost")
)

// Do serves a request on rt for unit: it picks the unit's target, retries
// it on retryable failures with backoff, then tries the fallbacks in
// order; with hedging, the first fallback may run beside the chosen target.
// A failure is retryable when nothing has reached the client yet: 429, 5xx
// (and Anthropic's 529), a timeout, a refused connection, or a stream that
// fails before its first event. Streams are returned with their first event
// already read, so that a failing stream can still fall back.
//
// Health orders the targets and never refuses a request: a target whose
// circuit is open or that is cooling down is passed over only while a
// healthier target of the route is left to try, and is tried after them
// (docs/routing.md). It returns the last error, with the attempts, when
// every target failed.
func (r *Router) Do(ctx context.Context, rt *Route, unit string, call Call) (*Result, error) {
	res := &Result{}
	deadline := time.Now().Add(r.policy.Deadline)
	candidates := []Target{rt.Pick(unit)}
	for _, f := range rt.Fallbacks {
		if f != candidates[0] {
			candidates = append(candidates, f)
		}
	}
	hedgeable := len(candidates) > 1 // the first fallback may hedge; split targets do not
	// A split's other targets are the route's alternatives of last resort:
	// a unit whose target is down is better served by another of the
	// route's models than refused. They come after the fallbacks, so a
	// healthy split keeps its weights.
	for i, t := range rt.Targets {
		if rt.Weights[i] > 0 && !slices.Contains(candidates, t) {
			candidates = append(candidates, t)
		}
	}
	var last *llm.Error
	if rt.Hedge != nil && hedgeable && r.closed(candidates[0]) && r.closed(candidates[1]) {
		var ok bool
		if last, ok = r.hedge(ctx, rt, candidates[0], candidates[1], call, res); ok {
			return res, nil
		}
		if ctx.Err() != nil || !fallsBack(last) {
			return res, last
		}
		candidates = candidates[2:]
	}
	// The first pass takes the targets in the route's order, passing over
	// an unhealthy one while a healthy one is left; the second tries
	// those passed over, in the same order.
	var deferred []Target
	try := func(t Target, probe, more bool) (done bool) {
		var e *llm.Error
		done, e = r.serve(ctx, rt, t, probe, more, call, res, deadline)
		if e != nil {
			last = e
		}
		return done || time.Now().After(deadline)
	}
	for i, t := range candidates {
		ok, probe, why := r.admit(t)
		if !ok && r.anyHealthy(candidates[i+1:]) {
			deferred = append(deferred, t)
			res.Attempts = append(res.Attempts, Attempt{Target: t.String(), Outcome: why, Error: "passed over for a healthier target: " + r.unhealthy(t)})
			continue
		}
		if try(t, probe, i < len(candidates)-1 || len(deferred) > 0) {
			return result(res, last)
		}
	}
	for i, t := range deferred {
		_, probe, _ := r.admit(t)
		if try(t, probe, i < len(deferred)-1) {
			break
		}
	}
	return result(res, last)
}

func result(res *Result, last *llm.Error) (*Result, error) {
	switch {
	case res.Reply != nil:
		return res, nil
	case last == nil: // unreachable while every route has a target
		return res, &llm.Error{Kind: llm.KindUnavailable, Class: "no_target", Message: "no target could be tried"}
	}
	return res, last
}

// serve tries t, and again on a retryable failure, up to the route's
// retries. probe is what t's breaker said of the first attempt; more says
// whether another target is left to try after t. done reports that the
// request is over: served (res.Reply is set), or failed in a way no other
// target can help with. e is the last failure.
func (r *Router) serve(ctx context.Context, rt *Route, t Target, probe, more bool, call Call, res *Result, deadline time.Time) (done bool, e *llm.Error) {
	for n := 0; n <= rt.Retries; n++ {
		if n > 0 {
			// The target was chosen; its breaker decides only whether the
			// retry is a probe. Refusing it here would turn a vendor's
			// partial failure into the gateway's total one.
			_, probe = r.health(t).breaker.Allow()
		}
		reply, a, err := r.attempt(ctx, rt, t, probe, call, false)
		res.Attempts = append(res.Attempts, a)
		if err == nil {
			res.Reply, res.Target = reply, t
			return true, nil
		}
		e = err
		v := judge(err)
		switch {
		case ctx.Err() != nil || v == noVerdict || v == clientFault:
			return true, e
		case v == refusedCreds || v == quota:
			return false, e // the same credentials get the same answer: next target
		case v == cooling && more:
			return false, e // the vendor asked for a rest: another target serves meanwhile
		case n == rt.Retries:
			return false, e
		}
		wait := r.backoff(n, err.RetryAfter)
		if wait > r.policy.MaxRetryWait || time.Now().Add(wait).After(deadline) {
			// The vendor asks for longer than the gateway waits in
			// silence: the next target, or the client, decides.
			return false, e
		}
		if !r.sleep(wait, ctx.Done()) {
			return true, e
		}
	}
	return false, e
}

// attempt makes one call to t, within the route's first-token timeout, and
// reports its outcome to t's health. probe is what t's breaker said when
// admitting it; hedge marks the second request of a hedged pair. The
// attempt's client span ends when its outcome is known: for a stream, at
// its first event.
func (r *Router) attempt(ctx context.Context, rt *Route, t Target, probe bool, call Call, hedge bool) (reply *provider.Reply, a Attempt, e *llm.Error) {
	a = Attempt{Target: t.String(), Hedge: hedge}
	ctx, span := r.startAttemptSpan(ctx, t, hedge)
	defer endAttemptSpan(span, &a)
	h := r.health(t)
	base, cancelTotal := ctx, context.CancelFunc(func() {})
	if d := rt.Timeouts.Total; d > 0 {
		base, cancelTotal = context.WithTimeout(ctx, d)
	}
	actx, cancelAttempt := context.WithCancelCause(base)
	cancel := func(cause error) { cancelAttempt(cause); cancelTotal() }
	var timer *time.Timer
	if d := rt.Timeouts.FirstToken; d > 0 {
		timer = time.AfterFunc(d, func() { cancel(errFirstToken) })
	}
	t0 := time.Now()
	reply, err := first(call(actx, t))
	if timer != nil {
		timer.Stop()
	}
	a.Latency = time.Since(t0)
	a.LatencyMs = ms(a.Latency)
	if err != nil {
		e := llm.AsError(err)
		switch context.Cause(actx) {
		case errFirstToken:
			e = &llm.Error{Kind: llm.KindTimeout, Class: "first_token_timeout",
				Message: fmt.Sprintf("%s sent no first token within %s", t, rt.Timeouts.FirstToken)}
		case errHedgeLost:
			e = &llm.Error{Kind: llm.KindServer, Status: 499, Class: "hedge_lost", Message: "cancelled: the other hedged request answered first"}
		}
		cancel(nil)
		e = r.observe(t, h, probe, e)
		a.Outcome, a.Status, a.Error = e.Class, e.HTTPStatus(), e.Message
		return nil, a, e
	}
	// For a stream this is its first event: a probe's verdict does not
	// wait for the end of a long answer.
	h.breaker.Record(true, probe)
	h.cooldown.End()
	r.creds.accepted(t.Provider.Name(), r.logger())
	h.latency.Observe(a.Latency)
	a.Outcome, a.Status = "ok", http.StatusOK
	if reply.Stream == nil {
		cancel(nil)
		return reply, a, nil
	}
	// The attempt's context lives as long as its stream.
	reply.Stream = &guarded{Stream: reply.Stream, ctx: actx, cancel: cancel, idle: rt.Timeouts.Idle, breaker: h.breaker}
	return reply, a, nil
}

// observe reports a failed attempt on t to t's health and returns the
// error for the client. Only the target's own faults count against its
// breaker; see judge.
func (r *Router) observe(t Target, h *targetHealth, probe bool, e *llm.Error) *llm.Error {
	switch judge(e) {
	case noVerdict:
		h.breaker.Abandon(probe)
	case clientFault:
		// The vendor answered, so it is up; but a flood of bad requests
		// must not dilute a failure rate either, so only a probe tells.
		if probe {
			h.breaker.Record(true, true)
		}
	case cooling, quota:
		h.breaker.Abandon(probe)
		h.cooldown.Start(r.cooldownFor(e), cooldownReason(e))
	case refusedCreds:
		h.breaker.Record(false, probe)
		name := t.Provider.Name()
		r.creds.rejected(name, e.Message, r.logger())
		// The vendor's message can quote part of the key; it goes to the
		// log, and the client learns only whose credentials failed.
		return &llm.Error{Kind: llm.KindUpstream, Status: http.StatusBadGateway, Class: e.Class,
			Message: fmt.Sprintf("provider %q rejected the gateway's credentials; the gateway's operator must fix them", name)}
	default:
		h.breaker.Record(false, probe)
	}
	return e
}

// verdict is what a failed attempt says of its target.
type verdict int

const (
	failed       verdict = iota // the target failed: counts against its breaker
	noVerdict                   // cancelled: says nothing
	clientFault                 // the request was at fault: the target is up
	cooling                     // the vendor asked for a rest (429, 503 with retry-after)
	quota                       // the account has no quota left: a rest, and no retry on it
	refusedCreds                // the vendor refused the gateway's credentials
)

// judge classifies a failed attempt.
func judge(e *llm.Error) verdict {
	s := e.HTTPStatus()
	switch {
	case e.Class == "client_gone" || e.Class == "hedge_lost":
		return noVerdict
	case e.Class == upstream.ClassAuth:
		return refusedCreds
	case e.Code == "insufficient_quota" || e.Type == "insufficient_quota" || s == http.StatusPaymentRequired:
		return quota
	case s == http.StatusTooManyRequests:
		return cooling
	case (s == http.StatusServiceUnavailable || s == 529) && e.RetryAfter != "":
		return cooling
	case s >= 500:
		return failed
	}
	return clientFault
}

// cooldownFor is how long a target rests after e: the vendor's
// retry-after, or the configured cooldown without one, at most the
// configured maximum.
func (r *Router) cooldownFor(e *llm.Error) time.Duration {
	d := parseRetryAfter(e.RetryAfter)
	if d <= 0 {
		d = r.policy.Cooldown
	}
	return min(d, r.policy.MaxCooldown)
}

func cooldownReason(e *llm.Error) string {
	switch {
	case judge(e) == quota:
		return "quota_exhausted"
	case e.HTTPStatus() == http.StatusTooManyRequests:
		return "rate_limited"
	}
	return "overloaded"
}

// admit asks t's health whether to send t a request now. ok is false when
// t is cooling down or its breaker refuses; why is then the attempt
// outcome to record ("cooling_down" or "circuit_open"). probe is true when
// the breaker admitted the request as a half-open probe.
func (r *Router) admit(t Target) (ok, probe bool, why string) {
	h := r.health(t)
	if h.cooldown.Active() {
		return false, false, "cooling_down"
	}
	if ok, probe = h.breaker.Allow(); !ok {
		return false, false, "circuit_open"
	}
	return true, probe, ""
}

// anyHealthy reports whether a target of ts may be healthy: not cooling
// down, and its circuit not open (a half-open one may admit). It only
// looks: Allow would take a half-open breaker's probe share.
func (r *Router) anyHealthy(ts []Target) bool {
	for _, t := range ts {
		h := r.health(t)
		if !h.cooldown.Active() && h.breaker.State() != health.Open {
			return true
		}
	}
	return false
}

// closed reports whether t is fully healthy: its circuit closed and not
// cooling down. Only such targets are hedged.
func (r *Router) closed(t Target) bool {
	h := r.health(t)
	return !h.cooldown.Active() && h.breaker.State() == health.Closed
}

// unhealthy says why t was passed over.
func (r *Router) unhealthy(t Target) string {
	h := r.health(t)
	if until, reason, ok := h.cooldown.State(); ok {
		return fmt.Sprintf("cooling down (%s) until %s", reason, until.UTC().Format(time.RFC3339))
	}
	return "its circuit breaker is " + h.breaker.State().String()
}

// hedge races the chosen target a against the first fallback b: b starts
// when a has not answered within the hedge delay, or at once when a fails
// first. The first success wins and the other request is cancelled. ok is
// false when both failed; last is then the later failure.
func (r *Router) hedge(ctx context.Context, rt *Route, a, b Target, call Call, res *Result) (last *llm.Error, ok bool) {
	type outcome struct {
		reply *provider.Reply
		att   Attempt
		err   *llm.Error
		hedge bool
	}
	ch := make(chan outcome, 2)
	var cancels [2]context.CancelCauseFunc
	launch := func(i int, t Target) {
		lctx, cancel := context.WithCancelCause(ctx)
		cancels[i] = cancel
		// Both were closed when the race began; Allow only says whether
		// the request has become a probe since.
		_, probe := r.health(t).breaker.Allow()
		go func() {
			reply, att, err := r.attempt(lctx, rt, t, probe, call, i == 1)
			if err != nil {
				cancel(nil)
			}
			ch <- outcome{reply, att, err, i == 1}
		}()
	}
	launch(0, a)
	running, hedged := 1, false
	timer := time.NewTimer(r.hedgeDelay(rt, a))
	defer timer.Stop()
	startHedge := func() {
		if !hedged {
			hedged, res.Hedged = true, true
			launch(1, b)
			running++
		}
	}
	for running > 0 {
		select {
		case <-timer.C:
			startHedge()
		case o := <-ch:
			running--
			res.Attempts = append(res.Attempts, o.att)
			if o.err == nil {
				res.Reply = o.reply
				res.Target = a
				if o.hedge {
					res.Target = b
				}
				if running > 0 {
					// Cancel the loser and release whatever it returns.
					loser := 1
					if o.hedge {
						loser = 0
					}
					cancels[loser](errHedgeLost)
					go func() {
						if l := <-ch; l.reply != nil && l.reply.Stream != nil {
							l.reply.Stream.Close()
						}
					}()
				}
				return nil, true
			}
			last = o.err
			if ctx.Err() != nil || !fallsBack(o.err) {
				if running > 0 {
					for i := range cancels {
						if cancels[i] != nil {
							cancels[i](nil)
						}
					}
					<-ch
				}
				return last, false
			}
			startHedge() // a failed before the delay: b now, as its fallback
		}
	}
	return last, false
}

// hedgeDelay is the route's hedge delay for target t.
func (r *Router) hedgeDelay(rt *Route, t Target) time.Duration {
	d := rt.Hedge.Delay
	if p := rt.Hedge.Percentile; p > 0 {
		if q, ok := r.health(t).latency.Quantile(p); ok && q > d {
			return q
		}
		if d == 0 {
			d = defaultHedgeDelay
		}
	}
	return d
}

// defaultHedgeDelay is used by a percentile-only hedge until enough
// latencies are known.
const defaultHedgeDelay = 2 * time.Second

// guarded ends a stream that stalls for longer than the idle timeout,
// tells the target's breaker when the stream fails after its first event
// (too late to fall back, not too late to count), and releases its
// attempt's context when closed.
type guarded struct {
	provider.Stream
	ctx     context.Context
	cancel  func(error)
	idle    time.Duration
	timer   *time.Timer
	breaker *health.Breaker
}

func (g *guarded) Next() ([]byte, error) {
	if g.idle > 0 {
		if g.timer == nil {
			g.timer = time.AfterFunc(g.idle, func() { g.cancel(errIdle) })
		} else {
			g.timer.Reset(g.idle)
		}
	}
	b, err := g.Stream.Next()
	if g.timer != nil {
		g.timer.Stop()
	}
	if err != nil && context.Cause(g.ctx) == errIdle {
		err = &llm.Error{Kind: llm.KindTimeout, Class: "idle_timeout",
			Message: "the upstream stream stalled for longer than " + g.idle.String()}
	}
	if err != nil && err != io.EOF && judge(llm.AsError(err)) == failed {
		g.breaker.Record(false, false)
	}
	return b, err
}

// Unwrap returns the stream beneath, for callers that look for their own
// wrapper's extra methods.
func (g *guarded) Unwrap() provider.Stream { return g.Stream }

func (g *guarded) Close() error {
	err := g.Stream.Close()
	if g.timer != nil {
		g.timer.Stop()
	}
	g.cancel(nil)
	return err
}

// fallsBack reports whether another target may serve after e.
func fallsBack(e *llm.Error) bool {
	v := judge(e)
	return v != noVerdict && v != clientFault
}

// Retryable reports whether a failure may be tried again: the upstream,
// not the request, was at fault, and not in a way that a second try of
// the same call is sure to repeat (refused credentials, no quota left).
func Retryable(e *llm.Error) bool {
	v := judge(e)
	return v == failed || v == cooling
}

// backoff returns the wait before retry number try+1: exponential with
// full jitter, capped by max_backoff and max_retry_wait, and never shorter
// than the upstream's retry-after.
func (r *Router) backoff(try int, retryAfter string) time.Duration {
	ceiling := min(r.policy.RetryBackoff<<try, r.policy.MaxBackoff, r.policy.MaxRetryWait)
	d := time.Duration(rand.Int64N(int64(ceiling) + 1))
	if ra := parseRetryAfter(retryAfter); ra > d {
		d = ra
	}
	return d
}

// parseRetryAfter reads a retry-after value: seconds, or an HTTP date.
func parseRetryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, time.Until(t))
	}
	return 0
}

func sleep(d time.Duration, done <-chan struct{}) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-done:
		return false
	}
}

// first reads a stream's first event, so that a stream that fails before
// it counts as a failed attempt; the event is given back by the wrapper.
func first(reply *provider.Reply, err error) (*provider.Reply, error) {
	if err != nil || reply.Stream == nil {
		return reply, err
	}
	ev, err := reply.Stream.Next()
	if err != nil {
		reply.Stream.Close()
		if err == io.EOF {
			err = &llm.Error{Kind: llm.KindUpstream, Class: "stream_cut", Message: "the upstream stream was empty"}
		}
		return nil, err
	}
	reply.Stream = &peeked{Stream: reply.Stream, first: ev}
	return reply, nil
}

// peeked gives back a stream's first event, already read.
type peeked struct {
	provider.Stream
	first []byte
}

// Unwrap returns the stream beneath.
func (p *peeked) Unwrap() provider.Stream { return p.Stream }

func (p *peeked) Next() ([]byte, error) {
	if p.first != nil {
		ev := p.first
		p.first = nil
		return ev, nil
	}
	return p.Stream.Next()
}

// JSON renders attempts for the request log.
func JSON(as []Attempt) string {
	b, _ := json.Marshal(as)
	return string(b)
}
