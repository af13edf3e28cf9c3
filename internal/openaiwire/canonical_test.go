package openaiwire_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/switchyard-ai/switchyard/internal/llm"
	"github.com/switchyard-ai/switchyard/internal/openaiwire"
	"github.com/switchyard-ai/switchyard/internal/provider"
	pt "github.com/switchyard-ai/switchyard/internal/provider/providertest"
)

// The encoder is what provider.Chat hands the server as a stream.
var _ provider.Stream = (*openaiwire.StreamEncoder)(nil)

// fullRequest uses every field DecodeChat translates, and some it keeps raw.
const fullRequest = `{
  "model": "gpt-4o",
  "messages": [
    {"role": "system", "content": "You are terse."},
    {"role": "developer", "content": [{"type": "text", "text": "Answer in French."}]},
    {"role": "user", "content": [
      {"type": "text", "text": "What is in these?"},
      {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "low"}},
      {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}}
    ]},
    {"role": "assistant", "content": "", "reasoning_content": "Two tools needed.",
     "tool_calls": [
      {"id": "call_1", "type": "function", "function": {"name": "look", "arguments": "{\"i\":1}"}},
      {"id": "call_2", "type": "function", "function": {"name": "weigh", "arguments": ""},
       "extra_content": {"google": {"thought_signature": "c2lnbmF0dXJl"}}}
    ]},
    {"role": "tool", "tool_call_id": "call_1", "content": "a cat"},
    {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "4 kg"}]},
    {"role": "user", "content": "And now?"},
    {"role": "assistant", "content": "Un chat de 4 kg."},
    {"role": "system", "content": "Be kind."},
    {"role": "user", "content": "Merci"}
  ],
  "tools": [{"type": "function", "function": {"name": "look", "description": "Look", "parameters": {"type": "object"}, "strict": true}},
            {"type": "function", "function": {"name": "weigh"}}],
  "tool_choice": {"type": "function", "function": {"name": "look"}},
  "parallel_tool_calls": false,
  "response_format": {"type": "json_schema", "json_schema": {"name": "answer", "description": "d", "schema": {"type": "object"}, "strict": true}},
  "max_tokens": 50,
  "max_completion_tokens": 100,
  "temperature": 0.2,
  "top_p": 0.9,
  "seed": 7,
  "stop": "END",
  "reasoning_effort": "low",
  "user": "u-1",
  "stream": true,
  "stream_options": {"include_usage": true},
  "logit_bias": {"50256": -100},
  "n": 1,
  "metadata": {"k": "v"},
  "service_tier": "auto",
  "presence_penalty": null
}`

func decode(t *testing.T, body string) *llm.Request {
	t.Helper()
	req, err := openaiwire.ParseChatRequest([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	r, err := openaiwire.DecodeChat(req)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func indent(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

func TestDecodeChatGolden(t *testing.T) {
	r := decode(t, fullRequest)
	pt.Golden(t, "decode_chat_full.golden", indent(t, r))
	// Spot checks, so that the golden file is not the only judge.
	if r.MaxTokens != 100 || r.Dialect != llm.DialectOpenAI || !r.Stream || r.User != "u-1" {
		t.Errorf("max_tokens %d dialect %q stream %v user %q", r.MaxTokens, r.Dialect, r.Stream, r.User)
	}
	if len(r.System) != 3 || r.System[2].Text != "Be kind." {
		t.Errorf("system = %+v", r.System)
	}
	img := r.Messages[0].Parts[1].Image
	if img == nil || img.MediaType != "image/png" || img.Data != "iVBORw0KGgo=" || img.Detail != "low" {
		t.Errorf("data URL image = %+v", img)
	}
	var extra []string
	for k := range r.Extra {
		extra = append(extra, k)
	}
	slices.Sort(extra)
	if want := []string{"logit_bias", "metadata", "n", "presence_penalty", "service_tier"}; !slices.Equal(extra, want) {
		t.Errorf("extra = %v, want %v", extra, want)
	}
}

func TestEncodeChatGolden(t *testing.T) {
	r := decode(t, fullRequest)
	for _, field := range []string{"reasoning_content", ""} {
		body, dropped, err := openaiwire.EncodeChat(r, "target-model", openaiwire.EncodeOptions{ReasoningField: field})
		if err != nil {
			t.Fatal(err)
		}
		if len(dropped) != 0 {
			t.Errorf("dropped %v from an OpenAI-dialect request", dropped)
		}
		name := "encode_chat_full_" + field + ".golden"
		if field == "" {
			name = "encode_chat_full_noreasoning.golden"
		}
		pt.Golden(t, name, indentJSON(t, body))
		// What went out must read back as the same conversation.
		back := decode(t, string(body))
		if field != "" && !sameMessages(back.Messages, r.Messages) {
			t.Errorf("round trip changed the messages:\n%s\n%s", indent(t, back.Messages), indent(t, r.Messages))
		}
	}
}

// indentJSON indents b keeping its key order, which is part of what the
// golden files check.
func indentJSON(t *testing.T, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		t.Fatalf("invalid JSON %s: %v", b, err)
	}
	return append(out.Bytes(), '\n')
}

func sameMessages(a, b []llm.Message) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// anthropicRequest is what an Anthropic-dialect ingress would produce: it
// carries signed thinking, a budget, top_k and fields of its own.
func anthropicRequest() *llm.Request {
	temp := 1.0
	topK := 5
	return &llm.Request{
		Model:   "claude",
		Dialect: llm.DialectAnthropic,
		System:  []llm.Part{{Type: llm.PartText, Text: "sys one"}, {Type: llm.PartText, Text: "sys two", CacheControl: json.RawMessage(`{"type":"ephemeral"}`)}},
		Messages: []llm.Message{
			{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: "weather?"}}},
			{Role: llm.RoleAssistant, Parts: []llm.Part{
				{Type: llm.PartReasoning, Text: "signed thoughts", Signature: "EqQB", Origin: "anthropic"},
				{Type: llm.PartReasoning, Redacted: "opaque", Origin: "anthropic"},
				{Type: llm.PartToolCall, ToolCall: &llm.ToolCall{ID: "toolu_01", Name: "weather", Arguments: `{"city":"Paris"}`}},
			}},
			{Role: llm.RoleUser, Parts: []llm.Part{
				{Type: llm.PartToolResult, ToolResult: &llm.ToolResult{CallID: "toolu_01", Name: "weather", IsError: true, Content: []llm.Part{
					{Type: llm.PartText, Text: "rain"},
					{Type: llm.PartImage, Image: &llm.Image{MediaType: "image/png", Data: "AAAA"}},
				}}},
				{Type: llm.PartText, Text: "thanks"},
			}},
		},
		Temperature: &temp,
		TopK:        &topK,
		MaxTokens:   1024,
		Reasoning:   &llm.Reasoning{BudgetTokens: 8000, Summary: "summarized"},
		Stop:        []string{"\n\nHuman:"},
		Extra:       map[string]json.RawMessage{"metadata": json.RawMessage(`{"user_id":"x"}`), "container": json.RawMessage(`"c"`)},
	}
}

func TestEncodeChatFromAnotherDialect(t *testing.T) {
	body, dropped, err := openaiwire.EncodeChat(anthropicRequest(), "deepseek-chat", openaiwire.EncodeOptions{ReasoningField: "reasoning_content"})
	if err != nil {
		t.Fatal(err)
	}
	pt.Golden(t, "encode_chat_anthropic.golden", indentJSON(t, body))
	if want := []string{"top_k", "cache_control", "reasoning.summary", "container", "metadata"}; !slices.Equal(dropped, want) {
		t.Errorf("dropped = %v, want %v", dropped, want)
	}
	s := string(body)
	for _, bad := range []string{"signed thoughts", "EqQB", "opaque", "ephemeral", `"metadata"`, "container"} {
		if strings.Contains(s, bad) {
			t.Errorf("body carries %q: %s", bad, s)
		}
	}
	for _, want := range []string{`"reasoning_effort":"medium"`, `"max_completion_tokens":1024`, `"system","content":"sys one\n\nsys two"`, `Images returned by tool call toolu_01:`} {
		if !strings.Contains(s, want) {
			t.Errorf("body lacks %s: %s", want, s)
		}
	}
}

func TestPitfall14_ToolMessagesMergedIntoOneTurn(t *testing.T) {
	r := decode(t, fullRequest)
	// messages: user, assistant(calls), user(results + "And now?"), ...
	turn := r.Messages[2]
	if turn.Role != llm.RoleUser || len(turn.Parts) != 3 {
		t.Fatalf("results turn = %s", indent(t, turn))
	}
	for i, id := range []string{"call_1", "call_2"} {
		p := turn.Parts[i]
		if p.Type != llm.PartToolResult || p.ToolResult.CallID != id {
			t.Errorf("part %d = %s, want the result of %s", i, indent(t, p), id)
		}
	}
	if n := turn.Parts[1].ToolResult.Name; n != "weigh" {
		t.Errorf("result name = %q, want weigh (from the call)", n)
	}
	if turn.Parts[2].Type != llm.PartText || turn.Parts[2].Text != "And now?" {
		t.Errorf("user text after results = %+v", turn.Parts[2])
	}
	// And back: one tool message per result, in order, then the text.
	body, _, err := openaiwire.EncodeChat(r, "m", openaiwire.EncodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Messages []struct {
			Role       string `json:"role"`
			ToolCallID string `json:"tool_call_id"`
			Content    any    `json:"content"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatal(err)
	}
	var roles []string
	for _, m := range out.Messages {
		roles = append(roles, m.Role+":"+m.ToolCallID)
	}
	want := []string{"system:", "user:", "assistant:", "tool:call_1", "tool:call_2", "user:", "assistant:", "user:"}
	if !slices.Equal(roles, want) {
		t.Errorf("roles = %v, want %v", roles, want)
	}
}

func TestPitfall16_ReasoningBeforeTextAndReplayed(t *testing.T) {
	r := decode(t, `{"model":"m","messages":[{"role":"user","content":"q"},
		{"role":"assistant","content":"answer","reasoning":"thinking first","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]},
		{"role":"tool","tool_call_id":"c","content":"r"}]}`)
	parts := r.Messages[1].Parts
	if len(parts) != 3 || parts[0].Type != llm.PartReasoning || parts[0].Text != "thinking first" || parts[1].Type != llm.PartText {
		t.Fatalf("assistant parts = %s", indent(t, parts))
	}
	for field, want := range map[string]string{
		"reasoning_content": `"reasoning_content":"thinking first"`,
		"reasoning":         `"reasoning":"thinking first"`,
	} {
		body, _, err := openaiwire.EncodeChat(r, "m", openaiwire.EncodeOptions{ReasoningField: field})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(body), want) {
			t.Errorf("%s: reasoning not replayed on the tool-call turn: %s", field, body)
		}
	}
	body, _, _ := openaiwire.EncodeChat(r, "m", openaiwire.EncodeOptions{})
	if strings.Contains(string(body), "thinking first") {
		t.Errorf("reasoning sent to a vendor that takes none: %s", body)
	}
}

func TestPitfall5_GeminiToolCallSignatureRoundTrip(t *testing.T) {
	r := decode(t, fullRequest)
	tc := r.Messages[1].Parts[2].ToolCall
	if tc.Signature != "c2lnbmF0dXJl" || tc.Origin != "gemini" || tc.Arguments != "{}" {
		t.Fatalf("tool call = %+v", tc)
	}
	body, _, _ := openaiwire.EncodeChat(r, "m", openaiwire.EncodeOptions{})
	if !strings.Contains(string(body), `"extra_content":{"google":{"thought_signature":"c2lnbmF0dXJl"}}`) {
		t.Errorf("signature not replayed: %s", body)
	}
	// Another vendor's signature is not a Gemini one.
	r.Messages[1].Parts[2].ToolCall.Origin = "anthropic"
	body, _, _ = openaiwire.EncodeChat(r, "m", openaiwire.EncodeOptions{})
	if strings.Contains(string(body), "c2lnbmF0dXJl") {
		t.Errorf("a non-Gemini signature was sent: %s", body)
	}
}

func TestEncodeChatEffort(t *testing.T) {
	for _, c := range []struct {
		in   llm.Reasoning
		want string
	}{
		{llm.Reasoning{Effort: "minimal"}, `"reasoning_effort":"minimal"`},
		{llm.Reasoning{Effort: "max"}, `"reasoning_effort":"xhigh"`},
		{llm.Reasoning{BudgetTokens: 1024}, `"reasoning_effort":"low"`},
		{llm.Reasoning{BudgetTokens: 4096}, `"reasoning_effort":"medium"`},
		{llm.Reasoning{BudgetTokens: 32000}, `"reasoning_effort":"high"`},
		{llm.Reasoning{Disabled: true}, ``},
		{llm.Reasoning{Adaptive: true}, ``},
	} {
		r := &llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: "x"}}}}, Reasoning: &c.in}
		body, _, err := openaiwire.EncodeChat(r, "m", openaiwire.EncodeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got := strings.Contains(string(body), "reasoning_effort")
		if c.want == "" && got || c.want != "" && !strings.Contains(string(body), c.want) {
			t.Errorf("%+v: %s, want %s", c.in, body, c.want)
		}
	}
}

func TestEncodeChatStream(t *testing.T) {
	r := &llm.Request{Stream: true, Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: "x"}}}}}
	body, _, err := openaiwire.EncodeChat(r, "m", openaiwire.EncodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"model":"m","messages":[{"role":"user","content":"x"}],"stream":true,"stream_options":{"include_usage":true}}`; string(body) != want {
		t.Errorf("body = %s\nwant   %s", body, want)
	}
	req, err := openaiwire.ParseChatRequest(body)
	if err != nil || !req.IncludeUsage {
		t.Errorf("ParseChatRequest: %v, include usage %v", err, req != nil && req.IncludeUsage)
	}
}

func TestDecodeChatErrors(t *testing.T) {
	msgs := func(m string) string { return `{"model":"m","messages":[` + m + `]}` }
	cases := map[string]string{
		msgs(`{"role":"wizard","content":"x"}`):                                                           "messages[0].role",
		msgs(`{"role":"function","name":"f","content":"x"}`):                                              "messages[0].role",
		msgs(`{"role":"user","content":5}`):                                                               "messages[0].content",
		msgs(`{"role":"user","content":[{"type":"input_audio","input_audio":{}}]}`):                       "messages[0].content[0].type",
		msgs(`{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png,AAA"}}]}`): "messages[0].content[0].image_url.url",
		msgs(`{"role":"user","content":[{"type":"image_url"}]}`):                                          "messages[0].content[0].image_url.url",
		msgs(`{"role":"system","content":[{"type":"image_url","image_url":{"url":"https://x"}}]}`):        "messages[0].content[0].type",
		msgs(`{"role":"user","content":"x"},{"role":"tool","content":"r"}`):                               "messages[1].tool_call_id",
		msgs(`{"role":"assistant","tool_calls":[{"type":"function","function":{"name":"f"}}]}`):           "messages[0].tool_calls[0].id",
		msgs(`{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{}}]}`):            "messages[0].tool_calls[0].function.name",
		msgs(`"x"`): "messages",
		`{"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"type":"custom","custom":{"name":"x"}}]}`: "tools[0].type",
		`{"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{}}]}`:       "tools[0].function.name",
		`{"model":"m","messages":[{"role":"user","content":"x"}],"tools":{}}`:                                        "tools",
		`{"model":"m","messages":[{"role":"user","content":"x"}],"tool_choice":"any"}`:                               "tool_choice",
		`{"model":"m","messages":[{"role":"user","content":"x"}],"tool_choice":{"type":"allowed_tools"}}`:            "tool_choice.type",
		`{"model":"m","messages":[{"role":"user","content":"x"}],"tool_choice":{"type":"function","function":{}}}`:   "tool_choice.function.name",
		`{"model":"m","messages":[{"role":"user","content":"x"}],"parallel_tool_calls":"yes"}`:                       "parallel_tool_calls",
		`{"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"xml"}}`:                  "response_format.type",
		`{"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema"}}`:          "response_format.json_schema.name",
		`{"model":"m","messages":[{"role":"user","content":"x"}],"max_completion_tokens":-1}`:                        "max_completion_tokens",
		`{"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":1.5}`:                                  "max_tokens",
		`{"model":"m","messages":[{"role":"user","content":"x"}],"temperature":"hot"}`:                               "temperature",
		`{"model":"m","messages":[{"role":"user","content":"x"}],"top_p":[]}`:                                        "top_p",
		`{"model":"m","messages":[{"role":"user","content":"x"}],"seed":"s"}`:                                        "seed",
		`{"model":"m","messages":[{"role":"user","content":"x"}],"stop":[1]}`:                                        "stop",
		`{"model":"m","messages":[{"role":"user","content":"x"}],"reasoning_effort":1}`:                              "reasoning_effort",
	}
	for body, param := range cases {
		req, err := openaiwire.ParseChatRequest([]byte(body))
		if err != nil {
			t.Errorf("%s: ParseChatRequest: %v", body, err)
			continue
		}
		_, err = openaiwire.DecodeChat(req)
		var le *llm.Error
		if !errors.As(err, &le) || le.Kind != llm.KindInvalidRequest || le.Class != "bad_request" || le.Param != param || le.Message == "" {
			t.Errorf("%s: error %#v, want invalid_request on %s", body, err, param)
		}
	}
}

func TestDecodeChatSimple(t *testing.T) {
	r := decode(t, `{"model":"m","messages":[{"role":"user","content":"hi"}],"stop":["a","b"],"tool_choice":"required","response_format":{"type":"json_object"}}`)
	if r.Reasoning != nil || r.MaxTokens != 0 || r.Temperature != nil || r.Extra != nil || r.Stream {
		t.Errorf("unset fields were set: %s", indent(t, r))
	}
	if !slices.Equal(r.Stop, []string{"a", "b"}) || r.ToolChoice.Mode != "required" || r.Output.Type != "json_object" {
		t.Errorf("%s", indent(t, r))
	}
	if len(r.Messages) != 1 || len(r.Messages[0].Parts) != 1 || r.Messages[0].Parts[0].Text != "hi" {
		t.Errorf("messages = %s", indent(t, r.Messages))
	}
}

// Anthropic thinking is opaque state for any other vendor: neither its text
// nor its signature nor redacted data goes to an OpenAI-wire vendor, even
// one that takes reasoning back; reasoning of no origin does.
func TestPitfall4_AnthropicThinkingNotReplayedElsewhere(t *testing.T) {
	r := &llm.Request{Messages: []llm.Message{
		{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: "q"}}},
		{Role: llm.RoleAssistant, Parts: []llm.Part{
			{Type: llm.PartReasoning, Text: "signed", Signature: "EqQB", Origin: "anthropic"},
			{Type: llm.PartReasoning, Redacted: "cmVkYWN0ZWQ=", Origin: "anthropic"},
			{Type: llm.PartReasoning, Text: "plain"},
			{Type: llm.PartText, Text: "a"},
		}},
	}}
	body, dropped, err := openaiwire.EncodeChat(r, "m", openaiwire.EncodeOptions{ReasoningField: "reasoning_content"})
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"signed", "EqQB", "cmVkYWN0ZWQ="} {
		if strings.Contains(string(body), bad) {
			t.Errorf("sent %q: %s", bad, body)
		}
	}
	if !strings.Contains(string(body), `"reasoning_content":"plain"`) || len(dropped) != 0 {
		t.Errorf("body %s dropped %v", body, dropped)
	}
}

// An inline system turn (llm.RoleSystem, as the Anthropic ingress decodes
// Claude Code's) is a system message at its place, or joins the leading
// one for servers that take system text only first.
func TestEncodeInlineSystem(t *testing.T) {
	text := func(s string) []llm.Part { return []llm.Part{{Type: llm.PartText, Text: s}} }
	r := &llm.Request{System: text("top"), Messages: []llm.Message{
		{Role: llm.RoleUser, Parts: text("hi")},
		{Role: llm.RoleSystem, Parts: text("be brief")},
		{Role: llm.RoleSystem, Parts: text("")}, // nothing to say: no message
		{Role: llm.RoleAssistant, Parts: text("ok")},
	}}
	for _, tt := range []struct {
		opt  openaiwire.EncodeOptions
		want string
	}{
		{openaiwire.EncodeOptions{}, `[{"role":"system","content":"top"},{"role":"user","content":"hi"},{"role":"system","content":"be brief"},{"role":"assistant","content":"ok"}]`},
		{openaiwire.EncodeOptions{LeadingSystemOnly: true}, `[{"role":"system","content":"top\n\nbe brief"},{"role":"user","content":"hi"},{"role":"assistant","content":"ok"}]`},
	} {
		body, dropped, err := openaiwire.EncodeChat(r, "m", tt.opt)
		if err != nil || len(dropped) != 0 {
			t.Fatal(err, dropped)
		}
		var got struct{ Messages json.RawMessage }
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatal(err)
		}
		if string(got.Messages) != tt.want {
			t.Errorf("%+v: messages %s\nwant %s", tt.opt, got.Messages, tt.want)
		}
	}
}
