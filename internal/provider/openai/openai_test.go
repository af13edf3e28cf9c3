package openai_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/internal/config"
	"github.com/switchyard-ai/switchyard/internal/fakeupstream"
	"github.com/switchyard-ai/switchyard/internal/llm"
	_ "github.com/switchyard-ai/switchyard/internal/provider/openai"
	pt "github.com/switchyard-ai/switchyard/internal/provider/providertest"
)

var cfg = config.Provider{Type: "openai", BaseURL: "/v1"}

const streamReq = `{"model":"openai/gpt-4o-mini","messages":[{"role":"user","content":"What is the capital of France?"}],"stream":true}`

// Same dialect in and out: with include_usage the bytes go through unchanged.
func TestStreamPassesBytesThrough(t *testing.T) {
	for _, name := range []string{
		"openai-chat-stream-tool-call-include-usage.sse",
		"openai-chat-stream-text-include-usage.sse",
		"openai-chat-stream-parallel-tool-calls.sse",
	} {
		t.Run(name, func(t *testing.T) {
			body := strings.Replace(streamReq, `"stream":true`, `"stream":true,"stream_options":{"include_usage":true}`, 1)
			res := pt.Chat(t, cfg, pt.Transcript(t, name), body)
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			if want := pt.Body(t, name); !bytes.Equal(res.Out, want) {
				t.Errorf("stream changed in transit:\n got %q\nwant %q", res.Out, want)
			}
			if res.Usage.InputTokens == 0 || res.Usage.OutputTokens == 0 {
				t.Errorf("usage not read: %+v", res.Usage)
			}
		})
	}
}

// Usage is always recorded: the gateway asks for it and strips the extra
// chunk when the client did not.
func TestPitfall8_StreamUsageAskedAndStripped(t *testing.T) {
	res := pt.Chat(t, cfg, pt.Transcript(t, "openai-chat-stream-tool-call-include-usage.sse"), streamReq)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	var sent struct {
		Model         string `json:"model"`
		StreamOptions struct {
			IncludeUsage bool `json:"include_usage"`
		} `json:"stream_options"`
	}
	if err := json.Unmarshal(res.Sent.Body, &sent); err != nil {
		t.Fatal(err)
	}
	if sent.Model != "gpt-4o-mini" || !sent.StreamOptions.IncludeUsage {
		t.Errorf("sent model %q include_usage %v", sent.Model, sent.StreamOptions.IncludeUsage)
	}
	if got := res.Sent.Header.Get("Authorization"); got != "Bearer sk-upstream-test" {
		t.Errorf("Authorization = %q", got)
	}
	if bytes.Contains(res.Out, []byte(`"choices":[]`)) {
		t.Error("the usage chunk the client did not ask for was passed on")
	}
	if !bytes.HasSuffix(res.Out, []byte("data: [DONE]\n\n")) {
		t.Error("stream does not end with [DONE]")
	}
	want := llm.Usage{InputTokens: 53, OutputTokens: 15}
	if res.Usage != want {
		t.Errorf("usage = %+v, want %+v", res.Usage, want)
	}
	pt.Golden(t, "stream-tool-call-no-usage.golden", res.Out)
}

func TestNonStreamPassesBytesThrough(t *testing.T) {
	res := pt.Chat(t, cfg, pt.Transcript(t, "openai-chat-tool-call.json"), `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if want := pt.Body(t, "openai-chat-tool-call.json"); !bytes.Equal(res.Out, want) {
		t.Errorf("body changed in transit")
	}
	if res.Usage.InputTokens == 0 {
		t.Errorf("usage not read: %+v", res.Usage)
	}
}

func TestUpstreamErrors(t *testing.T) {
	tests := []struct {
		transcript string
		status     int
		kind       llm.ErrorKind
		code       string
	}{
		{"openai-error-400-unsupported-parameter.json", 400, llm.KindInvalidRequest, "unsupported_parameter"},
		{"openai-error-404-model-not-found.json", 404, llm.KindNotFound, "model_not_found"},
		// The vendor refusing the gateway's own key is a gateway fault.
		{"openai-error-401-invalid-api-key.json", 502, llm.KindUpstream, "invalid_api_key"},
	}
	for _, tt := range tests {
		t.Run(tt.transcript, func(t *testing.T) {
			res := pt.Chat(t, cfg, pt.Transcript(t, tt.transcript), `{"model":"o3","messages":[{"role":"user","content":"hi"}],"max_tokens":5}`)
			if res.Err == nil {
				t.Fatal("no error")
			}
			if res.Err.HTTPStatus() != tt.status || res.Err.Kind != tt.kind || res.Err.Code != tt.code || res.Err.Message == "" {
				t.Errorf("got %+v", res.Err)
			}
			if strings.Contains(res.Err.Message, "sk-upstream-test") {
				t.Error("the upstream key leaked into an error")
			}
		})
	}
}

func TestPitfall9_RetryAfterKept(t *testing.T) {
	res := pt.Chat(t, cfg, fakeupstream.RateLimited("7"), `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`)
	if res.Err == nil || res.Err.HTTPStatus() != 429 || res.Err.RetryAfter != "7" {
		t.Fatalf("got %+v", res.Err)
	}
}

func TestPitfall20_ReasoningModelMaxTokens(t *testing.T) {
	res := pt.Chat(t, cfg, fakeupstream.TextCompletion("ok"), `{"model":"o3-mini","messages":[{"role":"user","content":"hi"}],"max_tokens":50}`)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if !bytes.Contains(res.Sent.Body, []byte(`"max_completion_tokens":50`)) || bytes.Contains(res.Sent.Body, []byte(`"max_tokens"`)) {
		t.Errorf("sent %s", res.Sent.Body)
	}
	if got := res.Header.Get("X-Switchyard-Rewritten-Params"); got != "max_tokens=max_completion_tokens" {
		t.Errorf("rewritten header = %q", got)
	}
	// Non-reasoning models keep max_tokens.
	res = pt.Chat(t, cfg, fakeupstream.TextCompletion("ok"), `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"max_tokens":50}`)
	if !bytes.Contains(res.Sent.Body, []byte(`"max_tokens":50`)) {
		t.Errorf("sent %s", res.Sent.Body)
	}
}

func TestFaults(t *testing.T) {
	stream := fakeupstream.TextStream(20, "word ", true)
	cut := stream
	cut.CutAfterEvents = 5
	res := pt.Chat(t, cfg, cut, streamReq)
	if res.Err == nil || res.Err.Class != "stream_cut" {
		t.Errorf("cut stream: err = %+v", res.Err)
	}
	if len(res.Out) == 0 {
		t.Error("events before the cut were not delivered")
	}
	res = pt.Chat(t, cfg, fakeupstream.MalformedJSON(), `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`)
	if res.Err == nil || res.Err.HTTPStatus() != 502 {
		t.Errorf("malformed JSON: err = %+v", res.Err)
	}
	bad := stream
	bad.Malformed = true
	res = pt.Chat(t, cfg, bad, streamReq)
	if res.Err == nil || res.Err.HTTPStatus() != 502 || len(res.Out) != 0 {
		t.Errorf("malformed stream: err = %+v, forwarded %q", res.Err, res.Out)
	}
	res = pt.Chat(t, cfg, fakeupstream.ServerError(503), `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`)
	if res.Err == nil || res.Err.HTTPStatus() != 503 || res.Err.Class != "upstream_5xx" {
		t.Errorf("503: err = %+v", res.Err)
	}
}

func TestTimeout(t *testing.T) {
	slow := fakeupstream.TextCompletion("late")
	slow.FirstByteDelay = 2 * time.Second
	c := cfg
	c.Timeout = 50 * time.Millisecond
	res := pt.Chat(t, c, slow, `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`)
	if res.Err == nil || res.Err.HTTPStatus() != 504 || res.Err.Class != "upstream_timeout" {
		t.Fatalf("err = %+v", res.Err)
	}
	// A stream whose chunks stop coming is cut by the same deadline.
	stalled := fakeupstream.TextStream(100, "w", true)
	stalled.EventDelay = time.Second
	res = pt.Chat(t, c, stalled, streamReq)
	if res.Err == nil || res.Err.HTTPStatus() != 504 {
		t.Fatalf("stalled stream err = %+v", res.Err)
	}
}
