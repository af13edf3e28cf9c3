package router

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/switchyard-ai/switchyard/internal/llm"
	"github.com/switchyard-ai/switchyard/internal/provider"
	"github.com/switchyard-ai/switchyard/internal/router/health"
)

// Attempt is one upstream call the router made (or skipped) for a request.
type Attempt struct {
	Target  string        `json:"target"`
	Outcome string        `json:"outcome"` // "ok", "circuit_open", or the error class
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
// already read, so that a failing stream can still fall back. Targets whose
// circuit is open are skipped. It returns the last error, with the
// attempts, when every target failed.
func (r *Router) Do(ctx context.Context, rt *Route, unit string, call Call) (*Result, error) {
	res := &Result{}
	deadline := time.Now().Add(r.policy.Deadline)
	candidates := []Target{rt.Pick(unit)}
	for _, f := range rt.Fallbacks {
		if f != candidates[0] {
			candidates = append(candidates, f)
		}
	}
	var last *llm.Error
	if rt.Hedge != nil && len(candidates) > 1 {
		var ok bool
		if last, ok = r.hedge(ctx, rt, candidates[0], candidates[1], call, res); ok {
			return res, nil
		}
		if last != nil { // the race ran and both lost
			if ctx.Err() != nil || !Retryable(last) {
				return res, last
			}
			candidates = candidates[2:]
		}
	}
	for _, t := range candidates {
		for try := 0; try <= rt.Retries; try++ {
			reply, a, err := r.attempt(ctx, rt, t, call, false)
			res.Attempts = append(res.Attempts, a)
			if err == nil {
				res.Reply, res.Target = reply, t
				return res, nil
			}
			if a.Outcome == "circuit_open" {
				if last == nil || last.Class == "circuit_open" {
					last = err
				}
				break
			}
			last = err
			if ctx.Err() != nil || !Retryable(err) {
				return res, err
			}
			if try == rt.Retries || err.Code == "insufficient_quota" {
				break // next target
			}
			wait := r.backoff(try, err.RetryAfter)
			if time.Now().Add(wait).After(deadline) {
				break // the upstream asks for more time than is left: move on
			}
			if !r.sleep(wait, ctx.Done()) {
				return res, err
			}
		}
		if time.Now().After(deadline) {
			break
		}
	}
	if last == nil { // unreachable while every route has a target
		return res, &llm.Error{Kind: llm.KindUnavailable, Class: "no_target", Message: "no target could be tried"}
	}
	return res, last
}

// attempt makes one call to t, within the route's first-token timeout, and
// reports its outcome to t's circuit breaker. hedge marks the second
// request of a hedged pair. The attempt's client span ends when its
// outcome is known: for a stream, at its first event.
func (r *Router) attempt(ctx context.Context, rt *Route, t Target, call Call, hedge bool) (reply *provider.Reply, a Attempt, e *llm.Error) {
	a = Attempt{Target: t.String(), Hedge: hedge}
	ctx, span := r.startAttemptSpan(ctx, t, hedge)
	defer endAttemptSpan(span, &a)
	h := r.health(t)
	allowed, probe := h.breaker.Allow()
	if !allowed {
		a.Outcome, a.Status = "circuit_open", http.StatusServiceUnavailable
		wait := h.breaker.RetryAfter()
		return nil, a, &llm.Error{Kind: llm.KindUnavailable, Class: "circuit_open",
			RetryAfter: strconv.Itoa(int(wait.Seconds()) + 1),
			Message:    fmt.Sprintf("%s is failing: its circuit breaker is open", t)}
	}
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
		// Only the upstream's faults count against it; a bad request says
		// it is up. A cancelled attempt says nothing, but a probe must
		// report, and an unanswered probe leaves the circuit open.
		switch {
		case e.Class == "client_gone" || e.Class == "hedge_lost":
			if probe {
				h.breaker.Record(false, true)
			}
		default:
			h.breaker.Record(!Retryable(e), probe)
		}
		a.Outcome, a.Status, a.Error = e.Class, e.HTTPStatus(), e.Message
		return nil, a, e
	}
	h.breaker.Record(true, probe)
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

// hedge races the chosen target a against the first fallback b: b starts
// when a has not answered within the hedge delay, or at once when a fails
// first. The first success wins and the other request is cancelled. ok is
// false when both failed (last is then the later failure) or when a's
// circuit is open and no race was run (last is nil).
func (r *Router) hedge(ctx context.Context, rt *Route, a, b Target, call Call, res *Result) (last *llm.Error, ok bool) {
	// Only look: Allow would take a half-open breaker's probe slot, which
	// attempt takes itself.
	if r.health(a).breaker.State() == health.Open {
		return nil, false
	}
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
		go func() {
			reply, att, err := r.attempt(lctx, rt, t, call, i == 1)
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
			if ctx.Err() != nil || !Retryable(o.err) {
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
	if err != nil && err != io.EOF && Retryable(llm.AsError(err)) {
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

// Retryable reports whether a failure may be retried or fall back: the
// upstream, not the request, was at fault.
func Retryable(e *llm.Error) bool {
	if e.Class == "client_gone" {
		return false
	}
	s := e.HTTPStatus()
	return s == http.StatusTooManyRequests || s >= 500
}

// backoff returns the wait before retry number try+1: exponential with
// full jitter, capped, and never shorter than the upstream's retry-after.
func (r *Router) backoff(try int, retryAfter string) time.Duration {
	ceiling := min(r.policy.RetryBackoff<<try, r.policy.MaxBackoff)
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
