package responseswire

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/switchyard-ai/switchyard/internal/llm"
)

func text(s string) llm.Part { return llm.Part{Type: llm.PartText, Text: s} }

func call(id, name, args string) llm.Part {
	return llm.Part{Type: llm.PartToolCall, ToolCall: &llm.ToolCall{ID: id, Name: name, Arguments: args}}
}

var usage = llm.Usage{InputTokens: 120, CachedInputTokens: 100, CacheWriteTokens: 7, OutputTokens: 60, ReasoningTokens: 40}

// answers are canonical answers as each vendor family's adapter decodes
// them.
var answers = map[string]*llm.Response{
	"text": {ID: "chatcmpl-1", Model: "gpt-4.1", StopReason: llm.StopEndTurn, Usage: usage,
		Parts: []llm.Part{text("Hello"), text(" there.")}},
	"tool-calls": {ID: "msg_01", Model: "claude-sonnet-4-5", StopReason: llm.StopToolUse, Usage: usage,
		Parts: []llm.Part{text("Checking."), call("toolu_A", "weather", `{"city":"Paris"}`), call("", "noargs", "{}")}},
	"anthropic-thinking": {ID: "msg_02", Model: "claude-sonnet-4-5", StopReason: llm.StopToolUse, Usage: usage,
		Parts: []llm.Part{
			{Type: llm.PartReasoning, Text: "Two cities.", Signature: "EqQBCkYIBxgCKkB+sig==", Origin: "anthropic"},
			{Type: llm.PartReasoning, Redacted: "EmwKAhgBEgy3redacted==", Origin: "anthropic"},
			{Type: llm.PartReasoning, Signature: "EoOmitted==", Origin: "anthropic"},
			call("toolu_A", "weather", `{"city":"Paris"}`),
		}},
	"gemini": {ID: "gem-1", Model: "gemini-2.5-pro", StopReason: llm.StopToolUse, Usage: usage,
		Parts: []llm.Part{
			{Type: llm.PartReasoning, Text: "**Weather**", Signature: "CiQBthought==", Origin: "gemini"},
			{Type: llm.PartText, Text: "Let me look.", Signature: "CiQBtext==", Origin: "gemini"},
			text("Unsigned tail."),
			{Type: llm.PartToolCall, ToolCall: &llm.ToolCall{ID: "call_G1", Name: "weather", Arguments: `{"city":"Rome"}`, Signature: "CiQBcall==", Origin: "gemini"}},
			{Type: llm.PartToolCall, ToolCall: &llm.ToolCall{ID: "call_G2", Name: "weather", Arguments: `{"city":"Oslo"}`, Origin: "gemini"}},
		}},
	"openai-reasoning": {ID: "resp_0050471a", Model: "gpt-5", StopReason: llm.StopEndTurn, Usage: usage,
		Parts: []llm.Part{
			{Type: llm.PartReasoning, Text: "**Plan**", Signature: "gAAAAABoyXusnBzv6TRLFFsi09D2XC4A5Jod6AOAtsnxA4Vdp6sHIAr4B0Uw==", Origin: OriginOpenAI},
			text("Done."),
		}},
	"deepseek-reasoning": {ID: "ds-1", Model: "deepseek-reasoner", StopReason: llm.StopEndTurn, Usage: usage,
		Parts: []llm.Part{{Type: llm.PartReasoning, Text: "Plain thoughts."}, text("Answer.")}},
	"max-tokens":     {ID: "x", Model: "m", StopReason: llm.StopMaxTokens, Usage: usage, Parts: []llm.Part{text("Cut sh")}},
	"content-filter": {ID: "y", Model: "m", StopReason: llm.StopContentFilter, Usage: usage, Parts: []llm.Part{}},
	"json-schema":    {ID: "z", Model: "gpt-4.1", StopReason: llm.StopEndTurn, Parts: []llm.Part{text(`{"c":["red","blue"]}`)}},
}

func metaFor(t *testing.T, name string) Meta {
	m := Meta{ID: "resp_" + strings.ReplaceAll(name, "-", ""), CreatedAt: 1757687055}
	if name == "json-schema" {
		m.Req = decodeFile(t, "json-schema")
	}
	if name == "tool-calls" {
		m.Req = decodeFile(t, "tools")
	}
	if name == "text" {
		m.Req = decodeFile(t, "text")
	}
	return m
}

// TestEncodeResponseGolden: each canonical answer encodes to the response
// object in its golden file.
func TestEncodeResponseGolden(t *testing.T) {
	for name, r := range answers {
		t.Run(name, func(t *testing.T) {
			body := EncodeResponse(r, metaFor(t, name))
			golden(t, "responses/"+name+".golden", indentJSON(t, body))
		})
	}
}

func TestEncodeResponseFields(t *testing.T) {
	var o map[string]any
	if err := json.Unmarshal(EncodeResponse(answers["text"], metaFor(t, "text")), &o); err != nil {
		t.Fatal(err)
	}
	u := o["usage"].(map[string]any)
	// The canonical counts are the Responses API's: input includes the
	// cached tokens, output includes the reasoning tokens.
	if u["input_tokens"] != 120.0 || u["output_tokens"] != 60.0 || u["total_tokens"] != 180.0 ||
		u["input_tokens_details"].(map[string]any)["cached_tokens"] != 100.0 ||
		u["output_tokens_details"].(map[string]any)["reasoning_tokens"] != 40.0 {
		t.Errorf("usage %v", u)
	}
	if o["status"] != "completed" || o["instructions"] != "You are terse." || o["store"] != false || o["temperature"] != 0.2 || o["max_output_tokens"] != 256.0 || o["user"] != "u-1" {
		t.Errorf("echo %v", o)
	}
	msg := o["output"].([]any)[0].(map[string]any)
	if msg["id"] != "msg_text_0" || len(msg["content"].([]any)) != 2 {
		t.Errorf("message %v", msg)
	}

	for name, reason := range map[string]string{"max-tokens": "max_output_tokens", "content-filter": "content_filter"} {
		var o struct {
			Status            string
			IncompleteDetails *struct{ Reason string } `json:"incomplete_details"`
			Output            []struct{ Status string }
		}
		json.Unmarshal(EncodeResponse(answers[name], Meta{ID: "resp_1"}), &o)
		if o.Status != "incomplete" || o.IncompleteDetails == nil || o.IncompleteDetails.Reason != reason {
			t.Errorf("%s: %+v", name, o)
		}
		if name == "max-tokens" && o.Output[0].Status != "incomplete" {
			t.Errorf("the cut message is %q", o.Output[0].Status)
		}
	}
}

// TestEncodeNeverShowsSignatures: opaque state is never text a client
// shows.
func TestEncodeNeverShowsSignatures(t *testing.T) {
	for _, name := range []string{"anthropic-thinking", "gemini"} {
		body := string(EncodeResponse(answers[name], Meta{ID: "resp_1"}))
		for _, sig := range []string{"EqQBCkYIBxgCKkB+sig==", "EmwKAhgBEgy3redacted==", "CiQBthought==", "CiQBtext==", "CiQBcall=="} {
			if strings.Contains(body, sig) {
				t.Errorf("%s: signature %s in plain sight:\n%s", name, sig, body)
			}
		}
	}
}

// replay is what a stateless client sends next: its first turn, the
// output items as it got them, and a new user turn.
func replay(t *testing.T, output json.RawMessage) *llm.Request {
	t.Helper()
	body := fmt.Sprintf(`{"model":"m","store":false,"input":[{"role":"user","content":"first"},%s,{"role":"user","content":"next"}]}`,
		strings.TrimSuffix(strings.TrimPrefix(string(output), "["), "]"))
	r, err := DecodeRequest([]byte(body))
	if err != nil {
		t.Fatalf("%v\n%s", err, body)
	}
	return r.Canonical
}

// TestReasoningRoundTrip: every canonical answer, encoded and replayed as
// the next request's input, comes back as the same parts: thinking text,
// signatures, redacted data and their origins byte for byte, Gemini call
// signatures on their calls.
func TestReasoningRoundTrip(t *testing.T) {
	for name, r := range answers {
		t.Run(name, func(t *testing.T) {
			if len(r.Parts) == 0 {
				return
			}
			c := replay(t, OutputItems(r, Meta{ID: "resp_rt"}))
			if len(c.Messages) != 3 || c.Messages[1].Role != llm.RoleAssistant {
				t.Fatalf("messages %+v", c.Messages)
			}
			got := c.Messages[1].Parts
			want := canonicalReplay(r.Parts, got)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("replayed parts differ:\n got %s\nwant %s", indent(t, got), indent(t, want))
			}
		})
	}
}

// canonicalReplay is what a replay of parts can hold: the ids the encoder
// gave calls that had none (made from the response id), and no origin on
// a call without a signature (there is no state to carry it).
func canonicalReplay(parts, got []llm.Part) []llm.Part {
	out := make([]llm.Part, len(parts))
	for i, p := range parts {
		if p.ToolCall != nil {
			tc := *p.ToolCall
			if tc.ID == "" && i < len(got) && got[i].ToolCall != nil && strings.HasPrefix(got[i].ToolCall.ID, "call_rt_") {
				tc.ID = got[i].ToolCall.ID
			}
			if tc.Signature == "" {
				tc.Origin = ""
			}
			p.ToolCall = &tc
		}
		out[i] = p
	}
	return out
}

func TestEnvelope(t *testing.T) {
	env := envelope{Origin: "anthropic", Signature: "sig+/=", Redacted: "r", CallID: "c"}
	s := env.seal()
	if !strings.HasPrefix(s, EnvelopePrefix) || strings.ContainsAny(s[len(EnvelopePrefix):], "+/=") {
		t.Errorf("not base64url: %s", s)
	}
	got, ok, err := openEnvelope(s)
	if !ok || err != nil || got != env {
		t.Errorf("open %+v %v %v", got, ok, err)
	}
	if _, ok, _ := openEnvelope("gAAAAB"); ok {
		t.Error("an OpenAI blob read as an envelope")
	}
}

func TestErrorBody(t *testing.T) {
	var w struct {
		Error struct {
			Message, Type string
			Param         *string
		}
	}
	if err := json.Unmarshal(ErrorBody(&llm.Error{Kind: llm.KindInvalidRequest, Param: "tools[2].type", Message: "no"}), &w); err != nil {
		t.Fatal(err)
	}
	if w.Error.Type != "invalid_request_error" || w.Error.Param == nil || *w.Error.Param != "tools[2].type" || w.Error.Message != "no" {
		t.Errorf("%+v", w)
	}
}
