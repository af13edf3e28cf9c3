package openaiwire_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/packages/ssestream"

	"github.com/switchyard-ai/switchyard/internal/llm"
	"github.com/switchyard-ai/switchyard/internal/openaiwire"
)

// byteStream is a ByteStream of fixed chunks that ends with err (io.EOF
// when nil).
type byteStream struct {
	chunks [][]byte
	err    error
	closed bool
}

func (s *byteStream) Next() ([]byte, error) {
	if len(s.chunks) == 0 {
		if s.err != nil {
			return nil, s.err
		}
		return nil, io.EOF
	}
	c := s.chunks[0]
	s.chunks = s.chunks[1:]
	return c, nil
}

func (s *byteStream) Close() error { s.closed = true; return nil }

// sseOf frames each payload as a data event, one chunk each.
func sseOf(payloads ...string) *byteStream {
	s := &byteStream{}
	for _, p := range payloads {
		s.chunks = append(s.chunks, []byte("data: "+p+"\n\n"))
	}
	return s
}

const head = `"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m"`

func chunk(delta string, finish string) string {
	f := "null"
	if finish != "" {
		f = `"` + finish + `"`
	}
	return `{` + head + `,"choices":[{"index":0,"delta":` + delta + `,"finish_reason":` + f + `}]}`
}

func usageChunk(prompt, completion int) string {
	return fmt.Sprintf(`{%s,"choices":[],"usage":{"prompt_tokens":%d,"completion_tokens":%d,"total_tokens":%d}}`, head, prompt, completion, prompt+completion)
}

// collect reads s to its end, checking the grammar of every event.
func collect(t *testing.T, s llm.Stream) ([]llm.Event, *llm.Response, error) {
	t.Helper()
	var acc llm.Accumulator
	var evs []llm.Event
	for range 100000 {
		ev, err := s.Next()
		if err == io.EOF {
			if !acc.Stopped() {
				t.Fatalf("io.EOF before the stop event, after %v", evs)
			}
			return evs, &acc.Response, nil
		}
		if err != nil {
			return evs, nil, err
		}
		evs = append(evs, ev)
		if err := acc.Add(ev); err != nil {
			t.Fatalf("event %d %+v: %v", len(evs)-1, ev, err)
		}
	}
	t.Fatal("stream does not end")
	return nil, nil, nil
}

func mustCollect(t *testing.T, s llm.Stream) *llm.Response {
	t.Helper()
	_, r, err := collect(t, s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestPitfall3_TextAndToolCallInOneChunk(t *testing.T) {
	s := sseOf(
		chunk(`{"role":"assistant","content":""}`, ""),
		chunk(`{"reasoning_content":"hmm","content":"Let me check.","tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"lookup","arguments":"{\"q\":"}}]}`, ""),
		chunk(`{"tool_calls":[{"index":0,"function":{"arguments":"1}"}}]}`, ""),
		chunk(`{}`, "tool_calls"),
		usageChunk(3, 4),
		"[DONE]",
	)
	r := mustCollect(t, openaiwire.DecodeStream(s))
	want := `[{"type":"reasoning","text":"hmm"},{"type":"text","text":"Let me check."},{"type":"tool_call","tool_call":{"id":"call_a","name":"lookup","arguments":"{\"q\":1}"}}]`
	if got := string(marshalJSON(t, r.Parts)); got != want {
		t.Errorf("parts = %s\nwant    %s", got, want)
	}
	if r.StopReason != llm.StopToolUse || r.Usage.InputTokens != 3 || r.Usage.OutputTokens != 4 || r.ID != "chatcmpl-1" || r.Model != "m" {
		t.Errorf("response = %+v", r)
	}
}

func TestPitfall2_ParallelToolCallsAssembledByIndex(t *testing.T) {
	// Fragments interleave across calls, and only the first delta of each
	// call has its id and name.
	s := sseOf(
		chunk(`{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_0","type":"function","function":{"name":"a","arguments":""}}]}`, ""),
		chunk(`{"tool_calls":[{"index":1,"id":"call_1","type":"function","function":{"name":"b","arguments":"{\"y\""}}]}`, ""),
		chunk(`{"tool_calls":[{"index":0,"function":{"arguments":"{\"x\""}}]}`, ""),
		chunk(`{"tool_calls":[{"index":1,"function":{"arguments":":2}"}},{"index":0,"function":{"arguments":":1}"}}]}`, ""),
		chunk(`{"tool_calls":[{"index":2,"id":"call_2","type":"function","function":{"name":"c"}}]}`, ""),
		chunk(`{}`, "tool_calls"),
		"[DONE]",
	)
	evs, r, err := collect(t, openaiwire.DecodeStream(s))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range r.Parts {
		got = append(got, p.ToolCall.ID+" "+p.ToolCall.Name+" "+p.ToolCall.Arguments)
	}
	want := []string{`call_0 a {"x":1}`, `call_1 b {"y":2}`, `call_2 c {}`}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("calls = %q, want %q", got, want)
	}
	// The first call streamed: its argument fragments are separate deltas.
	if n := countDeltas(evs, 0); n != 2 {
		t.Errorf("first call had %d deltas, want 2 (streamed live)", n)
	}
}

func countDeltas(evs []llm.Event, index int) int {
	n := 0
	for _, ev := range evs {
		if ev.Type == llm.EventDelta && ev.Index == index {
			n++
		}
	}
	return n
}

// Text that arrives after a tool call began cannot go before it, so it is
// held back, not lost.
func TestDecodeStreamTextAfterToolCall(t *testing.T) {
	s := sseOf(
		chunk(`{"tool_calls":[{"index":0,"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]}`, ""),
		chunk(`{"content":"after"}`, ""),
		chunk(`{"content":" call"}`, "stop"),
		"[DONE]",
	)
	r := mustCollect(t, openaiwire.DecodeStream(s))
	if len(r.Parts) != 2 || r.Parts[1].Text != "after call" || r.StopReason != llm.StopToolUse {
		t.Errorf("response = %s", marshalJSON(t, r))
	}
}

func TestPitfall8_UsageWhereverItComes(t *testing.T) {
	for name, s := range map[string]*byteStream{
		// OpenAI with include_usage: a choices:[] chunk after the finish.
		"after finish": sseOf(chunk(`{"content":"hi"}`, ""), chunk(`{}`, "stop"), usageChunk(5, 7), "[DONE]"),
		// DeepSeek, Mistral, Together: on the finish chunk itself.
		"on finish": sseOf(chunk(`{"content":"hi"}`, ""), strings.Replace(chunk(`{}`, "stop"), `]}`, `],"usage":{"prompt_tokens":5,"completion_tokens":7,"total_tokens":12}}`, 1), "[DONE]"),
		// Grok: usage, then one more empty chunk.
		"before an empty chunk": sseOf(chunk(`{"content":"hi"}`, ""), usageChunk(5, 7), chunk(`{}`, "stop"), `{`+head+`,"choices":[]}`, "[DONE]"),
	} {
		r := mustCollect(t, openaiwire.DecodeStream(s))
		if r.Usage.InputTokens != 5 || r.Usage.OutputTokens != 7 || r.Text() != "hi" || r.StopReason != llm.StopEndTurn {
			t.Errorf("%s: %s", name, marshalJSON(t, r))
		}
	}
}

func TestDecodeStreamFinishReasons(t *testing.T) {
	for finish, want := range map[string]llm.StopReason{
		"stop": llm.StopEndTurn, "length": llm.StopMaxTokens, "content_filter": llm.StopContentFilter,
		"tool_calls": llm.StopToolUse, "insufficient_system_resource": llm.StopError, "": llm.StopEndTurn,
	} {
		r := mustCollect(t, openaiwire.DecodeStream(sseOf(chunk(`{"content":"x"}`, finish), "[DONE]")))
		if r.StopReason != want {
			t.Errorf("finish %q: %s, want %s", finish, r.StopReason, want)
		}
	}
	// Tool calls with "stop" (tool_choice naming a function): tool_use.
	r := mustCollect(t, openaiwire.DecodeStream(sseOf(chunk(`{"tool_calls":[{"index":0,"id":"c","function":{"name":"f","arguments":"{}"}}]}`, "stop"), "[DONE]")))
	if r.StopReason != llm.StopToolUse {
		t.Errorf("tool calls with stop: %s", r.StopReason)
	}
}

func TestDecodeStreamFraming(t *testing.T) {
	// Events split across chunks, several in one chunk, CRLF, comments,
	// the reasoning field's other name, and chunks without an index.
	body := ": keep-alive\n\ndata: " + chunk(`{"role":"assistant","reasoning":"r1"}`, "") + "\r\n\r\ndata: " +
		chunk(`{"reasoning_content":"r2"}`, "") + "\n\ndata: " + chunk(`{"content":"t"}`, "") + "\n\n" +
		"data: " + chunk(`{"tool_calls":[{"id":"m1","function":{"name":"f","arguments":"{}"}},{"id":"m2","function":{"name":"g","arguments":"{}"}}]}`, "tool_calls") + "\n\ndata: [DONE]\n\n"
	s := &byteStream{}
	for i := 0; i < len(body); i += 7 {
		s.chunks = append(s.chunks, []byte(body[i:min(i+7, len(body))]))
	}
	r := mustCollect(t, openaiwire.DecodeStream(s))
	want := `[{"type":"reasoning","text":"r1r2"},{"type":"text","text":"t"},{"type":"tool_call","tool_call":{"id":"m1","name":"f","arguments":"{}"}},{"type":"tool_call","tool_call":{"id":"m2","name":"g","arguments":"{}"}}]`
	if got := string(marshalJSON(t, r.Parts)); got != want {
		t.Errorf("parts = %s\nwant    %s", got, want)
	}
}

func TestDecodeStreamFailures(t *testing.T) {
	upstream := &llm.Error{Kind: llm.KindTimeout, Class: "upstream_timeout", Message: "slow"}
	for name, c := range map[string]struct {
		s     *byteStream
		class string
	}{
		"cut before done":     {sseOf(chunk(`{"content":"x"}`, "stop")), "stream_cut"},
		"cut inside an event": {&byteStream{chunks: [][]byte{[]byte("data: " + chunk(`{"content":"x"}`, "")[:20])}}, "stream_cut"},
		"error chunk":         {sseOf(chunk(`{"content":"x"}`, ""), `{"error":{"message":"overloaded","type":"server_error"}}`), "upstream_stream_error"},
		"malformed":           {sseOf(`{"choices":[}`), "upstream_malformed"},
		"source error":        {&byteStream{chunks: [][]byte{[]byte("data: " + chunk(`{"content":"x"}`, "") + "\n\n")}, err: upstream}, "upstream_timeout"},
	} {
		d := openaiwire.DecodeStream(c.s)
		_, _, err := collect(t, d)
		var le *llm.Error
		if !errors.As(err, &le) || le.Class != c.class {
			t.Errorf("%s: error %v, want class %s", name, err, c.class)
			continue
		}
		if _, again := d.Next(); again != err {
			t.Errorf("%s: the error is not sticky: %v", name, again)
		}
		d.Close()
		if !c.s.closed {
			t.Errorf("%s: Close did not close the source", name)
		}
	}
}

func TestDecodeResponse(t *testing.T) {
	body := `{"id":"chatcmpl-9","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":null,"reasoning_content":"why",
		"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}},{"id":"c2","type":"function","function":{"name":"g","arguments":""},"extra_content":{"google":{"thought_signature":"sig"}}}]},
		"finish_reason":"stop"}],"usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15,"prompt_cache_hit_tokens":4,"completion_tokens_details":{"reasoning_tokens":2}}}`
	r, err := openaiwire.DecodeResponse([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"chatcmpl-9","model":"m","parts":[{"type":"reasoning","text":"why"},{"type":"tool_call","tool_call":{"id":"c1","name":"f","arguments":"{\"a\":1}"}},{"type":"tool_call","tool_call":{"id":"c2","name":"g","arguments":"{}","signature":"sig","origin":"gemini"}}],"stop_reason":"tool_use","usage":{"input_tokens":10,"cached_input_tokens":4,"cache_write_tokens":0,"output_tokens":5,"reasoning_tokens":2}}`
	if got := string(marshalJSON(t, r)); got != want {
		t.Errorf("response = %s\nwant       %s", got, want)
	}
	for _, bad := range []string{`{"choices":`, `{"error":{"message":"boom"}}`, `[]`} {
		if _, err := openaiwire.DecodeResponse([]byte(bad)); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func marshalJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := jsonMarshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sdkDecode parses an encoded stream with the official SDK and accumulates
// it, failing on any chunk the SDK rejects (docs/protocols.md#trap-sdk-shape).
func sdkDecode(t *testing.T, out []byte) (openai.ChatCompletionAccumulator, []openai.ChatCompletionChunk) {
	t.Helper()
	resp := &http.Response{Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: io.NopCloser(bytes.NewReader(out))}
	st := ssestream.NewStream[openai.ChatCompletionChunk](ssestream.NewDecoder(resp), nil)
	var acc openai.ChatCompletionAccumulator
	var chunks []openai.ChatCompletionChunk
	for st.Next() {
		c := st.Current()
		if !acc.AddChunk(c) {
			t.Fatalf("the SDK's accumulator rejected chunk %d: %s", len(chunks), c.RawJSON())
		}
		chunks = append(chunks, c)
	}
	if err := st.Err(); err != nil {
		t.Fatalf("the SDK failed on the stream: %v\n%s", err, out)
	}
	return acc, chunks
}

// encodeAll drains a StreamEncoder.
func encodeAll(t *testing.T, e *openaiwire.StreamEncoder) ([]byte, error) {
	t.Helper()
	var out []byte
	for range 100000 {
		b, err := e.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, b...)
	}
	t.Fatal("encoder does not end")
	return nil, nil
}

func sampleResponse() *llm.Response {
	return &llm.Response{
		ID: "msg_1", Model: "claude", StopReason: llm.StopToolUse,
		Parts: []llm.Part{
			{Type: llm.PartReasoning, Text: "think <hard> & long", Signature: "EqQB", Origin: "anthropic"},
			{Type: llm.PartText, Text: "Checking."},
			{Type: llm.PartToolCall, ToolCall: &llm.ToolCall{ID: "toolu_1", Name: "weather", Arguments: `{"city":"Paris"}`}},
			{Type: llm.PartToolCall, ToolCall: &llm.ToolCall{ID: "fc_2", Name: "time", Arguments: `{}`, Signature: "gsig", Origin: "gemini"}},
		},
		Usage: llm.Usage{InputTokens: 100, CachedInputTokens: 40, OutputTokens: 30, ReasoningTokens: 10},
	}
}

func TestPitfall19_SDKParsesEncodedStream(t *testing.T) {
	for _, includeUsage := range []bool{true, false} {
		e := openaiwire.NewStreamEncoder(sampleResponse().Events(), includeUsage)
		out, err := encodeAll(t, e)
		if err != nil {
			t.Fatal(err)
		}
		acc, chunks := sdkDecode(t, out)
		if chunks[0].Choices[0].Delta.Role != "assistant" {
			t.Errorf("first chunk has no role: %s", chunks[0].RawJSON())
		}
		msg := acc.Choices[0].Message
		if msg.Content != "Checking." || len(msg.ToolCalls) != 2 || acc.Choices[0].FinishReason != "tool_calls" {
			t.Fatalf("accumulated %s", acc.RawJSON())
		}
		if tc := msg.ToolCalls[0]; tc.ID != "toolu_1" || tc.Function.Name != "weather" || tc.Function.Arguments != `{"city":"Paris"}` || tc.Type != "function" {
			t.Errorf("tool call 0 = %+v", tc)
		}
		if tc := msg.ToolCalls[1]; tc.ID != "fc_2" || tc.Function.Arguments != `{}` {
			t.Errorf("tool call 1 = %+v", tc)
		}
		if includeUsage != (acc.Usage.PromptTokens == 100) || includeUsage && (acc.Usage.CompletionTokens != 30 || acc.Usage.PromptTokensDetails.CachedTokens != 40 || acc.Usage.CompletionTokensDetails.ReasoningTokens != 10) {
			t.Errorf("include usage %v: usage %s", includeUsage, acc.Usage.RawJSON())
		}
		if !bytes.HasSuffix(out, []byte("data: [DONE]\n\n")) || !bytes.Contains(out, []byte(`"reasoning_content":"think <hard> & long"`)) {
			t.Errorf("stream = %s", out)
		}
		if !bytes.Contains(out, []byte(`"extra_content":{"google":{"thought_signature":"gsig"}}`)) || bytes.Contains(out, []byte("EqQB")) {
			t.Errorf("signatures: %s", out)
		}
		if e.Usage().InputTokens != 100 || e.Reasoning() != "think <hard> & long" {
			t.Errorf("usage %+v reasoning %q", e.Usage(), e.Reasoning())
		}
	}
}

func TestStreamEncoderGolden(t *testing.T) {
	e := openaiwire.NewStreamEncoder(sampleResponse().Events(), true)
	out, err := encodeAll(t, e)
	if err != nil {
		t.Fatal(err)
	}
	goldenStream(t, "stream_encode_sample.golden", out)
}

func TestPitfall2_EncodedToolCallFirstDelta(t *testing.T) {
	out, err := encodeAll(t, openaiwire.NewStreamEncoder(sampleResponse().Events(), false))
	if err != nil {
		t.Fatal(err)
	}
	first := `"tool_calls":[{"index":0,"id":"toolu_1","type":"function","function":{"name":"weather","arguments":""}}]`
	then := `"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":\"Paris\"}"}}]`
	if i, j := bytes.Index(out, []byte(first)), bytes.Index(out, []byte(then)); i < 0 || j < i {
		t.Errorf("tool call deltas out of shape:\n%s", out)
	}
}

func TestStreamEncoderFailures(t *testing.T) {
	boom := &llm.Error{Kind: llm.KindUpstream, Class: "upstream_stream_error", Message: "boom"}
	out, err := encodeAll(t, openaiwire.NewStreamEncoder(&failingStream{evs: []llm.Event{{Type: llm.EventStart, ID: "x"}}, err: boom}, false))
	if err != boom || !bytes.Contains(out, []byte(`"role":"assistant"`)) {
		t.Errorf("err %v out %s", err, out)
	}
	_, err = encodeAll(t, openaiwire.NewStreamEncoder(&failingStream{evs: []llm.Event{{Type: llm.EventStart, ID: "x"}}, err: io.EOF}, false))
	var le *llm.Error
	if !errors.As(err, &le) || le.Class != "stream_cut" {
		t.Errorf("a stream without stop: %v", err)
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

func TestPitfall7_EncodeResponseUsage(t *testing.T) {
	body := openaiwire.EncodeResponse(sampleResponse(), 1700000000)
	goldenJSON(t, "encode_response_sample.golden", body)
	for _, want := range []string{`"prompt_tokens":100`, `"completion_tokens":30`, `"total_tokens":130`, `"cached_tokens":40`, `"reasoning_tokens":10`, `"id":"chatcmpl-msg_1"`, `"finish_reason":"tool_calls"`} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("body lacks %s: %s", want, body)
		}
	}
	var c openai.ChatCompletion
	if err := c.UnmarshalJSON(body); err != nil || c.Choices[0].Message.ToolCalls[1].Function.Name != "time" {
		t.Errorf("the SDK cannot read it: %v", err)
	}
	// Decoding it again gives the same parts, minus what the OpenAI
	// format cannot carry (the Anthropic signature).
	back, err := openaiwire.DecodeResponse(body)
	if err != nil {
		t.Fatal(err)
	}
	want := sampleResponse()
	want.Parts[0].Signature, want.Parts[0].Origin = "", ""
	want.ID = "chatcmpl-msg_1"
	if string(marshalJSON(t, back)) != string(marshalJSON(t, want)) {
		t.Errorf("round trip:\n got %s\nwant %s", marshalJSON(t, back), marshalJSON(t, want))
	}
}

func TestEncodeResponseShapes(t *testing.T) {
	for stop, finish := range map[llm.StopReason]string{
		llm.StopEndTurn: "stop", llm.StopSequence: "stop", llm.StopMaxTokens: "length", llm.StopContextWindow: "length",
		llm.StopContentFilter: "content_filter", llm.StopPauseTurn: "stop", llm.StopError: "stop",
	} {
		body := openaiwire.EncodeResponse(&llm.Response{StopReason: stop, Parts: []llm.Part{{Type: llm.PartText, Text: "x"}}}, 1)
		if !bytes.Contains(body, []byte(`"finish_reason":"`+finish+`"`)) || !bytes.Contains(body, []byte(`"id":"chatcmpl-`)) {
			t.Errorf("%s: %s", stop, body)
		}
	}
	// Only tool calls: content is null.
	body := openaiwire.EncodeResponse(&llm.Response{Parts: []llm.Part{{Type: llm.PartToolCall, ToolCall: &llm.ToolCall{ID: "c", Name: "f"}}}}, 1)
	if !bytes.Contains(body, []byte(`"content":null`)) || !bytes.Contains(body, []byte(`"arguments":"{}"`)) {
		t.Errorf("%s", body)
	}
}

func TestPitfall11_AzurePromptFilterChunk(t *testing.T) {
	s := sseOf(
		`{"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{}}]}`,
		chunk(`{"role":"assistant","content":"hi"}`, ""),
		chunk(`{}`, "content_filter"),
		"[DONE]",
	)
	r := mustCollect(t, openaiwire.DecodeStream(s))
	if r.ID != "chatcmpl-1" || r.Model != "m" || r.Text() != "hi" || r.StopReason != llm.StopContentFilter {
		t.Errorf("response = %s", marshalJSON(t, r))
	}
}
