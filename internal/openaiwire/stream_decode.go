package openaiwire

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"

	"github.com/switchyard-ai/switchyard/internal/llm"
	"github.com/switchyard-ai/switchyard/internal/sse"
)

// ByteStream is a chat completions stream as server-sent event bytes; a
// chunk may hold any number of whole or partial events. provider.Stream
// is one.
type ByteStream interface {
	Next() ([]byte, error)
	Close() error
}

// DecodeStream translates a chat completions stream into canonical events.
//
// The OpenAI stream is flat deltas where the canonical one is sequential
// parts, so the decoder keeps one part open at a time:
//   - reasoning and text stream live; a change from one to the other
//     closes the open part and opens the next (text resuming after
//     reasoning is a new part, nothing is lost).
//   - every field of every delta is read, in the order reasoning, content,
//     tool calls (docs/protocols.md#trap-mixed-delta); tool calls are assembled
//     by index, not id (docs/protocols.md#trap-tool-call-index).
//   - the first tool call streams live. Parallel calls may interleave their
//     fragments, and a closed part cannot be reopened, so the live call
//     stays open and every part that begins after it (another call, or
//     text) is held back and emitted whole when the choice finishes. A
//     call whose first delta lacks its id or name is held back too, since
//     a part's id and name are fixed when it starts.
//   - usage is taken from whichever chunk carries it (the last one wins,
//     before or after finish_reason, docs/protocols.md#trap-stream-usage), and
//     Stop is emitted only
//     at [DONE]: a stream that ends without it is cut (class
//     "stream_cut"), whatever finish_reason said.
//   - only choice 0 is read; the gateway never asks for n > 1; chunks
//     without choices (Azure's prompt filter results) only carry usage.
//
// Errors reported by s are passed on as they are; an error chunk becomes an
// *llm.Error.
func DecodeStream(s ByteStream) llm.Stream {
	return &streamDecoder{src: s, rd: sse.NewReader(&byteReader{s: s}), tools: map[int]*toolState{}}
}

// byteReader reads a ByteStream as an io.Reader. It copies each chunk out
// before asking for the next, so the stream may reuse its buffers.
type byteReader struct {
	s   ByteStream
	buf []byte
	err error
}

func (r *byteReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		r.buf, r.err = r.s.Next()
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

type partKind uint8

const (
	noPart partKind = iota
	textPart
	reasoningPart
	toolPart
)

// toolState is one tool call being assembled.
type toolState struct {
	id, name, sig string
	args          strings.Builder
	live          bool // its part was started (and its args streamed)
	done          bool // its part was emitted and closed
}

// heldPart is a part kept back until the choice finishes: a tool call, or
// text or reasoning that came after the live tool call began.
type heldPart struct {
	kind partKind
	text strings.Builder
	tool *toolState
}

type streamDecoder struct {
	src   ByteStream
	rd    *sse.Reader
	queue []llm.Event
	err   error // sticky, returned once the queue is drained
	done  bool  // Stop was queued

	started  bool
	parts    int      // parts started so far
	open     partKind // the live part's kind, if one is open
	liveTool *toolState
	tools    map[int]*toolState
	lastTool int // index of the latest call, for calls sent without one
	held     []*heldPart
	finish   string
	anyTool  bool
	usage    *llm.Usage
}

type wireChunk struct {
	ID      string `json:"id"`
	Model   string `json:"model"`
	Choices []struct {
		Index int `json:"index"`
		Delta struct {
			Content          json.RawMessage `json:"content"`
			ReasoningContent *string         `json:"reasoning_content"`
			Reasoning        *string         `json:"reasoning"`
			Refusal          *string         `json:"refusal"`
			ToolCalls        []wireToolCall  `json:"tool_calls"`
		} `json:"delta"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *Usage          `json:"usage"`
	Error json.RawMessage `json:"error"`
}

func (d *streamDecoder) Close() error { return d.src.Close() }

// Next implements llm.Stream.
func (d *streamDecoder) Next() (llm.Event, error) {
	for len(d.queue) == 0 {
		if d.err != nil {
			return llm.Event{}, d.err
		}
		if d.done {
			return llm.Event{}, io.EOF
		}
		d.err = d.step()
	}
	ev := d.queue[0]
	d.queue = d.queue[1:]
	return ev, nil
}

// step reads one event from the upstream and queues what it produces.
func (d *streamDecoder) step() error {
	ev, err := d.rd.Next()
	if err != nil {
		var le *llm.Error
		switch {
		case errors.As(err, &le):
			return le
		case errors.Is(err, sse.ErrEventTooLarge):
			return malformed("the upstream sent a stream event larger than the gateway accepts")
		}
		return &llm.Error{Kind: llm.KindUpstream, Class: "stream_cut", Message: "the upstream stream ended before it was complete"}
	}
	if ev.Comment || ev.Data == nil {
		return nil // keep-alives and blank events carry nothing
	}
	data := bytes.TrimSpace(ev.Data)
	if string(data) == "[DONE]" {
		d.end()
		return nil
	}
	var c wireChunk
	if err := json.Unmarshal(data, &c); err != nil {
		return malformed("the upstream sent a malformed stream chunk")
	}
	if e := errorObject(c.Error, "upstream_stream_error"); e != nil {
		return e
	}
	// Azure's first chunk (prompt_filter_results, no id, no choices) carries
	// nothing canonical; Start waits for the response's id
	// (docs/protocols.md#trap-azure-first-chunk).
	if !d.started && (c.ID != "" || len(c.Choices) > 0 || c.Usage != nil) {
		d.started = true
		d.emit(llm.Event{Type: llm.EventStart, ID: c.ID, Model: c.Model})
	}
	if c.Usage != nil {
		u := c.Usage.Canonical()
		d.usage = &u
	}
	for _, ch := range c.Choices {
		if ch.Index != 0 {
			continue
		}
		delta := &ch.Delta
		if r := firstNonEmpty(delta.ReasoningContent, delta.Reasoning); r != "" {
			d.text(reasoningPart, r)
		}
		if t := contentText(delta.Content); t != "" {
			d.text(textPart, t)
		} else if delta.Refusal != nil && *delta.Refusal != "" {
			d.text(textPart, *delta.Refusal)
		}
		for i := range delta.ToolCalls {
			if err := d.tool(&delta.ToolCalls[i]); err != nil {
				return err
			}
		}
		if ch.FinishReason != nil && *ch.FinishReason != "" {
			d.finish = *ch.FinishReason
			d.flush()
		}
	}
	return nil
}

func (d *streamDecoder) emit(ev llm.Event) { d.queue = append(d.queue, ev) }

// holding reports whether new parts must be held back.
func (d *streamDecoder) holding() bool { return d.open == toolPart || len(d.held) > 0 }

func (d *streamDecoder) text(kind partKind, s string) {
	if d.holding() {
		if n := len(d.held); n > 0 && d.held[n-1].kind == kind {
			d.held[n-1].text.WriteString(s)
			return
		}
		h := &heldPart{kind: kind}
		h.text.WriteString(s)
		d.held = append(d.held, h)
		return
	}
	if d.open != kind {
		d.closeOpen()
		typ := llm.PartText
		if kind == reasoningPart {
			typ = llm.PartReasoning
		}
		d.emit(llm.Event{Type: llm.EventPartStart, Index: d.parts, Part: &llm.Part{Type: typ}})
		d.parts++
		d.open = kind
	}
	d.emit(llm.Event{Type: llm.EventDelta, Index: d.parts - 1, Text: s})
}

func (d *streamDecoder) tool(w *wireToolCall) error {
	idx := d.lastTool
	switch {
	case w.Index != nil:
		idx = *w.Index
	case w.ID != "" && (d.tools[idx] == nil || d.tools[idx].id != w.ID):
		// No index (some servers): a new id is a new call.
		if len(d.tools) > 0 {
			idx++
		}
	}
	d.lastTool = idx
	d.anyTool = true
	args := ""
	if w.Function.Arguments != nil {
		args = *w.Function.Arguments
	}
	sig := w.ExtraContent.signature()
	t := d.tools[idx]
	if t == nil {
		t = &toolState{id: w.ID, name: w.Function.Name, sig: sig}
		t.args.WriteString(args)
		d.tools[idx] = t
		if d.holding() || t.id == "" || t.name == "" {
			d.held = append(d.held, &heldPart{kind: toolPart, tool: t})
			return nil
		}
		d.closeOpen()
		t.live = true
		d.liveTool = t
		d.open = toolPart
		d.emit(llm.Event{Type: llm.EventPartStart, Index: d.parts, Part: &llm.Part{Type: llm.PartToolCall, ToolCall: t.call()}})
		d.parts++
		if args != "" || sig != "" {
			d.emit(llm.Event{Type: llm.EventDelta, Index: d.parts - 1, Arguments: args, Signature: sig})
		}
		return nil
	}
	switch {
	case t.done:
		// Live calls are closed only at finish_reason, so this is a call
		// continued after its choice finished: unrepresentable, and a
		// vendor fault worth failing on unless it carries nothing.
		if args != "" || sig != "" {
			return malformed("the upstream sent a fragment of a tool call after the choice finished")
		}
	case t.live:
		t.args.WriteString(args)
		if args != "" || sig != "" {
			t.sig += sig
			d.emit(llm.Event{Type: llm.EventDelta, Index: d.parts - 1, Arguments: args, Signature: sig})
		}
	default: // held
		t.args.WriteString(args)
		t.sig += sig
		if t.id == "" {
			t.id = w.ID
		}
		if t.name == "" {
			t.name = w.Function.Name
		}
	}
	return nil
}

// call returns the tool call as it is known when its part starts.
func (t *toolState) call() *llm.ToolCall {
	tc := &llm.ToolCall{ID: t.id, Name: t.name}
	if t.sig != "" {
		tc.Origin = "gemini"
	}
	return tc
}

// closeOpen closes the live part, if any.
func (d *streamDecoder) closeOpen() {
	if d.open == noPart {
		return
	}
	if t := d.liveTool; d.open == toolPart && t != nil {
		if t.args.Len() == 0 {
			// A call without arguments has the arguments {}.
			d.emit(llm.Event{Type: llm.EventDelta, Index: d.parts - 1, Arguments: "{}"})
		}
		t.done = true
		d.liveTool = nil
	}
	d.emit(llm.Event{Type: llm.EventPartStop, Index: d.parts - 1})
	d.open = noPart
}

// flush closes the live part and emits the held ones whole.
func (d *streamDecoder) flush() {
	d.closeOpen()
	held := d.held
	d.held = nil
	for _, h := range held {
		i := d.parts
		d.parts++
		switch h.kind {
		case toolPart:
			t := h.tool
			args := t.args.String()
			if args == "" {
				args = "{}"
			}
			d.emit(llm.Event{Type: llm.EventPartStart, Index: i, Part: &llm.Part{Type: llm.PartToolCall, ToolCall: t.call()}})
			d.emit(llm.Event{Type: llm.EventDelta, Index: i, Arguments: args, Signature: t.sig})
			t.done = true
		default:
			typ := llm.PartText
			if h.kind == reasoningPart {
				typ = llm.PartReasoning
			}
			d.emit(llm.Event{Type: llm.EventPartStart, Index: i, Part: &llm.Part{Type: typ}})
			d.emit(llm.Event{Type: llm.EventDelta, Index: i, Text: h.text.String()})
		}
		d.emit(llm.Event{Type: llm.EventPartStop, Index: i})
	}
}

// end handles [DONE]: every part is closed and the response stops.
func (d *streamDecoder) end() {
	if !d.started {
		d.started = true
		d.emit(llm.Event{Type: llm.EventStart})
	}
	d.flush()
	stop := llm.Event{Type: llm.EventStop, StopReason: stopReason(d.finish, d.anyTool), Usage: d.usage}
	if stop.Usage == nil {
		stop.Usage = &llm.Usage{}
	}
	d.emit(stop)
	d.done = true
}
