package anthropicwire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/switchyard-ai/switchyard/internal/llm"
)

// maxReasoning bounds the reasoning text a StreamEncoder keeps for the
// request log.
const maxReasoning = 1 << 20

type outResponse struct {
	ID           string       `json:"id"`
	Type         string       `json:"type"`
	Role         string       `json:"role"`
	Model        string       `json:"model"`
	Content      []outContent `json:"content"`
	StopReason   *string      `json:"stop_reason"`
	StopSequence *string      `json:"stop_sequence"`
	Usage        outUsage     `json:"usage"`
}

// outContent is a response content block. A thinking block always has its
// signature field, empty when the reasoning was not Anthropic's: the SDKs
// declare it required.
type outContent struct {
	Type      string          `json:"type"`
	Text      *string         `json:"text,omitempty"`
	ID        string          `json:"id,omitempty"`
	Name      string          `json:"name,omitempty"`
	Input     json.RawMessage `json:"input,omitempty"`
	Thinking  *string         `json:"thinking,omitempty"`
	Signature *string         `json:"signature,omitempty"`
	Data      *string         `json:"data,omitempty"`
}

type outUsage struct {
	InputTokens              int64                `json:"input_tokens"`
	CacheCreationInputTokens int64                `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int64                `json:"cache_read_input_tokens"`
	OutputTokens             int64                `json:"output_tokens"`
	OutputTokensDetails      *outputTokensDetails `json:"output_tokens_details,omitempty"`
}

type outputTokensDetails struct {
	ThinkingTokens int64 `json:"thinking_tokens"`
}

// wireUsageOf converts canonical usage back to Anthropic's counters
// (docs/protocols.md#map-usage): input_tokens excludes both cache counters.
func wireUsageOf(u llm.Usage) outUsage {
	w := outUsage{
		InputTokens:              max(u.InputTokens-u.CachedInputTokens-u.CacheWriteTokens, 0),
		CacheCreationInputTokens: u.CacheWriteTokens,
		CacheReadInputTokens:     u.CachedInputTokens,
		OutputTokens:             u.OutputTokens,
	}
	if u.ReasoningTokens > 0 {
		w.OutputTokensDetails = &outputTokensDetails{ThinkingTokens: u.ReasoningTokens}
	}
	return w
}

// stopReasonOut maps a canonical stop reason to Anthropic's
// (docs/protocols.md#map-stop-reasons).
// StopError, a vendor failure reported as a finish reason, becomes
// end_turn: Anthropic has no such reason and clients must still get a
// well-formed message. A turn that called tools reports tool_use whatever
// the vendor said (docs/protocols.md#trap-gemini-stop).
func stopReasonOut(r llm.StopReason, calledTools bool) string {
	switch r {
	case llm.StopMaxTokens:
		return "max_tokens"
	case llm.StopSequence:
		return "stop_sequence"
	case llm.StopToolUse:
		return "tool_use"
	case llm.StopPauseTurn:
		return "pause_turn"
	case llm.StopContentFilter:
		return "refusal"
	case llm.StopContextWindow:
		return "model_context_window_exceeded"
	}
	if calledTools {
		return "tool_use"
	}
	return "end_turn"
}

func toolID(id string, i int) string {
	if id == "" {
		// Some vendors' calls have no ids; Anthropic clients need one to
		// answer with a tool_result.
		return fmt.Sprintf("toolu_switchyard_%d", i)
	}
	return id
}

func messageID(id string) string {
	if id == "" {
		return "msg_switchyard"
	}
	return id
}

// EncodeResponse encodes r as an Anthropic message body.
func EncodeResponse(r *llm.Response) []byte {
	out := outResponse{ID: messageID(r.ID), Type: "message", Role: "assistant", Model: r.Model, Content: []outContent{}, Usage: wireUsageOf(r.Usage)}
	tools := false
	for _, p := range r.Parts {
		c, ok := contentStart(p, len(out.Content))
		if !ok {
			continue
		}
		switch p.Type {
		case llm.PartText:
			c.Text = ptr(p.Text)
		case llm.PartToolCall:
			tools = true
			c.Input = toolInput(p.ToolCall.Arguments)
		case llm.PartReasoning:
			if p.Redacted == "" {
				c.Thinking = ptr(p.Text)
				if p.Origin == Origin {
					c.Signature = ptr(p.Signature)
				}
			}
		}
		out.Content = append(out.Content, c)
	}
	out.StopReason = ptr(stopReasonOut(r.StopReason, tools))
	if r.StopSequence != "" {
		out.StopSequence = ptr(r.StopSequence)
	}
	b, _ := marshal(out)
	return b
}

// toolInput is a tool call's arguments as an input object. Arguments that
// are not a JSON object (a vendor's broken output) become {}, since the
// message would not parse otherwise.
func toolInput(args string) json.RawMessage {
	a := bytes.TrimSpace([]byte(args))
	if len(a) == 0 || a[0] != '{' || !json.Valid(a) {
		return json.RawMessage("{}")
	}
	return a
}

// contentStart returns the block that starts part p, as content_block_start
// carries it; ok is false for parts a response cannot hold.
func contentStart(p llm.Part, i int) (c outContent, ok bool) {
	switch p.Type {
	case llm.PartText:
		return outContent{Type: "text", Text: ptr("")}, true
	case llm.PartToolCall:
		if p.ToolCall == nil {
			return c, false
		}
		return outContent{Type: "tool_use", ID: toolID(p.ToolCall.ID, i), Name: p.ToolCall.Name, Input: json.RawMessage("{}")}, true
	case llm.PartReasoning:
		if p.Redacted != "" {
			return outContent{Type: "redacted_thinking", Data: ptr(p.Redacted)}, true
		}
		return outContent{Type: "thinking", Thinking: ptr(""), Signature: ptr("")}, true
	}
	return c, false
}

// StreamEncoder encodes a canonical stream as an Anthropic Messages event
// stream, one event per call to Next.
//
// It sends no ping events: they exist to keep idle connections open, which
// is the server's business (it may interleave its own), and clients ignore
// them.
type StreamEncoder struct {
	s     llm.Stream
	queue [][]byte
	err   error
	done  bool // message_stop is queued

	started  bool
	blocks   int  // blocks started
	open     bool // a block is open
	skipping bool // the open canonical part has no Anthropic form
	part     int  // canonical index of the open part
	kind     llm.PartType
	signed   bool // the open thinking block's signature is Anthropic's
	tools    bool

	usage     llm.Usage
	reasoning strings.Builder
}

// NewStreamEncoder returns an encoder reading s.
func NewStreamEncoder(s llm.Stream) *StreamEncoder { return &StreamEncoder{s: s} }

// Next returns the next event, framed as "event: T\ndata: {...}\n\n". It
// returns io.EOF after message_stop, and the canonical stream's error when
// it fails (the caller writes it with ErrorEvent); a canonical stream that
// ends without its stop event fails with class "stream_cut".
func (e *StreamEncoder) Next() ([]byte, error) {
	for len(e.queue) == 0 {
		if e.done {
			return nil, io.EOF
		}
		if e.err != nil {
			return nil, e.err
		}
		ev, err := e.s.Next()
		switch {
		case err == io.EOF:
			e.err = &llm.Error{Kind: llm.KindUpstream, Class: "stream_cut", Message: "the upstream stream ended before its stop event"}
		case err != nil:
			e.err = err
		default:
			e.add(ev)
		}
	}
	b := e.queue[0]
	e.queue = e.queue[1:]
	return b, nil
}

// Usage is the usage reported so far.
func (e *StreamEncoder) Usage() llm.Usage { return e.usage }

// Reasoning is the reasoning text seen so far, up to 1 MiB.
func (e *StreamEncoder) Reasoning() string { return e.reasoning.String() }

// Close closes the canonical stream.
func (e *StreamEncoder) Close() error { return e.s.Close() }

func (e *StreamEncoder) add(ev llm.Event) {
	if ev.Type == llm.EventStart {
		if !e.started {
			e.start(ev)
		}
		return
	}
	if !e.started {
		e.start(llm.Event{})
	}
	switch ev.Type {
	case llm.EventPartStart:
		e.closeBlock()
		if ev.Part == nil {
			return
		}
		c, ok := contentStart(*ev.Part, e.blocks)
		e.open, e.skipping, e.part, e.kind = true, !ok, ev.Index, ev.Part.Type
		if !ok {
			return
		}
		e.signed = ev.Part.Origin == Origin
		if ev.Part.Type == llm.PartToolCall {
			e.tools = true
		}
		e.event("content_block_start", struct {
			Type         string     `json:"type"`
			Index        int        `json:"index"`
			ContentBlock outContent `json:"content_block"`
		}{"content_block_start", e.blocks, c})
	case llm.EventDelta:
		if !e.open || e.skipping || ev.Index != e.part {
			return
		}
		switch e.kind {
		case llm.PartText:
			e.delta(wireDelta{Type: "text_delta", Text: &ev.Text}, ev.Text != "")
		case llm.PartToolCall:
			e.delta(wireDelta{Type: "input_json_delta", PartialJSON: &ev.Arguments}, ev.Arguments != "")
		case llm.PartReasoning:
			e.addReasoning(ev.Text)
			e.delta(wireDelta{Type: "thinking_delta", Thinking: &ev.Text}, ev.Text != "")
			// Another vendor's signature means nothing to Anthropic and
			// would make the client's replay fail verification.
			e.delta(wireDelta{Type: "signature_delta", Signature: &ev.Signature}, ev.Signature != "" && e.signed)
		}
	case llm.EventPartStop:
		if e.open && ev.Index == e.part {
			e.closeBlock()
		}
	case llm.EventStop:
		e.closeBlock()
		if ev.Usage != nil {
			e.usage = *ev.Usage
		}
		var seq *string
		if ev.StopSequence != "" {
			seq = &ev.StopSequence
		}
		// Usage here is cumulative and repeats the input counters, as the
		// API's own message_delta does: clients that read only this event
		// still get the whole count.
		e.event("message_delta", messageDelta{
			Type:  "message_delta",
			Delta: stopDelta{StopReason: stopReasonOut(ev.StopReason, e.tools), StopSequence: seq},
			Usage: wireUsageOf(e.usage),
		})
		e.event("message_stop", struct {
			Type string `json:"type"`
		}{"message_stop"})
		e.done = true
	}
}

func (e *StreamEncoder) start(ev llm.Event) {
	e.started = true
	if ev.Usage != nil {
		e.usage = *ev.Usage
	}
	e.event("message_start", struct {
		Type    string      `json:"type"`
		Message outResponse `json:"message"`
	}{"message_start", outResponse{
		ID: messageID(ev.ID), Type: "message", Role: "assistant", Model: ev.Model,
		Content: []outContent{}, Usage: wireUsageOf(e.usage),
	}})
}

type messageDelta struct {
	Type  string    `json:"type"`
	Delta stopDelta `json:"delta"`
	Usage outUsage  `json:"usage"`
}

type stopDelta struct {
	StopReason   string  `json:"stop_reason"`
	StopSequence *string `json:"stop_sequence"`
}

type wireDelta struct {
	Type        string  `json:"type"`
	Text        *string `json:"text,omitempty"`
	PartialJSON *string `json:"partial_json,omitempty"`
	Thinking    *string `json:"thinking,omitempty"`
	Signature   *string `json:"signature,omitempty"`
}

func (e *StreamEncoder) delta(d wireDelta, send bool) {
	if !send {
		return
	}
	e.event("content_block_delta", struct {
		Type  string    `json:"type"`
		Index int       `json:"index"`
		Delta wireDelta `json:"delta"`
	}{"content_block_delta", e.blocks, d})
}

func (e *StreamEncoder) closeBlock() {
	if !e.open {
		return
	}
	e.open = false
	if e.skipping {
		return
	}
	e.event("content_block_stop", struct {
		Type  string `json:"type"`
		Index int    `json:"index"`
	}{"content_block_stop", e.blocks})
	e.blocks++
}

func (e *StreamEncoder) addReasoning(s string) {
	if room := maxReasoning - e.reasoning.Len(); room > 0 {
		e.reasoning.WriteString(s[:min(len(s), room)])
	}
}

func (e *StreamEncoder) event(name string, v any) {
	b, err := marshal(v)
	if err != nil {
		// Only fixed types with string and number fields are encoded.
		panic("anthropicwire: " + err.Error())
	}
	e.queue = append(e.queue, sseEvent(name, b))
}

func sseEvent(name string, data []byte) []byte {
	b := make([]byte, 0, len(name)+len(data)+16)
	b = append(b, "event: "...)
	b = append(b, name...)
	b = append(b, "\ndata: "...)
	b = append(b, data...)
	return append(b, "\n\n"...)
}
