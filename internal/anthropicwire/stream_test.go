package anthropicwire

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/switchyard-ai/switchyard/internal/llm"
	"github.com/switchyard-ai/switchyard/internal/provider/providertest"
)

var streamTranscripts = []string{
	"anthropic-messages-stream-thinking.sse",
	"anthropic-messages-stream-redacted-thinking.sse",
	"anthropic-messages-stream-tool-use.sse",
}

// collect reads s to its end, checking every event against the canonical
// grammar. err is the stream's failure, nil after a clean end.
func collect(t testing.TB, s llm.Stream) ([]llm.Event, *llm.Response, error) {
	t.Helper()
	defer s.Close()
	var acc llm.Accumulator
	var evs []llm.Event
	for i := 0; ; i++ {
		if i > 100000 {
			t.Fatal("stream does not end")
		}
		ev, err := s.Next()
		if err == io.EOF {
			if !acc.Stopped() {
				t.Fatalf("io.EOF before the stop event")
			}
			return evs, &acc.Response, nil
		}
		if err != nil {
			return evs, nil, err
		}
		if err := acc.Add(ev); err != nil {
			t.Fatalf("event %d (%+v): %v", i, ev, err)
		}
		evs = append(evs, ev)
	}
}

func decodeBytes(t testing.TB, b []byte) ([]llm.Event, *llm.Response, error) {
	t.Helper()
	return collect(t, DecodeStream(io.NopCloser(bytes.NewReader(b))))
}

func eventsJSON(t *testing.T, evs []llm.Event) []byte {
	t.Helper()
	var b bytes.Buffer
	for _, ev := range evs {
		j, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(j)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func indent(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// encodeAll runs a StreamEncoder over s and returns its output.
func encodeAll(t testing.TB, s llm.Stream) ([]byte, *StreamEncoder, error) {
	t.Helper()
	enc := NewStreamEncoder(s)
	defer enc.Close()
	var out []byte
	for {
		b, err := enc.Next()
		if err == io.EOF {
			return out, enc, nil
		}
		if err != nil {
			return out, enc, err
		}
		out = append(out, b...)
	}
}

// TestDecodeStreamTranscripts decodes the recorded streams (padding
// spaces, pings, thinking, signature, redacted thinking, input_json_delta
// with a leading "" fragment) into canonical events.
func TestDecodeStreamTranscripts(t *testing.T) {
	for _, name := range streamTranscripts {
		t.Run(name, func(t *testing.T) {
			evs, resp, err := decodeBytes(t, transcript(t, name))
			if err != nil {
				t.Fatal(err)
			}
			base := strings.TrimSuffix(name, ".sse")
			providertest.Golden(t, base+".events.golden", eventsJSON(t, evs))
			providertest.Golden(t, base+".response.golden", indent(t, resp))
		})
	}
}

// TestStreamRoundTrip encodes the decoded transcripts back into Anthropic
// SSE and checks that our decoder and the official SDK both recover the
// same message: thinking text, signatures and redacted data byte-exact
// (docs/protocols.md#trap-signatures), tool input intact
// (docs/protocols.md#trap-tool-arguments), usage per docs/protocols.md#map-usage
// (#trap-cached-tokens). Package sdktest checks the same output with the
// official SDK (docs/protocols.md#trap-sdk-shape).
func TestStreamRoundTrip(t *testing.T) {
	for _, name := range streamTranscripts {
		t.Run(name, func(t *testing.T) {
			_, orig, err := decodeBytes(t, transcript(t, name))
			if err != nil {
				t.Fatal(err)
			}
			out, enc, err := encodeAll(t, orig.Events())
			if err != nil {
				t.Fatal(err)
			}
			providertest.Golden(t, strings.TrimSuffix(name, ".sse")+".reencoded.golden", out)
			if enc.Usage() != orig.Usage {
				t.Errorf("encoder usage %+v, want %+v", enc.Usage(), orig.Usage)
			}
			if enc.Reasoning() != orig.Reasoning() {
				t.Errorf("encoder reasoning %q, want %q", enc.Reasoning(), orig.Reasoning())
			}
			_, again, err := decodeBytes(t, out)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(again, orig) {
				t.Errorf("round trip changed the response:\n got %+v\nwant %+v", again, orig)
			}
		})
	}
}

func jsonEqual(t testing.TB, a, b []byte) bool {
	t.Helper()
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

func sseOf(events ...string) []byte {
	var b strings.Builder
	for _, e := range events {
		var v struct{ Type string }
		json.Unmarshal([]byte(e), &v)
		b.WriteString("event: " + v.Type + "\ndata: " + e + "\n\n")
	}
	return []byte(b.String())
}

const (
	evStart    = `{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-x","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":10,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}}}`
	evTextOpen = `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`
	evText     = `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}`
	evStop0    = `{"type":"content_block_stop","index":0}`
	evDelta    = `{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":5}}`
	evEnd      = `{"type":"message_stop"}`
)

// TestPitfall10_MidStreamOverloaded: an error event after some deltas
// fails the stream with the vendor's overloaded error (status 529), not a
// clean end.
func TestPitfall10_MidStreamOverloaded(t *testing.T) {
	body := sseOf(evStart, evTextOpen, evText,
		`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_1"}`)
	evs, _, err := decodeBytes(t, body)
	var e *llm.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v, want *llm.Error", err)
	}
	if e.Kind != llm.KindOverloaded || e.Status != 529 || e.Class != "stream_error" || e.Type != "overloaded_error" || e.Message != "Overloaded" {
		t.Errorf("error = %+v", e)
	}
	if len(evs) != 3 || evs[2].Text != "Hello" {
		t.Errorf("events before the error = %+v", evs)
	}
	// api_error with the padding and details the real one has.
	_, _, err = decodeBytes(t, []byte("event: error\ndata: {\"type\":\"error\",\"error\":{\"details\":null,\"type\":\"api_error\",\"message\":\"Internal server error\"}      }\n\n"))
	if e := llm.AsError(err); e.Kind != llm.KindUpstream || e.Message != "Internal server error" {
		t.Errorf("api_error = %+v", e)
	}
}

// TestPitfall10_CutStream: a stream cut before message_stop is a failure
// of class stream_cut, whether cut between events or inside one.
func TestPitfall10_CutStream(t *testing.T) {
	full := sseOf(evStart, evTextOpen, evText, evStop0, evDelta, evEnd)
	for _, cut := range []int{len(full) - len(evEnd) - 22, bytes.Index(full, []byte("text_delta")), 10} {
		_, _, err := decodeBytes(t, full[:cut])
		if e := llm.AsError(err); e.Class != "stream_cut" || e.Kind != llm.KindUpstream {
			t.Errorf("cut at %d: err = %v", cut, err)
		}
	}
	if _, _, err := decodeBytes(t, full); err != nil {
		t.Errorf("whole stream: %v", err)
	}
}

// TestNoArgToolCall: a tool without parameters streams only an empty
// input_json_delta; its arguments are "{}".
func TestNoArgToolCall(t *testing.T) {
	body := sseOf(evStart,
		`{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_1","name":"now","input":{}}}`,
		`{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":""}}`,
		evStop0,
		`{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":5}}`,
		evEnd)
	_, resp, err := decodeBytes(t, body)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Parts) != 1 || resp.Parts[0].ToolCall.Arguments != "{}" || resp.StopReason != llm.StopToolUse {
		t.Errorf("response = %+v", resp)
	}
}

// TestPitfall7And8_UsageFromBothEvents: cache counters that appear only in
// message_delta (some Anthropic-compatible hosts) are still counted, input
// is the sum of the three input counters, and the encoder reports the final
// usage in message_delta, where Anthropic clients read it.
func TestPitfall7And8_UsageFromBothEvents(t *testing.T) {
	body := sseOf(evStart, evTextOpen, evText, evStop0,
		`{"type":"message_delta","delta":{"stop_reason":"max_tokens","stop_sequence":null},"usage":{"input_tokens":10,"cache_creation_input_tokens":200,"cache_read_input_tokens":3000,"output_tokens":50,"output_tokens_details":{"thinking_tokens":20}}}`,
		evEnd)
	evs, resp, err := decodeBytes(t, body)
	if err != nil {
		t.Fatal(err)
	}
	want := llm.Usage{InputTokens: 3210, CachedInputTokens: 3000, CacheWriteTokens: 200, OutputTokens: 50, ReasoningTokens: 20}
	if resp.Usage != want {
		t.Errorf("usage = %+v, want %+v", resp.Usage, want)
	}
	if start := evs[0].Usage; start == nil || start.InputTokens != 10 || start.OutputTokens != 1 {
		t.Errorf("start usage = %+v", start)
	}
	if resp.StopReason != llm.StopMaxTokens {
		t.Errorf("stop = %q", resp.StopReason)
	}
	// Encoding back gives Anthropic's exclusive input_tokens again.
	out, _, err := encodeAll(t, resp.Events())
	if err != nil {
		t.Fatal(err)
	}
	if want := `"usage":{"input_tokens":10,"cache_creation_input_tokens":200,"cache_read_input_tokens":3000,"output_tokens":50,"output_tokens_details":{"thinking_tokens":20}}`; !bytes.Contains(out, []byte(want)) {
		t.Errorf("encoded usage is not %s:\n%s", want, out)
	}
}

func TestStopReasons(t *testing.T) {
	for wire, want := range map[string]llm.StopReason{
		"end_turn": llm.StopEndTurn, "max_tokens": llm.StopMaxTokens, "stop_sequence": llm.StopSequence,
		"tool_use": llm.StopToolUse, "pause_turn": llm.StopPauseTurn, "refusal": llm.StopContentFilter,
		"model_context_window_exceeded": llm.StopContextWindow, "something_new": llm.StopEndTurn,
	} {
		body := sseOf(evStart,
			`{"type":"message_delta","delta":{"stop_reason":"`+wire+`","stop_sequence":"STOP"},"usage":{"output_tokens":5}}`, evEnd)
		_, resp, err := decodeBytes(t, body)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StopReason != want || resp.StopSequence != "STOP" {
			t.Errorf("%s: got %q %q, want %q", wire, resp.StopReason, resp.StopSequence, want)
		}
		if want == llm.StopEndTurn {
			continue
		}
		// And back: every canonical reason maps to the wire reason.
		out, _, err := encodeAll(t, resp.Events())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(out, []byte(`"stop_reason":"`+wire+`"`)) {
			t.Errorf("%s not encoded back:\n%s", wire, out)
		}
	}
}

// TestDecodeStreamSkipsUnknown: unknown events and server-tool blocks are
// ignored; parts are tracked by the upstream block index and the canonical
// indexes stay dense (docs/protocols.md#trap-tool-call-index).
func TestDecodeStreamSkipsUnknown(t *testing.T) {
	body := sseOf(evStart,
		`{"type":"content_block_start","index":0,"content_block":{"type":"server_tool_use","id":"srvtoolu_1","name":"web_search","input":{}}}`,
		`{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"q\":1}"}}`,
		`{"type":"content_block_stop","index":0}`,
		`{"type":"brand_new_event","index":7}`,
		`{"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}`,
		`{"type":"content_block_delta","index":1,"delta":{"type":"citations_delta","citation":{}}}`,
		`{"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"hi"}}`,
		`{"type":"content_block_stop","index":1}`,
		evDelta, evEnd)
	evs, resp, err := decodeBytes(t, body)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Parts) != 1 || resp.Parts[0].Text != "hi" || evs[1].Index != 0 {
		t.Errorf("response = %+v", resp)
	}
}

// TestPitfall1_ToolArgumentsWhole: arguments that arrive in one delta (as
// from a non-streamed answer or a vendor that sends them whole) still
// become input_json_delta events, and a call with no argument delta at
// all still gets a valid tool_use block.
func TestPitfall1_ToolArgumentsWhole(t *testing.T) {
	resp := &llm.Response{ID: "x", Model: "m", StopReason: llm.StopEndTurn, Parts: []llm.Part{
		{Type: llm.PartToolCall, ToolCall: &llm.ToolCall{ID: "call_1", Name: "get", Arguments: `{"city":"Paris"}`}},
		{Type: llm.PartToolCall, ToolCall: &llm.ToolCall{Name: "now"}},
	}}
	out, _, err := encodeAll(t, resp.Events())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out, []byte(`"delta":{"type":"input_json_delta","partial_json":"{\"city\":\"Paris\"}"}`)) {
		t.Errorf("no input_json_delta with the arguments:\n%s", out)
	}
	_, back, err := decodeBytes(t, out)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := back.Parts[0].ToolCall, back.Parts[1].ToolCall; a.Arguments != `{"city":"Paris"}` || b.Arguments != `{}` || b.ID == "" {
		t.Errorf("calls %+v %+v", a, b)
	}
	// A turn with tool calls reports tool_use even if the vendor said
	// "stop" (docs/protocols.md#trap-gemini-stop).
	if back.StopReason != llm.StopToolUse {
		t.Errorf("stop reason %q", back.StopReason)
	}
}

// TestPitfall4_ForeignReasoningUnsigned: reasoning from another vendor
// becomes a thinking block with an empty signature and no signature_delta;
// its signature never reaches an Anthropic client.
func TestPitfall4_ForeignReasoningUnsigned(t *testing.T) {
	resp := &llm.Response{ID: "x", Model: "gemini", StopReason: llm.StopEndTurn, Parts: []llm.Part{
		{Type: llm.PartReasoning, Text: "thinking...", Signature: "gemini-sig", Origin: "gemini"},
		{Type: llm.PartText, Text: "answer"},
	}}
	out, enc, err := encodeAll(t, resp.Events())
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(out, []byte("signature_delta")) || bytes.Contains(out, []byte("gemini-sig")) {
		t.Errorf("foreign signature leaked:\n%s", out)
	}
	if !bytes.Contains(out, []byte(`"content_block":{"type":"thinking","thinking":"","signature":""}`)) {
		t.Errorf("no unsigned thinking block:\n%s", out)
	}
	if enc.Reasoning() != "thinking..." {
		t.Errorf("Reasoning() = %q", enc.Reasoning())
	}
	// Replayed by the client, the unsigned block is not Anthropic's and is
	// not sent to Anthropic.
	req, err := DecodeRequest([]byte(`{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"q"},{"role":"assistant","content":[{"type":"thinking","thinking":"thinking...","signature":""},{"type":"text","text":"answer"}]},{"role":"user","content":"more"}]}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, dropped, err := EncodeRequest(req, "m")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(body, []byte(`"thinking"`)) || !reflect.DeepEqual(dropped, []string{"reasoning"}) {
		t.Errorf("unsigned thinking replayed: %s (dropped %v)", body, dropped)
	}
}

// TestStreamEncoderErrors: a failing canonical stream's error is returned
// as is; one that ends without a stop event fails as stream_cut.
func TestStreamEncoderErrors(t *testing.T) {
	boom := &llm.Error{Kind: llm.KindOverloaded, Message: "Overloaded"}
	_, _, err := encodeAll(t, &failingStream{evs: []llm.Event{{Type: llm.EventStart, ID: "a"}}, err: boom})
	if err != boom {
		t.Errorf("err = %v, want the stream's own", err)
	}
	_, _, err = encodeAll(t, &failingStream{evs: []llm.Event{{Type: llm.EventStart, ID: "a"}}, err: io.EOF})
	if e := llm.AsError(err); e.Class != "stream_cut" {
		t.Errorf("err = %v, want stream_cut", err)
	}
}

type failingStream struct {
	evs []llm.Event
	err error
}

func (s *failingStream) Next() (llm.Event, error) {
	if len(s.evs) == 0 {
		return llm.Event{}, s.err
	}
	ev := s.evs[0]
	s.evs = s.evs[1:]
	return ev, nil
}

func (s *failingStream) Close() error { return nil }

// TestReasoningBounded: Reasoning keeps at most 1 MiB.
func TestReasoningBounded(t *testing.T) {
	big := strings.Repeat("x", 700<<10)
	resp := &llm.Response{ID: "x", StopReason: llm.StopEndTurn, Parts: []llm.Part{
		{Type: llm.PartReasoning, Text: big}, {Type: llm.PartReasoning, Text: big},
	}}
	_, enc, err := encodeAll(t, resp.Events())
	if err != nil {
		t.Fatal(err)
	}
	if len(enc.Reasoning()) != 1<<20 {
		t.Errorf("len(Reasoning()) = %d", len(enc.Reasoning()))
	}
}
