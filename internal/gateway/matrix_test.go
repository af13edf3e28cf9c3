package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/shared"

	"github.com/switchyard-ai/switchyard/internal/config"
	"github.com/switchyard-ai/switchyard/internal/fakeupstream"
)

// The feature matrix: every client dialect × every provider type × every
// feature, through the official SDKs, against the fake upstream replaying
// real vendor transcripts where they exist. The table in README.md between
// the feature-matrix markers is generated from this test's cases
// (go test ./internal/gateway -run TestFeatureMatrix -update-readme) and
// checked by it, so it cannot drift from what is tested.

var updateReadme = flag.Bool("update-readme", false, "rewrite the feature table in README.md")

// vendor is one configured provider of the matrix.
type vendor struct {
	name, typ, model string
	// path is the suffix of the vendor's endpoint for a non-streamed and a
	// streamed request.
	path, streamPath string
}

var vendors = []vendor{
	{"openai", "openai", "gpt-4o-mini", "/chat/completions", "/chat/completions"},
	{"azure", "azure-openai", "gpt-4o-mini", "/chat/completions", "/chat/completions"},
	{"xai", "xai", "grok-3-mini", "/chat/completions", "/chat/completions"},
	{"deepseek", "deepseek", "deepseek-reasoner", "/chat/completions", "/chat/completions"},
	{"mistral", "mistral", "mistral-small-latest", "/chat/completions", "/chat/completions"},
	{"vllm", "openai-compatible", "deepseek-r1", "/chat/completions", "/chat/completions"},
	{"anthropic", "anthropic", "claude-sonnet-4-5", "/v1/messages", "/v1/messages"},
	{"gemini", "gemini", "gemini-2.5-pro", ":generateContent", ":streamGenerateContent"},
}

// feature is a column of the matrix.
type feature struct {
	name string
	// fixture returns the upstream's answer for v and what the client must
	// get, or ok false when the feature does not apply to v (and why).
	fixture func(v vendor) (f fixture, ok bool, why string)
}

// fixture is one upstream answer and the expected client view of it.
type fixture struct {
	resp   fakeupstream.Response
	stream bool
	// req adjusts the client request (images, structured output).
	req request
	// text is the expected answer text, or its prefix when it ends in "…".
	text string
	// tools are the expected tool-call names in order.
	tools []string
	// reasoning: the client must see reasoning (reasoning_content for
	// OpenAI clients, thinking blocks for Anthropic ones).
	reasoning bool
	// in and out are the canonical input and output tokens; cached the
	// cached input tokens; -1 in means the vendor reported none.
	in, out, cached int64
	// detail, when set, also checks the reasoning and cache-write tokens.
	detail                 bool
	reasoningTok, writeTok int64
	// sent checks the body the upstream received.
	sent func(t *testing.T, body string)
	// status and retryAfter are the expected error, for failures.
	status     int
	retryAfter bool
}

type request int

const (
	plain request = iota
	withImage
	withSchema
)

// A 1×1 PNG.
const pngBase64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="

const hello = "Hello from the matrix"

// textAnswer returns a synthesized whole text answer in v's wire format.
func textAnswer(v vendor) fixture {
	switch v.typ {
	case "anthropic":
		return fixture{resp: jsonResponse(200, `{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"`+hello+`"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":5,"cache_creation_input_tokens":0,"cache_read_input_tokens":2,"output_tokens":4}}`),
			text: hello, in: 7, out: 4, cached: 2}
	case "gemini":
		return fixture{resp: jsonResponse(200, `{"candidates":[{"content":{"role":"model","parts":[{"text":"`+hello+`"}]},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":7,"candidatesTokenCount":4,"totalTokenCount":11},"modelVersion":"gemini-2.5-pro","responseId":"r1"}`),
			text: hello, in: 7, out: 4}
	}
	return fixture{resp: fakeupstream.TextCompletion(hello), text: hello, in: 10, out: 4}
}

func jsonResponse(status int, body string) fakeupstream.Response {
	return fakeupstream.Response{Status: status, ContentType: "application/json", Body: []byte(body)}
}

func transcript(name string, f fixture) fixture {
	f.resp = fakeupstream.MustTranscript(name)
	return f
}

var features = []feature{
	{"text", func(v vendor) (fixture, bool, string) { return textAnswer(v), true, "" }},
	{"streamed text", func(v vendor) (fixture, bool, string) {
		f := fixture{stream: true}
		switch v.typ {
		case "openai":
			f = transcript("openai-chat-stream-text-include-usage.sse", fixture{text: "The capital of the UK is London.", in: 78, out: 9})
		case "azure-openai":
			f = transcript("azure-openai-v1-chat-stream-include-usage.sse", fixture{text: "4242", in: 15, out: 12})
		case "anthropic":
			f.resp = fakeupstream.Response{ContentType: "text/event-stream", Body: []byte(anthropicTextStream)}
			f.text, f.in, f.out = "Hello from the matrix", 12, 5
		case "gemini":
			f = transcript("gemini-stream-text.sse", fixture{text: "The capital of France is Paris.\n", in: 13, out: 8})
		default:
			f.resp = fakeupstream.TextStream(3, "ab ", true)
			f.text, f.in, f.out = "ab ab ab ", 10, 3
		}
		f.stream = true
		return f, true, ""
	}},
	{"tool call", func(v vendor) (fixture, bool, string) {
		switch v.typ {
		case "anthropic":
			return transcript("anthropic-message-tool-use.json", fixture{text: "I'll retrieve the secrets…", tools: []string{"secret_retrieval_tool", "secret_retrieval_tool"}, in: 416, out: 109}), true, ""
		case "gemini":
			return transcript("gemini-generate-content-function-call.json", fixture{tools: []string{"secret_retrieval_tool", "secret_retrieval_tool"}, in: 70, out: 116, reasoning: false}), true, ""
		}
		return transcript("openai-chat-tool-call.json", fixture{tools: []string{"secret_retrieval_tool", "secret_retrieval_tool"}, in: 75, out: 53}), true, ""
	}},
	{"streamed tool calls", func(v vendor) (fixture, bool, string) {
		var f fixture
		switch v.typ {
		case "anthropic":
			f = transcript("anthropic-messages-stream-tool-use.sse", fixture{text: "I'll get the current weather…", tools: []string{"get_weather"}, in: 397, out: 89})
		case "gemini":
			f = transcript("gemini-stream-function-call-thought-signature.sse", fixture{tools: []string{"get_country"}, in: 29, out: 212})
		case "xai":
			f = transcript("xai-chat-stream-tool-call.chunks.jsonl", fixture{tools: []string{"weather"}, reasoning: true, in: 307, out: 253, cached: 306})
		case "deepseek":
			f = transcript("deepseek-reasoner-stream-tool-call.chunks.jsonl", fixture{tools: []string{"weather"}, reasoning: true, in: 339, out: 83, cached: 320})
		case "mistral":
			f = transcript("mistral-stream-tool-call.chunks.jsonl", fixture{tools: []string{"weather"}, in: 124, out: 22})
		default:
			// Two parallel calls, interleaved by index.
			f = transcript("openai-chat-stream-parallel-tool-calls.sse", fixture{tools: []string{"get_country", "get_product_name"}, in: 364, out: 40})
		}
		f.stream = true
		return f, true, ""
	}},
	{"reasoning", func(v vendor) (fixture, bool, string) {
		var f fixture
		switch v.typ {
		case "openai", "azure-openai":
			return f, false, "chat completions return no reasoning text"
		case "anthropic":
			f = transcript("anthropic-messages-stream-thinking.sse", fixture{text: "Here are the basic steps…", in: 43, out: 282})
		case "gemini":
			f = transcript("gemini-stream-thoughts-include-thoughts.sse", fixture{text: "This is a great question!…", in: 34, out: 1256})
		case "xai":
			f = transcript("xai-chat-stream-tool-call.chunks.jsonl", fixture{tools: []string{"weather"}, in: 307, out: 253, cached: 306})
		case "deepseek":
			f = transcript("deepseek-reasoner-stream.sse", fixture{text: "Hello there!…", in: 6, out: 212})
		case "mistral":
			f = transcript("mistral-magistral-stream-thinking.sse", fixture{text: "To cross the street safely…", in: 10, out: 232})
		case "openai-compatible":
			// A vLLM with a reasoning parser; <think> tags in the content
			// (reasoning: think-tags) are tested with the adapter.
			f = transcript("deepseek-reasoner-stream.sse", fixture{text: "Hello there!…", in: 6, out: 212})
		}
		f.stream, f.reasoning = true, true
		return f, true, ""
	}},
	{"image input", func(v vendor) (fixture, bool, string) {
		f := textAnswer(v)
		f.req = withImage
		f.sent = func(t *testing.T, body string) {
			var want []string
			switch v.typ {
			case "anthropic":
				want = []string{`"type":"image"`, `"media_type":"image/png"`, pngBase64}
			case "gemini":
				want = []string{`"inlineData"`, `"image/png"`, pngBase64}
			default:
				want = []string{`"image_url"`, "data:image/png;base64," + pngBase64}
			}
			for _, w := range want {
				if !strings.Contains(body, w) {
					t.Errorf("upstream body lacks %s:\n%.600s", w, body)
				}
			}
		}
		return f, true, ""
	}},
	{"JSON-schema output", func(v vendor) (fixture, bool, string) {
		f := textAnswer(v)
		f.req = withSchema
		f.sent = func(t *testing.T, body string) {
			var want []string
			switch v.typ {
			case "anthropic":
				want = []string{`"output_config"`, `"json_schema"`, `"city"`}
			case "gemini":
				want = []string{`"responseMimeType":"application/json"`, `"responseJsonSchema"`, `"city"`}
			default:
				want = []string{`"response_format"`, `"json_schema"`, `"city"`}
			}
			for _, w := range want {
				if !strings.Contains(body, w) {
					t.Errorf("upstream body lacks %s:\n%.600s", w, body)
				}
			}
		}
		return f, true, ""
	}},
	{"usage (cached, reasoning)", func(v vendor) (fixture, bool, string) {
		// Each vendor's own way of saying: 100 input tokens of which 60
		// read from a cache, 40 output tokens of which 25 reasoning.
		f := fixture{text: hello, in: 100, out: 40, cached: 60, detail: true, reasoningTok: 25}
		openAIUsage := func(usage string) fakeupstream.Response {
			return jsonResponse(200, `{"id":"chatcmpl-u","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"`+hello+`"},"finish_reason":"stop"}],"usage":`+usage+`}`)
		}
		switch v.typ {
		case "anthropic":
			// Anthropic's input_tokens excludes both cache counters.
			f.in, f.writeTok = 110, 10
			f.resp = jsonResponse(200, `{"id":"msg_u","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"`+hello+`"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":40,"cache_creation_input_tokens":10,"cache_read_input_tokens":60,"output_tokens":40,"output_tokens_details":{"thinking_tokens":25}}}`)
		case "gemini":
			// Gemini's candidates exclude thoughts.
			f.resp = jsonResponse(200, `{"candidates":[{"content":{"role":"model","parts":[{"text":"`+hello+`"}]},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":100,"cachedContentTokenCount":60,"candidatesTokenCount":15,"thoughtsTokenCount":25,"totalTokenCount":140},"modelVersion":"gemini-2.5-pro","responseId":"u"}`)
		case "xai":
			// xAI's completion_tokens exclude reasoning.
			f.resp = openAIUsage(`{"prompt_tokens":100,"completion_tokens":15,"total_tokens":140,"prompt_tokens_details":{"cached_tokens":60},"completion_tokens_details":{"reasoning_tokens":25}}`)
		case "deepseek":
			f.resp = openAIUsage(`{"prompt_tokens":100,"completion_tokens":40,"total_tokens":140,"prompt_tokens_details":{"cached_tokens":60},"completion_tokens_details":{"reasoning_tokens":25},"prompt_cache_hit_tokens":60,"prompt_cache_miss_tokens":40}`)
		case "mistral":
			// Mistral reports no reasoning tokens.
			f.reasoningTok = 0
			f.resp = openAIUsage(`{"prompt_tokens":100,"completion_tokens":40,"total_tokens":140,"prompt_tokens_details":{"cached_tokens":60}}`)
		default:
			f.resp = openAIUsage(`{"prompt_tokens":100,"completion_tokens":40,"total_tokens":140,"prompt_tokens_details":{"cached_tokens":60},"completion_tokens_details":{"reasoning_tokens":25}}`)
		}
		return f, true, ""
	}},
	{"upstream errors", func(v vendor) (fixture, bool, string) {
		f := fixture{status: 429, retryAfter: true}
		switch v.typ {
		case "anthropic":
			f.resp = jsonResponse(429, `{"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your per-minute rate limit"},"request_id":"req_1"}`)
			f.resp.Header = http.Header{"Retry-After": {"3"}}
		case "gemini":
			// RetryInfo in the body, no retry-after header.
			f.resp = fakeupstream.MustTranscript("gemini-error-429-resource-exhausted.json")
		default:
			f.resp = fakeupstream.RateLimited("3")
		}
		return f, true, ""
	}},
}

const anthropicTextStream = "event: message_start\n" +
	`data: {"type":"message_start","message":{"id":"msg_2","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":12,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}}}` + "\n\n" +
	"event: content_block_start\n" + `data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}` + "\n\n" +
	"event: ping\n" + `data: {"type": "ping"}` + "\n\n" +
	"event: content_block_delta\n" + `data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello from"}}` + "\n\n" +
	"event: content_block_delta\n" + `data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" the matrix"}}` + "\n\n" +
	"event: content_block_stop\n" + `data: {"type":"content_block_stop","index":0}` + "\n\n" +
	"event: message_delta\n" + `data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":5}}` + "\n\n" +
	"event: message_stop\n" + `data: {"type":"message_stop"}` + "\n\n"

// got is what a client saw.
type got struct {
	text, reasoning        string
	tools                  []string
	in, out, cached        int64
	reasoningTok, writeTok int64
	status                 int
	retryAfter             string
}

func TestFeatureMatrix(t *testing.T) {
	table := map[[2]string]string{} // vendor, feature → cell
	for _, v := range vendors {
		for _, ft := range features {
			f, ok, why := ft.fixture(v)
			if !ok {
				table[[2]string{v.typ, ft.name}] = "— " + why
				continue
			}
			cell := "✓"
			for _, dialect := range []string{"openai", "anthropic"} {
				name := fmt.Sprintf("%s/%s/%s", v.typ, ft.name, dialect)
				if !t.Run(name, func(t *testing.T) { runCell(t, v, f, dialect) }) {
					cell = "✗"
				}
			}
			table[[2]string{v.typ, ft.name}] = cell
		}
	}
	checkReadmeTable(t, renderTable(table))
}

// matrixEnv is one gateway with every matrix vendor pointed at one fake.
func matrixEnv(t testing.TB) *env {
	return newEnv(t, func(c *config.Config) {
		u := c.Providers[0].BaseURL // the fake's URL + "/v1"
		base := strings.TrimSuffix(u, "/v1")
		c.Providers, c.Models = nil, nil
		zero := 0
		for _, v := range vendors {
			p := config.Provider{Name: v.name, Type: v.typ, APIKey: v.name + "-secret", BaseURL: base + "/v1"}
			switch v.typ {
			case "azure-openai":
				p.BaseURL, p.APIVersion = base, "2024-10-21"
			case "deepseek", "anthropic", "gemini":
				p.BaseURL = base
			}
			c.Providers = append(c.Providers, p)
			// Without retries, so that an upstream 429 reaches the client.
			c.Models = append(c.Models, config.Model{Name: "m-" + v.name, Target: v.name + "/" + v.model, Retries: &zero})
		}
	})
}

func runCell(t *testing.T, v vendor, f fixture, dialect string) {
	e := matrixEnv(t)
	path := v.path
	if f.stream {
		path = v.streamPath
	}
	e.fake.Handle(path, f.resp)
	var g got
	if dialect == "openai" {
		g = viaOpenAI(t, e, "m-"+v.name, f)
	} else {
		g = viaAnthropic(t, e, "m-"+v.name, f)
	}
	if f.status != 0 {
		if g.status != f.status || (f.retryAfter && g.retryAfter == "") {
			t.Fatalf("error status %d retry-after %q, want %d with a retry-after", g.status, g.retryAfter, f.status)
		}
		return
	}
	if g.status != 0 {
		t.Fatalf("request failed with status %d", g.status)
	}
	if want, prefix := strings.CutSuffix(f.text, "…"); prefix && !strings.HasPrefix(g.text, want) || !prefix && g.text != f.text {
		t.Errorf("text = %.80q, want %q", g.text, f.text)
	}
	if !slices.Equal(g.tools, f.tools) {
		t.Errorf("tools = %q, want %q", g.tools, f.tools)
	}
	if f.reasoning != (g.reasoning != "") {
		t.Errorf("reasoning seen = %v, want %v", g.reasoning != "", f.reasoning)
	}
	if g.in != f.in || g.out != f.out || g.cached != f.cached {
		t.Errorf("usage in %d out %d cached %d, want %d %d %d", g.in, g.out, g.cached, f.in, f.out, f.cached)
	}
	if f.detail && (g.reasoningTok != f.reasoningTok || g.writeTok != f.writeTok) {
		t.Errorf("reasoning tokens %d cache-write tokens %d, want %d %d", g.reasoningTok, g.writeTok, f.reasoningTok, f.writeTok)
	}
	if f.sent != nil {
		f.sent(t, string(e.fake.LastRequest().Body))
	}
	l := e.logs()[0]
	if l.Usage.InputTokens != f.in || l.Usage.OutputTokens != f.out || l.Usage.CachedInputTokens != f.cached ||
		f.detail && (l.Usage.ReasoningTokens != f.reasoningTok || l.Usage.CacheWriteTokens != f.writeTok) {
		t.Errorf("request log usage %+v, want in %d out %d cached %d", l.Usage, f.in, f.out, f.cached)
	}
	if f.reasoning && l.Reasoning == "" {
		t.Error("reasoning not stored in the request log")
	}
	if want := map[string]string{"openai": "chat.completions", "anthropic": "messages"}[dialect]; l.Endpoint != want {
		t.Errorf("log endpoint %q, want %q", l.Endpoint, want)
	}
}

func viaOpenAI(t *testing.T, e *env, model string, f fixture) got {
	params := openai.ChatCompletionNewParams{Model: model, Messages: userMsg("hi")}
	switch f.req {
	case withImage:
		params.Messages = []openai.ChatCompletionMessageParamUnion{openai.UserMessage([]openai.ChatCompletionContentPartUnionParam{
			openai.TextContentPart("What is this?"),
			openai.ImageContentPart(openai.ChatCompletionContentPartImageImageURLParam{URL: "data:image/png;base64," + pngBase64}),
		})}
	case withSchema:
		params.ResponseFormat = openai.ChatCompletionNewParamsResponseFormatUnion{OfJSONSchema: &shared.ResponseFormatJSONSchemaParam{
			JSONSchema: shared.ResponseFormatJSONSchemaJSONSchemaParam{Name: "place", Schema: map[string]any{
				"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}, "required": []string{"city"}}},
		}}
	}
	var g got
	var msg openai.ChatCompletionMessage
	var usage openai.CompletionUsage
	if f.stream {
		params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
		s := e.client.Chat.Completions.NewStreaming(context.Background(), params)
		var acc openai.ChatCompletionAccumulator
		var reasoning strings.Builder
		for s.Next() {
			chunk := s.Current()
			acc.AddChunk(chunk)
			for _, ch := range chunk.Choices {
				reasoning.WriteString(extraString(ch.Delta.JSON.ExtraFields["reasoning_content"].Raw()))
			}
		}
		if err := s.Err(); err != nil {
			return openAIFailure(t, err)
		}
		if len(acc.Choices) == 0 {
			t.Fatal("no choices")
		}
		msg, usage, g.reasoning = acc.Choices[0].Message, acc.Usage, reasoning.String()
	} else {
		resp, err := e.client.Chat.Completions.New(context.Background(), params)
		if err != nil {
			return openAIFailure(t, err)
		}
		msg, usage = resp.Choices[0].Message, resp.Usage
		g.reasoning = extraString(msg.JSON.ExtraFields["reasoning_content"].Raw())
	}
	g.text = msg.Content
	for _, tc := range msg.ToolCalls {
		g.tools = append(g.tools, tc.Function.Name)
	}
	g.in, g.out, g.cached = usage.PromptTokens, usage.CompletionTokens, usage.PromptTokensDetails.CachedTokens
	g.reasoningTok, g.writeTok = usage.CompletionTokensDetails.ReasoningTokens, usage.PromptTokensDetails.CacheWriteTokens
	return g
}

func openAIFailure(t *testing.T, err error) got {
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("not an API error: %v", err)
	}
	return got{status: apiErr.StatusCode, retryAfter: apiErr.Response.Header.Get("Retry-After")}
}

func extraString(raw string) string {
	if raw == "" || raw == "null" {
		return ""
	}
	var s string
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		return ""
	}
	return s
}

func viaAnthropic(t *testing.T, e *env, model string, f fixture) got {
	client := anthropicClient(e)
	params := anthropic.MessageNewParams{Model: anthropic.Model(model), MaxTokens: 1024,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))}}
	switch f.req {
	case withImage:
		params.Messages = []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("What is this?"), anthropic.NewImageBlockBase64("image/png", pngBase64))}
	case withSchema:
		params.OutputConfig = anthropic.OutputConfigParam{Format: anthropic.JSONOutputFormatParam{Schema: map[string]any{
			"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}, "required": []string{"city"}}}}
	}
	var msg anthropic.Message
	if f.stream {
		s := client.Messages.NewStreaming(context.Background(), params)
		for s.Next() {
			if err := msg.Accumulate(s.Current()); err != nil {
				t.Fatalf("accumulate: %v", err)
			}
		}
		if err := s.Err(); err != nil {
			return anthropicFailure(t, err)
		}
	} else {
		m, err := client.Messages.New(context.Background(), params)
		if err != nil {
			return anthropicFailure(t, err)
		}
		msg = *m
	}
	var g got
	for _, b := range msg.Content {
		switch b.Type {
		case "text":
			g.text += b.Text
		case "thinking":
			g.reasoning += b.Thinking
		case "redacted_thinking":
			g.reasoning += "[redacted]"
		case "tool_use":
			g.tools = append(g.tools, b.Name)
		}
	}
	u := msg.Usage
	g.in = u.InputTokens + u.CacheReadInputTokens + u.CacheCreationInputTokens
	g.out, g.cached = u.OutputTokens, u.CacheReadInputTokens
	g.reasoningTok, g.writeTok = u.OutputTokensDetails.ThinkingTokens, u.CacheCreationInputTokens
	return g
}

func anthropicFailure(t *testing.T, err error) got {
	var apiErr *anthropic.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("not an API error: %v", err)
	}
	return got{status: apiErr.StatusCode, retryAfter: apiErr.Response.Header.Get("Retry-After")}
}

const (
	matrixStart = "<!-- feature-matrix:start (generated by TestFeatureMatrix; go test ./internal/gateway -run TestFeatureMatrix -update-readme) -->"
	matrixEnd   = "<!-- feature-matrix:end -->"
)

// renderTable writes the matrix as Markdown: a row per provider type, a
// column per feature; ✓ means both an OpenAI and an Anthropic client got it
// right through the official SDKs.
func renderTable(cells map[[2]string]string) string {
	var b strings.Builder
	b.WriteString("| provider type |")
	for _, f := range features {
		b.WriteString(" " + f.name + " |")
	}
	b.WriteString("\n|---|")
	for range features {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, v := range vendors {
		b.WriteString("| `" + v.typ + "` |")
		for _, f := range features {
			b.WriteString(" " + cells[[2]string{v.typ, f.name}] + " |")
		}
		b.WriteString("\n")
	}
	return b.String()
}

func checkReadmeTable(t *testing.T, table string) {
	t.Helper()
	path := filepath.Join("..", "..", "README.md")
	readme, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(readme)
	i, j := strings.Index(s, matrixStart), strings.Index(s, matrixEnd)
	if i < 0 || j < i {
		t.Fatalf("README.md lacks the feature-matrix markers %q … %q", matrixStart, matrixEnd)
	}
	want := s[:i+len(matrixStart)] + "\n" + table + s[j:]
	if want == s {
		return
	}
	if *updateReadme {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("README.md's feature table is out of date; run go test ./internal/gateway -run TestFeatureMatrix -update-readme. Want:\n%s", table)
}
