package router

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/internal/config"
	"github.com/switchyard-ai/switchyard/internal/jsonobj"
	"github.com/switchyard-ai/switchyard/internal/llm"
	"github.com/switchyard-ai/switchyard/internal/provider"
)

// stub is a provider whose name is all the router needs.
type stub struct{ name string }

func (s stub) Name() string     { return s.name }
func (s stub) Type() string     { return "stub" }
func (s stub) Models() []string { return nil }
func (s stub) Generate(context.Context, *llm.Request, string) (*provider.Generation, error) {
	panic("not called")
}
func (s stub) Embeddings(context.Context, jsonobj.Object, string) (*provider.Reply, error) {
	panic("not called")
}

// script answers calls per target, in order.
type script map[string][]error

func (sc script) call(calls *[]string) Call {
	return func(ctx context.Context, t Target) (*provider.Reply, error) {
		*calls = append(*calls, t.String())
		q := sc[t.String()]
		if len(q) == 0 {
			return &provider.Reply{Body: []byte("ok")}, nil
		}
		err := q[0]
		sc[t.String()] = q[1:]
		if err == nil {
			return &provider.Reply{Body: []byte("ok")}, nil
		}
		if err == errBrokenStream {
			return &provider.Reply{Stream: &failingStream{}}, nil
		}
		return nil, err
	}
}

var errBrokenStream = &llm.Error{Kind: llm.KindUpstream}

type failingStream struct{ provider.Stream }

func (failingStream) Next() ([]byte, error) { return nil, io.ErrUnexpectedEOF }
func (failingStream) Close() error          { return nil }

func status(code int, retryAfter string) *llm.Error {
	e := &llm.Error{Kind: llm.KindUpstream, Status: code, RetryAfter: retryAfter, Class: "upstream", Message: "x"}
	return e
}

func testRouter(t *testing.T) (*Router, *[]time.Duration) {
	var waits []time.Duration
	var mu sync.Mutex
	r := &Router{policy: withDefaults(config.Router{RetryBackoff: 100 * time.Millisecond, MaxBackoff: time.Second, Deadline: time.Minute,
		MaxRetryWait: 5 * time.Second}), now: time.Now, creds: new(credentials)}
	r.sleep = func(d time.Duration, _ <-chan struct{}) bool {
		mu.Lock()
		waits = append(waits, d)
		mu.Unlock()
		return true
	}
	return r, &waits
}

func route(retries int, primary string, fallbacks ...string) *Route {
	rt := &Route{Name: "r", Targets: []Target{{stub{"a"}, primary}}, Weights: []float64{1}, Retries: retries}
	for _, f := range fallbacks {
		p, m, _ := strings.Cut(f, "/")
		rt.Fallbacks = append(rt.Fallbacks, Target{stub{p}, m})
	}
	return rt
}

func TestDo(t *testing.T) {
	tests := []struct {
		name     string
		retries  int
		script   script
		wantErr  int // status, 0 for success
		calls    []string
		outcomes int
	}{
		{"first try", 1, script{}, 0, []string{"a/m"}, 1},
		{"retry then ok", 1, script{"a/m": {status(503, "")}}, 0, []string{"a/m", "a/m"}, 2},
		{"retries exhausted, fallback", 1, script{"a/m": {status(500, ""), status(500, "")}}, 0, []string{"a/m", "a/m", "b/m"}, 3},
		{"no retries", 0, script{"a/m": {status(429, "")}}, 0, []string{"a/m", "b/m"}, 2},
		{"client error stops", 1, script{"a/m": {status(400, "")}}, 400, []string{"a/m"}, 1},
		{"not found stops", 1, script{"a/m": {status(404, "")}}, 404, []string{"a/m"}, 1},
		{"all fail", 0, script{"a/m": {status(502, "")}, "b/m": {status(529, "")}}, 529, []string{"a/m", "b/m"}, 2},
		{"stream dies before first event", 0, script{"a/m": {errBrokenStream}}, 0, []string{"a/m", "b/m"}, 2},
		{"quota is not retried", 3, script{"a/m": {&llm.Error{Kind: llm.KindRateLimit, Code: "insufficient_quota"}}}, 0, []string{"a/m", "b/m"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := testRouter(t)
			var calls []string
			res, err := r.Do(context.Background(), route(tt.retries, "m", "b/m"), "u", tt.script.call(&calls))
			if tt.wantErr == 0 && err != nil || tt.wantErr != 0 && (err == nil || llm.AsError(err).HTTPStatus() != tt.wantErr) {
				t.Fatalf("err = %v, want status %d", err, tt.wantErr)
			}
			if !slices.Equal(calls, tt.calls) {
				t.Errorf("calls %v, want %v", calls, tt.calls)
			}
			if len(res.Attempts) != tt.outcomes {
				t.Errorf("%d attempts recorded, want %d", len(res.Attempts), tt.outcomes)
			}
			if err == nil && res.Attempts[len(res.Attempts)-1].Outcome != "ok" {
				t.Errorf("last attempt %+v", res.Attempts[len(res.Attempts)-1])
			}
		})
	}
}

func TestBackoffHonoursRetryAfter(t *testing.T) {
	r, waits := testRouter(t)
	var calls []string
	sc := script{"a/m": {status(429, "3"), status(503, "")}}
	if _, err := r.Do(context.Background(), route(2, "m"), "u", sc.call(&calls)); err != nil {
		t.Fatal(err)
	}
	if len(*waits) != 2 || (*waits)[0] != 3*time.Second || (*waits)[1] > 200*time.Millisecond {
		t.Errorf("waits %v: want 3s (retry-after), then at most 200ms (jittered backoff)", *waits)
	}
}

func TestRetryAfterBeyondDeadlineMovesOn(t *testing.T) {
	r, waits := testRouter(t)
	r.policy.Deadline = time.Second
	var calls []string
	sc := script{"a/m": {status(429, "30")}}
	if _, err := r.Do(context.Background(), route(3, "m", "b/m"), "u", sc.call(&calls)); err != nil {
		t.Fatal(err)
	}
	if len(*waits) != 0 || !slices.Equal(calls, []string{"a/m", "b/m"}) {
		t.Errorf("waited %v, calls %v", *waits, calls)
	}
}

func TestBackoffBounds(t *testing.T) {
	r, _ := testRouter(t)
	for try := range 8 {
		for range 100 {
			d := r.backoff(try, "")
			if d < 0 || d > min(100*time.Millisecond<<try, time.Second) {
				t.Fatalf("try %d: backoff %v out of bounds", try, d)
			}
		}
	}
	if d := parseRetryAfter("soon"); d != 0 {
		t.Errorf("unparsable date gave %v", d)
	}
	if d := parseRetryAfter(time.Now().Add(10 * time.Second).UTC().Format(http.TimeFormat)); d < 8*time.Second || d > 10*time.Second {
		t.Errorf("HTTP-date retry-after = %v", d)
	}
}

func TestClientGoneStops(t *testing.T) {
	r, _ := testRouter(t)
	ctx, cancel := context.WithCancel(context.Background())
	var calls []string
	call := func(context.Context, Target) (*provider.Reply, error) {
		calls = append(calls, "x")
		cancel()
		return nil, &llm.Error{Kind: llm.KindServer, Status: 499, Class: "client_gone"}
	}
	if _, err := r.Do(ctx, route(3, "m", "b/m"), "u", call); err == nil || len(calls) != 1 {
		t.Errorf("err %v after %d calls", err, len(calls))
	}
}
