package responseswire

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3/packages/ssestream"
	"github.com/openai/openai-go/v3/responses"

	"github.com/switchyard-ai/switchyard/internal/llm"
)

// sdkEvents reads an encoded stream the way openai-go's client does: its
// SSE decoder and its typed event union.
func sdkEvents(t *testing.T, sse []byte) []responses.ResponseStreamEventUnion {
	t.Helper()
	res := &http.Response{
		Header: http.Header{"Content-Type": {"text/event-stream"}},
		Body:   io.NopCloser(bytes.NewReader(sse)),
	}
	s := ssestream.NewStream[responses.ResponseStreamEventUnion](ssestream.NewDecoder(res), nil)
	var out []responses.ResponseStreamEventUnion
	for s.Next() {
		out = append(out, s.Current())
	}
	if err := s.Err(); err != nil {
		t.Fatalf("the SDK cannot read the stream: %v", err)
	}
	return out
}

// TestSDKReadsStreams: openai-go decodes every event of every encoded
// stream into its typed form, and what it collects from the deltas is
// the answer.
func TestSDKReadsStreams(t *testing.T) {
	for name, r := range answers {
		t.Run(name, func(t *testing.T) {
			e := NewStreamEncoder(streamed(r), metaFor(t, name))
			out, err := encodeStream(t, e)
			if err != nil {
				t.Fatal(err)
			}
			evs := sdkEvents(t, out)
			names, _ := frames(t, out)
			if len(evs) != len(names) {
				t.Fatalf("the SDK read %d events of %d", len(evs), len(names))
			}
			var text, reasoning strings.Builder
			args := map[string]*strings.Builder{}
			var final responses.Response
			for i, ev := range evs {
				if ev.Type != names[i] || ev.SequenceNumber != int64(i) {
					t.Errorf("event %d: %s/%d", i, ev.Type, ev.SequenceNumber)
				}
				switch v := ev.AsAny().(type) {
				case responses.ResponseTextDeltaEvent:
					text.WriteString(v.Delta)
				case responses.ResponseReasoningSummaryTextDeltaEvent:
					reasoning.WriteString(v.Delta)
				case responses.ResponseFunctionCallArgumentsDeltaEvent:
					if args[v.ItemID] == nil {
						args[v.ItemID] = &strings.Builder{}
					}
					args[v.ItemID].WriteString(v.Delta)
				case responses.ResponseFunctionCallArgumentsDoneEvent:
					if args[v.ItemID].String() != v.Arguments {
						t.Errorf("deltas %q, done %q", args[v.ItemID], v.Arguments)
					}
				case responses.ResponseOutputItemDoneEvent:
					if v.Item.ID == "" || v.Item.Type == "" {
						t.Errorf("item %s", v.Item.RawJSON())
					}
				case responses.ResponseCompletedEvent:
					final = v.Response
				case responses.ResponseIncompleteEvent:
					final = v.Response
				case responses.ResponseCreatedEvent, responses.ResponseInProgressEvent,
					responses.ResponseOutputItemAddedEvent, responses.ResponseContentPartAddedEvent,
					responses.ResponseContentPartDoneEvent, responses.ResponseTextDoneEvent,
					responses.ResponseReasoningSummaryPartAddedEvent, responses.ResponseReasoningSummaryPartDoneEvent,
					responses.ResponseReasoningSummaryTextDoneEvent:
				default:
					t.Errorf("event %d: the SDK sees %T", i, v)
				}
			}
			if text.String() != r.Text() || reasoning.String() != r.Reasoning() {
				t.Errorf("text %q reasoning %q", text.String(), reasoning.String())
			}
			checkResponse(t, &final, r)
		})
	}
}

// checkResponse checks a response object as the SDK typed it.
func checkResponse(t *testing.T, o *responses.Response, r *llm.Response) {
	t.Helper()
	if o.Object != "response" || o.ID == "" || o.OutputText() != r.Text() {
		t.Errorf("response %s", o.RawJSON())
	}
	st, _ := status(r.StopReason)
	if string(o.Status) != st {
		t.Errorf("status %s", o.Status)
	}
	if st == "incomplete" && o.IncompleteDetails.Reason == "" {
		t.Errorf("incomplete without a reason")
	}
	u := o.Usage
	if u.InputTokens != r.Usage.InputTokens || u.OutputTokens != r.Usage.OutputTokens || u.TotalTokens != r.Usage.Total() ||
		u.InputTokensDetails.CachedTokens != r.Usage.CachedInputTokens || u.OutputTokensDetails.ReasoningTokens != r.Usage.ReasoningTokens {
		t.Errorf("usage %s", u.RawJSON())
	}
	calls := 0
	for _, it := range o.Output {
		switch it.Type {
		case "function_call":
			fc := it.AsFunctionCall()
			if fc.CallID == "" || fc.Name == "" || !json.Valid([]byte(fc.Arguments)) || fc.Status != "completed" {
				t.Errorf("function call %s", it.RawJSON())
			}
			calls++
		case "reasoning":
			rs := it.AsReasoning()
			if !strings.HasPrefix(rs.ID, "rs_") {
				t.Errorf("reasoning %s", it.RawJSON())
			}
		case "message":
			m := it.AsMessage()
			if m.Role != "assistant" || !strings.HasPrefix(m.ID, "msg_") {
				t.Errorf("message %s", it.RawJSON())
			}
		default:
			t.Errorf("item type %s", it.Type)
		}
	}
	want := 0
	for _, p := range r.Parts {
		if p.Type == llm.PartToolCall {
			want++
		}
	}
	if calls != want {
		t.Errorf("%d calls, want %d", calls, want)
	}
}

// TestSDKReadsResponses: EncodeResponse's objects are responses.Response.
func TestSDKReadsResponses(t *testing.T) {
	for name, r := range answers {
		var o responses.Response
		if err := json.Unmarshal(EncodeResponse(r, metaFor(t, name)), &o); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		checkResponse(t, &o, r)
		if name == "json-schema" && (o.Text.Format.Type != "json_schema" || o.Text.Format.Name != "colours" || !o.Text.Format.Strict) {
			t.Errorf("text echo %s", o.Text.RawJSON())
		}
		if name == "tool-calls" && (len(o.Tools) != 2 || o.Tools[0].Name != "weather" || o.ToolChoice.Name != "weather" || o.ParallelToolCalls) {
			t.Errorf("tools echo %s / %s", o.JSON.Tools.Raw(), o.JSON.ToolChoice.Raw())
		}
	}
}

// TestSDKAccumulator: the SDK's own accumulator, fed the encoded events,
// ends with the same response and output text.
func TestSDKAccumulator(t *testing.T) {
	for name, r := range answers {
		t.Run(name, func(t *testing.T) {
			out, err := encodeStream(t, NewStreamEncoder(streamed(r), metaFor(t, name)))
			if err != nil {
				t.Fatal(err)
			}
			var acc responses.ResponseAccumulator
			_, datas := frames(t, out)
			for i, d := range datas {
				var ev responses.ResponsesServerEventUnion
				if err := json.Unmarshal(d, &ev); err != nil {
					t.Fatalf("event %d: %v", i, err)
				}
				if err := acc.AddEvent(ev); err != nil {
					t.Fatalf("event %d (%s): %v", i, ev.Type, err)
				}
			}
			snap := acc.Snapshot()
			if snap.TerminalEvent == "" || snap.OutputText() != r.Text() {
				t.Errorf("snapshot %+v", snap)
			}
			got, err := acc.ReconstructedResponse()
			if err != nil {
				t.Fatal(err)
			}
			checkResponse(t, got, r)
		})
	}
}

// TestSDKReadsFailure: the failure frames are the SDK's error and
// response.failed events.
func TestSDKReadsFailure(t *testing.T) {
	src := streamed(answers["text"])
	src.evs = src.evs[:4]
	src.err = &llm.Error{Kind: llm.KindUpstream, Message: "boom"}
	e := NewStreamEncoder(src, Meta{ID: "resp_x"})
	out, _ := encodeStream(t, e)
	out = append(out, e.Fail(&llm.Error{Kind: llm.KindUpstream, Message: "boom"})...)
	evs := sdkEvents(t, out)
	ee := evs[len(evs)-2].AsError()
	f := evs[len(evs)-1].AsResponseFailed()
	if ee.Message != "boom" || ee.Code != "server_error" || f.Response.Status != "failed" || f.Response.Error.Code != "server_error" || f.Response.Error.Message != "boom" {
		t.Errorf("error %s\nfailed %s", ee.RawJSON(), f.RawJSON())
	}
}
