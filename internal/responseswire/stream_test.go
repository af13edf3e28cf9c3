package responseswire

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/switchyard-ai/switchyard/internal/llm"
)

type events struct {
	evs []llm.Event
	err error // returned after the events, io.EOF when nil
}

func (s *events) Next() (llm.Event, error) {
	if len(s.evs) == 0 {
		if s.err != nil {
			return llm.Event{}, s.err
		}
		return llm.Event{}, io.EOF
	}
	ev := s.evs[0]
	s.evs = s.evs[1:]
	return ev, nil
}

func (s *events) Close() error { return nil }

// streamed is r as a vendor streams it: each text and arguments in two
// deltas, a signature in a delta of its own after the text (as Anthropic
// sends it), and the input usage up front.
func streamed(r *llm.Response) *events {
	in := llm.Usage{InputTokens: r.Usage.InputTokens, CachedInputTokens: r.Usage.CachedInputTokens}
	evs := []llm.Event{{Type: llm.EventStart, ID: r.ID, Model: r.Model, Usage: &in}}
	for i, p := range r.Parts {
		start := p
		start.Text, start.Signature = "", ""
		var args, sig string
		if p.ToolCall != nil {
			tc := *p.ToolCall
			args, sig = tc.Arguments, tc.Signature
			tc.Arguments, tc.Signature = "", ""
			start.ToolCall = &tc
		} else {
			sig = p.Signature
		}
		evs = append(evs, llm.Event{Type: llm.EventPartStart, Index: i, Part: &start})
		for _, s := range halves(p.Text) {
			evs = append(evs, llm.Event{Type: llm.EventDelta, Index: i, Text: s})
		}
		if p.ToolCall != nil && sig != "" {
			// Gemini sends a call whole: arguments and signature together.
			evs = append(evs, llm.Event{Type: llm.EventDelta, Index: i, Arguments: args, Signature: sig})
		} else {
			for _, s := range halves(args) {
				evs = append(evs, llm.Event{Type: llm.EventDelta, Index: i, Arguments: s})
			}
			if sig != "" {
				evs = append(evs, llm.Event{Type: llm.EventDelta, Index: i, Signature: sig})
			}
		}
		evs = append(evs, llm.Event{Type: llm.EventPartStop, Index: i})
	}
	u := r.Usage
	evs = append(evs, llm.Event{Type: llm.EventStop, StopReason: r.StopReason, Usage: &u})
	return &events{evs: evs}
}

func halves(s string) []string {
	if s == "" {
		return nil
	}
	if len(s) < 2 {
		return []string{s}
	}
	return []string{s[:len(s)/2], s[len(s)/2:]}
}

func encodeStream(t *testing.T, e *StreamEncoder) ([]byte, error) {
	t.Helper()
	var out bytes.Buffer
	for range 100000 {
		f, err := e.Next()
		if err != nil {
			if err == io.EOF {
				return out.Bytes(), nil
			}
			return out.Bytes(), err
		}
		out.Write(f)
	}
	t.Fatal("the encoder does not end")
	return nil, nil
}

// frames splits an SSE stream into event names and data.
func frames(t testing.TB, sse []byte) (names []string, datas [][]byte) {
	t.Helper()
	for _, block := range strings.Split(strings.TrimSuffix(string(sse), "\n\n"), "\n\n") {
		name, data, ok := strings.Cut(block, "\n")
		if !ok || !strings.HasPrefix(name, "event: ") || !strings.HasPrefix(data, "data: ") {
			t.Fatalf("bad frame %q", block)
		}
		names = append(names, strings.TrimPrefix(name, "event: "))
		datas = append(datas, []byte(strings.TrimPrefix(data, "data: ")))
	}
	return names, datas
}

// TestStreamGolden: canonical streams encode to the event streams in the
// golden files, and the stream's end holds what EncodeResponse makes of
// the same answer.
func TestStreamGolden(t *testing.T) {
	for name, r := range answers {
		t.Run(name, func(t *testing.T) {
			m := metaFor(t, name)
			e := NewStreamEncoder(streamed(r), m)
			out, err := encodeStream(t, e)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "streams/"+name+".sse", out)
			checkFrames(t, out)
			if whole := EncodeResponse(r, m); !bytes.Equal(e.Response(), whole) {
				t.Errorf("the stream's response differs from the whole one:\n%s\n%s", e.Response(), whole)
			}
			names, datas := frames(t, out)
			if last := names[len(names)-1]; last != "response.completed" && last != "response.incomplete" {
				t.Errorf("last event %s", last)
			}
			var terminal struct{ Response json.RawMessage }
			json.Unmarshal(datas[len(datas)-1], &terminal)
			if !bytes.Equal(terminal.Response, e.Response()) {
				t.Errorf("Response() is not the terminal event's response")
			}
			if got := e.Final(); !reflect.DeepEqual(got, r) {
				t.Errorf("Final() differs:\n got %s\nwant %s", indent(t, got), indent(t, r))
			}
			if e.Usage() != r.Usage {
				t.Errorf("usage %+v", e.Usage())
			}
			if want := r.Reasoning(); e.Reasoning() != want {
				t.Errorf("reasoning %q, want %q", e.Reasoning(), want)
			}
		})
	}
}

// checkFrames: every event's name is its data's type, sequence numbers
// count from 0, and there is no [DONE].
func checkFrames(t *testing.T, out []byte) {
	t.Helper()
	names, datas := frames(t, out)
	for i, d := range datas {
		var h struct {
			Type           string `json:"type"`
			SequenceNumber *int   `json:"sequence_number"`
		}
		if err := json.Unmarshal(d, &h); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if h.Type != names[i] {
			t.Errorf("event %d: name %s, type %s", i, names[i], h.Type)
		}
		if h.SequenceNumber == nil || *h.SequenceNumber != i {
			t.Errorf("event %d: sequence_number %v", i, h.SequenceNumber)
		}
	}
	if bytes.Contains(out, []byte("[DONE]")) {
		t.Error("a [DONE] in a Responses stream")
	}
}

// shape is an event type sequence with runs of deltas folded to one.
func shape(names []string) []string {
	var out []string
	for _, n := range names {
		if strings.HasSuffix(n, ".delta") && len(out) > 0 && out[len(out)-1] == n {
			continue
		}
		out = append(out, n)
	}
	return out
}

// TestStreamOrderMatchesRecordings: the encoder writes text, function
// calls and reasoning summaries in the order OpenAI's own streams have.
func TestStreamOrderMatchesRecordings(t *testing.T) {
	for _, tc := range []struct {
		recording string
		answer    *llm.Response
	}{
		{"openai-responses-stream-function-call.sse", &llm.Response{ID: "r", StopReason: llm.StopToolUse,
			Parts: []llm.Part{call("call_1", "get_capital", `{"country":"France"}`)}}},
		{"openai-responses-stream-reasoning-summary.sse", &llm.Response{ID: "r", StopReason: llm.StopEndTurn,
			Parts: []llm.Part{{Type: llm.PartReasoning, Text: "**Providing**"}, text("I'm not")}}},
		{"openai-responses-stream-reasoning-function-call.sse", &llm.Response{ID: "r", StopReason: llm.StopToolUse,
			Parts: []llm.Part{{Type: llm.PartReasoning, Signature: "gAAAA", Origin: OriginOpenAI}, call("call_1", "final_result", `{"result":6666}`)}}},
	} {
		t.Run(tc.recording, func(t *testing.T) {
			names, _ := frames(t, bytes.ReplaceAll(transcript(t, tc.recording), []byte("\r\n"), []byte("\n")))
			want := shape(names)
			// The recording has four summary parts; a canonical reasoning part
			// is one.
			want = foldSummaries(want)
			out, err := encodeStream(t, NewStreamEncoder(streamed(tc.answer), Meta{ID: "resp_1"}))
			if err != nil {
				t.Fatal(err)
			}
			got, _ := frames(t, out)
			if g := shape(got); !reflect.DeepEqual(g, want) {
				t.Errorf("order differs:\n got %v\nwant %v", g, want)
			}
		})
	}
}

// foldSummaries keeps the first summary part's events of each reasoning
// item.
func foldSummaries(names []string) []string {
	var out []string
	seen := false
	for i := 0; i < len(names); i++ {
		if names[i] == "response.reasoning_summary_part.added" {
			if seen {
				for names[i] != "response.reasoning_summary_part.done" {
					i++
				}
				continue
			}
			seen = true
		}
		if names[i] == "response.output_item.done" {
			seen = false
		}
		out = append(out, names[i])
	}
	return out
}

func TestStreamFail(t *testing.T) {
	r := answers["tool-calls"]
	src := streamed(r)
	src.evs = src.evs[:len(src.evs)-3] // cut inside the second call
	src.err = &llm.Error{Kind: llm.KindUpstream, Class: "stream_cut", Message: "cut"}
	e := NewStreamEncoder(src, Meta{ID: "resp_f"})
	out, err := encodeStream(t, e)
	var le *llm.Error
	if !errors.As(err, &le) || le.Class != "stream_cut" {
		t.Fatalf("error %v", err)
	}
	tail := e.Fail(&llm.Error{Kind: llm.KindRateLimit, Message: "slow down", Param: "model"})
	all := append(out, tail...)
	checkFrames(t, all)
	golden(t, "streams/fail.sse", all)
	names, datas := frames(t, tail)
	if !reflect.DeepEqual(names, []string{"error", "response.failed"}) {
		t.Fatalf("fail events %v", names)
	}
	var failed struct {
		Response struct {
			Status string
			Error  struct{ Code, Message string }
			Output []struct{ Type, Status string }
		}
	}
	json.Unmarshal(datas[1], &failed)
	if failed.Response.Status != "failed" || failed.Response.Error.Code != "rate_limit_exceeded" || failed.Response.Error.Message != "slow down" {
		t.Errorf("failed response %+v", failed.Response)
	}
	if n := len(failed.Response.Output); n != 3 || failed.Response.Output[2].Status != "incomplete" {
		t.Errorf("output %+v", failed.Response.Output)
	}
	if !bytes.Equal(e.Response(), mustField(t, datas[1], "response")) {
		t.Error("Response() is not the failed response")
	}
	if e.Final() != nil {
		t.Error("Final() of a failed stream")
	}
	if f, err := e.Next(); err != io.EOF || f != nil {
		t.Errorf("after Fail: %q %v", f, err)
	}
	if e.Fail(le) != nil {
		t.Error("a second Fail wrote frames")
	}
}

func mustField(t *testing.T, data []byte, k string) []byte {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m[k]
}

// TestStreamCut: a canonical stream that ends before its stop fails.
func TestStreamCut(t *testing.T) {
	src := streamed(answers["text"])
	src.evs = src.evs[:3]
	_, err := encodeStream(t, NewStreamEncoder(src, Meta{}))
	var le *llm.Error
	if !errors.As(err, &le) || le.Class != "stream_cut" {
		t.Fatalf("error %v", err)
	}
}

// TestStreamLateCallSignature: a call signature that arrives after the
// arguments began goes after the call, and still finds it on replay.
func TestStreamLateCallSignature(t *testing.T) {
	r := &llm.Response{ID: "g", StopReason: llm.StopToolUse, Parts: []llm.Part{
		{Type: llm.PartToolCall, ToolCall: &llm.ToolCall{ID: "call_L", Name: "f", Arguments: `{"a":1}`, Signature: "late==", Origin: "gemini"}},
	}}
	src := streamed(r)
	// arguments first, the signature in a delta of its own
	src.evs = []llm.Event{src.evs[0], src.evs[1],
		{Type: llm.EventDelta, Index: 0, Arguments: `{"a":1}`},
		{Type: llm.EventDelta, Index: 0, Signature: "late=="},
		{Type: llm.EventPartStop, Index: 0}, src.evs[len(src.evs)-1]}
	e := NewStreamEncoder(src, Meta{ID: "resp_l"})
	if _, err := encodeStream(t, e); err != nil {
		t.Fatal(err)
	}
	var o struct{ Output json.RawMessage }
	json.Unmarshal(e.Response(), &o)
	if !strings.Contains(string(o.Output), `"type":"function_call"`) || strings.Index(string(o.Output), "function_call") > strings.Index(string(o.Output), "reasoning") {
		t.Errorf("order %s", o.Output)
	}
	c := replay(t, o.Output)
	if tc := c.Messages[1].Parts[0].ToolCall; tc.Signature != "late==" || tc.Origin != "gemini" {
		t.Errorf("call %+v", tc)
	}
}
