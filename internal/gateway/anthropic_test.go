package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/shared"

	"github.com/switchyard-ai/switchyard/internal/config"
	"github.com/switchyard-ai/switchyard/internal/fakeupstream"
	"github.com/switchyard-ai/switchyard/internal/store"
)

// The Anthropic Messages ingress: what an Anthropic client (the official
// SDK, or a coding agent pointed at ANTHROPIC_BASE_URL) sees whatever the
// vendor behind the model.

func anthropicClient(e *env, opts ...aoption.RequestOption) *anthropic.Client {
	c := anthropic.NewClient(append([]aoption.RequestOption{aoption.WithBaseURL(e.srv.URL), aoption.WithAPIKey(e.key), aoption.WithMaxRetries(0)}, opts...)...)
	return &c
}

func hiParams(model string) anthropic.MessageNewParams {
	return anthropic.MessageNewParams{Model: anthropic.Model(model), MaxTokens: 256,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))}}
}

// rawMessages posts body to /v1/messages with the given headers.
func rawMessages(t *testing.T, e *env, path, body string, header map[string]string) (int, http.Header, []byte) {
	t.Helper()
	return send(t, "POST", e.srv.URL+path, header, body)
}

// Both auth headers and both API versions in use are accepted; an unknown
// version and a bad key are refused in Anthropic's error shape.
func TestAnthropicAuthAndVersions(t *testing.T) {
	e := matrixEnv(t)
	e.fake.Handle("/chat/completions", fakeupstream.TextCompletion("ok"))
	body := `{"model":"m-openai","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`
	for _, h := range []map[string]string{
		{"x-api-key": e.key, "anthropic-version": "2023-06-01"},
		{"Authorization": "Bearer " + e.key, "anthropic-version": "2026-10-21"},
	} {
		status, _, raw := rawMessages(t, e, "/v1/messages", body, h)
		if status != 200 || !strings.Contains(string(raw), `"type":"message"`) {
			t.Errorf("%v: %d %s", h, status, raw)
		}
	}
	for _, tt := range []struct {
		name   string
		header map[string]string
		status int
		typ    string
	}{
		{"unknown version", map[string]string{"x-api-key": e.key, "anthropic-version": "2099-01-01"}, 400, "invalid_request_error"},
		{"bad key", map[string]string{"x-api-key": "sk-sy-wrong", "anthropic-version": "2023-06-01"}, 401, "authentication_error"},
		{"no key", map[string]string{"anthropic-version": "2023-06-01"}, 401, "authentication_error"},
	} {
		status, _, raw := rawMessages(t, e, "/v1/messages", body, tt.header)
		var eb struct {
			Type  string `json:"type"`
			Error struct{ Type, Message string }
		}
		if err := json.Unmarshal(raw, &eb); err != nil || status != tt.status || eb.Type != "error" || eb.Error.Type != tt.typ || eb.Error.Message == "" {
			t.Errorf("%s: %d %s", tt.name, status, raw)
		}
	}
}

// Bad Anthropic requests get a 400 in Anthropic's shape naming the field,
// and never reach a vendor.
func TestAnthropicBadInput(t *testing.T) {
	e := matrixEnv(t)
	h := map[string]string{"x-api-key": e.key, "anthropic-version": "2023-06-01"}
	for _, body := range []string{
		`{"model":`,
		`{"max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"m-openai","messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"m-openai","max_tokens":10,"messages":"hi"}`,
		`{"model":"m-openai","max_tokens":10,"messages":[{"role":"user","content":[{"type":"image"}]}]}`,
	} {
		status, _, raw := rawMessages(t, e, "/v1/messages", body, h)
		if status != 400 || !strings.Contains(string(raw), `"invalid_request_error"`) {
			t.Errorf("%s: %d %s", body, status, raw)
		}
	}
	if n := len(e.fake.Requests()); n != 0 {
		t.Errorf("%d bad requests reached the upstream", n)
	}
}

// An overloaded vendor is Anthropic's 529 overloaded_error to an Anthropic
// client whoever the vendor was (docs/protocols.md#trap-overloaded), and it
// carries a retry-after (docs/protocols.md#trap-retry-after).
func TestPitfall10_OverloadedIs529ForAnthropicClients(t *testing.T) {
	e := matrixEnv(t)
	e.fake.Handle("/chat/completions", fakeupstream.ServerError(503))
	_, err := anthropicClient(e).Messages.New(context.Background(), hiParams("m-openai"))
	var apiErr *anthropic.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 529 || apiErr.Response.Header.Get("Retry-After") == "" {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(apiErr.RawJSON(), "overloaded_error") {
		t.Errorf("body %s", apiErr.RawJSON())
	}
	// An OpenAI client sees the same failure as a 503.
	_, err = e.client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "m-openai", Messages: userMsg("hi")})
	var oErr *openai.Error
	if !errors.As(err, &oErr) || oErr.StatusCode != 503 {
		t.Fatalf("openai client err = %v", err)
	}
	// And Anthropic's own 529 is a 503 to an OpenAI client.
	e.fake.Handle("/v1/messages", jsonResponse(529, `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`))
	_, err = e.client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "m-anthropic", Messages: userMsg("hi")})
	if !errors.As(err, &oErr) || oErr.StatusCode != 503 || oErr.Response.Header.Get("Retry-After") == "" {
		t.Fatalf("openai client, anthropic 529: %v", err)
	}
}

// A stream that fails after it started ends with Anthropic's event: error,
// which the SDK reports, never as a silent success
// (docs/protocols.md#trap-overloaded).
func TestPitfall10_MidStreamErrorEvent(t *testing.T) {
	e := matrixEnv(t)
	cut := fakeupstream.TextStream(10, "w ", true)
	cut.CutAfterEvents = 4
	e.fake.Handle("/chat/completions", cut)
	s := anthropicClient(e).Messages.NewStreaming(context.Background(), hiParams("m-openai"))
	var msg anthropic.Message
	n := 0
	for s.Next() {
		msg.Accumulate(s.Current())
		n++
	}
	if s.Err() == nil || n == 0 {
		t.Fatalf("cut stream: %d events, err %v", n, s.Err())
	}
	l := e.logs()[0]
	if l.ErrorClass != "stream_cut" {
		t.Errorf("log error class %q", l.ErrorClass)
	}
}

// An Anthropic thinking signature and a redacted block reach the client
// byte-exact and, replayed on the next turn, reach Anthropic byte-exact, in
// order (docs/protocols.md#trap-signatures).
func TestPitfall4_ThinkingReplayedByteExact(t *testing.T) {
	e := matrixEnv(t)
	e.fake.Handle("/v1/messages", fakeupstream.MustTranscript("anthropic-messages-stream-redacted-thinking.sse"))
	s := anthropicClient(e).Messages.NewStreaming(context.Background(), hiParams("m-anthropic"))
	var msg anthropic.Message
	for s.Next() {
		if err := msg.Accumulate(s.Current()); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	var redacted string
	for _, b := range msg.Content {
		if b.Type == "redacted_thinking" {
			redacted = b.Data
		}
	}
	want := string(fakeupstream.MustTranscript("anthropic-messages-stream-redacted-thinking.sse").Body)
	if redacted == "" || !strings.Contains(want, redacted) {
		t.Fatalf("redacted data %.40q not from the transcript", redacted)
	}
	// Replay the whole assistant turn.
	e.fake.Handle("/v1/messages", fakeupstream.MustTranscript("anthropic-message-thinking.json"))
	p := hiParams("m-anthropic")
	p.Messages = append(p.Messages, msg.ToParam(), anthropic.NewUserMessage(anthropic.NewTextBlock("and?")))
	if _, err := anthropicClient(e).Messages.New(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	sent := string(e.fake.LastRequest().Body)
	if !strings.Contains(sent, `"redacted_thinking"`) || !strings.Contains(sent, redacted) {
		t.Errorf("replayed turn lost the redacted block:\n%.800s", sent)
	}
}

// A route with reasoning: strip hides reasoning from both dialects' clients
// and keeps it in the request log.
func TestReasoningStrip(t *testing.T) {
	e := newEnv(t, func(c *config.Config) {
		u := strings.TrimSuffix(c.Providers[0].BaseURL, "/v1")
		c.Providers = append(c.Providers, config.Provider{Name: "claude", Type: "anthropic", APIKey: "k", BaseURL: u})
		c.Models = append(c.Models,
			config.Model{Name: "quiet-claude", Target: "claude/claude-sonnet-4-5", Reasoning: "strip"},
			config.Model{Name: "quiet-deepseek", Target: "deepseek/deepseek-reasoner", Reasoning: "strip"})
	})
	e.fake.Handle("/v1/messages", fakeupstream.MustTranscript("anthropic-messages-stream-thinking.sse"))
	e.fake.Handle("/chat/completions", fakeupstream.MustTranscript("deepseek-reasoner-stream.sse"))

	s := anthropicClient(e).Messages.NewStreaming(context.Background(), hiParams("quiet-claude"))
	var msg anthropic.Message
	for s.Next() {
		if err := msg.Accumulate(s.Current()); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	if len(msg.Content) != 1 || msg.Content[0].Type != "text" || !strings.HasPrefix(msg.Content[0].Text, "Here are the basic steps") {
		t.Errorf("anthropic client got %+v", msg.Content)
	}

	os := e.client.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{Model: "quiet-deepseek", Messages: userMsg("hi")})
	for os.Next() {
		for _, ch := range os.Current().Choices {
			if _, ok := ch.Delta.JSON.ExtraFields["reasoning_content"]; ok && ch.Delta.JSON.ExtraFields["reasoning_content"].Raw() != "null" {
				t.Fatalf("reasoning_content reached the client: %s", os.Current().RawJSON())
			}
		}
	}
	if err := os.Err(); err != nil {
		t.Fatal(err)
	}
	logs := e.logs()
	for len(logs) < 2 {
		logs = e.logs()
	}
	for _, l := range logs[:2] {
		if l.Reasoning == "" {
			t.Errorf("%s: reasoning not kept in the log", l.RequestedModel)
		}
	}
}

// A fallback may cross vendors and dialects: an Anthropic client's request
// to a failing Gemini model is served by an OpenAI-wire vendor.
func TestCrossVendorFallback(t *testing.T) {
	e := newEnv(t, func(c *config.Config) {
		u := strings.TrimSuffix(c.Providers[0].BaseURL, "/v1")
		zero := 0
		c.Providers = append(c.Providers, config.Provider{Name: "gemini", Type: "gemini", APIKey: "k", BaseURL: u})
		c.Models = append(c.Models, config.Model{Name: "resilient", Target: "gemini/gemini-2.5-pro", Fallbacks: []string{"openai/gpt-4o-mini"}, Retries: &zero})
	})
	e.fake.Handle(":generateContent", fakeupstream.ServerError(503))
	e.fake.Handle("/chat/completions", fakeupstream.TextCompletion("served by the fallback"))
	m, err := anthropicClient(e).Messages.New(context.Background(), hiParams("resilient"))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Content) != 1 || m.Content[0].Text != "served by the fallback" {
		t.Fatalf("content %+v", m.Content)
	}
	l := e.logs()[0]
	if l.Provider != "openai" || !strings.Contains(l.Attempts, `"gemini/gemini-2.5-pro"`) {
		t.Errorf("log provider %q attempts %s", l.Provider, l.Attempts)
	}
}

// count_tokens: Anthropic counts exactly; other vendors get an estimate,
// said so in a header.
func TestCountTokens(t *testing.T) {
	e := matrixEnv(t)
	e.fake.Handle("/v1/messages/count_tokens", fakeupstream.Response{ContentType: "application/json", Body: []byte(`{"input_tokens":42}`)})
	c := anthropicClient(e)
	params := anthropic.MessageCountTokensParams{Model: "m-anthropic",
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hello there"))}}
	n, err := c.Messages.CountTokens(context.Background(), params)
	if err != nil || n.InputTokens != 42 {
		t.Fatalf("anthropic count: %+v %v", n, err)
	}
	params.Model = "m-openai"
	var resp *http.Response
	n, err = c.Messages.CountTokens(context.Background(), params, aoption.WithResponseInto(&resp))
	// o200k_base makes "hello there" 2 tokens; the framing of one message
	// and of the reply adds 7.
	if err != nil || n.InputTokens != 9 || resp.Header.Get("X-Switchyard-Token-Count") != "estimated" {
		t.Fatalf("estimated count: %+v %v", n, err)
	}
}

// Anthropic's SDK lists models in its own shape.
func TestAnthropicModels(t *testing.T) {
	e := matrixEnv(t)
	page, err := anthropicClient(e).Models.List(context.Background(), anthropic.ModelListParams{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range page.Data {
		ids = append(ids, m.ID)
	}
	if len(ids) != len(vendors) || ids[0] != "m-openai" {
		t.Fatalf("models %v", ids)
	}
	if _, err := anthropicClient(e).Models.Get(context.Background(), "m-gemini", anthropic.ModelGetParams{}); err != nil {
		t.Fatal(err)
	}
	_, err = anthropicClient(e).Models.Get(context.Background(), "nope", anthropic.ModelGetParams{})
	var apiErr *anthropic.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || !strings.Contains(apiErr.RawJSON(), "not_found_error") {
		t.Fatalf("unknown model: %v", err)
	}
}

// Tool payloads survive translation both ways (docs/protocols.md#trap-tool-payloads),
// including a multi-turn history with parallel calls and their results,
// tool_choice and parallel_tool_calls.
func TestPitfall18_ToolPayloadsAcrossDialects(t *testing.T) {
	e := matrixEnv(t)
	ctx := context.Background()
	weather := openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{Name: "get_weather", Description: openai.String("Weather for a city"),
		Parameters: shared.FunctionParameters{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}}})

	// OpenAI client → Anthropic vendor.
	e.fake.Handle("/v1/messages", fakeupstream.MustTranscript("anthropic-message-tool-use.json"))
	_, err := e.client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
		Model:             "m-anthropic",
		Tools:             []openai.ChatCompletionToolUnionParam{weather},
		ToolChoice:        openai.ChatCompletionToolChoiceOptionUnionParam{OfAuto: openai.String("required")},
		ParallelToolCalls: openai.Bool(false),
		Messages: []openai.ChatCompletionMessageParamUnion{
			openai.UserMessage("Weather in Paris and Rome?"),
			{OfAssistant: &openai.ChatCompletionAssistantMessageParam{ToolCalls: []openai.ChatCompletionMessageToolCallUnionParam{
				{OfFunction: &openai.ChatCompletionMessageFunctionToolCallParam{ID: "call_1", Function: openai.ChatCompletionMessageFunctionToolCallFunctionParam{Name: "get_weather", Arguments: `{"city":"Paris"}`}}},
				{OfFunction: &openai.ChatCompletionMessageFunctionToolCallParam{ID: "call_2", Function: openai.ChatCompletionMessageFunctionToolCallFunctionParam{Name: "get_weather", Arguments: `{"city":"Rome"}`}}},
			}}},
			openai.ToolMessage("18C", "call_1"),
			openai.ToolMessage("24C", "call_2"),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	var sent struct {
		Tools []struct {
			Name        string          `json:"name"`
			InputSchema json.RawMessage `json:"input_schema"`
		} `json:"tools"`
		ToolChoice struct {
			Type                   string `json:"type"`
			DisableParallelToolUse bool   `json:"disable_parallel_tool_use"`
		} `json:"tool_choice"`
		Messages []struct {
			Role    string `json:"role"`
			Content []struct {
				Type      string          `json:"type"`
				ID        string          `json:"id"`
				Input     json.RawMessage `json:"input"`
				ToolUseID string          `json:"tool_use_id"`
			} `json:"content"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(e.fake.LastRequest().Body, &sent); err != nil {
		t.Fatal(err)
	}
	if len(sent.Tools) != 1 || sent.Tools[0].Name != "get_weather" || !strings.Contains(string(sent.Tools[0].InputSchema), `"city"`) {
		t.Errorf("tools sent: %+v", sent.Tools)
	}
	if sent.ToolChoice.Type != "any" || !sent.ToolChoice.DisableParallelToolUse {
		t.Errorf("tool_choice sent: %+v", sent.ToolChoice)
	}
	if len(sent.Messages) != 3 || sent.Messages[1].Role != "assistant" || sent.Messages[2].Role != "user" {
		t.Fatalf("messages sent: %+v", sent.Messages)
	}
	uses, results := sent.Messages[1].Content, sent.Messages[2].Content
	if len(uses) != 2 || uses[0].Type != "tool_use" || string(uses[0].Input) != `{"city":"Paris"}` {
		t.Errorf("assistant turn: %+v", uses)
	}
	if len(results) != 2 || results[0].ToolUseID != uses[0].ID || results[1].ToolUseID != uses[1].ID {
		t.Errorf("tool results not one user turn in call order: %+v", results)
	}

	// Anthropic client → OpenAI vendor.
	e.fake.Handle("/chat/completions", fakeupstream.MustTranscript("openai-chat-tool-call.json"))
	p := hiParams("m-openai")
	p.Tools = []anthropic.ToolUnionParam{{OfTool: &anthropic.ToolParam{Name: "get_weather",
		InputSchema: anthropic.ToolInputSchemaParam{Properties: map[string]any{"city": map[string]any{"type": "string"}}}}}}
	p.ToolChoice = anthropic.ToolChoiceUnionParam{OfTool: &anthropic.ToolChoiceToolParam{Name: "get_weather"}}
	p.Messages = append(p.Messages,
		anthropic.NewAssistantMessage(anthropic.NewToolUseBlock("toolu_1", map[string]any{"city": "Paris"}, "get_weather")),
		anthropic.NewUserMessage(anthropic.NewToolResultBlock("toolu_1", "18C", false), anthropic.NewTextBlock("and tomorrow?")))
	m, err := anthropicClient(e).Messages.New(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Content) != 2 || m.Content[0].Type != "tool_use" || m.StopReason != "tool_use" {
		t.Errorf("answer %+v stop %s", m.Content, m.StopReason)
	}
	body := string(e.fake.LastRequest().Body)
	for _, want := range []string{`"parameters":{`, `"tool_choice":{"type":"function","function":{"name":"get_weather"}}`,
		`"role":"tool"`, `"tool_call_id":"toolu_1"`, `"arguments":"{\"city\":\"Paris\"}"`} {
		if !strings.Contains(body, want) {
			t.Errorf("OpenAI body lacks %s:\n%s", want, body)
		}
	}
}

// Parallel calls streamed by Anthropic (two tool_use blocks) and Gemini
// (two functionCall parts in one chunk) reach both dialects' clients as two
// calls with their arguments (docs/protocols.md#trap-tool-arguments and
// #trap-tool-call-index).
func TestParallelToolCallStreams(t *testing.T) {
	anthropicStream := "event: message_start\n" +
		`data: {"type":"message_start","message":{"id":"msg_p","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":20,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}}}` + "\n\n" +
		"event: content_block_start\n" + `data: {"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_a","name":"get_weather","input":{}}}` + "\n\n" +
		"event: content_block_delta\n" + `data: {"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"city\": \"Par"}}` + "\n\n" +
		"event: content_block_delta\n" + `data: {"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"is\"}"}}` + "\n\n" +
		"event: content_block_stop\n" + `data: {"type":"content_block_stop","index":0}` + "\n\n" +
		"event: content_block_start\n" + `data: {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_b","name":"get_time","input":{}}}` + "\n\n" +
		"event: content_block_delta\n" + `data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}}` + "\n\n" +
		"event: content_block_stop\n" + `data: {"type":"content_block_stop","index":1}` + "\n\n" +
		"event: message_delta\n" + `data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":30}}` + "\n\n" +
		"event: message_stop\n" + `data: {"type":"message_stop"}` + "\n\n"
	geminiStream := `data: {"candidates":[{"content":{"role":"model","parts":[{"functionCall":{"name":"get_weather","args":{"city":"Paris"}}},{"functionCall":{"name":"get_time","args":{}}}]},"index":0}],"usageMetadata":{"promptTokenCount":20,"candidatesTokenCount":30,"totalTokenCount":50},"modelVersion":"gemini-2.5-pro","responseId":"r"}` + "\r\n\r\n" +
		`data: {"candidates":[{"content":{"role":"model","parts":[{"text":""}]},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":20,"candidatesTokenCount":30,"totalTokenCount":50},"modelVersion":"gemini-2.5-pro","responseId":"r"}` + "\r\n\r\n"
	for _, tt := range []struct {
		model, path, body string
	}{
		{"m-anthropic", "/v1/messages", anthropicStream},
		{"m-gemini", ":streamGenerateContent", geminiStream},
	} {
		t.Run(tt.model, func(t *testing.T) {
			e := matrixEnv(t)
			e.fake.Handle(tt.path, fakeupstream.Response{ContentType: "text/event-stream", Body: []byte(tt.body)})
			s := e.client.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{Model: tt.model, Messages: userMsg("hi")})
			acc := accumulate(t, s)
			calls := acc.Choices[0].Message.ToolCalls
			if len(calls) != 2 || calls[0].Function.Name != "get_weather" || calls[0].Function.Arguments != `{"city":"Paris"}` && calls[0].Function.Arguments != `{"city": "Paris"}` ||
				calls[1].Function.Name != "get_time" || calls[1].Function.Arguments != "{}" || calls[0].ID == calls[1].ID || acc.Choices[0].FinishReason != "tool_calls" {
				t.Errorf("OpenAI client: %+v finish %q", calls, acc.Choices[0].FinishReason)
			}
			as := anthropicClient(e).Messages.NewStreaming(context.Background(), hiParams(tt.model))
			var msg anthropic.Message
			for as.Next() {
				if err := msg.Accumulate(as.Current()); err != nil {
					t.Fatal(err)
				}
			}
			if err := as.Err(); err != nil {
				t.Fatal(err)
			}
			if len(msg.Content) != 2 || msg.Content[0].Name != "get_weather" || !strings.Contains(string(msg.Content[0].Input), "Paris") ||
				msg.Content[1].Name != "get_time" || string(msg.Content[1].Input) != "{}" || msg.StopReason != "tool_use" {
				t.Errorf("Anthropic client: %+v stop %q", msg.Content, msg.StopReason)
			}
		})
	}
}

// A shadow of an Anthropic-dialect request goes to another vendor through
// the canonical path; both answers' texts are kept for comparison.
func TestAnthropicShadow(t *testing.T) {
	e := newEnv(t, func(c *config.Config) {
		u := strings.TrimSuffix(c.Providers[0].BaseURL, "/v1")
		c.Providers = append(c.Providers,
			config.Provider{Name: "claude", Type: "anthropic", APIKey: "k", BaseURL: u},
			config.Provider{Name: "gemini", Type: "gemini", APIKey: "k", BaseURL: u})
		c.Models = append(c.Models, config.Model{Name: "shadowed", Target: "claude/claude-sonnet-4-5",
			Shadows: []config.Shadow{{Model: "gemini/gemini-2.5-pro", Sample: 1}}})
	})
	e.fake.Handle("/v1/messages", fakeupstream.MustTranscript("anthropic-messages-stream-thinking.sse"))
	e.fake.Handle(":streamGenerateContent", fakeupstream.MustTranscript("gemini-stream-text.sse"))
	s := anthropicClient(e).Messages.NewStreaming(context.Background(), hiParams("shadowed"))
	for s.Next() {
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	var logs []store.RequestLog
	for i := 0; i < 200 && len(logs) < 2; i++ {
		logs = e.logs()
		time.Sleep(10 * time.Millisecond)
	}
	if len(logs) != 2 {
		t.Fatalf("%d request logs, want the primary and its shadow", len(logs))
	}
	byProvider := map[string]store.RequestLog{}
	for _, l := range logs {
		byProvider[l.Provider] = l
	}
	primary, shadow := byProvider["claude"], byProvider["gemini"]
	if shadow.ParentID != primary.ID || shadow.Response != "The capital of France is Paris.\n" ||
		!strings.HasPrefix(primary.Response, "Here are the basic steps") || primary.Reasoning == "" || shadow.Endpoint != "messages" {
		t.Errorf("primary %+v\nshadow %+v", primary, shadow)
	}
}

// What a vendor cannot take from an Anthropic request is named in
// x-switchyard-dropped-params, never dropped silently.
func TestDroppedParamsNamed(t *testing.T) {
	e := matrixEnv(t)
	e.fake.Handle("/chat/completions", fakeupstream.TextCompletion("ok"))
	e.fake.Handle(":generateContent", jsonResponse(200, `{"candidates":[{"content":{"role":"model","parts":[{"text":"ok"}]},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":7,"candidatesTokenCount":4,"totalTokenCount":11}}`))
	h := map[string]string{"x-api-key": e.key, "anthropic-version": "2023-06-01"}
	for model, want := range map[string]string{
		"m-openai": "top_k,cache_control,service_tier",
		"m-gemini": "user,cache_control,service_tier",
	} {
		body := `{"model":"` + model + `","max_tokens":10,"top_k":5,"metadata":{"user_id":"u1"},"service_tier":"auto",
			"system":[{"type":"text","text":"be brief","cache_control":{"type":"ephemeral"}}],
			"messages":[{"role":"user","content":"hi"}]}`
		status, hdr, raw := rawMessages(t, e, "/v1/messages", body, h)
		if status != 200 || hdr.Get("X-Switchyard-Dropped-Params") != want {
			t.Errorf("%s: %d dropped %q, want %q: %s", model, status, hdr.Get("X-Switchyard-Dropped-Params"), want, raw)
		}
	}
}

// The Go SDK's beta surface posts to /v1/messages?beta=true with
// anthropic-beta headers: the route ignores the query, and the betas reach
// Anthropic but no other vendor.
func TestAnthropicBetaHeaders(t *testing.T) {
	e := matrixEnv(t)
	e.fake.Handle("/v1/messages", fakeupstream.MustTranscript("anthropic-message-thinking.json"))
	e.fake.Handle("/chat/completions", fakeupstream.TextCompletion("ok"))
	body := `{"model":"MODEL","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`
	h := map[string]string{"Authorization": "Bearer " + e.key, "anthropic-version": "2026-10-21", "anthropic-beta": "context-1m-2025-08-07"}
	for _, tt := range []struct{ model, want string }{{"m-anthropic", "context-1m-2025-08-07"}, {"m-openai", ""}} {
		status, _, raw := rawMessages(t, e, "/v1/messages?beta=true", strings.Replace(body, "MODEL", tt.model, 1), h)
		if status != 200 {
			t.Fatalf("%s: %d %s", tt.model, status, raw)
		}
		sent := e.fake.LastRequest()
		if got := sent.Header.Get("Anthropic-Beta"); got != tt.want {
			t.Errorf("%s: upstream anthropic-beta %q, want %q", tt.model, got, tt.want)
		}
		if sent.Header.Get("Authorization") != "" && tt.model == "m-anthropic" || strings.Contains(sent.Header.Get("Authorization"), e.key) {
			t.Errorf("%s: the client's key reached the vendor: %v", tt.model, sent.Header)
		}
	}
}

// Claude Code's inline {"role":"system"} turns reach every vendor as
// system text, not a 400 (issue 13 §3: every non-Anthropic model failed).
func TestAnthropicInlineSystemTurn(t *testing.T) {
	e := matrixEnv(t)
	e.fake.Handle("/chat/completions", fakeupstream.TextCompletion("ok"))
	body := `{"model":"m-openai","max_tokens":16,"messages":[{"role":"user","content":"hi"},{"role":"system","content":"be brief"}]}`
	status, _, raw := rawMessages(t, e, "/v1/messages", body, map[string]string{"x-api-key": e.key, "anthropic-version": "2023-06-01"})
	if status != 200 {
		t.Fatalf("status %d: %s", status, raw)
	}
	sent := string(e.fake.LastRequest().Body)
	if !strings.Contains(sent, `"role":"system"`) || !strings.Contains(sent, "be brief") {
		t.Errorf("the vendor was sent %s", sent)
	}
}
