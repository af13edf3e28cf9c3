package openaicompat

import (
	"bytes"
	"encoding/json"
	"io"
	"testing"

	"github.com/switchyard-ai/switchyard/internal/config"
	"github.com/switchyard-ai/switchyard/internal/fakeupstream"
	"github.com/switchyard-ai/switchyard/internal/llm"
	"github.com/switchyard-ai/switchyard/internal/openaiwire"
	"github.com/switchyard-ai/switchyard/internal/sse"
)

// Only a vendor whose quirks say so speaks the Responses dialect; every
// one speaks OpenAI Chat, and none Anthropic Messages.
func TestSpeaks(t *testing.T) {
	for _, q := range []Quirks{{}, {Responses: true}} {
		a := &Adapter{q: q}
		if got := a.Speaks(llm.DialectResponses); got != q.Responses {
			t.Errorf("Responses %v: Speaks(responses) = %v", q.Responses, got)
		}
		if !a.Speaks(llm.DialectOpenAI) {
			t.Errorf("Speaks(openai) = false")
		}
		for _, d := range []llm.Dialect{llm.DialectAnthropic, ""} {
			if a.Speaks(d) {
				t.Errorf("Speaks(%q) = true", d)
			}
		}
	}
}

// The usage of a Responses answer goes through the vendor's usage quirk,
// as a chat answer's does.
func TestResponsesUsageQuirk(t *testing.T) {
	a := &Adapter{q: Quirks{Usage: func(u *openaiwire.Usage) llm.Usage {
		c := u.Canonical()
		c.OutputTokens += c.ReasoningTokens // a vendor that counts reasoning apart
		return c
	}}}
	got := a.responsesUsage([]byte(`{"input_tokens":10,"input_tokens_details":{"cached_tokens":4},"output_tokens":5,"output_tokens_details":{"reasoning_tokens":3},"total_tokens":15}`))
	if want := (llm.Usage{InputTokens: 10, CachedInputTokens: 4, OutputTokens: 8, ReasoningTokens: 3}); got != want {
		t.Errorf("usage = %+v, want %+v", got, want)
	}
	if got := a.responsesUsage([]byte(`{"input_tokens":"x"}`)); got != (llm.Usage{}) {
		t.Errorf("usage of a bad object = %+v", got)
	}
}

// FuzzResponsesStream feeds arbitrary upstream bytes through the Responses
// stream: it never panics or hangs, everything it emits is an SSE event
// whose data a client can decode, and it only ever forwards the
// upstream's own bytes, in order.
func FuzzResponsesStream(f *testing.F) {
	for _, name := range []string{"openai-responses-stream-function-call.sse", "openai-responses-stream-reasoning-function-call.sse"} {
		f.Add(fakeupstream.MustResponsesTranscript(name, true).Body)
	}
	f.Add([]byte("event: response.reasoning_summary_text.delta\ndata: {\"delta\":\"a\\u00e9\"}\n\n: ping\n\ndata: {\"type\":\"response.completed\",\"response\":{\"usage\":{\"input_tokens\":1}}}\n\n"))
	f.Add([]byte("event: error\ndata: {\"code\":7,\"message\":null}\n\n"))
	f.Add([]byte("event: response.failed\ndata: {\"response\":{\"error\":\"x\",\"usage\":[]}}\r\n\r\n"))
	f.Add([]byte("data: [DONE]\n\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		a := &Adapter{cfg: config.Provider{Name: "f"}, q: Quirks{Responses: true}}
		s := a.newResponsesStream(io.NopCloser(bytes.NewReader(body)))
		var out []byte
		for range 10000 {
			chunk, err := s.Next()
			if err != nil {
				if _, ok := err.(*llm.Error); !ok && err != io.EOF {
					t.Fatalf("error %v (%T) is not an *llm.Error", err, err)
				}
				break
			}
			out = append(out, chunk...)
		}
		_ = s.Usage()
		if len(s.Reasoning()) > maxReasoning {
			t.Fatalf("reasoning unbounded: %d bytes", len(s.Reasoning()))
		}
		rest := body
		rd := sse.NewReader(bytes.NewReader(out))
		for {
			ev, err := rd.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("emitted a broken event stream: %v\n%q", err, out)
			}
			i := bytes.Index(rest, ev.Raw)
			if i < 0 {
				t.Fatalf("emitted bytes the upstream did not send in that order: %q", ev.Raw)
			}
			rest = rest[i+len(ev.Raw):]
			if ev.Data != nil && !json.Valid(ev.Data) {
				t.Fatalf("emitted data a client cannot decode: %q", ev.Data)
			}
		}
	})
}
