// Package providertest runs provider adapters against the fake upstream and
// compares what a client would receive with golden files.
package providertest

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/switchyard-ai/switchyard/internal/config"
	"github.com/switchyard-ai/switchyard/internal/dialect/chat"
	"github.com/switchyard-ai/switchyard/internal/fakeupstream"
	"github.com/switchyard-ai/switchyard/internal/llm"
	"github.com/switchyard-ai/switchyard/internal/openaiwire"
	"github.com/switchyard-ai/switchyard/internal/provider"
)

var update = flag.Bool("update", false, "rewrite golden files")

// Result is what one call produced.
type Result struct {
	// Out is what the client receives: the body, or the stream's events
	// concatenated.
	Out       []byte
	Header    http.Header
	Usage     llm.Usage
	Reasoning string
	// Err is the failure, before the first byte or (for streams) after.
	Err *llm.Error
	// Sent is the request the upstream received.
	Sent fakeupstream.Recorded
}

// Chat sends body (an OpenAI chat request) through a provider of cfg's type
// whose upstream answers with resp. cfg.BaseURL is set to the fake's URL
// joined with cfg.BaseURL when that is a path.
func Chat(t *testing.T, cfg config.Provider, resp fakeupstream.Response, body string) Result {
	t.Helper()
	fake := fakeupstream.New()
	t.Cleanup(fake.Close)
	fake.Handle("/chat/completions", resp)
	p := newProvider(t, cfg, fake)
	req, err := openaiwire.ParseChatRequest([]byte(body))
	if err != nil {
		t.Fatalf("bad test request: %v", err)
	}
	var res Result
	reply, err := chat.Send(context.Background(), p, req, modelOf(t, req.Model))
	res.Sent = fake.LastRequest()
	if err != nil {
		res.Err = asLLM(t, err)
		return res
	}
	res.Header = reply.Header
	if reply.Stream == nil {
		res.Out, res.Usage, res.Reasoning = reply.Body, reply.Usage, reply.Reasoning
		return res
	}
	defer reply.Stream.Close()
	for {
		chunk, err := reply.Stream.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			res.Err = asLLM(t, err)
			break
		}
		res.Out = append(res.Out, chunk...)
	}
	res.Usage, res.Reasoning = reply.Stream.Usage(), reply.Stream.Reasoning()
	return res
}

func newProvider(t *testing.T, cfg config.Provider, fake *fakeupstream.Server) provider.Provider {
	t.Helper()
	if cfg.Name == "" {
		cfg.Name = "test"
	}
	cfg.BaseURL = fake.URL() + cfg.BaseURL
	if cfg.APIKey == "" {
		cfg.APIKey = "sk-upstream-test"
	}
	p, err := provider.New(cfg, provider.Options{Client: fake.Client()})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// modelOf strips a "provider/" prefix the way the router would.
func modelOf(t *testing.T, model string) string {
	if i := bytes.IndexByte([]byte(model), '/'); i >= 0 {
		return model[i+1:]
	}
	return model
}

func asLLM(t *testing.T, err error) *llm.Error {
	t.Helper()
	var e *llm.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *llm.Error", err, err)
	}
	return e
}

// Golden compares got with testdata/NAME, or rewrites it with -update.
func Golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (run go test -update after checking):\n got: %.2000s\nwant: %.2000s", path, got, want)
	}
}

// Transcript loads a recorded transcript or fails the test.
func Transcript(t *testing.T, name string) fakeupstream.Response {
	t.Helper()
	r, err := fakeupstream.Transcript(name)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Body returns a transcript's raw bytes as the fake replays them.
func Body(t *testing.T, name string) []byte {
	t.Helper()
	return Transcript(t, name).Body
}

// GenerateResult is what Generate observed.
type GenerateResult struct {
	Header http.Header
	// Events are the canonical events in order, up to the end or the
	// failure; Response is their assembly (nil when the stream failed).
	Events   []llm.Event
	Response *llm.Response
	// Err is the failure, before the first event or after.
	Err *llm.Error
	// Sent is the request the upstream received.
	Sent fakeupstream.Recorded
}

// Generate sends req through a provider of cfg's type whose upstream answers
// with resp on every path ending in pathSuffix, and collects the canonical
// events. It fails the test when the events break the stream grammar.
func Generate(t *testing.T, cfg config.Provider, pathSuffix string, resp fakeupstream.Response, req *llm.Request) GenerateResult {
	t.Helper()
	fake := fakeupstream.New()
	t.Cleanup(fake.Close)
	fake.Handle(pathSuffix, resp)
	p := newProvider(t, cfg, fake)
	var res GenerateResult
	g, err := p.Generate(context.Background(), req, modelOf(t, req.Model))
	res.Sent = fake.LastRequest()
	if err != nil {
		res.Err = asLLM(t, err)
		return res
	}
	res.Header = g.Header
	defer g.Events.Close()
	var acc llm.Accumulator
	for {
		ev, err := g.Events.Next()
		if err == io.EOF {
			if !acc.Stopped() {
				t.Fatalf("stream ended without a stop event after %d events", len(res.Events))
			}
			res.Response = &acc.Response
			return res
		}
		if err != nil {
			res.Err = asLLM(t, err)
			return res
		}
		res.Events = append(res.Events, ev)
		if err := acc.Add(ev); err != nil {
			t.Fatalf("event %d: %v", len(res.Events)-1, err)
		}
	}
}
