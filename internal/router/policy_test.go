package router

import (
	"context"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/internal/config"
	"github.com/switchyard-ai/switchyard/internal/llm"
	"github.com/switchyard-ai/switchyard/internal/provider"
)

func TestBreakerSkipsFailingTarget(t *testing.T) {
	r, _ := testRouter(t)
	r.policy.Breaker = config.Breaker{Window: time.Minute, MinRequests: 4, FailureRate: 0.5, OpenFor: time.Minute}
	var aCalls atomic.Int32
	call := func(ctx context.Context, tg Target) (*provider.Reply, error) {
		if tg.Provider.Name() == "a" {
			aCalls.Add(1)
			return nil, status(503, "")
		}
		return &provider.Reply{Body: []byte("ok")}, nil
	}
	rt := route(0, "m", "b/m")
	for range 4 {
		if _, err := r.Do(context.Background(), rt, "u", call); err != nil {
			t.Fatal(err)
		}
	}
	res, err := r.Do(context.Background(), rt, "u", call)
	if err != nil || aCalls.Load() != 4 {
		t.Fatalf("err %v; a called %d times, want 4 (then skipped)", err, aCalls.Load())
	}
	if res.Attempts[0].Outcome != "circuit_open" || res.Target.Provider.Name() != "b" {
		t.Errorf("attempts %+v", res.Attempts)
	}
	// Every target open: no refusal, the target is tried (panic mode),
	// and the error is the vendor's own.
	rt = route(0, "m")
	res, err = r.Do(context.Background(), rt, "u", call)
	if len(res.Attempts) != 1 || res.Attempts[0].Outcome != "upstream" {
		t.Errorf("all open: attempts %+v", res.Attempts)
	}
	e := llm.AsError(err)
	if e.HTTPStatus() != 503 || e.Message != "x" || aCalls.Load() != 5 {
		t.Errorf("all open: %+v after %d calls, want the vendor's 503 after 5", e, aCalls.Load())
	}
	if h := r.Health(); len(h) != 0 {
		t.Errorf("no configured routes, got %v", h)
	}
	if th := r.targetHealth(rt.Targets[0]); th.Breaker != "open" || th.Requests != 4 || th.ErrorRate != 1 || th.CooldownUntil != nil {
		t.Errorf("health %+v", th)
	}
}

// slowThenFast: target a answers only when its context ends; b at once.
func slowThenFast(aCancelled *atomic.Bool) Call {
	return func(ctx context.Context, tg Target) (*provider.Reply, error) {
		if tg.Provider.Name() == "a" {
			<-ctx.Done()
			aCancelled.Store(true)
			return nil, &llm.Error{Kind: llm.KindServer, Status: 499, Class: "client_gone"}
		}
		return &provider.Reply{Body: []byte("b")}, nil
	}
}

func TestHedge(t *testing.T) {
	r, _ := testRouter(t)
	rt := route(0, "m", "b/m")
	rt.Hedge = &config.Hedge{Delay: 20 * time.Millisecond}
	var cancelled atomic.Bool
	res, err := r.Do(context.Background(), rt, "u", slowThenFast(&cancelled))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Hedged || res.Target.Provider.Name() != "b" || string(res.Reply.Body) != "b" {
		t.Errorf("result %+v", res)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !cancelled.Load() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if !cancelled.Load() {
		t.Error("the losing request was not cancelled")
	}
	// A target that answers before the delay is not hedged.
	fast := func(ctx context.Context, tg Target) (*provider.Reply, error) {
		if tg.Provider.Name() == "b" {
			t.Error("hedge started for a fast target")
		}
		return &provider.Reply{Body: []byte("a")}, nil
	}
	rt.Hedge.Delay = time.Minute
	if res, err := r.Do(context.Background(), rt, "u", fast); err != nil || res.Hedged {
		t.Errorf("fast: %+v %v", res, err)
	}
}

func TestFirstTokenTimeout(t *testing.T) {
	r, _ := testRouter(t)
	rt := route(0, "m", "b/m")
	rt.Timeouts.FirstToken = 20 * time.Millisecond
	var cancelled atomic.Bool
	res, err := r.Do(context.Background(), rt, "u", slowThenFast(&cancelled))
	if err != nil {
		t.Fatal(err)
	}
	if res.Attempts[0].Outcome != "first_token_timeout" || res.Attempts[0].Status != 504 || res.Target.Provider.Name() != "b" {
		t.Errorf("attempts %+v", res.Attempts)
	}
}

// stallingStream sends one event, then nothing until its context ends.
type stallingStream struct {
	provider.Stream
	ctx  context.Context
	sent bool
}

func (s *stallingStream) Next() ([]byte, error) {
	if !s.sent {
		s.sent = true
		return []byte("data: {}\n\n"), nil
	}
	<-s.ctx.Done()
	return nil, s.ctx.Err()
}
func (s *stallingStream) Close() error { return nil }

func TestIdleTimeout(t *testing.T) {
	r, _ := testRouter(t)
	rt := route(0, "m")
	rt.Timeouts.Idle = 30 * time.Millisecond
	call := func(ctx context.Context, tg Target) (*provider.Reply, error) {
		return &provider.Reply{Stream: &stallingStream{ctx: ctx}}, nil
	}
	res, err := r.Do(context.Background(), rt, "u", call)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Reply.Stream.Close()
	if _, err := res.Reply.Stream.Next(); err != nil {
		t.Fatalf("first event: %v", err)
	}
	_, err = res.Reply.Stream.Next()
	if e := llm.AsError(err); e.Class != "idle_timeout" || e.HTTPStatus() != 504 {
		t.Errorf("err = %v", err)
	}
	if _, err := res.Reply.Stream.Next(); err == io.EOF {
		t.Error("stream went on after its idle timeout")
	}
}

func TestHedgeConcurrentUse(t *testing.T) {
	r, _ := testRouter(t)
	rt := route(0, "m", "b/m")
	rt.Hedge = &config.Hedge{Delay: time.Millisecond}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var targets []string
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			call := func(ctx context.Context, tg Target) (*provider.Reply, error) {
				if i%2 == 0 && tg.Provider.Name() == "a" {
					<-ctx.Done()
					return nil, ctx.Err()
				}
				return &provider.Reply{Body: []byte(tg.String())}, nil
			}
			res, err := r.Do(context.Background(), rt, "u", call)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			targets = append(targets, res.Target.String())
			mu.Unlock()
		}()
	}
	wg.Wait()
	if !slices.Contains(targets, "b/m") {
		t.Error("no request was won by the hedge")
	}
}

// cutStream sends one event, then fails: too late to fall back, but the
// failure still counts against the target.
type cutStream struct {
	provider.Stream
	sent bool
}

func (s *cutStream) Next() ([]byte, error) {
	if !s.sent {
		s.sent = true
		return []byte("data: {}\n\n"), nil
	}
	return nil, &llm.Error{Kind: llm.KindUpstream, Class: "stream_cut"}
}
func (s *cutStream) Close() error { return nil }

func TestMidStreamFailureCounts(t *testing.T) {
	r, _ := testRouter(t)
	r.policy.Breaker = config.Breaker{Window: time.Minute, MinRequests: 4, FailureRate: 0.5, OpenFor: time.Minute}
	rt := route(0, "m")
	call := func(ctx context.Context, tg Target) (*provider.Reply, error) {
		return &provider.Reply{Stream: &cutStream{}}, nil
	}
	for range 2 {
		res, err := r.Do(context.Background(), rt, "u", call)
		if err != nil {
			t.Fatal(err)
		}
		for {
			if _, err := res.Reply.Stream.Next(); err != nil {
				break
			}
		}
		res.Reply.Stream.Close()
	}
	if th := r.targetHealth(rt.Targets[0]); th.Breaker != "open" {
		t.Errorf("after 2 streams cut mid-way: %+v", th)
	}
}

func TestShadowBoundedAndCounted(t *testing.T) {
	r, _ := testRouter(t)
	r.shadows = make(chan struct{}, 1)
	r.skipped = new(atomic.Int64)
	r.policy.ShadowTimeout = time.Second
	rt := route(0, "m")
	rt.Shadows = []ShadowTarget{{Target: Target{stub{"s"}, "m"}, Sample: 1}}
	release := make(chan struct{})
	done := make(chan struct{}, 2)
	call := func(ctx context.Context, tg Target) (*provider.Reply, error) {
		<-release
		return &provider.Reply{Body: []byte("x")}, nil
	}
	record := func(context.Context, Target, *provider.Reply, error, time.Duration) { done <- struct{}{} }
	if n := r.Shadow(rt, call, record); n != 1 {
		t.Fatalf("started %d shadows", n)
	}
	if n := r.Shadow(rt, call, record); n != 0 || r.ShadowsSkipped() != 1 {
		t.Fatalf("a shadow over the bound: started %d, skipped %d", n, r.ShadowsSkipped())
	}
	close(release)
	<-done
	next := &Router{}
	next.InheritHealth(r)
	if next.ShadowsSkipped() != 1 {
		t.Error("the skipped count did not survive a reload")
	}
}
