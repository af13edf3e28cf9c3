package gateway_test

import (
	"context"
	"encoding/binary"
	"errors"
	"hash/fnv"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/openai/openai-go/v3"

	"github.com/switchyard-ai/switchyard/internal/config"
	"github.com/switchyard-ai/switchyard/internal/fakeupstream"
)

// solo is a route with one target and no fallback, whose breaker opens
// after four attempts of which half failed, and stays open for a minute:
// longer than the test.
func solo(retries int) func(*config.Config) {
	return func(c *config.Config) {
		c.Models = append(c.Models, config.Model{Name: "solo", Target: "openai/gpt-4o-mini", Retries: &retries})
		c.Router.Breaker = config.Breaker{Window: time.Minute, MinRequests: 4, FailureRate: 0.5, OpenFor: time.Minute, HalfOpenShare: 0.1}
		c.Router.RetryBackoff = time.Millisecond
	}
}

// routeBreaker is the breaker state /admin/routes shows for route's first
// target.
func routeBreaker(t *testing.T, e *env, route string) string {
	t.Helper()
	var routes struct {
		Data []struct {
			Name    string
			Targets []struct{ Breaker string }
		}
	}
	if code := adminDo(t, e.srv.URL, "GET", "/admin/routes", nil, &routes); code != http.StatusOK {
		t.Fatalf("/admin/routes: %d", code)
	}
	for _, r := range routes.Data {
		if r.Name == route {
			return r.Targets[0].Breaker
		}
	}
	t.Fatalf("no route %s in /admin/routes", route)
	return ""
}

// The acceptance sequence of a partial outage: a burst of faults of every
// kind opens the breaker of a route with one target and no fallback; the
// ordinary requests that follow, which the vendor answers, are served, to
// an OpenAI client and to an Anthropic client, streamed and not.
func TestBreakerNeverRefusesALoneTarget(t *testing.T) {
	e := newEnv(t, solo(0))
	cut := fakeupstream.TextStream(3, "w ", true)
	cut.CutAfterEvents = -1
	faults := []fakeupstream.Response{
		fakeupstream.ServerError(500), fakeupstream.ServerError(503), cut, fakeupstream.MalformedJSON(),
		fakeupstream.RateLimited("0"), fakeupstream.ServerError(502), fakeupstream.ServerError(500), cut,
	}
	e.fake.Enqueue("/chat/completions", faults...)
	ctx := context.Background()
	params := openai.ChatCompletionNewParams{Model: "solo", Messages: userMsg("hi")}
	for i := range faults {
		if _, err := e.client.Chat.Completions.New(ctx, params); err == nil {
			t.Fatalf("fault %d was served", i)
		}
	}
	if got := routeBreaker(t, e, "solo"); got != "open" {
		t.Fatalf("after the burst the breaker is %s, want open", got)
	}

	// The vendor answers again: every request is served.
	e.fake.Respond("/chat/completions", func(r fakeupstream.Recorded) fakeupstream.Response {
		if strings.Contains(string(r.Body), `"stream":true`) {
			return fakeupstream.TextStream(3, "ok ", true)
		}
		return fakeupstream.TextCompletion("ok")
	})
	for i := range 3 {
		resp, err := e.client.Chat.Completions.New(ctx, params)
		if err != nil || resp.Choices[0].Message.Content != "ok" {
			t.Fatalf("OpenAI client, request %d after the burst: %v", i, err)
		}
		if acc := accumulate(t, e.client.Chat.Completions.NewStreaming(ctx, params)); acc.Choices[0].Message.Content != "ok ok ok " {
			t.Fatalf("OpenAI client, stream %d: %q", i, acc.Choices[0].Message.Content)
		}
		msg, err := anthropicClient(e).Messages.New(ctx, hiParams("solo"))
		if err != nil || len(msg.Content) == 0 || msg.Content[0].Text != "ok" {
			t.Fatalf("Anthropic client, request %d after the burst: %v", i, err)
		}
		s := anthropicClient(e).Messages.NewStreaming(ctx, hiParams("solo"))
		var acc anthropic.Message
		for s.Next() {
			acc.Accumulate(s.Current())
		}
		if err := s.Err(); err != nil || len(acc.Content) == 0 || acc.Content[0].Text != "ok ok ok " {
			t.Fatalf("Anthropic client, stream %d: %v %+v", i, err, acc.Content)
		}
	}
	if n := len(e.fake.Requests()); n != len(faults)+12 {
		t.Errorf("the vendor saw %d requests, want %d: none refused, none retried", n, len(faults)+12)
	}
}

// A single-target vendor that fails 60% of calls at random is served at
// its own success rate compounded by the retries: with the default one,
// 1 − 0.6² = 64%, whatever the breaker makes of the failures. Which calls
// fail is a hash of their number, so the pattern is the same on every run.
func TestRandomlyFailingVendorServed(t *testing.T) {
	e := newEnv(t, solo(1))
	var n atomic.Uint64
	e.fake.Respond("/chat/completions", func(fakeupstream.Recorded) fakeupstream.Response {
		h := fnv.New64a()
		binary.Write(h, binary.LittleEndian, n.Add(1))
		if h.Sum64()%100 < 60 {
			return fakeupstream.ServerError(500)
		}
		return fakeupstream.TextCompletion("ok")
	})
	const requests, workers = 200, 8
	var served atomic.Int32
	var wg sync.WaitGroup
	work := make(chan struct{})
	for range workers {
		wg.Go(func() {
			for range work {
				if _, err := e.client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "solo", Messages: userMsg("hi")}); err == nil {
					served.Add(1)
				}
			}
		})
	}
	for range requests {
		work <- struct{}{}
	}
	close(work)
	wg.Wait()
	t.Logf("a single-target vendor failing 60%% of %d calls: %d of %d requests served (%.0f%%; 64%% expected with one retry)",
		n.Load(), served.Load(), requests, float64(served.Load())*100/requests)
	if served.Load() < requests*35/100 {
		t.Errorf("served %d of %d, want at least 35%%", served.Load(), requests)
	}
}

// A vendor that refuses the gateway's credentials: the client is told
// which provider, never the vendor's message (it quotes part of the key),
// the request is not retried with the same key, and /readyz, still ready,
// names the provider.
func TestVendorRejectsGatewayCredentials(t *testing.T) {
	e := newEnv(t, solo(2))
	e.fake.Handle("/chat/completions", fakeupstream.MustTranscript("openai-error-401-invalid-api-key.json"))
	_, err := e.client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "solo", Messages: userMsg("hi")})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadGateway ||
		!strings.Contains(apiErr.Message, `provider "openai" rejected the gateway's credentials`) || strings.Contains(apiErr.RawJSON(), "2345") {
		t.Fatalf("err = %v", err)
	}
	if n := len(e.fake.Requests()); n != 1 {
		t.Errorf("the vendor was asked %d times with credentials it refused, want once", n)
	}
	resp, err := http.Get(e.srv.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "ready\ndegraded: provider \"openai\" rejected the gateway's credentials\n" {
		t.Errorf("/readyz = %d %q", resp.StatusCode, body)
	}
}
