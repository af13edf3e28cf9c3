package anthropic_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/internal/anthropicwire"
	"github.com/switchyard-ai/switchyard/internal/config"
	"github.com/switchyard-ai/switchyard/internal/fakeupstream"
	"github.com/switchyard-ai/switchyard/internal/jsonobj"
	"github.com/switchyard-ai/switchyard/internal/llm"
	"github.com/switchyard-ai/switchyard/internal/provider"
	"github.com/switchyard-ai/switchyard/internal/provider/anthropic"
	"github.com/switchyard-ai/switchyard/internal/provider/providertest"
)

const path = "/v1/messages"

func cfg() config.Provider {
	return config.Provider{Name: "claude", Type: "anthropic", APIKey: "sk-ant-test"}
}

// anthropicRequest is a request as the /v1/messages ingress decodes it.
func anthropicRequest(t *testing.T, stream bool) *llm.Request {
	t.Helper()
	h := http.Header{}
	h.Add("Anthropic-Beta", "interleaved-thinking-2025-05-14")
	h.Add("Anthropic-Beta", "context-1m-2025-08-07")
	h.Set("Anthropic-Version", "2026-10-21")
	body := `{"model":"claude/claude-sonnet-4-5","max_tokens":2048,"stream":` + map[bool]string{true: "true", false: "false"}[stream] + `,
		"thinking":{"type":"enabled","budget_tokens":1024},"temperature":0.5,"service_tier":"auto",
		"messages":[{"role":"user","content":"How do I cross the street?"}]}`
	r, err := anthropicwire.DecodeRequest([]byte(body), h)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func eventsJSON(t *testing.T, evs []llm.Event) []byte {
	t.Helper()
	var b bytes.Buffer
	for _, ev := range evs {
		j, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(j)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// TestGenerateStream checks what is sent upstream for an Anthropic client
// (key, version, betas, extras, sampling) and the canonical events of the
// recorded thinking stream.
func TestGenerateStream(t *testing.T) {
	resp := providertest.Transcript(t, "anthropic-messages-stream-thinking.sse")
	resp.Header = http.Header{"Request-Id": {"req_123"}}
	res := providertest.Generate(t, cfg(), path, resp, anthropicRequest(t, true))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	sent := res.Sent
	if sent.Path != "/v1/messages" || sent.Method != http.MethodPost {
		t.Errorf("sent %s %s", sent.Method, sent.Path)
	}
	for k, want := range map[string]string{
		"X-Api-Key":         "sk-ant-test",
		"Anthropic-Version": "2023-06-01", // the adapter's choice, not the client's
		"Anthropic-Beta":    "interleaved-thinking-2025-05-14,context-1m-2025-08-07",
		"Accept":            "text/event-stream",
		"Authorization":     "",
	} {
		if got := sent.Header.Get(k); got != want {
			t.Errorf("sent %s: %q, want %q", k, got, want)
		}
	}
	providertest.Golden(t, "generate-stream.sent.golden", append(sent.Body, '\n'))
	providertest.Golden(t, "generate-stream.events.golden", eventsJSON(t, res.Events))
	if got := res.Header.Get("X-Upstream-Request-Id"); got != "req_123" {
		t.Errorf("X-Upstream-Request-Id %q", got)
	}
	if got := res.Header.Get("X-Switchyard-Dropped-Params"); got != "" {
		t.Errorf("dropped %q for an Anthropic client", got)
	}
	r := res.Response
	if len(r.Parts) != 2 || r.Parts[0].Signature == "" || r.Parts[0].Origin != "anthropic" || r.Usage.InputTokens != 43 {
		t.Errorf("response %+v", r)
	}
}

// TestGenerateNonStream: a non-streamed answer is replayed as events.
func TestGenerateNonStream(t *testing.T) {
	res := providertest.Generate(t, cfg(), path, providertest.Transcript(t, "anthropic-message-tool-use.json"), anthropicRequest(t, false))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if got := res.Sent.Header.Get("Accept"); got != "application/json" {
		t.Errorf("Accept %q", got)
	}
	if bytes.Contains(res.Sent.Body, []byte(`"stream"`)) {
		t.Errorf("stream sent: %s", res.Sent.Body)
	}
	providertest.Golden(t, "generate-nonstream.events.golden", eventsJSON(t, res.Events))
	r := res.Response
	if r.StopReason != llm.StopToolUse || len(r.Parts) != 3 || r.Parts[2].ToolCall.Arguments != `{"password":"radiance"}` || r.Usage.OutputTokens != 109 {
		t.Errorf("response %+v", r)
	}
}

// TestOtherDialect: for an OpenAI client the betas are not forwarded and
// the client's extra fields are dropped and named.
func TestOtherDialect(t *testing.T) {
	req := anthropicRequest(t, true)
	req.Dialect = llm.DialectOpenAI
	req.Extra = map[string]json.RawMessage{"logit_bias": json.RawMessage(`{}`)}
	res := providertest.Generate(t, cfg(), path, providertest.Transcript(t, "anthropic-messages-stream-tool-use.sse"), req)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if got := res.Sent.Header.Get("Anthropic-Beta"); got != "" {
		t.Errorf("beta forwarded for an OpenAI client: %q", got)
	}
	if got := res.Header.Get("X-Switchyard-Dropped-Params"); got != "logit_bias" {
		t.Errorf("dropped %q", got)
	}
	if bytes.Contains(res.Sent.Body, []byte("logit_bias")) {
		t.Errorf("sent %s", res.Sent.Body)
	}
}

// TestPitfall20_SamplingDroppedUnderNewVersion: under API version
// 2026-10-21 temperature, top_p and top_k are rejected, so they are
// dropped and named.
func TestPitfall20_SamplingDroppedUnderNewVersion(t *testing.T) {
	c := cfg()
	c.APIVersion = "2026-10-21"
	req := anthropicRequest(t, true)
	k := 5
	req.TopK = &k
	res := providertest.Generate(t, c, path, providertest.Transcript(t, "anthropic-messages-stream-thinking.sse"), req)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if got := res.Sent.Header.Get("Anthropic-Version"); got != "2026-10-21" {
		t.Errorf("version %q", got)
	}
	if got := res.Header.Get("X-Switchyard-Dropped-Params"); got != "temperature,top_k" {
		t.Errorf("dropped %q", got)
	}
	if bytes.Contains(res.Sent.Body, []byte("temperature")) || bytes.Contains(res.Sent.Body, []byte("top_k")) {
		t.Errorf("sent %s", res.Sent.Body)
	}
	// The default version keeps them.
	res = providertest.Generate(t, cfg(), path, providertest.Transcript(t, "anthropic-messages-stream-thinking.sse"), req)
	if !bytes.Contains(res.Sent.Body, []byte(`"temperature":0.5`)) || !bytes.Contains(res.Sent.Body, []byte(`"top_k":5`)) {
		t.Errorf("sent %s", res.Sent.Body)
	}
}

// TestPitfall9And10_UpstreamErrors: vendor errors keep their status,
// type, message and retry-after; 529 stays 529 and overloaded.
func TestPitfall9And10_UpstreamErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		resp   fakeupstream.Response
		kind   llm.ErrorKind
		status int
		typ    string
		msg    string
		retry  string
	}{
		{"400", providertest.Transcript(t, "anthropic-error-400-invalid-request.json"), llm.KindInvalidRequest, 400, "invalid_request_error", "This model does not support effort level 'xhigh'", ""},
		{"401 is the gateway's problem", providertest.Transcript(t, "anthropic-error-401-authentication.json"), llm.KindUpstream, 502, "", "rejected the gateway's credentials: invalid x-api-key", ""},
		{"404", providertest.Transcript(t, "anthropic-error-404-not-found-stream-request.json"), llm.KindNotFound, 404, "not_found_error", "model: this-model-does-not-exist-12345", ""},
		// retry-after is kept (docs/protocols.md#trap-retry-after).
		{"429", anthropicError(429, "rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit", http.Header{"Retry-After": {"7"}}), llm.KindRateLimit, 429, "rate_limit_error", "per-minute", "7"},
		{"429 ms", anthropicError(429, "rate_limit_error", "slow down", http.Header{"Retry-After-Ms": {"1500"}}), llm.KindRateLimit, 429, "rate_limit_error", "slow down", "2"},
		// 529 is overloaded, retryable, and keeps its status
		// (docs/protocols.md#trap-overloaded).
		{"529", anthropicError(529, "overloaded_error", "Overloaded", nil), llm.KindOverloaded, 529, "overloaded_error", "Overloaded", ""},
		{"500", anthropicError(500, "api_error", "Internal server error", nil), llm.KindUpstream, 500, "api_error", "Internal server error", ""},
		{"504", anthropicError(504, "timeout_error", "took too long", nil), llm.KindTimeout, 504, "timeout_error", "took too long", ""},
		{"not JSON", fakeupstream.Response{Status: 502, Body: []byte("<html>bad gateway</html>")}, llm.KindUpstream, 502, "", `"claude" answered HTTP 502`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := providertest.Generate(t, cfg(), path, tc.resp, anthropicRequest(t, true))
			e := res.Err
			if e == nil {
				t.Fatal("no error")
			}
			if e.Kind != tc.kind || e.HTTPStatus() != tc.status || e.Type != tc.typ || !strings.Contains(e.Message, tc.msg) || e.RetryAfter != tc.retry {
				t.Errorf("error %+v", e)
			}
			if strings.Contains(e.Message, "sk-ant-test") {
				t.Errorf("the key leaked into %q", e.Message)
			}
		})
	}
}

func anthropicError(status int, typ, msg string, h http.Header) fakeupstream.Response {
	body, _ := json.Marshal(map[string]any{"type": "error", "error": map[string]string{"type": typ, "message": msg}, "request_id": "req_x"})
	return fakeupstream.Response{Status: status, ContentType: "application/json", Header: h, Body: body}
}

// TestPitfall10_MidStreamError: an error event after HTTP 200 and some
// deltas fails the stream with the vendor's error.
func TestPitfall10_MidStreamError(t *testing.T) {
	full := providertest.Body(t, "anthropic-messages-stream-tool-use.sse")
	i := bytes.Index(full, []byte("event: content_block_stop"))
	body := append(append([]byte(nil), full[:i]...),
		"event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"},\"request_id\":\"req_1\"}\n\n"...)
	res := providertest.Generate(t, cfg(), path, fakeupstream.Response{ContentType: "text/event-stream", Body: body}, anthropicRequest(t, true))
	if res.Err == nil || res.Err.Kind != llm.KindOverloaded || res.Err.HTTPStatus() != 529 || res.Err.Class != "stream_error" {
		t.Fatalf("err = %+v", res.Err)
	}
	if len(res.Events) < 3 {
		t.Errorf("only %d events before the error", len(res.Events))
	}
}

// TestPitfall10_CutStream: a connection dropped before message_stop is a
// failure, not a short answer.
func TestPitfall10_CutStream(t *testing.T) {
	resp := providertest.Transcript(t, "anthropic-messages-stream-thinking.sse")
	resp.CutAfterEvents = 6
	res := providertest.Generate(t, cfg(), path, resp, anthropicRequest(t, true))
	if res.Err == nil || res.Err.Class != "stream_cut" {
		t.Fatalf("err = %+v", res.Err)
	}
}

func TestTimeout(t *testing.T) {
	c := cfg()
	c.Timeout = 50 * time.Millisecond
	resp := providertest.Transcript(t, "anthropic-message-thinking.json")
	resp.FirstByteDelay = time.Second
	res := providertest.Generate(t, c, path, resp, anthropicRequest(t, false))
	if res.Err == nil || res.Err.Kind != llm.KindTimeout || res.Err.Class != "upstream_timeout" {
		t.Fatalf("err = %+v", res.Err)
	}
}

func TestBaseURLWithV1(t *testing.T) {
	c := cfg()
	c.BaseURL = "/v1/"
	res := providertest.Generate(t, c, path, providertest.Transcript(t, "anthropic-message-thinking.json"), anthropicRequest(t, false))
	if res.Err != nil || res.Sent.Path != "/v1/messages" {
		t.Errorf("path %q, err %v", res.Sent.Path, res.Err)
	}
}

func TestEmbeddings(t *testing.T) {
	p, err := provider.New(cfg(), provider.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Embeddings(context.Background(), jsonobj.Object{}, "x")
	if e := llm.AsError(err); e.Kind != llm.KindInvalidRequest || e.Message != "provider type anthropic has no embeddings endpoint" {
		t.Errorf("err = %v", err)
	}
}

func TestCountTokens(t *testing.T) {
	fake := fakeupstream.New()
	defer fake.Close()
	fake.Handle("/v1/messages/count_tokens", fakeupstream.Response{ContentType: "application/json", Body: []byte(`{"input_tokens":42}`)})
	c := cfg()
	c.BaseURL = fake.URL()
	p := anthropic.New(c, provider.Options{Client: fake.Client()})
	n, err := p.CountTokens(context.Background(), anthropicRequest(t, true), "claude-sonnet-4-5")
	if err != nil || n != 42 {
		t.Fatalf("CountTokens = %d, %v", n, err)
	}
	sent := fake.LastRequest()
	var body map[string]json.RawMessage
	if err := json.Unmarshal(sent.Body, &body); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"max_tokens", "stream", "temperature", "service_tier"} {
		if _, ok := body[f]; ok {
			t.Errorf("count_tokens got %s: %s", f, sent.Body)
		}
	}
	for _, f := range []string{"model", "messages", "thinking"} {
		if _, ok := body[f]; !ok {
			t.Errorf("count_tokens lacks %s: %s", f, sent.Body)
		}
	}
	if sent.Header.Get("X-Api-Key") != "sk-ant-test" {
		t.Error("no key sent")
	}

	fake.Handle("/v1/messages/count_tokens", anthropicError(404, "not_found_error", "model: nope", nil))
	if _, err := p.CountTokens(context.Background(), anthropicRequest(t, false), "nope"); llm.AsError(err).Kind != llm.KindNotFound {
		t.Errorf("err = %v", err)
	}
}

// TestConfiguredHeaders: configured headers are sent, and a configured
// anthropic-beta is kept beside the client's betas.
func TestConfiguredHeaders(t *testing.T) {
	c := cfg()
	c.Headers = map[string]string{"anthropic-beta": "token-efficient-tools-2025-02-19", "X-Team": "search"}
	res := providertest.Generate(t, c, path, providertest.Transcript(t, "anthropic-message-thinking.json"), anthropicRequest(t, false))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if got := res.Sent.Header.Get("Anthropic-Beta"); got != "token-efficient-tools-2025-02-19,interleaved-thinking-2025-05-14,context-1m-2025-08-07" {
		t.Errorf("beta %q", got)
	}
	if got := res.Sent.Header.Get("X-Team"); got != "search" {
		t.Errorf("X-Team %q", got)
	}
}
