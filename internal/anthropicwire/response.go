package anthropicwire

import (
	"bytes"
	"encoding/json"
	"io"

	"github.com/switchyard-ai/switchyard/internal/llm"
	"github.com/switchyard-ai/switchyard/internal/sse"
)

// wireUsage is Anthropic's usage object. Pointers tell absent from zero:
// message_delta repeats only some counters, and those it omits keep the
// value message_start gave.
type wireUsage struct {
	InputTokens              *int64 `json:"input_tokens"`
	CacheCreationInputTokens *int64 `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     *int64 `json:"cache_read_input_tokens"`
	OutputTokens             *int64 `json:"output_tokens"`
	OutputTokensDetails      *struct {
		ThinkingTokens *int64 `json:"thinking_tokens"`
	} `json:"output_tokens_details"`
}

// usageState is the latest value of each Anthropic counter. Anthropic's
// counters are cumulative, so a later report replaces an earlier one.
type usageState struct {
	input, cacheWrite, cacheRead, output, thinking int64
}

func (s *usageState) merge(u *wireUsage) {
	if u == nil {
		return
	}
	set := func(dst *int64, v *int64) {
		if v != nil && *v >= 0 {
			*dst = *v
		}
	}
	set(&s.input, u.InputTokens)
	set(&s.cacheWrite, u.CacheCreationInputTokens)
	set(&s.cacheRead, u.CacheReadInputTokens)
	set(&s.output, u.OutputTokens)
	if u.OutputTokensDetails != nil {
		set(&s.thinking, u.OutputTokensDetails.ThinkingTokens)
	}
}

// canonical converts per docs/protocols.md#map-usage: Anthropic's input_tokens
// counts only the tokens after the last cache breakpoint, so the canonical
// input is the sum of the three input counters.
func (s usageState) canonical() llm.Usage {
	return llm.Usage{
		InputTokens:       s.input + s.cacheWrite + s.cacheRead,
		CachedInputTokens: s.cacheRead,
		CacheWriteTokens:  s.cacheWrite,
		OutputTokens:      s.output,
		ReasoningTokens:   min(s.thinking, s.output),
	}
}

// StopReason maps an Anthropic stop_reason to the canonical one
// (docs/protocols.md#map-stop-reasons). An unknown or absent reason is an
// end of turn.
func StopReason(s string) llm.StopReason {
	switch s {
	case "max_tokens":
		return llm.StopMaxTokens
	case "stop_sequence":
		return llm.StopSequence
	case "tool_use":
		return llm.StopToolUse
	case "pause_turn":
		return llm.StopPauseTurn
	case "refusal":
		return llm.StopContentFilter
	case "model_context_window_exceeded":
		return llm.StopContextWindow
	}
	return llm.StopEndTurn
}

type wireResponse struct {
	ID           string          `json:"id"`
	Type         string          `json:"type"`
	Model        string          `json:"model"`
	Content      []inBlock       `json:"content"`
	StopReason   *string         `json:"stop_reason"`
	StopSequence *string         `json:"stop_sequence"`
	Usage        *wireUsage      `json:"usage"`
	Error        json.RawMessage `json:"error"`
}

// DecodeResponse decodes a non-streamed Anthropic message. Content blocks
// with no canonical form (server tool blocks) are skipped.
func DecodeResponse(body []byte) (*llm.Response, error) {
	var w wireResponse
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, malformed("the upstream returned an invalid JSON message")
	}
	if w.Type == "error" {
		return nil, errorFromEvent(body)
	}
	if w.Type != "message" {
		return nil, malformed("the upstream returned something other than a message")
	}
	r := &llm.Response{ID: w.ID, Model: w.Model, Parts: []llm.Part{}}
	for _, b := range w.Content {
		p, ok := responsePart(b)
		if !ok {
			continue
		}
		switch b.Type {
		case "tool_use":
			args := bytes.TrimSpace(b.Input)
			if len(args) == 0 || string(args) == "null" {
				args = []byte("{}")
			}
			p.ToolCall.Arguments = string(args)
		case "text":
			p.Text = deref(b.Text)
		case "thinking":
			p.Text, p.Signature = deref(b.Thinking), deref(b.Signature)
		}
		r.Parts = append(r.Parts, p)
	}
	if w.StopReason != nil {
		r.StopReason = StopReason(*w.StopReason)
	} else {
		r.StopReason = llm.StopEndTurn
	}
	if w.StopSequence != nil {
		r.StopSequence = *w.StopSequence
	}
	var u usageState
	u.merge(w.Usage)
	r.Usage = u.canonical()
	return r, nil
}

// responsePart returns the part a content block starts, with the fields
// known when the block starts; ok is false for blocks with no canonical
// form.
func responsePart(b inBlock) (p llm.Part, ok bool) {
	switch b.Type {
	case "text":
		return llm.Part{Type: llm.PartText}, true
	case "thinking":
		return llm.Part{Type: llm.PartReasoning, Origin: Origin}, true
	case "redacted_thinking":
		return llm.Part{Type: llm.PartReasoning, Redacted: deref(b.Data), Origin: Origin}, true
	case "tool_use":
		return llm.Part{Type: llm.PartToolCall, ToolCall: &llm.ToolCall{ID: b.ID, Name: b.Name}}, true
	}
	return llm.Part{}, false
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func malformed(msg string) *llm.Error {
	return &llm.Error{Kind: llm.KindUpstream, Class: "upstream_malformed", Message: msg}
}

// streamEvent is any event of a Messages stream.
type streamEvent struct {
	Type    string `json:"type"`
	Message *struct {
		ID    string     `json:"id"`
		Model string     `json:"model"`
		Usage *wireUsage `json:"usage"`
	} `json:"message"`
	Index        *int     `json:"index"`
	ContentBlock *inBlock `json:"content_block"`
	Delta        *struct {
		Type         string  `json:"type"`
		Text         string  `json:"text"`
		Thinking     string  `json:"thinking"`
		Signature    string  `json:"signature"`
		PartialJSON  string  `json:"partial_json"`
		StopReason   *string `json:"stop_reason"`
		StopSequence *string `json:"stop_sequence"`
	} `json:"delta"`
	Usage *wireUsage `json:"usage"`
}

// DecodeStream decodes an Anthropic Messages event stream into canonical
// events. It reads body lazily and closes it on Close.
//
// Blocks without a canonical form are skipped, and canonical part indexes
// count only the blocks kept. ping and unknown events are ignored. A stream
// that ends before message_stop fails with an *llm.Error of class
// "stream_cut"; an error event fails it with the vendor's error.
func DecodeStream(body io.ReadCloser) llm.Stream {
	return &stream{body: body, r: sse.NewReader(body), index: map[int]int{}}
}

type stream struct {
	body io.ReadCloser
	r    *sse.Reader

	queue   []llm.Event
	err     error // sticky: returned once the queue drains
	started bool
	stopped bool

	index   map[int]int // upstream block index → canonical part index
	parts   int         // canonical parts started
	open    int         // upstream index of the open block, or -1 when none
	isOpen  bool
	isTool  bool // the open block is a tool call
	hasArgs bool // ... that received argument text

	usage        usageState
	stopReason   string
	stopSequence string
}

func (s *stream) Close() error { return s.body.Close() }

func (s *stream) Next() (llm.Event, error) {
	for len(s.queue) == 0 {
		if s.err != nil {
			return llm.Event{}, s.err
		}
		s.step()
	}
	ev := s.queue[0]
	s.queue = s.queue[1:]
	return ev, nil
}

// step reads one upstream event and queues the canonical events it
// produces, or sets s.err.
func (s *stream) step() {
	if s.stopped {
		s.err = io.EOF
		return
	}
	ev, err := s.r.Next()
	if err != nil {
		s.err = llm.ReadError(err)
		return
	}
	s.handle(ev)
}

// handle queues the canonical events one upstream event produces, or sets
// s.err.
func (s *stream) handle(ev sse.Event) {
	if ev.Comment || ev.Data == nil {
		return
	}
	var e streamEvent
	if json.Unmarshal(ev.Data, &e) != nil {
		s.err = malformed("the upstream sent an event that is not JSON")
		return
	}
	if e.Type == "" {
		e.Type = ev.Name
	}
	switch e.Type {
	case "message_start":
		if s.started || e.Message == nil {
			s.err = malformed("the upstream sent a misplaced message_start")
			return
		}
		s.started = true
		s.usage.merge(e.Message.Usage)
		u := s.usage.canonical()
		s.emit(llm.Event{Type: llm.EventStart, ID: e.Message.ID, Model: e.Message.Model, Usage: &u})
	case "content_block_start":
		if !s.started || e.Index == nil || e.ContentBlock == nil {
			s.err = malformed("the upstream sent a misplaced content_block_start")
			return
		}
		if _, dup := s.index[*e.Index]; dup || (s.isOpen && *e.Index == s.open) {
			s.err = malformed("the upstream started a content block twice")
			return
		}
		s.closeOpen()
		s.startBlock(*e.Index, *e.ContentBlock)
	case "content_block_delta":
		if e.Index == nil || e.Delta == nil {
			s.err = malformed("the upstream sent a content_block_delta without index or delta")
			return
		}
		s.delta(*e.Index, e)
	case "content_block_stop":
		if e.Index == nil {
			s.err = malformed("the upstream sent a content_block_stop without index")
			return
		}
		if s.isOpen && *e.Index == s.open {
			s.closeOpen()
		}
	case "message_delta":
		if e.Delta != nil {
			if e.Delta.StopReason != nil {
				s.stopReason = *e.Delta.StopReason
			}
			if e.Delta.StopSequence != nil {
				s.stopSequence = *e.Delta.StopSequence
			}
		}
		s.usage.merge(e.Usage)
	case "message_stop":
		if !s.started {
			s.err = malformed("the upstream sent message_stop before message_start")
			return
		}
		s.closeOpen()
		u := s.usage.canonical()
		s.emit(llm.Event{Type: llm.EventStop, StopReason: StopReason(s.stopReason), StopSequence: s.stopSequence, Usage: &u})
		s.stopped = true
	case "error":
		s.err = errorFromEvent(ev.Data)
	}
	// ping and event types added after this was written are ignored
	// (docs/protocols.md#sse).
}

func (s *stream) emit(ev llm.Event) { s.queue = append(s.queue, ev) }

func (s *stream) startBlock(upstream int, b inBlock) {
	p, ok := responsePart(b)
	if !ok {
		return // a server tool block: skipped, with its deltas
	}
	i := s.parts
	s.parts++
	s.index[upstream] = i
	s.open, s.isOpen, s.isTool, s.hasArgs = upstream, true, p.Type == llm.PartToolCall, false
	s.emit(llm.Event{Type: llm.EventPartStart, Index: i, Part: &p})
	// Text known at the start (not sent by Anthropic today, but allowed by
	// the block shapes) becomes a delta, so nothing is lost.
	switch b.Type {
	case "text":
		if t := deref(b.Text); t != "" {
			s.emit(llm.Event{Type: llm.EventDelta, Index: i, Text: t})
		}
	case "thinking":
		if t, sig := deref(b.Thinking), deref(b.Signature); t != "" || sig != "" {
			s.emit(llm.Event{Type: llm.EventDelta, Index: i, Text: t, Signature: sig})
		}
	case "tool_use":
		if in := bytes.TrimSpace(b.Input); len(in) > 0 && string(in) != "{}" && string(in) != "null" {
			s.hasArgs = true
			s.emit(llm.Event{Type: llm.EventDelta, Index: i, Arguments: string(in)})
		}
	}
}

func (s *stream) delta(upstream int, e streamEvent) {
	if _, kept := s.index[upstream]; !kept {
		return // a delta of a skipped block
	}
	if !s.isOpen || upstream != s.open {
		s.err = malformed("the upstream sent a delta for a block that is not open")
		return
	}
	i := s.index[upstream]
	d := e.Delta
	switch d.Type {
	case "text_delta":
		if d.Text != "" {
			s.emit(llm.Event{Type: llm.EventDelta, Index: i, Text: d.Text})
		}
	case "thinking_delta":
		if d.Thinking != "" {
			s.emit(llm.Event{Type: llm.EventDelta, Index: i, Text: d.Thinking})
		}
	case "signature_delta":
		if d.Signature != "" {
			s.emit(llm.Event{Type: llm.EventDelta, Index: i, Signature: d.Signature})
		}
	case "input_json_delta":
		// The first fragment is often "" (docs/protocols.md#anthropic-stream).
		if d.PartialJSON != "" {
			s.hasArgs = true
			s.emit(llm.Event{Type: llm.EventDelta, Index: i, Arguments: d.PartialJSON})
		}
	}
	// citations_delta and newer delta types have no canonical form.
}

// closeOpen ends the open block, if any. A tool call that received no
// argument text (a tool without parameters sends only "") gets "{}", so
// that every decoded call carries a JSON object.
func (s *stream) closeOpen() {
	if !s.isOpen {
		return
	}
	i := s.index[s.open]
	if s.isTool && !s.hasArgs {
		s.emit(llm.Event{Type: llm.EventDelta, Index: i, Arguments: "{}"})
	}
	s.emit(llm.Event{Type: llm.EventPartStop, Index: i})
	s.isOpen = false
}
