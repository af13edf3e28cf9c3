package openaiwire_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/switchyard-ai/switchyard/internal/llm"
	"github.com/switchyard-ai/switchyard/internal/openaiwire"
)

// FuzzDecodeChat: any body ParseChatRequest accepts decodes without panic,
// and whatever decodes encodes again as valid JSON.
func FuzzDecodeChat(f *testing.F) {
	f.Add([]byte(fullRequest))
	f.Add([]byte(`{"model":"m","messages":[{"role":"tool","tool_call_id":"x","content":[{"type":"text","text":"a"}]},{"role":"user","content":null}]}`))
	f.Add([]byte(`{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:;base64,"}}]}],"stop":[],"tools":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := openaiwire.ParseChatRequest(body)
		if err != nil {
			return
		}
		r, err := openaiwire.DecodeChat(req)
		if err != nil {
			if _, ok := err.(*llm.Error); !ok {
				t.Fatalf("error %T is not an *llm.Error", err)
			}
			return
		}
		out, _, err := openaiwire.EncodeChat(r, "m", openaiwire.EncodeOptions{ReasoningField: "reasoning_content"})
		if err != nil {
			return // e.g. a schema that is not JSON, reported to the client
		}
		if !json.Valid(out) {
			t.Fatalf("encoded invalid JSON: %s", out)
		}
	})
}

// FuzzDecodeStream: arbitrary upstream bytes, split anywhere, never panic
// or hang, and every event emitted follows the stream grammar (collect
// checks each with llm.Accumulator).
func FuzzDecodeStream(f *testing.F) {
	f.Add([]byte("data: "+chunk(`{"role":"assistant","content":"a","tool_calls":[{"index":0,"id":"c","function":{"name":"f","arguments":"{"}}]}`, "")+"\n\ndata: "+chunk(`{"tool_calls":[{"index":1,"id":"d","function":{"name":"g"}},{"index":0,"function":{"arguments":"}"}}]}`, "tool_calls")+"\n\ndata: [DONE]\n\n"), uint8(5))
	f.Add([]byte(": keep-alive\r\n\r\ndata: "+chunk(`{"reasoning":"r","content":"t"}`, "")+"\r\n\r\ndata: "+usageChunk(1, 2)+"\r\n\r\ndata: [DONE]\r\n\r\n"), uint8(0))
	f.Add([]byte("data: {\"error\":{\"message\":\"x\"}}\n\n"), uint8(3))
	f.Add([]byte("data: "+chunk(`{"content":"x"}`, "stop")+"\n\ndata: "+chunk(`{"tool_calls":[{"index":0,"function":{"arguments":"1"}}]}`, "")+"\n\n"), uint8(9))
	f.Fuzz(func(t *testing.T, body []byte, split uint8) {
		s := &byteStream{}
		n := int(split) + 1
		for i := 0; i < len(body); i += n {
			s.chunks = append(s.chunks, body[i:min(i+n, len(body))])
		}
		collect(t, openaiwire.DecodeStream(s))
	})
}

// FuzzStreamEncoder: a canonical response built from the fuzz input,
// encoded as an OpenAI stream and decoded again, has the same text,
// reasoning, tool calls, stop reason and usage.
func FuzzStreamEncoder(f *testing.F) {
	f.Add([]byte("\x00hello\x01think\x02{\"a\":1}\x00bye"), true)
	f.Add([]byte("\x02{}\x02\x02[1]\x00x"), false)
	f.Add([]byte(""), true)
	f.Fuzz(func(t *testing.T, spec []byte, includeUsage bool) {
		want := responseFrom(spec)
		e := openaiwire.NewStreamEncoder(want.Events(), includeUsage)
		got := mustCollect(t, openaiwire.DecodeStream(e))
		if got.Text() != want.Text() || got.Reasoning() != want.Reasoning() {
			t.Fatalf("text %q reasoning %q, want %q and %q", got.Text(), got.Reasoning(), want.Text(), want.Reasoning())
		}
		if g, w := toolCalls(got), toolCalls(want); g != w {
			t.Fatalf("tool calls %s, want %s", g, w)
		}
		if got.StopReason != want.StopReason {
			t.Fatalf("stop %s, want %s", got.StopReason, want.StopReason)
		}
		if includeUsage && got.Usage != want.Usage {
			t.Fatalf("usage %+v, want %+v", got.Usage, want.Usage)
		}
	})
}

// responseFrom reads spec as parts: a byte below 3 starts a text (0),
// reasoning (1) or tool call (2) part; the bytes up to the next such byte
// are its text or arguments.
func responseFrom(spec []byte) *llm.Response {
	r := &llm.Response{ID: "chatcmpl-f", Model: "m", StopReason: llm.StopEndTurn,
		Usage: llm.Usage{InputTokens: int64(len(spec)), CachedInputTokens: 1, OutputTokens: 2, ReasoningTokens: 1}}
	kind := byte(0)
	var cur strings.Builder
	flush := func() {
		s := strings.ToValidUTF8(cur.String(), "?")
		cur.Reset()
		switch kind {
		case 0:
			if s != "" {
				r.Parts = append(r.Parts, llm.Part{Type: llm.PartText, Text: s})
			}
		case 1:
			if s != "" {
				r.Parts = append(r.Parts, llm.Part{Type: llm.PartReasoning, Text: s})
			}
		case 2:
			if s == "" {
				s = "{}"
			}
			n := len(r.Parts)
			r.Parts = append(r.Parts, llm.Part{Type: llm.PartToolCall, ToolCall: &llm.ToolCall{ID: fmt.Sprintf("call_%d", n), Name: fmt.Sprintf("f%d", n), Arguments: s}})
			r.StopReason = llm.StopToolUse
		}
	}
	for _, c := range spec {
		if c < 3 {
			flush()
			kind = c
			continue
		}
		cur.WriteByte(c)
	}
	flush()
	return r
}

func toolCalls(r *llm.Response) string {
	var b strings.Builder
	for _, p := range r.Parts {
		if p.ToolCall != nil {
			fmt.Fprintf(&b, "%s/%s/%s;", p.ToolCall.ID, p.ToolCall.Name, p.ToolCall.Arguments)
		}
	}
	return b.String()
}
