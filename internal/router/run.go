package router

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/switchyard-ai/switchyard/internal/llm"
	"github.com/switchyard-ai/switchyard/internal/provider"
)

// Attempt is one upstream call the router made for a request.
type Attempt struct {
	Target  string        `json:"target"`
	Outcome string        `json:"outcome"` // "ok", or the error class
	Status  int           `json:"status"`
	Latency time.Duration `json:"-"`
	// LatencyMs is Latency in milliseconds, for the JSON form.
	LatencyMs float64 `json:"latency_ms"`
	Error     string  `json:"error,omitempty"`
}

// Result is a served request: the reply, the target that produced it, and
// every attempt made.
type Result struct {
	Reply    *provider.Reply
	Target   Target
	Attempts []Attempt
}

// Call sends a request to one target. For streams it returns the reply
// before any event was read.
type Call func(ctx context.Context, t Target) (*provider.Reply, error)

// Do serves a request on rt for unit: it picks the unit's target, retries
// it on retryable failures with backoff, then tries the fallbacks in
// order. A failure is retryable when nothing has reached the client yet:
// 429, 5xx (and Anthropic's 529), a timeout, a refused connection, or a
// stream that fails before its first event. Streams are returned with
// their first event already read, so that a failing stream can still fall
// back. It returns the last error, with the attempts, when every target
// failed.
func (r *Router) Do(ctx context.Context, rt *Route, unit string, call Call) (*Result, error) {
	res := &Result{}
	start := time.Now()
	deadline := start.Add(r.policy.Deadline)
	candidates := append([]Target{rt.Pick(unit)}, rt.Fallbacks...)
	var last *llm.Error
	for ci, t := range candidates {
		if ci > 0 && t == candidates[0] {
			continue
		}
		for try := 0; try <= rt.Retries; try++ {
			t0 := time.Now()
			reply, err := first(call(ctx, t))
			a := Attempt{Target: t.String(), Latency: time.Since(t0)}
			a.LatencyMs = float64(a.Latency.Microseconds()) / 1000
			if err == nil {
				a.Outcome, a.Status = "ok", http.StatusOK
				res.Attempts = append(res.Attempts, a)
				res.Reply, res.Target = reply, t
				return res, nil
			}
			last = asError(err)
			a.Outcome, a.Status, a.Error = last.Class, last.HTTPStatus(), last.Message
			res.Attempts = append(res.Attempts, a)
			if ctx.Err() != nil || !Retryable(last) {
				return res, last
			}
			if try == rt.Retries || last.Code == "insufficient_quota" {
				break // next target
			}
			wait := r.backoff(try, last.RetryAfter)
			if time.Now().Add(wait).After(deadline) {
				break // the upstream asks for more time than is left: move on
			}
			if !r.sleep(wait, ctx.Done()) {
				return res, last
			}
		}
		if time.Now().After(deadline) {
			break
		}
	}
	return res, last
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

func (p *peeked) Next() ([]byte, error) {
	if p.first != nil {
		ev := p.first
		p.first = nil
		return ev, nil
	}
	return p.Stream.Next()
}

func asError(err error) *llm.Error {
	var e *llm.Error
	if errors.As(err, &e) {
		return e
	}
	return &llm.Error{Kind: llm.KindServer, Class: "internal", Message: "internal error"}
}

// JSON renders attempts for the request log.
func JSON(as []Attempt) string {
	b, _ := json.Marshal(as)
	return string(b)
}
