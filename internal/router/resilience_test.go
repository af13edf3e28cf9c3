package router

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/internal/config"
	"github.com/switchyard-ai/switchyard/internal/llm"
	"github.com/switchyard-ai/switchyard/internal/provider"
	"github.com/switchyard-ai/switchyard/internal/provider/upstream"
)

// Tests of the rule that health orders targets and never refuses a request
// the vendor could serve (docs/routing.md).

// clock is a fake clock for breakers and cooldowns.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fakeClock gives r a clock that moves only when told to.
func fakeClock(r *Router) *clock {
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	r.now = c.now
	return c
}

// vendor answers every call with fail's verdict for that call number: an
// error, or a success. It counts calls per target.
type vendor struct {
	mu    sync.Mutex
	calls map[string]int
	fail  func(target string, n int) error
}

func (v *vendor) call(ctx context.Context, t Target) (*provider.Reply, error) {
	v.mu.Lock()
	if v.calls == nil {
		v.calls = map[string]int{}
	}
	n := v.calls[t.String()]
	v.calls[t.String()]++
	v.mu.Unlock()
	if err := v.fail(t.String(), n); err != nil {
		return nil, err
	}
	return &provider.Reply{Body: []byte(t.String())}, nil
}

func (v *vendor) count(target string) int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.calls[target]
}

var tightBreaker = config.Breaker{Window: time.Minute, MinRequests: 4, FailureRate: 0.5, OpenFor: 30 * time.Second}

// The acceptance sequence: a burst of faults opens a single-target route's
// breaker; the next ordinary requests, which the vendor would answer, are
// all sent and served.
func TestPanicModeSingleTarget(t *testing.T) {
	r, _ := testRouter(t)
	fakeClock(r)
	r.policy.Breaker = tightBreaker
	down := true
	v := &vendor{fail: func(string, int) error {
		if down {
			return status(500, "")
		}
		return nil
	}}
	rt := route(0, "m")
	for range 20 {
		if _, err := r.Do(context.Background(), rt, "u", v.call); err == nil {
			t.Fatal("served while the vendor was down")
		}
	}
	if th := r.targetHealth(rt.Targets[0]); th.Breaker != "open" {
		t.Fatalf("the burst left the breaker %s, want open", th.Breaker)
	}
	down = false
	for i := range 19 {
		res, err := r.Do(context.Background(), rt, "u", v.call)
		if err != nil {
			t.Fatalf("ordinary request %d after the burst: %v", i, err)
		}
		if len(res.Attempts) != 1 || res.Attempts[0].Outcome != "ok" {
			t.Fatalf("request %d: attempts %+v, want one that served", i, res.Attempts)
		}
	}
	if got := v.count("a/m"); got != 39 {
		t.Errorf("the vendor saw %d calls, want 39: every request sent", got)
	}
}

// A single-target vendor failing 60% of calls at random serves what its
// success rate and the retries make of it, breaker or not: with one retry,
// 1 − 0.6² = 64%. The failures come from a seeded generator, so the count
// is the same on every run.
func TestRandomFailuresServedAtVendorRate(t *testing.T) {
	r, _ := testRouter(t)
	r.policy.Breaker = config.Breaker{Window: 30 * time.Second, MinRequests: 10, FailureRate: 0.5, OpenFor: 30 * time.Second}
	rng := rand.New(rand.NewPCG(11, 0))
	v := &vendor{fail: func(string, int) error {
		if rng.Float64() < 0.6 {
			return status(500, "")
		}
		return nil
	}}
	rt := route(DefaultRetries, "m")
	served := 0
	const requests = 200
	for range requests {
		if _, err := r.Do(context.Background(), rt, "u", v.call); err == nil {
			served++
		}
	}
	t.Logf("served %d of %d (vendor success rate 40%%, %d retry: 64%% expected) in %d calls", served, requests, DefaultRetries, v.count("a/m"))
	if served < requests*35/100 {
		t.Errorf("served %d of %d, want at least 35%%", served, requests)
	}
}

// A 429 says the vendor is up and wants a rest: it never opens the breaker,
// however many arrive.
func TestRateLimitDoesNotOpenBreaker(t *testing.T) {
	r, _ := testRouter(t)
	fakeClock(r)
	r.policy.Breaker = tightBreaker
	v := &vendor{fail: func(_ string, n int) error {
		if n < 50 {
			return status(429, "1")
		}
		return nil
	}}
	rt := route(0, "m")
	for range 50 {
		_, err := r.Do(context.Background(), rt, "u", v.call)
		if e := llm.AsError(err); e.HTTPStatus() != 429 || e.RetryAfter != "1" {
			t.Fatalf("err %v, want the vendor's 429 with its retry-after", err)
		}
	}
	th := r.targetHealth(rt.Targets[0])
	if th.Breaker != "closed" || th.Requests != 0 {
		t.Errorf("after 50 rate limits: %+v, want closed with nothing counted", th)
	}
	if th.CooldownUntil == nil || th.CooldownReason != "rate_limited" {
		t.Errorf("no cooldown shown: %+v", th)
	}
	if _, err := r.Do(context.Background(), rt, "u", v.call); err != nil {
		t.Errorf("the request after the limit lifted: %v", err)
	}
}

// A cooling target is passed over for a healthy fallback until its
// cooldown, the vendor's retry-after capped by max_cooldown, ends; then it
// serves again. A 503 with retry-after and an exhausted quota cool the same
// way.
func TestCooldownPrefersAlternativeAndExpires(t *testing.T) {
	for _, tt := range []struct {
		name   string
		err    error
		wait   time.Duration
		reason string
	}{
		{"429 with retry-after", status(429, "20"), 20 * time.Second, "rate_limited"},
		{"429 beyond max_cooldown", status(429, "3600"), time.Minute, "rate_limited"},
		{"429 without retry-after", status(429, ""), 5 * time.Second, "rate_limited"},
		{"503 with retry-after", status(503, "7"), 7 * time.Second, "overloaded"},
		{"insufficient_quota", &llm.Error{Kind: llm.KindRateLimit, Code: "insufficient_quota", Message: "quota"}, 5 * time.Second, "quota_exhausted"},
		{"402", status(402, ""), 5 * time.Second, "quota_exhausted"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, waits := testRouter(t)
			clk := fakeClock(r)
			start := clk.now()
			v := &vendor{fail: func(target string, n int) error {
				if target == "a/m" && n == 0 {
					return tt.err
				}
				return nil
			}}
			rt := route(3, "m", "b/m")
			res, err := r.Do(context.Background(), rt, "u", v.call)
			if err != nil || res.Target.String() != "b/m" || len(*waits) != 0 {
				t.Fatalf("first request: %v, target %v, waits %v; want b at once", err, res.Target, *waits)
			}
			th := r.targetHealth(rt.Targets[0])
			if th.Breaker != "closed" || th.CooldownUntil == nil || !th.CooldownUntil.Equal(start.Add(tt.wait)) || th.CooldownReason != tt.reason {
				t.Fatalf("health %+v, want closed, cooling until +%v (%s)", th, tt.wait, tt.reason)
			}
			clk.advance(tt.wait - time.Millisecond)
			res, err = r.Do(context.Background(), rt, "u", v.call)
			if err != nil || res.Target.String() != "b/m" || v.count("a/m") != 1 {
				t.Fatalf("while cooling: %v, target %v, a called %d times", err, res.Target, v.count("a/m"))
			}
			if a := res.Attempts[0]; a.Target != "a/m" || a.Outcome != "cooling_down" || !strings.Contains(a.Error, tt.reason) {
				t.Errorf("the pass-over is not recorded: %+v", res.Attempts)
			}
			clk.advance(time.Millisecond)
			res, err = r.Do(context.Background(), rt, "u", v.call)
			if err != nil || res.Target.String() != "a/m" {
				t.Fatalf("after the cooldown: %v, target %v; want a again", err, res.Target)
			}
			if th := r.targetHealth(rt.Targets[0]); th.CooldownUntil != nil {
				t.Errorf("cooldown still shown: %+v", th)
			}
		})
	}
}

// A cooling target with no alternative is still sent its requests.
func TestCooldownWithoutAlternativeStillSends(t *testing.T) {
	r, _ := testRouter(t)
	fakeClock(r)
	v := &vendor{fail: func(_ string, n int) error {
		if n == 0 {
			return status(429, "30")
		}
		return nil
	}}
	rt := route(0, "m")
	if _, err := r.Do(context.Background(), rt, "u", v.call); err == nil {
		t.Fatal("the 429 was not passed on")
	}
	if res, err := r.Do(context.Background(), rt, "u", v.call); err != nil || v.count("a/m") != 2 || res.Attempts[0].Outcome != "ok" {
		t.Errorf("while cooling, alone: %v after %d calls, attempts %+v", err, v.count("a/m"), res.Attempts)
	}
}

// Errors the client caused say nothing against the vendor: they are not
// counted, so they can neither open a breaker nor dilute a failure rate.
func TestClientErrorsDoNotCount(t *testing.T) {
	r, _ := testRouter(t)
	fakeClock(r)
	r.policy.Breaker = tightBreaker
	codes := []int{400, 404, 409, 413, 422}
	v := &vendor{fail: func(_ string, n int) error { return status(codes[n%len(codes)], "") }}
	rt := route(2, "m", "b/m")
	for range 20 {
		if _, err := r.Do(context.Background(), rt, "u", v.call); err == nil {
			t.Fatal("a client error was served")
		}
	}
	if v.count("a/m") != 20 || v.count("b/m") != 0 {
		t.Errorf("calls a %d b %d: a client error must be neither retried nor fall back", v.count("a/m"), v.count("b/m"))
	}
	if th := r.targetHealth(rt.Targets[0]); th.Breaker != "closed" || th.Requests != 0 {
		t.Errorf("health %+v, want closed with nothing counted", th)
	}
}

// heldStream sends its first event when first is closed, and ends when
// rest is closed: a long stream whose end the test controls.
type heldStream struct {
	provider.Stream
	first, rest chan struct{}
	sent        bool
}

func (s *heldStream) Next() ([]byte, error) {
	if !s.sent {
		<-s.first
		s.sent = true
		return []byte("data: {}\n\n"), nil
	}
	<-s.rest
	return nil, io.EOF
}
func (s *heldStream) Close() error { return nil }

// half-opens a's breaker with a failing burst and an OpenFor gone by.
func halfOpen(t *testing.T, r *Router, clk *clock, rt *Route) {
	t.Helper()
	burst := func(ctx context.Context, tg Target) (*provider.Reply, error) {
		if tg.Provider.Name() == "a" {
			return nil, status(500, "")
		}
		return &provider.Reply{Body: []byte("b")}, nil
	}
	for r.targetHealth(rt.Targets[0]).Breaker != "open" {
		r.Do(context.Background(), rt, "u", burst)
	}
	clk.advance(tightBreaker.OpenFor)
	if got := r.targetHealth(rt.Targets[0]).Breaker; got != "half-open" {
		t.Fatalf("breaker %s, want half-open", got)
	}
}

// While half-open, probes whose first event is slow in coming (long
// streams) hold nobody up: with a fallback, a share of the other requests
// probe too (the rest go to the fallback); without one, every request is
// sent. A probe's first event closes the breaker while its stream, and
// the other probes, are still running.
func TestHalfOpenProbesShareAndFirstEventCloses(t *testing.T) {
	for _, withFallback := range []bool{true, false} {
		r, _ := testRouter(t)
		clk := fakeClock(r)
		r.policy.Breaker = tightBreaker // half_open_share defaults to 0.1
		rt := route(0, "m")
		if withFallback {
			rt = route(0, "m", "b/m")
		}
		halfOpen(t, r, clk, rt)

		ended := make(chan struct{})
		close(ended)
		probe := &heldStream{first: make(chan struct{}), rest: make(chan struct{})}
		othersFirst := make(chan struct{})
		entered := make(chan string, 32)
		var aCalls atomic.Int32
		call := func(ctx context.Context, tg Target) (*provider.Reply, error) {
			entered <- tg.Provider.Name()
			if tg.Provider.Name() != "a" {
				return &provider.Reply{Body: []byte("b")}, nil
			}
			if aCalls.Add(1) == 1 {
				return &provider.Reply{Stream: probe}, nil
			}
			return &provider.Reply{Stream: &heldStream{first: othersFirst, rest: ended}}, nil
		}
		var wg sync.WaitGroup
		results := make(chan *Result, 21)
		do := func() {
			wg.Go(func() {
				res, err := r.Do(context.Background(), rt, "u", call)
				if err != nil {
					t.Error(err)
					return
				}
				results <- res
			})
		}
		do()
		<-entered // the first probe, waiting for its first event
		for range 20 {
			do()
		}
		toA := 0
		for range 20 { // each request makes one call: a's hold, b's answer
			if <-entered == "a" {
				toA++
			}
		}
		want := 20 // alone, every request is sent
		if withFallback {
			want = 2 // a tenth
		}
		if toA != want {
			t.Errorf("fallback %v: %d of 20 requests sent to the half-open target while its probe was out, want %d", withFallback, toA, want)
		}
		close(probe.first)
		for deadline := time.Now().Add(5 * time.Second); r.targetHealth(rt.Targets[0]).Breaker != "closed" && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
		if got := r.targetHealth(rt.Targets[0]).Breaker; got != "closed" {
			t.Errorf("fallback %v: after the probe's first event the breaker is %s, want closed", withFallback, got)
		}
		close(othersFirst)
		wg.Wait()
		close(probe.rest) // the probe's stream ends only now
		close(results)
		served := 0
		for res := range results {
			served++
			if res.Reply.Stream != nil {
				for {
					if _, err := res.Reply.Stream.Next(); err != nil {
						break
					}
				}
				res.Reply.Stream.Close()
			}
		}
		if served != 21 {
			t.Errorf("fallback %v: %d of 21 requests served", withFallback, served)
		}
	}
}

// credentialError is what an adapter makes of a vendor's 401.
func credentialError(provider string) *llm.Error {
	e := &llm.Error{Message: "Incorrect API key provided: sk-proj-ab***********************wxyz."}
	upstream.Classify(e, provider, 401)
	return e
}

// A vendor that rejects the gateway's credentials is not asked again with
// them: a fallback serves, and without one the client learns whose
// credentials failed, and no part of the key. The operator sees it once
// in the log, in a counter and in RejectedCredentials, until it is fixed.
func TestCredentialsRejected(t *testing.T) {
	r, _ := testRouter(t)
	fakeClock(r)
	var log bytes.Buffer
	r.Logger = slog.New(slog.NewTextHandler(&log, nil))
	fixed := false
	v := &vendor{fail: func(target string, _ int) error {
		if target == "a/m" && !fixed {
			return credentialError("a")
		}
		return nil
	}}
	res, err := r.Do(context.Background(), route(3, "m", "b/m"), "u", v.call)
	if err != nil || res.Target.String() != "b/m" || v.count("a/m") != 1 {
		t.Fatalf("with a fallback: %v, target %v, a called %d times; want 1, then b", err, res.Target, v.count("a/m"))
	}
	alone := route(3, "m")
	for range 3 {
		_, err = r.Do(context.Background(), alone, "u", v.call)
	}
	e := llm.AsError(err)
	if e.HTTPStatus() != 502 || !strings.Contains(e.Message, `provider "a" rejected the gateway's credentials`) || strings.Contains(e.Message, "sk-") {
		t.Errorf("alone: %+v", e)
	}
	if v.count("a/m") != 4 {
		t.Errorf("a called %d times for 4 requests with 3 retries each, want 4", v.count("a/m"))
	}
	if got := r.CredentialFailures(); got["a"] != 4 || len(got) != 1 {
		t.Errorf("CredentialFailures() = %v", got)
	}
	if got := r.RejectedCredentials(); !slices.Equal(got, []string{"a"}) {
		t.Errorf("RejectedCredentials() = %v", got)
	}
	if n := strings.Count(log.String(), "msg=\"the vendor rejected the gateway's credentials"); n != 1 {
		t.Errorf("%d log lines for 4 refusals, want 1:\n%s", n, log.String())
	}
	if th := r.targetHealth(alone.Targets[0]); !th.CredentialsRejected {
		t.Errorf("health %+v", th)
	}
	// Fixed: served, and said once; a reload keeps the counter.
	fixed = true
	for range 2 {
		if _, err := r.Do(context.Background(), alone, "u", v.call); err != nil {
			t.Fatal(err)
		}
	}
	if got := r.RejectedCredentials(); len(got) != 0 || strings.Count(log.String(), "accepts the gateway's credentials again") != 1 {
		t.Errorf("after the fix: rejected %v, log:\n%s", got, log.String())
	}
	next := &Router{creds: new(credentials)}
	next.InheritHealth(r)
	if next.CredentialFailures()["a"] != 4 {
		t.Error("the credential failure count did not survive a reload")
	}
}

// A vendor's retry-after beyond max_retry_wait is not waited for in
// silence: the request falls back at once, or, with no fallback, the 429
// goes back to the client with the vendor's retry-after, so that its SDK
// decides. Gemini's RetryInfo of 34.4s arrives as "35".
func TestMaxRetryWait(t *testing.T) {
	r, waits := testRouter(t)
	r.policy.MaxRetryWait = 2 * time.Second
	limited := func(string, int) error {
		return &llm.Error{Kind: llm.KindRateLimit, RetryAfter: "35", Message: "quota"}
	}

	v := &vendor{fail: limited}
	_, err := r.Do(context.Background(), route(3, "m"), "u", v.call)
	if e := llm.AsError(err); e.HTTPStatus() != 429 || e.RetryAfter != "35" || v.count("a/m") != 1 || len(*waits) != 0 {
		t.Errorf("alone: %+v after %d calls and waits %v; want the 429 with retry-after 35 at once", e, v.count("a/m"), *waits)
	}

	v = &vendor{fail: func(t string, n int) error {
		if t == "a/m" {
			return limited(t, n)
		}
		return nil
	}}
	res, err := r.Do(context.Background(), route(3, "m", "b/m"), "u", v.call)
	if err != nil || res.Target.String() != "b/m" || len(*waits) != 0 {
		t.Errorf("with a fallback: %v, target %v, waits %v; want b at once", err, res.Target, *waits)
	}

	// Within the bound, a lone target is waited for and retried.
	v = &vendor{fail: func(_ string, n int) error {
		if n == 0 {
			return status(429, "1.5")
		}
		return nil
	}}
	if _, err := r.Do(context.Background(), route(1, "m"), "u", v.call); err != nil || !slices.Equal(*waits, []time.Duration{1500 * time.Millisecond}) {
		t.Errorf("within the bound: %v, waits %v", err, *waits)
	}

	// The jittered backoff never exceeds it either.
	r.policy.RetryBackoff, r.policy.MaxBackoff, r.policy.MaxRetryWait = 5*time.Second, 10*time.Second, 100*time.Millisecond
	for try := range 4 {
		for range 50 {
			if d := r.backoff(try, ""); d > 100*time.Millisecond {
				t.Fatalf("try %d: backoff %v beyond max_retry_wait", try, d)
			}
		}
	}
}

// A split without fallbacks: a unit whose target is down is served by the
// split's other target rather than refused, and while both are up every
// unit keeps its own target.
func TestSplitTargetsAreAlternatives(t *testing.T) {
	r, _ := testRouter(t)
	fakeClock(r)
	r.policy.Breaker = tightBreaker
	a, b := Target{stub{"a"}, "m"}, Target{stub{"b"}, "m"}
	rt := &Route{Name: "split", Targets: []Target{a, b}, Weights: []float64{0.5, 0.5}, Retries: 0}
	var onA string // a unit the split sends to a
	for i := 0; onA == ""; i++ {
		if u := fmt.Sprint("u", i); rt.Pick(u) == a {
			onA = u
		}
	}
	aDown := false
	v := &vendor{fail: func(target string, _ int) error {
		if aDown && target == "a/m" {
			return status(500, "")
		}
		return nil
	}}
	for range 5 {
		if res, err := r.Do(context.Background(), rt, onA, v.call); err != nil || res.Target != a {
			t.Fatalf("healthy split: served by %v, %v; want a", res.Target, err)
		}
	}
	aDown = true
	for i := range 10 {
		res, err := r.Do(context.Background(), rt, onA, v.call)
		if err != nil || res.Target != b {
			t.Fatalf("request %d with a down: served by %v, %v; want b", i, res.Target, err)
		}
	}
	if th := r.targetHealth(a); th.Breaker != "open" {
		t.Fatalf("a's breaker is %s, want open", th.Breaker)
	}
	before := v.count("a/m")
	if _, err := r.Do(context.Background(), rt, onA, v.call); err != nil || v.count("a/m") != before {
		t.Errorf("an open a was sent to while b was healthy (err %v)", err)
	}
}
