package anthropicwire

import (
	"bytes"
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/switchyard-ai/switchyard/internal/llm"
	"github.com/switchyard-ai/switchyard/internal/provider/providertest"
)

// fullRequest uses every request feature the canonical model carries.
const fullRequest = `{
  "model": "claude-sonnet-4-5",
  "max_tokens": 20000,
  "system": [{"type": "text", "text": "You are terse.", "cache_control": {"type": "ephemeral", "ttl": "1h"}}],
  "messages": [
    {"role": "user", "content": [
      {"type": "text", "text": "Weather in Paris and Rome? Also this:"},
      {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
      {"type": "image", "source": {"type": "url", "url": "https://example.com/a.jpg"}}
    ]},
    {"role": "assistant", "content": [
      {"type": "thinking", "thinking": "Two cities.", "signature": "EqQBCkYIBxgCKkB+sig=="},
      {"type": "redacted_thinking", "data": "EmwKAhgBEgy3redacted=="},
      {"type": "thinking", "thinking": "", "signature": "EoOmitted=="},
      {"type": "tool_use", "id": "toolu_A", "name": "weather", "input": {"city": "Paris"}},
      {"type": "tool_use", "id": "toolu_B", "name": "weather", "input": {"city": "Rome"}}
    ]},
    {"role": "user", "content": [
      {"type": "tool_result", "tool_use_id": "toolu_A", "content": "18C"},
      {"type": "tool_result", "tool_use_id": "toolu_B", "content": [{"type": "text", "text": "no data"}], "is_error": true}
    ]}
  ],
  "tools": [{"name": "weather", "description": "Current weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}, "cache_control": {"type": "ephemeral"}}],
  "tool_choice": {"type": "any", "disable_parallel_tool_use": true},
  "thinking": {"type": "enabled", "budget_tokens": 8000, "display": "summarized"},
  "output_config": {"effort": "high", "format": {"type": "json_schema", "schema": {"type": "object"}}},
  "stop_sequences": ["END"],
  "temperature": 1,
  "top_k": 40,
  "metadata": {"user_id": "u-42"},
  "stream": true,
  "service_tier": "auto",
  "container": {"id": "c1"}
}`

func TestDecodeRequest(t *testing.T) {
	h := http.Header{}
	h.Add("anthropic-beta", "interleaved-thinking-2025-05-14")
	h.Add("anthropic-beta", "context-1m-2025-08-07, files-api-2025-04-14")
	h.Set("anthropic-version", "2023-06-01")
	r, err := DecodeRequest([]byte(fullRequest), h)
	if err != nil {
		t.Fatal(err)
	}
	providertest.Golden(t, "request-full.canonical.golden", indent(t, r))
	if got := r.Header[HeaderBeta]; !slices.Equal(got, []string{"interleaved-thinking-2025-05-14", "context-1m-2025-08-07", "files-api-2025-04-14"}) {
		t.Errorf("betas %q", got)
	}
	if r.Dialect != llm.DialectAnthropic || r.User != "u-42" || r.Messages[2].Parts[1].ToolResult.Name != "weather" {
		t.Errorf("decoded %+v", r)
	}
}

// TestRequestRoundTrip: an Anthropic request decoded and encoded again is
// the same request (Anthropic dialect: extras forwarded, thinking blocks
// byte-exact, cache_control kept).
// Claude Code sends part of its system prompt as a {"role":"system"} turn
// for models it does not know (seen with 2.1.x; the request's roles are
// ["user","system"]). The turn stays at its place as an llm.RoleSystem
// message; encoded for Anthropic, which has no such turn, it joins the
// system prompt after the top-level system.
func TestInlineSystemTurns(t *testing.T) {
	body := `{"model":"m","max_tokens":16,"system":"top",
	  "messages":[{"role":"user","content":"hi"},{"role":"system","content":[{"type":"text","text":"inline"}]},{"role":"assistant","content":"ok"},{"role":"system","content":"more"}]}`
	r, err := DecodeRequest([]byte(body), http.Header{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.System) != 1 || r.System[0].Text != "top" {
		t.Errorf("system = %+v", r.System)
	}
	var roles []llm.Role
	for _, m := range r.Messages {
		roles = append(roles, m.Role)
	}
	if !slices.Equal(roles, []llm.Role{llm.RoleUser, llm.RoleSystem, llm.RoleAssistant, llm.RoleSystem}) ||
		r.Messages[1].Parts[0].Text != "inline" || r.Messages[3].Parts[0].Text != "more" {
		t.Errorf("messages = %+v", r.Messages)
	}
	out, _, err := EncodeRequest(r, "claude-sonnet-4-5")
	if err != nil {
		t.Fatal(err)
	}
	var sent struct {
		System   []struct{ Text string } `json:"system"`
		Messages []struct{ Role string } `json:"messages"`
	}
	if err := json.Unmarshal(out, &sent); err != nil {
		t.Fatal(err)
	}
	var sys []string
	for _, b := range sent.System {
		sys = append(sys, b.Text)
	}
	if !slices.Equal(sys, []string{"top", "inline", "more"}) || len(sent.Messages) != 2 {
		t.Errorf("encoded %s", out)
	}
}

func TestRequestRoundTrip(t *testing.T) {
	r, err := DecodeRequest([]byte(fullRequest), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, dropped, err := EncodeRequest(r, "claude-sonnet-4-5")
	if err != nil {
		t.Fatal(err)
	}
	if len(dropped) != 0 {
		t.Errorf("dropped %v", dropped)
	}
	providertest.Golden(t, "request-full.encoded.golden", append(body, '\n'))
	// A string tool_result content comes back as its one text block.
	want := strings.Replace(fullRequest, `"content": "18C"`, `"content": [{"type": "text", "text": "18C"}]`, 1)
	if !jsonEqual(t, body, []byte(want)) {
		var a, b any
		json.Unmarshal(body, &a)
		json.Unmarshal([]byte(want), &b)
		t.Errorf("round trip differs:\n got %s\nwant %s", indent(t, a), indent(t, b))
	}
}

func TestDecodeRequestErrors(t *testing.T) {
	for _, tc := range []struct{ body, param string }{
		{`[]`, ""},
		{`{"max_tokens":1,"messages":[{"role":"user","content":"x"}]}`, "model"},
		{`{"model":"m","messages":[{"role":"user","content":"x"}]}`, "max_tokens"},
		{`{"model":"m","max_tokens":0,"messages":[{"role":"user","content":"x"}]}`, "max_tokens"},
		{`{"model":"m","max_tokens":1}`, "messages"},
		{`{"model":"m","max_tokens":1,"messages":[]}`, "messages"},
		{`{"model":"m","max_tokens":1,"messages":[{"role":"tool","content":"x"}]}`, "messages[0].role"},
		{`{"model":"m","max_tokens":1,"messages":[{"role":"system","content":"x"}]}`, "messages"},
		{`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"hi"},{"role":"system","content":[{"type":"image"}]}]}`, "messages[1].content[0]"},
		{`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":7}]}`, "messages[0].content"},
		{`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"text"}]}]}`, "messages[0].content[0].text"},
		{`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"document","source":{}}]}]}`, "messages[0].content[0].type"},
		{`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"file","file_id":"f"}}]}]}`, "messages[0].content[0].source.type"},
		{`{"model":"m","max_tokens":1,"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"n","input":[1]}]}]}`, "messages[0].content[0].input"},
		{`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"tool_result"}]}]}`, "messages[0].content[0].tool_use_id"},
		{`{"model":"m","max_tokens":1,"messages":[{"role":"assistant","content":[{"type":"thinking","thinking":"x"}]}]}`, "messages[0].content[0]"},
		{`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"x"}],"tools":[{"type":"web_search_20250305","name":"web_search"}]}`, "tools[0].type"},
		{`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"x"}],"tool_choice":{"type":"tool"}}`, "tool_choice.name"},
		{`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"x"}],"thinking":{"type":"enabled"}}`, "thinking.budget_tokens"},
		{`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"x"}],"system":[{"type":"image"}]}`, "system[0]"},
		{`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"x"}],"temperature":"hot"}`, "temperature"},
	} {
		_, err := DecodeRequest([]byte(tc.body), nil)
		e, ok := err.(*llm.Error)
		if !ok {
			t.Errorf("%s: err = %v, want *llm.Error", tc.body, err)
			continue
		}
		if e.Kind != llm.KindInvalidRequest || e.Class != "bad_request" || e.Param != tc.param || e.Message == "" {
			t.Errorf("%s: %+v, want param %q", tc.body, e, tc.param)
		}
	}
}

// openAIStyle is the canonical request an OpenAI Chat Completions client's
// conversation decodes into: one message per OpenAI message, so parallel
// tool results arrive as separate user messages, with content "" on the
// tool-call turn.
func openAIStyle() *llm.Request {
	f := false
	return &llm.Request{
		Dialect: llm.DialectOpenAI,
		System:  []llm.Part{{Type: llm.PartText, Text: "Be brief."}, {Type: llm.PartText, Text: "  "}},
		Messages: []llm.Message{
			{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: "Paris and Rome?"},
				{Type: llm.PartImage, Image: &llm.Image{URL: "data:image/jpeg;base64,/9j/4AAQ", Detail: "low"}}}},
			{Role: llm.RoleAssistant, Parts: []llm.Part{
				{Type: llm.PartReasoning, Text: "deepseek thoughts"},
				{Type: llm.PartText, Text: ""},
				{Type: llm.PartToolCall, ToolCall: &llm.ToolCall{ID: "call_1", Name: "weather", Arguments: `{"city":"Paris"}`}},
				{Type: llm.PartToolCall, ToolCall: &llm.ToolCall{ID: "call_2", Name: "weather", Arguments: ``}},
			}},
			// Results out of call order, text before them, one per message.
			{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartToolResult, ToolResult: &llm.ToolResult{CallID: "call_2", Content: []llm.Part{{Type: llm.PartText, Text: "21C"}}}}}},
			{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: "\n"}}},
			{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartToolResult, ToolResult: &llm.ToolResult{CallID: "call_1", Content: []llm.Part{{Type: llm.PartText, Text: ""}}}}}},
			{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: "Thanks, and?"}}},
		},
		Tools:             []llm.Tool{{Name: "weather", Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}}}`)}},
		ToolChoice:        &llm.ToolChoice{Mode: "required"},
		ParallelToolCalls: &f,
		Reasoning:         &llm.Reasoning{Effort: "medium"},
		Output:            &llm.OutputFormat{Type: "json_object"},
		Seed:              new(int64),
		Stop:              []string{"STOP"},
		User:              "u1",
		Extra:             map[string]json.RawMessage{"logit_bias": json.RawMessage(`{"50256":-100}`), "store": json.RawMessage(`true`)},
		Header:            map[string][]string{HeaderBeta: {"x"}},
	}
}

type wireReq struct {
	MaxTokens int `json:"max_tokens"`
	System    []struct{ Text string }
	Messages  []struct {
		Role    string
		Content []map[string]any
	}
	ToolChoice map[string]any `json:"tool_choice"`
	Thinking   map[string]any
	Metadata   map[string]any
}

func encodeOpenAIStyle(t *testing.T) (wireReq, []byte, []string) {
	t.Helper()
	body, dropped, err := EncodeRequest(openAIStyle(), "claude-x")
	if err != nil {
		t.Fatal(err)
	}
	var w wireReq
	if err := json.Unmarshal(body, &w); err != nil {
		t.Fatal(err)
	}
	return w, body, dropped
}

func TestEncodeRequestFromOpenAI(t *testing.T) {
	_, body, dropped := encodeOpenAIStyle(t)
	providertest.Golden(t, "request-openai-style.encoded.golden", append(body, '\n'))
	want := []string{"image_url.detail", "reasoning", "response_format", "seed", "logit_bias", "store"}
	if !slices.Equal(dropped, want) {
		t.Errorf("dropped %q, want %q", dropped, want)
	}
}

// TestPitfall13_EmptyTextDropped: no empty or whitespace-only text block is
// ever sent, in system, messages or tool results.
func TestPitfall13_EmptyTextDropped(t *testing.T) {
	w, body, _ := encodeOpenAIStyle(t)
	if bytes.Contains(body, []byte(`"text":""`)) || bytes.Contains(body, []byte(`"text":"\n"`)) || bytes.Contains(body, []byte(`"text":"  "`)) {
		t.Errorf("empty text sent: %s", body)
	}
	if len(w.System) != 1 {
		t.Errorf("system %+v", w.System)
	}
}

// TestPitfall14_ParallelToolResultsMerged: consecutive tool results become
// one user message, results first and in the order of the calls.
func TestPitfall14_ParallelToolResultsMerged(t *testing.T) {
	w, _, _ := encodeOpenAIStyle(t)
	if len(w.Messages) != 3 {
		t.Fatalf("%d messages, want user/assistant/user", len(w.Messages))
	}
	last := w.Messages[2]
	var order []string
	for _, c := range last.Content {
		if c["type"] == "tool_result" {
			order = append(order, c["tool_use_id"].(string))
		} else {
			order = append(order, c["type"].(string))
		}
	}
	if !slices.Equal(order, []string{"call_1", "call_2", "text"}) {
		t.Errorf("user message blocks %v", order)
	}
}

// TestPitfall4_ForeignReasoningNotReplayed: reasoning without Anthropic
// origin is not sent; Anthropic's is, in order and byte-exact, including a
// signed block with empty text.
func TestPitfall4_ReasoningReplay(t *testing.T) {
	w, _, _ := encodeOpenAIStyle(t)
	for _, c := range w.Messages[1].Content {
		if c["type"] == "thinking" {
			t.Errorf("foreign reasoning replayed: %v", c)
		}
	}
	r := &llm.Request{Messages: []llm.Message{
		{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: "q"}}},
		{Role: llm.RoleAssistant, Parts: []llm.Part{
			{Type: llm.PartReasoning, Text: "a\u2028<b>&", Signature: "sig/+=", Origin: Origin},
			{Type: llm.PartReasoning, Redacted: "red==", Origin: Origin},
			{Type: llm.PartReasoning, Signature: "only-sig", Origin: Origin},
			{Type: llm.PartToolCall, ToolCall: &llm.ToolCall{ID: "t", Name: "n", Arguments: "{}"}},
		}},
	}}
	body, _, err := EncodeRequest(r, "m")
	if err != nil {
		t.Fatal(err)
	}
	want := `{"role":"assistant","content":[{"type":"thinking","thinking":"a\u2028<b>&","signature":"sig/+="},{"type":"redacted_thinking","data":"red=="},{"type":"thinking","thinking":"","signature":"only-sig"},{"type":"tool_use","id":"t","name":"n","input":{}}]}`
	if !bytes.Contains(body, []byte(want)) {
		t.Errorf("got %s\nwant it to contain %s", body, want)
	}
}

func TestEncodeRequestMapping(t *testing.T) {
	f := false
	for _, tc := range []struct {
		name string
		edit func(r *llm.Request)
		want string // a fragment of the body
		drop []string
	}{
		{"default max_tokens", func(r *llm.Request) {}, `"max_tokens":4096`, nil},
		{"effort low", func(r *llm.Request) { r.Reasoning = &llm.Reasoning{Effort: "low"} }, `"max_tokens":4096,"messages"`, nil},
		{"effort high raises max_tokens", func(r *llm.Request) { r.Reasoning = &llm.Reasoning{Effort: "high"} }, `"max_tokens":20480`, nil},
		{"effort high budget", func(r *llm.Request) { r.Reasoning = &llm.Reasoning{Effort: "high"} }, `"thinking":{"type":"enabled","budget_tokens":16384}`, nil},
		{"effort bounded by max_tokens", func(r *llm.Request) { r.MaxTokens = 2000; r.Reasoning = &llm.Reasoning{Effort: "high"} }, `"budget_tokens":1999`, nil},
		{"effort too small", func(r *llm.Request) { r.MaxTokens = 500; r.Reasoning = &llm.Reasoning{Effort: "high"} }, `"max_tokens":500,"messages"`, []string{"reasoning_effort"}},
		{"effort none", func(r *llm.Request) { r.Reasoning = &llm.Reasoning{Effort: "none"} }, `"thinking":{"type":"disabled"}`, nil},
		{"adaptive with effort", func(r *llm.Request) { r.Reasoning = &llm.Reasoning{Adaptive: true, Effort: "max"} }, `"thinking":{"type":"adaptive"},"output_config":{"effort":"max"}`, nil},
		{"anthropic effort only", func(r *llm.Request) { r.Dialect = llm.DialectAnthropic; r.Reasoning = &llm.Reasoning{Effort: "low"} }, `"output_config":{"effort":"low"}`, nil},
		{"budget", func(r *llm.Request) { r.Reasoning = &llm.Reasoning{BudgetTokens: 5000} }, `"max_tokens":9096`, nil},
		{"thinking off when the tool loop lacks thinking", func(r *llm.Request) {
			r.Reasoning = &llm.Reasoning{Effort: "high"}
			r.Messages = append(r.Messages,
				llm.Message{Role: llm.RoleAssistant, Parts: []llm.Part{{Type: llm.PartToolCall, ToolCall: &llm.ToolCall{ID: "c", Name: "w"}}}},
				llm.Message{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartToolResult, ToolResult: &llm.ToolResult{CallID: "c"}}}})
		}, `"max_tokens":4096,"messages"`, []string{"reasoning"}},
		{"thinking kept when the tool loop starts with it", func(r *llm.Request) {
			r.Reasoning = &llm.Reasoning{Effort: "high"}
			r.Messages = append(r.Messages,
				llm.Message{Role: llm.RoleAssistant, Parts: []llm.Part{{Type: llm.PartReasoning, Signature: "s", Origin: Origin}, {Type: llm.PartToolCall, ToolCall: &llm.ToolCall{ID: "c", Name: "w"}}}},
				llm.Message{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartToolResult, ToolResult: &llm.ToolResult{CallID: "c"}}}})
		}, `"thinking":{"type":"enabled","budget_tokens":16384}`, nil},
		{"thinking off when a tool is forced", func(r *llm.Request) {
			r.Reasoning = &llm.Reasoning{BudgetTokens: 2000}
			r.ToolChoice = &llm.ToolChoice{Mode: "tool", Name: "w"}
		}, `"max_tokens":4096,"messages"`, []string{"reasoning"}},
		{"prefill trailing whitespace", func(r *llm.Request) {
			r.Messages = append(r.Messages, llm.Message{Role: llm.RoleAssistant, Parts: []llm.Part{{Type: llm.PartText, Text: "{\"a\": \n"}}})
		}, `{"role":"assistant","content":[{"type":"text","text":"{\"a\":"}]}`, nil},
		{"tool choice tool", func(r *llm.Request) { r.ToolChoice = &llm.ToolChoice{Mode: "tool", Name: "w"} }, `"tool_choice":{"type":"tool","name":"w"}`, nil},
		{"tool choice none", func(r *llm.Request) { r.ToolChoice = &llm.ToolChoice{Mode: "none"}; r.ParallelToolCalls = &f }, `"tool_choice":{"type":"none"}`, nil},
		{"parallel off", func(r *llm.Request) { r.ParallelToolCalls = &f }, `"tool_choice":{"type":"auto","disable_parallel_tool_use":true}`, nil},
		{"tool choice without tools", func(r *llm.Request) { r.Tools = nil; r.ToolChoice = &llm.ToolChoice{Mode: "required"} }, `"max_tokens":4096,"messages"`, []string{"tool_choice"}},
		{"json schema", func(r *llm.Request) {
			r.Output = &llm.OutputFormat{Type: "json_schema", Name: "x", Schema: json.RawMessage(`{"type":"object"}`)}
		}, `"output_config":{"format":{"type":"json_schema","schema":{"type":"object"}}}`, nil},
		{"https image", func(r *llm.Request) {
			r.Messages[0].Parts = append(r.Messages[0].Parts, llm.Part{Type: llm.PartImage, Image: &llm.Image{URL: "https://x/y.png"}})
		}, `{"type":"image","source":{"type":"url","url":"https://x/y.png"}}`, nil},
		{"base64 image", func(r *llm.Request) {
			r.Messages[0].Parts = append(r.Messages[0].Parts, llm.Part{Type: llm.PartImage, Image: &llm.Image{MediaType: "image/gif", Data: "R0lG"}})
		}, `{"type":"image","source":{"type":"base64","media_type":"image/gif","data":"R0lG"}}`, nil},
		{"anthropic extras forwarded", func(r *llm.Request) {
			r.Dialect = llm.DialectAnthropic
			r.Extra = map[string]json.RawMessage{"service_tier": json.RawMessage(`"auto"`), "model": json.RawMessage(`"evil"`)}
		}, `"model":"claude-x","max_tokens":4096,`, []string{"model"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &llm.Request{
				Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: "hi"}}}},
				Tools:    []llm.Tool{{Name: "w"}},
			}
			tc.edit(r)
			body, dropped, err := EncodeRequest(r, "claude-x")
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(body), tc.want) {
				t.Errorf("body %s\nlacks %s", body, tc.want)
			}
			if !slices.Equal(dropped, tc.drop) {
				t.Errorf("dropped %q, want %q", dropped, tc.drop)
			}
			if !json.Valid(body) {
				t.Errorf("invalid JSON %s", body)
			}
		})
	}
}

func TestEncodeRequestExtraForwarded(t *testing.T) {
	r := &llm.Request{Dialect: llm.DialectAnthropic,
		Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: "hi"}}}},
		Extra:    map[string]json.RawMessage{"service_tier": json.RawMessage(`"auto"`), "container": json.RawMessage(` {"id": "c"} `)}}
	body, dropped, err := EncodeRequest(r, "m")
	if err != nil {
		t.Fatal(err)
	}
	want := `{"model":"m","max_tokens":4096,"messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}],"container":{"id": "c"},"service_tier":"auto"}`
	if string(body) != want || len(dropped) != 0 {
		t.Errorf("got %s %v\nwant %s", body, dropped, want)
	}
}

func TestEncodeRequestErrors(t *testing.T) {
	for name, p := range map[string]llm.Part{
		"bad arguments":  {Type: llm.PartToolCall, ToolCall: &llm.ToolCall{ID: "t", Name: "n", Arguments: `{"a":`}},
		"array args":     {Type: llm.PartToolCall, ToolCall: &llm.ToolCall{ID: "t", Name: "n", Arguments: `[1]`}},
		"data url":       {Type: llm.PartImage, Image: &llm.Image{URL: "data:image/png,raw"}},
		"ftp image":      {Type: llm.PartImage, Image: &llm.Image{URL: "ftp://x"}},
		"data w/o media": {Type: llm.PartImage, Image: &llm.Image{Data: "AAAA"}},
	} {
		r := &llm.Request{Messages: []llm.Message{{Role: llm.RoleAssistant, Parts: []llm.Part{p}}}}
		_, _, err := EncodeRequest(r, "m")
		if e, ok := err.(*llm.Error); !ok || e.Kind != llm.KindInvalidRequest {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func FuzzDecodeRequest(f *testing.F) {
	f.Add([]byte(fullRequest))
	f.Add([]byte(`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"x"}]}`))
	f.Add([]byte(`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"a","content":[{"type":"text","text":""}]}]}],"tool_choice":{"type":"none","disable_parallel_tool_use":true}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := DecodeRequest(body, nil)
		if err != nil {
			if _, ok := err.(*llm.Error); !ok {
				t.Fatalf("error %T is not *llm.Error", err)
			}
			return
		}
		// Whatever decodes must encode, to valid JSON or a clean error.
		out, _, err := EncodeRequest(r, "m")
		if err != nil {
			if _, ok := err.(*llm.Error); !ok {
				t.Fatalf("encode error %T", err)
			}
			return
		}
		if !json.Valid(out) {
			t.Fatalf("invalid JSON: %s", out)
		}
		// Re-decoding our own encoding must succeed unless everything was
		// dropped.
		if bytes.Contains(out, []byte(`"messages":[]`)) || bytes.Contains(out, []byte(`"messages":null`)) {
			return
		}
		if _, err := DecodeRequest(out, nil); err != nil {
			t.Fatalf("our encoding does not decode: %v\n%s", err, out)
		}
	})
}

func TestDecodeHeadersIgnoresOthers(t *testing.T) {
	r, err := DecodeRequest([]byte(`{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"x"}]}`),
		http.Header{"X-Api-Key": {"secret"}, "Authorization": {"Bearer s"}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Header != nil {
		t.Errorf("header %v", r.Header)
	}
	if !reflect.DeepEqual(r.Messages[0].Parts, []llm.Part{{Type: llm.PartText, Text: "x"}}) {
		t.Errorf("parts %+v", r.Messages[0].Parts)
	}
}

// Tool fields this gateway does not know reach Anthropic as the client
// sent them, and are named as dropped for a client of another dialect.
func TestToolExtraFields(t *testing.T) {
	r, err := DecodeRequest([]byte(`{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"hi"}],
		"tools":[{"name":"a","input_schema":{"type":"object"},"defer_loading":true,"cache_control":{"type":"ephemeral"}}]}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if string(r.Tools[0].Extra["defer_loading"]) != "true" || len(r.Tools[0].Extra) != 1 {
		t.Fatalf("extra = %v", r.Tools[0].Extra)
	}
	body, dropped, err := EncodeRequest(r, "claude-sonnet-4-5")
	if err != nil || len(dropped) != 0 {
		t.Fatal(err, dropped)
	}
	if !strings.Contains(string(body), `"tools":[{"name":"a","input_schema":{"type":"object"},"cache_control":{"type":"ephemeral"},"defer_loading":true}]`) {
		t.Errorf("encoded %s", body)
	}
	r.Dialect = llm.DialectOpenAI
	body, dropped, _ = EncodeRequest(r, "claude-sonnet-4-5")
	if strings.Contains(string(body), "defer_loading") || !slices.Contains(dropped, "tools[].defer_loading") {
		t.Errorf("another dialect: %s, dropped %v", body, dropped)
	}
}
