package openai_test

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/switchyard-ai/switchyard/internal/config"
	"github.com/switchyard-ai/switchyard/internal/fakeupstream"
	"github.com/switchyard-ai/switchyard/internal/llm"
	"github.com/switchyard-ai/switchyard/internal/provider"
	pt "github.com/switchyard-ai/switchyard/internal/provider/providertest"
	"github.com/switchyard-ai/switchyard/internal/sse"
)

const responsesReq = `{"model":"openai/gpt-4o","input":"What is the capital of France?","tools":[{"type":"function","name":"get_capital","parameters":{"type":"object"}}],"stream":true}`

var responsesTranscripts = []struct {
	name  string
	usage llm.Usage
}{
	{"openai-responses-stream-function-call.sse", llm.Usage{InputTokens: 255, OutputTokens: 16}},
	{"openai-responses-stream-reasoning-function-call.sse", llm.Usage{InputTokens: 53, OutputTokens: 469, ReasoningTokens: 448}},
	{"openai-responses-stream-reasoning-summary.sse", llm.Usage{InputTokens: 13, OutputTokens: 1680, ReasoningTokens: 1408}},
}

func forward(t *testing.T, resp fakeupstream.Response, body string, stream bool) pt.ForwardResult {
	t.Helper()
	return pt.Forward(t, cfg, "/responses", resp, llm.DialectResponses, body, stream)
}

// rawEvents splits a stream the way an SSE client does, keeping each
// event's bytes.
func rawEvents(t *testing.T, body []byte) [][]byte {
	t.Helper()
	rd := sse.NewReader(bytes.NewReader(body))
	var out [][]byte
	for {
		ev, err := rd.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, bytes.Clone(ev.Raw))
	}
}

func TestResponsesSpeaks(t *testing.T) {
	p, err := provider.New(config.Provider{Name: "o", Type: "openai", APIKey: "k"}, provider.Options{})
	if err != nil {
		t.Fatal(err)
	}
	n, ok := p.(provider.Native)
	if !ok {
		t.Fatal("the openai provider does not implement provider.Native")
	}
	for d, want := range map[llm.Dialect]bool{llm.DialectResponses: true, llm.DialectOpenAI: true, llm.DialectAnthropic: false} {
		if got := n.Speaks(d); got != want {
			t.Errorf("Speaks(%s) = %v, want %v", d, got, want)
		}
	}
	// Forwarding a dialect it does not speak is refused before any call.
	_, err = n.Forward(t.Context(), &provider.NativeRequest{Dialect: llm.DialectAnthropic}, "m")
	var e *llm.Error
	if !asError(err, &e) || e.Kind != llm.KindServer {
		t.Errorf("Forward(anthropic) = %v, want a server *llm.Error", err)
	}
}

func asError(err error, e **llm.Error) bool {
	le, ok := err.(*llm.Error)
	*e = le
	return ok
}

// The client gets the vendor's frames exactly, one per Next.
func TestResponsesStreamPassesFramesThrough(t *testing.T) {
	for _, tc := range responsesTranscripts {
		t.Run(tc.name, func(t *testing.T) {
			res := forward(t, fakeupstream.MustResponsesTranscript(tc.name, true), responsesReq, true)
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			want := pt.Body(t, tc.name)
			if !bytes.Equal(res.Out, want) {
				t.Fatalf("stream changed in transit: got %d bytes, want %d", len(res.Out), len(want))
			}
			frames := rawEvents(t, want)
			if len(res.Chunks) != len(frames) {
				t.Fatalf("%d chunks for %d frames", len(res.Chunks), len(frames))
			}
			for i := range frames {
				if !bytes.Equal(res.Chunks[i], frames[i]) {
					t.Errorf("chunk %d = %.80q, want frame %.80q", i, res.Chunks[i], frames[i])
				}
			}
			if res.Usage != tc.usage {
				t.Errorf("usage = %+v, want %+v", res.Usage, tc.usage)
			}
			if res.Meter == nil || !res.Meter.Final() || res.Meter.Usage() != tc.usage {
				t.Errorf("meter: %+v", res.Meter)
			}
		})
	}
}

func TestResponsesRequestSent(t *testing.T) {
	res := forward(t, fakeupstream.MustResponsesTranscript("openai-responses-stream-function-call.sse", true), responsesReq, true)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if res.Sent.Path != "/v1/responses" || res.Sent.Method != "POST" {
		t.Errorf("sent %s %s", res.Sent.Method, res.Sent.Path)
	}
	if got := res.Sent.Header.Get("Authorization"); got != "Bearer sk-upstream-test" {
		t.Errorf("Authorization = %q", got)
	}
	if got := res.Sent.Header.Get("Accept"); got != "text/event-stream" {
		t.Errorf("Accept = %q", got)
	}
	// Only the model changes; every other field goes as the client wrote it.
	if want := strings.Replace(responsesReq, `"openai/gpt-4o"`, `"gpt-4o"`, 1); string(res.Sent.Body) != want {
		t.Errorf("sent body\n%s\nwant\n%s", res.Sent.Body, want)
	}

	// The body asks for what the reply is read as.
	for _, tc := range []struct {
		body   string
		stream bool
		want   string
	}{
		{`{"model":"gpt-4o","input":"hi"}`, true, `{"model":"gpt-4o","input":"hi","stream":true}`},
		{`{"model":"gpt-4o","input":"hi","stream":true}`, false, `{"model":"gpt-4o","input":"hi","stream":false}`},
		{`{"model":"gpt-4o","input":"hi","stream":false}`, false, `{"model":"gpt-4o","input":"hi","stream":false}`},
	} {
		name := "openai-responses-stream-function-call.sse"
		res := forward(t, fakeupstream.MustResponsesTranscript(name, tc.stream), tc.body, tc.stream)
		if res.Err != nil {
			t.Fatal(res.Err)
		}
		if string(res.Sent.Body) != tc.want {
			t.Errorf("stream %v: sent %s, want %s", tc.stream, res.Sent.Body, tc.want)
		}
	}
}

func TestResponsesNonStream(t *testing.T) {
	for _, tc := range responsesTranscripts {
		t.Run(tc.name, func(t *testing.T) {
			whole := fakeupstream.MustResponsesTranscript(tc.name, false)
			res := forward(t, whole, `{"model":"gpt-4o","input":"hi"}`, false)
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			if !bytes.Equal(res.Out, whole.Body) {
				t.Errorf("body changed in transit: %.200s", res.Out)
			}
			if res.Usage != tc.usage {
				t.Errorf("usage = %+v, want %+v", res.Usage, tc.usage)
			}
			if got := res.Sent.Header.Get("Accept"); got != "application/json" {
				t.Errorf("Accept = %q", got)
			}
		})
	}
	res := forward(t, fakeupstream.MalformedJSON(), `{"model":"gpt-4o","input":"hi"}`, false)
	if res.Err == nil || res.Err.Class != "upstream_malformed" {
		t.Errorf("malformed body: %+v", res.Err)
	}
}

// Cached and cache-write input tokens map as in a chat answer: parts of
// input_tokens, not additions to it.
func TestResponsesCachedUsage(t *testing.T) {
	const name = "openai-responses-stream-function-call.sse"
	for _, stream := range []bool{true, false} {
		r := fakeupstream.MustResponsesTranscript(name, stream)
		r.Body = bytes.Replace(r.Body, []byte(`"input_tokens_details":{"cached_tokens":0}`),
			[]byte(`"input_tokens_details":{"cached_tokens":128,"cache_write_tokens":64}`), 1)
		res := forward(t, r, `{"model":"gpt-4o","input":"hi"}`, stream)
		if res.Err != nil {
			t.Fatal(res.Err)
		}
		want := llm.Usage{InputTokens: 255, CachedInputTokens: 128, CacheWriteTokens: 64, OutputTokens: 16}
		if res.Usage != want {
			t.Errorf("stream %v: usage = %+v, want %+v", stream, res.Usage, want)
		}
	}
}

// Reasoning is the summary text, the same streamed or not, and is what
// the final response object holds.
func TestResponsesReasoning(t *testing.T) {
	const name = "openai-responses-stream-reasoning-summary.sse"
	streamed := forward(t, fakeupstream.MustResponsesTranscript(name, true), responsesReq, true)
	whole := forward(t, fakeupstream.MustResponsesTranscript(name, false), `{"model":"o3-mini","input":"hi"}`, false)
	if streamed.Err != nil || whole.Err != nil {
		t.Fatal(streamed.Err, whole.Err)
	}
	var final struct {
		Output []struct {
			Type    string
			Summary []struct{ Text string }
		}
	}
	if err := json.Unmarshal(whole.Out, &final); err != nil {
		t.Fatal(err)
	}
	var parts []string
	for _, it := range final.Output {
		for _, s := range it.Summary {
			parts = append(parts, s.Text)
		}
	}
	want := strings.Join(parts, "\n\n")
	if len(parts) != 4 || want == "" {
		t.Fatalf("transcript has %d summary parts", len(parts))
	}
	if streamed.Reasoning != want {
		t.Errorf("streamed reasoning (%d bytes) differs from the summaries (%d bytes):\n%.300q", len(streamed.Reasoning), len(want), streamed.Reasoning)
	}
	if whole.Reasoning != want {
		t.Errorf("non-streamed reasoning (%d bytes) differs from the summaries (%d bytes)", len(whole.Reasoning), len(want))
	}
	// No reasoning in a response without reasoning items.
	if res := forward(t, fakeupstream.MustResponsesTranscript("openai-responses-stream-function-call.sse", true), responsesReq, true); res.Reasoning != "" {
		t.Errorf("reasoning from a function call: %q", res.Reasoning)
	}
}

func TestResponsesErrorStatuses(t *testing.T) {
	for _, tc := range []struct {
		name   string
		resp   fakeupstream.Response
		kind   llm.ErrorKind
		status int
		class  string
		code   string
		retry  string
	}{
		{"401", pt.Transcript(t, "openai-error-401-invalid-api-key.json"), llm.KindUpstream, 502, "upstream_auth", "invalid_api_key", ""},
		{"403", fakeupstream.OpenAIError(403, "invalid_request_error", "unsupported_country_region_territory", "Country, region, or territory not supported"), llm.KindUpstream, 502, "upstream_auth", "unsupported_country_region_territory", ""},
		{"404", pt.Transcript(t, "openai-error-404-model-not-found.json"), llm.KindNotFound, 404, "upstream_4xx", "model_not_found", ""},
		{"400", pt.Transcript(t, "openai-error-400-unsupported-parameter.json"), llm.KindInvalidRequest, 400, "upstream_4xx", "unsupported_parameter", ""},
		{"429", fakeupstream.RateLimited("7"), llm.KindRateLimit, 429, "upstream_4xx", "rate_limit_exceeded", "7"},
		{"500", fakeupstream.ServerError(500), llm.KindUpstream, 500, "upstream_5xx", "", ""},
		{"503", fakeupstream.ServerError(503), llm.KindOverloaded, 503, "upstream_5xx", "", ""},
	} {
		for _, stream := range []bool{true, false} {
			res := forward(t, tc.resp, responsesReq, stream)
			e := res.Err
			if e == nil {
				t.Errorf("%s stream %v: no error", tc.name, stream)
				continue
			}
			if e.Kind != tc.kind || e.HTTPStatus() != tc.status || e.Class != tc.class || e.Code != tc.code || e.RetryAfter != tc.retry {
				t.Errorf("%s stream %v: %+v", tc.name, stream, e)
			}
			if e.Message == "" || strings.Contains(e.Message, "sk-upstream-test") {
				t.Errorf("%s: message %q", tc.name, e.Message)
			}
		}
	}
}

func TestResponsesCutStream(t *testing.T) {
	const name = "openai-responses-stream-reasoning-summary.sse"
	frames := rawEvents(t, pt.Body(t, name))

	cut := fakeupstream.MustResponsesTranscript(name, true)
	cut.CutAfterEvents = 40
	// A stream that ends cleanly between events, before its terminal
	// event, is cut just the same.
	short := fakeupstream.MustResponsesTranscript(name, true)
	short.Body = bytes.Join(frames[:40], nil)
	// So is one that ends inside an event.
	torn := fakeupstream.MustResponsesTranscript(name, true)
	torn.Body = append(bytes.Join(frames[:40], nil), frames[40][:20]...)

	for what, r := range map[string]fakeupstream.Response{"cut": cut, "short": short, "torn": torn} {
		res := forward(t, r, responsesReq, true)
		if res.Err == nil || res.Err.Class != "stream_cut" || res.Err.Kind != llm.KindUpstream {
			t.Errorf("%s: error %+v, want stream_cut", what, res.Err)
		}
		if !bytes.Equal(res.Out, bytes.Join(frames[:40], nil)) {
			t.Errorf("%s: %d bytes before the error, want the first 40 frames", what, len(res.Out))
		}
		if res.Usage != (llm.Usage{}) {
			t.Errorf("%s: usage %+v from a stream that never reported any", what, res.Usage)
		}
		// What was generated is metered, for the estimate.
		if text, n := res.Meter.Text(); res.Meter.Final() || n == 0 || !strings.Contains(res.Reasoning, text[:min(len(text), 20)]) {
			t.Errorf("%s: meter final %v, %d bytes %.40q", what, res.Meter.Final(), n, text)
		}
	}
}

func TestResponsesStreamErrorEvent(t *testing.T) {
	const name = "openai-responses-stream-function-call.sse"
	r, err := fakeupstream.ResponsesStreamError(name, 3, "server_error", "The model produced invalid content.")
	if err != nil {
		t.Fatal(err)
	}
	res := forward(t, r, responsesReq, true)
	e := res.Err
	if e == nil || e.Kind != llm.KindUpstream || e.Class != "upstream_stream_error" || e.Code != "server_error" || e.Message != "The model produced invalid content." {
		t.Fatalf("error event: %+v", e)
	}
	if want := bytes.Join(rawEvents(t, pt.Body(t, name))[:3], nil); !bytes.Equal(res.Out, want) {
		t.Errorf("before the error: %q", res.Out)
	}

	r, err = fakeupstream.ResponsesFailed(name, 5, "rate_limit_exceeded", "Too many tokens.")
	if err != nil {
		t.Fatal(err)
	}
	// A failed response that says what it used is charged for it.
	i := bytes.LastIndex(r.Body, []byte(`"usage":null`))
	r.Body = append(r.Body[:i:i], append([]byte(`"usage":{"input_tokens":9,"output_tokens":2}`), r.Body[i+len(`"usage":null`):]...)...)
	res = forward(t, r, responsesReq, true)
	e = res.Err
	if e == nil || e.Class != "upstream_stream_error" || e.Code != "rate_limit_exceeded" || e.Message != "Too many tokens." {
		t.Fatalf("response.failed: %+v", e)
	}
	if len(res.Chunks) != 5 {
		t.Errorf("%d frames before response.failed, want 5", len(res.Chunks))
	}
	if want := (llm.Usage{InputTokens: 9, OutputTokens: 2}); res.Usage != want {
		t.Errorf("usage of the failed response = %+v, want %+v", res.Usage, want)
	}
}

// response.incomplete ends a stream as completed does: passed on, usage
// read, no error.
func TestResponsesIncomplete(t *testing.T) {
	r := fakeupstream.MustResponsesTranscript("openai-responses-stream-function-call.sse", true)
	r.Body = bytes.ReplaceAll(r.Body, []byte("response.completed"), []byte("response.incomplete"))
	r.Body = bytes.Replace(r.Body, []byte(`"status":"completed","error":null,"incomplete_details":null`),
		[]byte(`"status":"incomplete","error":null,"incomplete_details":{"reason":"max_output_tokens"}`), 1)
	// Bytes after the terminal event are not read, let alone passed on.
	r.Body = append(r.Body, "data: [DONE]\n\n"...)
	res := forward(t, r, responsesReq, true)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if !bytes.HasSuffix(res.Out, []byte("\"metadata\":{}}}\n\n")) || bytes.Contains(res.Out, []byte("[DONE]")) {
		t.Errorf("stream end %q", res.Out[max(0, len(res.Out)-40):])
	}
	if want := (llm.Usage{InputTokens: 255, OutputTokens: 16}); res.Usage != want {
		t.Errorf("usage = %+v", res.Usage)
	}
}

func TestResponsesMalformedEvent(t *testing.T) {
	r := fakeupstream.MustResponsesTranscript("openai-responses-stream-function-call.sse", true)
	r.Malformed = true
	res := forward(t, r, responsesReq, true)
	if res.Err == nil || res.Err.Class != "upstream_malformed" || len(res.Out) != 0 {
		t.Errorf("malformed event: %+v, passed %q", res.Err, res.Out)
	}
}
