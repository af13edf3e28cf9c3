package openaicompat_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/packages/ssestream"

	"github.com/switchyard-ai/switchyard/internal/config"
	"github.com/switchyard-ai/switchyard/internal/fakeupstream"
	"github.com/switchyard-ai/switchyard/internal/llm"
	"github.com/switchyard-ai/switchyard/internal/openaiwire"
	_ "github.com/switchyard-ai/switchyard/internal/provider/azure"
	_ "github.com/switchyard-ai/switchyard/internal/provider/compat"
	_ "github.com/switchyard-ai/switchyard/internal/provider/deepseek"
	_ "github.com/switchyard-ai/switchyard/internal/provider/mistral"
	_ "github.com/switchyard-ai/switchyard/internal/provider/openai"
	pt "github.com/switchyard-ai/switchyard/internal/provider/providertest"
	_ "github.com/switchyard-ai/switchyard/internal/provider/xai"
)

// transcripts are every OpenAI-wire recording, with the provider that
// serves it.
var transcripts = []struct {
	name string
	cfg  config.Provider
}{
	{"openai-chat-stream-tool-call-include-usage.sse", config.Provider{Type: "openai", BaseURL: "/v1"}},
	{"openai-chat-stream-text-include-usage.sse", config.Provider{Type: "openai", BaseURL: "/v1"}},
	{"openai-chat-stream-parallel-tool-calls.sse", config.Provider{Type: "openai", BaseURL: "/v1"}},
	{"openai-chat-tool-call.json", config.Provider{Type: "openai", BaseURL: "/v1"}},
	{"azure-openai-chat-stream-deployments.sse", config.Provider{Type: "azure-openai", APIVersion: "2024-10-21"}},
	{"azure-openai-v1-chat-stream-include-usage.sse", config.Provider{Type: "azure-openai", BaseURL: "/openai/v1"}},
	{"deepseek-reasoner-stream.sse", config.Provider{Type: "deepseek"}},
	{"deepseek-reasoner-stream-tool-call.chunks.jsonl", config.Provider{Type: "deepseek"}},
	{"deepseek-reasoner.json", config.Provider{Type: "deepseek"}},
	{"mistral-magistral-stream-thinking.sse", config.Provider{Type: "mistral"}},
	{"mistral-stream-tool-call.chunks.jsonl", config.Provider{Type: "mistral"}},
	{"xai-chat-stream-tool-call.chunks.jsonl", config.Provider{Type: "xai"}},
	{"together-deepseek-r1-stream-think-tags.sse", config.Provider{Type: "openai-compatible", BaseURL: "/v1", Reasoning: "think-tags"}},
	{"ollama-openai-compat-chat.json", config.Provider{Type: "openai-compatible", BaseURL: "/v1"}},
}

// conversation is a canonical request as an Anthropic-dialect client would
// send it, with a finished tool round: what goes upstream depends on the
// vendor.
func conversation(stream bool) *llm.Request {
	topK := 3
	return &llm.Request{
		Model:   "p/model-x",
		Dialect: llm.DialectAnthropic,
		System:  []llm.Part{{Type: llm.PartText, Text: "Be brief."}},
		Messages: []llm.Message{
			{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: "Capital of France, and the time there?"}}},
			{Role: llm.RoleAssistant, Parts: []llm.Part{
				{Type: llm.PartReasoning, Text: "Two lookups."},
				{Type: llm.PartToolCall, ToolCall: &llm.ToolCall{ID: "toolu_01ABCdef", Name: "get_capital", Arguments: `{"country":"France"}`}},
				{Type: llm.PartToolCall, ToolCall: &llm.ToolCall{ID: "toolu_02ABCdef", Name: "get_time", Arguments: `{"city":"Paris"}`}},
			}},
			{Role: llm.RoleUser, Parts: []llm.Part{
				{Type: llm.PartToolResult, ToolResult: &llm.ToolResult{CallID: "toolu_01ABCdef", Name: "get_capital", Content: []llm.Part{{Type: llm.PartText, Text: "Paris"}}}},
				{Type: llm.PartToolResult, ToolResult: &llm.ToolResult{CallID: "toolu_02ABCdef", Name: "get_time", Content: []llm.Part{{Type: llm.PartText, Text: "12:00"}}}},
			}},
		},
		Tools: []llm.Tool{
			{Name: "get_capital", Parameters: json.RawMessage(`{"type":"object","properties":{"country":{"type":"string"}}}`)},
			{Name: "get_time", Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}}}`)},
		},
		MaxTokens: 200,
		TopK:      &topK,
		Stream:    stream,
		Extra:     map[string]json.RawMessage{"metadata": json.RawMessage(`{"user_id":"u"}`)},
	}
}

var createdRE = regexp.MustCompile(`"created":\d+`)

// TestGenerateTranscripts drives every transcript through Generate and
// records, per transcript, the body sent upstream, the canonical events,
// and those events encoded back to the OpenAI format (stream or body).
func TestGenerateTranscripts(t *testing.T) {
	for _, tr := range transcripts {
		t.Run(tr.name, func(t *testing.T) {
			stream := !strings.HasSuffix(tr.name, ".json")
			res := pt.Generate(t, tr.cfg, "/chat/completions", pt.Transcript(t, tr.name), conversation(stream))
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			var g bytes.Buffer
			g.WriteString("# sent\n")
			var sent bytes.Buffer
			if err := json.Indent(&sent, res.Sent.Body, "", "  "); err != nil {
				t.Fatalf("sent invalid JSON: %s", res.Sent.Body)
			}
			g.Write(sent.Bytes())
			fmt.Fprintf(&g, "\n# dropped: %s\n# events\n", res.Header.Get("X-Switchyard-Dropped-Params"))
			for _, ev := range res.Events {
				b, _ := json.Marshal(ev)
				g.Write(b)
				g.WriteByte('\n')
			}
			g.WriteString("# openai\n")
			if stream {
				out := encodeStream(t, res.Events, true)
				checkSDK(t, out, res.Response)
				g.Write(createdRE.ReplaceAll(out, []byte(`"created":0`)))
			} else {
				var body bytes.Buffer
				json.Indent(&body, openaiwire.EncodeResponse(res.Response, 0), "", "  ")
				g.Write(body.Bytes())
				g.WriteByte('\n')
			}
			pt.Golden(t, "generate/"+tr.name+".golden", g.Bytes())

			checkSent(t, tr.cfg.Type, res.Sent.Body, stream)
			if d := res.Header.Get("X-Switchyard-Dropped-Params"); !strings.Contains(d, "top_k") || !strings.Contains(d, "metadata") {
				t.Errorf("dropped params = %q, want top_k and metadata named", d)
			}
			// The Azure deployments recording was made without usage.
			if tr.name != "azure-openai-chat-stream-deployments.sse" && (res.Response.Usage.InputTokens == 0 || res.Response.Usage.OutputTokens == 0) {
				t.Errorf("usage not carried: %+v", res.Response.Usage)
			}
		})
	}
}

// checkSent asserts what each vendor must receive for the conversation.
func checkSent(t *testing.T, typ string, body []byte, stream bool) {
	t.Helper()
	var sent struct {
		Messages []struct {
			Role             string  `json:"role"`
			Content          *string `json:"content"`
			ReasoningContent *string `json:"reasoning_content"`
			ToolCallID       string  `json:"tool_call_id"`
			ToolCalls        []struct {
				ID string `json:"id"`
			} `json:"tool_calls"`
		} `json:"messages"`
		StreamOptions *struct {
			IncludeUsage bool `json:"include_usage"`
		} `json:"stream_options"`
		TopK     any `json:"top_k"`
		Metadata any `json:"metadata"`
	}
	if err := json.Unmarshal(body, &sent); err != nil {
		t.Fatal(err)
	}
	var roles []string
	for _, m := range sent.Messages {
		roles = append(roles, m.Role)
	}
	// docs/protocols.md#trap-tool-results in reverse: one tool message per result,
	// right after the calls.
	if got := strings.Join(roles, ","); got != "system,user,assistant,tool,tool" {
		t.Fatalf("roles = %s", got)
	}
	asst := sent.Messages[2]
	hasReasoning := asst.ReasoningContent != nil && *asst.ReasoningContent == "Two lookups."
	if want := typ == "deepseek" || typ == "openai-compatible"; hasReasoning != want {
		t.Errorf("%s: reasoning_content on the tool-call turn = %v, want %v (pitfall 16)", typ, hasReasoning, want)
	}
	for i, tc := range asst.ToolCalls {
		id := sent.Messages[3+i].ToolCallID
		if tc.ID != id {
			t.Errorf("call %d id %q answered by %q", i, tc.ID, id)
		}
		// Mistral takes nine letters or digits only
		// (docs/protocols.md#trap-tool-call-ids).
		if ok := regexp.MustCompile(`^[a-zA-Z0-9]{9}$`).MatchString(tc.ID); typ == "mistral" && !ok {
			t.Errorf("mistral got tool call id %q", tc.ID)
		}
	}
	if sent.TopK != nil || sent.Metadata != nil {
		t.Errorf("fields of another dialect sent: %s", body)
	}
	if stream && typ != "mistral" && (sent.StreamOptions == nil || !sent.StreamOptions.IncludeUsage) {
		t.Errorf("usage not requested (pitfall 8): %s", body)
	}
}

// encodeStream encodes recorded events as the OpenAI stream a client gets.
func encodeStream(t *testing.T, evs []llm.Event, includeUsage bool) []byte {
	t.Helper()
	e := openaiwire.NewStreamEncoder(&sliceStream{evs: evs}, includeUsage)
	var out []byte
	for {
		b, err := e.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b...)
	}
}

type sliceStream struct{ evs []llm.Event }

func (s *sliceStream) Next() (llm.Event, error) {
	if len(s.evs) == 0 {
		return llm.Event{}, io.EOF
	}
	ev := s.evs[0]
	s.evs = s.evs[1:]
	return ev, nil
}

func (s *sliceStream) Close() error { return nil }

// checkSDK decodes an encoded stream with the official SDK
// (docs/protocols.md#trap-sdk-shape)
// and compares what it assembles with the canonical response.
func checkSDK(t *testing.T, out []byte, want *llm.Response) {
	t.Helper()
	resp := &http.Response{Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: io.NopCloser(bytes.NewReader(out))}
	st := ssestream.NewStream[openai.ChatCompletionChunk](ssestream.NewDecoder(resp), nil)
	var acc openai.ChatCompletionAccumulator
	for st.Next() {
		if !acc.AddChunk(st.Current()) {
			t.Fatalf("the SDK rejected %s", st.Current().RawJSON())
		}
	}
	if err := st.Err(); err != nil {
		t.Fatal(err)
	}
	msg := acc.Choices[0].Message
	if msg.Content != want.Text() {
		t.Errorf("SDK content %q, want %q", msg.Content, want.Text())
	}
	var calls []string
	for _, p := range want.Parts {
		if p.ToolCall != nil {
			calls = append(calls, p.ToolCall.ID+p.ToolCall.Name+p.ToolCall.Arguments)
		}
	}
	var got []string
	for _, tc := range msg.ToolCalls {
		got = append(got, tc.ID+tc.Function.Name+tc.Function.Arguments)
	}
	if strings.Join(got, "|") != strings.Join(calls, "|") {
		t.Errorf("SDK tool calls %q, want %q", got, calls)
	}
	if acc.Usage.PromptTokens != want.Usage.InputTokens || acc.Usage.CompletionTokens != want.Usage.OutputTokens {
		t.Errorf("SDK usage %s, want %+v", acc.Usage.RawJSON(), want.Usage)
	}
}

// A stream cut before [DONE] fails with stream_cut after the events that
// came, never as a clean stop.
func TestGenerateStreamCut(t *testing.T) {
	tr := pt.Transcript(t, "openai-chat-stream-text-include-usage.sse")
	tr.CutAfterEvents = 3
	res := pt.Generate(t, config.Provider{Type: "openai", BaseURL: "/v1"}, "/chat/completions", tr, conversation(true))
	if res.Err == nil || res.Err.Class != "stream_cut" || res.Response != nil || len(res.Events) == 0 {
		t.Errorf("err %v, %d events", res.Err, len(res.Events))
	}
}

// An error chunk mid-stream becomes the stream's error.
func TestGenerateStreamErrorChunk(t *testing.T) {
	s := fakeupstream.TextStream(2, "x", true)
	s.Body = bytes.Replace(s.Body, []byte("data: [DONE]"), []byte(`data: {"error":{"message":"overloaded","type":"server_error"}}`), 1)
	res := pt.Generate(t, config.Provider{Type: "openai", BaseURL: "/v1"}, "/chat/completions", s, conversation(true))
	if res.Err == nil || res.Err.Message != "overloaded" {
		t.Errorf("err %v", res.Err)
	}
}

// An upstream refusal before the first byte is Generate's error.
func TestGenerateUpstreamError(t *testing.T) {
	res := pt.Generate(t, config.Provider{Type: "openai", BaseURL: "/v1"}, "/chat/completions", pt.Transcript(t, "openai-error-400-unsupported-parameter.json"), conversation(false))
	if res.Err == nil || res.Err.Kind != llm.KindInvalidRequest || res.Err.Status != 400 {
		t.Errorf("err %+v", res.Err)
	}
}

// An OpenAI-dialect request keeps its raw fields for an OpenAI vendor.
func TestGenerateForwardsExtraForOpenAIDialect(t *testing.T) {
	r := conversation(false)
	r.Dialect, r.TopK = llm.DialectOpenAI, nil
	r.Extra = map[string]json.RawMessage{"logit_bias": json.RawMessage(`{"1":2}`)}
	res := pt.Generate(t, config.Provider{Type: "openai", BaseURL: "/v1"}, "/chat/completions", pt.Transcript(t, "openai-chat-tool-call.json"), r)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if !bytes.Contains(res.Sent.Body, []byte(`"logit_bias":{"1":2}`)) || res.Header.Get("X-Switchyard-Dropped-Params") != "" {
		t.Errorf("sent %s, dropped %q", res.Sent.Body, res.Header.Get("X-Switchyard-Dropped-Params"))
	}
}

// Tool-call ids from another vendor reach Mistral as nine letters or
// digits, the same on the call and on its result.
func TestPitfall15_MistralToolCallIDsMapped(t *testing.T) {
	res := pt.Generate(t, config.Provider{Type: "mistral"}, "/chat/completions", pt.Transcript(t, "mistral-stream-tool-call.chunks.jsonl"), conversation(true))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if bytes.Contains(res.Sent.Body, []byte("toolu_01ABCdef")) {
		t.Errorf("Anthropic ids sent to Mistral: %s", res.Sent.Body)
	}
	checkSent(t, "mistral", res.Sent.Body, true)
}
