package anthropicwire

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	anthropic "github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/packages/ssestream"

	"github.com/switchyard-ai/switchyard/internal/llm"
)

// These tests read what the encoders write with the official Go SDK,
// anthropic-sdk-go v2, the way a client of the gateway would
// (docs/protocols.md#trap-sdk-shape: every emitted event must satisfy the SDK's
// types).

// sdkStream parses an event stream with the SDK and accumulates the
// message. err is the stream's error (an error event), if any.
func sdkStream(t testing.TB, b []byte) (anthropic.Message, error) {
	t.Helper()
	res := &http.Response{Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: io.NopCloser(bytes.NewReader(b))}
	st := ssestream.NewStream[anthropic.MessageStreamEventUnion](ssestream.NewDecoder(res), nil)
	defer st.Close()
	var msg anthropic.Message
	n := 0
	for st.Next() {
		if err := msg.Accumulate(st.Current()); err != nil {
			t.Fatalf("SDK accumulate: %v", err)
		}
		n++
	}
	if n == 0 && st.Err() == nil {
		t.Fatal("SDK saw no events")
	}
	return msg, st.Err()
}

func sdkDecode(t testing.TB, b []byte) anthropic.Message {
	t.Helper()
	msg, err := sdkStream(t, b)
	if err != nil {
		t.Fatalf("SDK stream: %v", err)
	}
	return msg
}

// checkSDKMessage compares what the SDK read with the canonical response
// it was encoded from.
func checkSDKMessage(t *testing.T, msg anthropic.Message, want *llm.Response) {
	t.Helper()
	if msg.ID != want.ID || msg.Model != want.Model {
		t.Errorf("SDK id/model %q %q, want %q %q", msg.ID, msg.Model, want.ID, want.Model)
	}
	if len(msg.Content) != len(want.Parts) {
		t.Fatalf("SDK has %d blocks, want %d", len(msg.Content), len(want.Parts))
	}
	for i, p := range want.Parts {
		c := msg.Content[i]
		switch {
		case p.Type == llm.PartText:
			if c.Type != "text" || c.Text != p.Text {
				t.Errorf("block %d: SDK %s %q, want text %q", i, c.Type, c.Text, p.Text)
			}
		case p.Type == llm.PartReasoning && p.Redacted != "":
			if c.Type != "redacted_thinking" || c.Data != p.Redacted {
				t.Errorf("block %d: SDK %s data %q, want redacted %q", i, c.Type, c.Data, p.Redacted)
			}
		case p.Type == llm.PartReasoning:
			wantSig := p.Signature
			if p.Origin != Origin {
				wantSig = ""
			}
			if c.Type != "thinking" || c.Thinking != p.Text || c.Signature != wantSig {
				t.Errorf("block %d: SDK %s %q sig %q, want thinking %q sig %q", i, c.Type, c.Thinking, c.Signature, p.Text, wantSig)
			}
		case p.Type == llm.PartToolCall:
			if c.Type != "tool_use" || c.ID != p.ToolCall.ID || c.Name != p.ToolCall.Name || !jsonEqual(t, c.Input, []byte(p.ToolCall.Arguments)) {
				t.Errorf("block %d: SDK %s %s %s %s, want tool %+v", i, c.Type, c.ID, c.Name, c.Input, p.ToolCall)
			}
		}
	}
	u := want.Usage
	if msg.Usage.InputTokens+msg.Usage.CacheReadInputTokens+msg.Usage.CacheCreationInputTokens != u.InputTokens ||
		msg.Usage.CacheReadInputTokens != u.CachedInputTokens || msg.Usage.CacheCreationInputTokens != u.CacheWriteTokens ||
		msg.Usage.OutputTokens != u.OutputTokens {
		t.Errorf("SDK usage %+v, want %+v", msg.Usage, u)
	}
}

// TestPitfall19_SDKReadsTranscripts: the recorded streams and messages,
// decoded and encoded again (streamed and whole), are read by the SDK as
// the same message, signatures and redacted data byte-exact
// (docs/protocols.md#trap-signatures).
func TestPitfall19_SDKReadsTranscripts(t *testing.T) {
	for _, name := range streamTranscripts {
		t.Run(name, func(t *testing.T) {
			_, resp, err := decodeBytes(t, transcript(t, name))
			if err != nil {
				t.Fatal(err)
			}
			out, _, err := encodeAll(t, resp.Events())
			if err != nil {
				t.Fatal(err)
			}
			checkSDKMessage(t, sdkDecode(t, out), resp)
		})
	}
	for _, name := range []string{"anthropic-message-thinking.json", "anthropic-message-tool-use.json"} {
		t.Run(name, func(t *testing.T) {
			resp, err := DecodeResponse(transcript(t, name))
			if err != nil {
				t.Fatal(err)
			}
			var msg anthropic.Message
			if err := json.Unmarshal(EncodeResponse(resp), &msg); err != nil {
				t.Fatalf("SDK: %v", err)
			}
			checkSDKMessage(t, msg, resp)
			out, _, err := encodeAll(t, resp.Events())
			if err != nil {
				t.Fatal(err)
			}
			checkSDKMessage(t, sdkDecode(t, out), resp)
		})
	}
}

// TestPitfall19_SDKReadsTranslated: responses from other vendors' shapes
// (unsigned reasoning, tool calls with whole or no arguments and no id,
// cache usage, every stop reason) are read by the SDK.
func TestPitfall19_SDKReadsTranslated(t *testing.T) {
	resp := &llm.Response{ID: "gen-1", Model: "gemini-3", StopReason: llm.StopEndTurn,
		Usage: llm.Usage{InputTokens: 3210, CachedInputTokens: 3000, CacheWriteTokens: 200, OutputTokens: 50, ReasoningTokens: 20},
		Parts: []llm.Part{
			{Type: llm.PartReasoning, Text: "let me see", Signature: "gemini-sig", Origin: "gemini"},
			{Type: llm.PartText, Text: "Checking."},
			{Type: llm.PartToolCall, ToolCall: &llm.ToolCall{ID: "call_1", Name: "get", Arguments: `{"city":"Paris"}`, Signature: "s", Origin: "gemini"}},
			{Type: llm.PartToolCall, ToolCall: &llm.ToolCall{Name: "now"}},
		}}
	out, _, err := encodeAll(t, resp.Events())
	if err != nil {
		t.Fatal(err)
	}
	msg := sdkDecode(t, out)
	want := *resp
	want.Parts = append([]llm.Part(nil), resp.Parts...)
	want.Parts[3] = llm.Part{Type: llm.PartToolCall, ToolCall: &llm.ToolCall{ID: "toolu_switchyard_3", Name: "now", Arguments: "{}"}}
	checkSDKMessage(t, msg, &want)
	if msg.StopReason != "tool_use" || msg.Usage.OutputTokensDetails.ThinkingTokens != 20 {
		t.Errorf("SDK stop %q usage %+v", msg.StopReason, msg.Usage)
	}

	var whole anthropic.Message
	if err := json.Unmarshal(EncodeResponse(resp), &whole); err != nil {
		t.Fatal(err)
	}
	checkSDKMessage(t, whole, &want)

	for r, wire := range map[llm.StopReason]string{
		llm.StopEndTurn: "end_turn", llm.StopError: "end_turn", "": "end_turn", llm.StopSequence: "stop_sequence",
		llm.StopMaxTokens: "max_tokens", llm.StopContextWindow: "model_context_window_exceeded",
		llm.StopContentFilter: "refusal", llm.StopPauseTurn: "pause_turn", llm.StopToolUse: "tool_use",
	} {
		out, _, err := encodeAll(t, (&llm.Response{StopReason: r, StopSequence: "X"}).Events())
		if err != nil {
			t.Fatal(err)
		}
		if msg := sdkDecode(t, out); string(msg.StopReason) != wire || msg.StopSequence != "X" {
			t.Errorf("%q: SDK stop %q %q, want %q", r, msg.StopReason, msg.StopSequence, wire)
		}
	}
}

// TestPitfall10_SDKReadsErrorEvent: the error event a server writes after
// the stream failed is reported by the SDK as the stream's error.
func TestPitfall10_SDKReadsErrorEvent(t *testing.T) {
	out, _, err := encodeAll(t, &failingStream{evs: []llm.Event{
		{Type: llm.EventStart, ID: "m"},
		{Type: llm.EventPartStart, Index: 0, Part: &llm.Part{Type: llm.PartText}},
		{Type: llm.EventDelta, Index: 0, Text: "partial"},
	}, err: &llm.Error{Kind: llm.KindOverloaded, Message: "Overloaded"}})
	e, ok := err.(*llm.Error)
	if !ok {
		t.Fatalf("err = %v", err)
	}
	out = append(out, ErrorEvent(e)...)
	msg, err := sdkStream(t, out)
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("overloaded_error")) {
		t.Errorf("SDK error = %v", err)
	}
	if len(msg.Content) != 1 || msg.Content[0].Text != "partial" {
		t.Errorf("SDK content before the error %+v", msg.Content)
	}
}
