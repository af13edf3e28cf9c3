package openaiwire

import (
	"io"
	"strings"
	"time"

	"github.com/switchyard-ai/switchyard/internal/llm"
)

// maxReasoning bounds the reasoning text a StreamEncoder keeps for the
// request log.
const maxReasoning = 1 << 20

var doneEvent = []byte("data: [DONE]\n\n")

// StreamEncoder renders canonical events as a chat completions stream. It
// is a provider.Stream.
type StreamEncoder struct {
	s            llm.Stream
	includeUsage bool
	created      int64

	id, model string
	started   bool
	stopped   bool // the finish chunk was written
	pending   [][]byte
	done      bool // [DONE] was returned

	tools     int // tool calls started so far
	toolIndex int // the open tool call's index in tool_calls
	gemini    bool
	kind      llm.PartType // the open part's type

	usage     llm.Usage
	meter     llm.Meter
	reasoning strings.Builder
}

// NewStreamEncoder returns an encoder of s. includeUsage is the client's
// stream_options.include_usage: only then is the usage chunk written.
func NewStreamEncoder(s llm.Stream, includeUsage bool) *StreamEncoder {
	return &StreamEncoder{s: s, includeUsage: includeUsage, created: time.Now().Unix()}
}

// Usage is the usage seen so far.
func (e *StreamEncoder) Usage() llm.Usage { return e.usage }

// Reasoning is the reasoning text seen so far, up to 1 MiB.
func (e *StreamEncoder) Reasoning() string { return e.reasoning.String() }

// Meter follows the events encoded so far, for charging a stream that
// ends early.
func (e *StreamEncoder) Meter() *llm.Meter { return &e.meter }

// Close closes the canonical stream.
func (e *StreamEncoder) Close() error { return e.s.Close() }

// Next returns the next event to write: one chunk, then data: [DONE], then
// io.EOF. When the canonical stream fails, Next returns its error; a stream
// that ends before its Stop event fails with class "stream_cut".
func (e *StreamEncoder) Next() ([]byte, error) {
	for len(e.pending) == 0 {
		if e.done {
			return nil, io.EOF
		}
		if e.stopped {
			e.done = true
			return doneEvent, nil
		}
		ev, err := e.s.Next()
		if err == io.EOF {
			return nil, &llm.Error{Kind: llm.KindUpstream, Class: "stream_cut", Message: "the upstream stream ended before it was complete"}
		}
		if err != nil {
			return nil, err
		}
		e.event(ev)
	}
	out := e.pending[0]
	e.pending = e.pending[1:]
	return out, nil
}

// event queues the chunks for one canonical event.
func (e *StreamEncoder) event(ev llm.Event) {
	e.meter.Observe(ev)
	switch ev.Type {
	case llm.EventStart:
		e.id, e.model = completionID(ev.ID), ev.Model
		if ev.Usage != nil {
			e.usage = *ev.Usage
		}
		e.start()
	case llm.EventPartStart:
		e.start()
		p := ev.Part
		if p == nil {
			return
		}
		e.kind = p.Type
		switch p.Type {
		case llm.PartToolCall:
			if p.ToolCall == nil {
				return
			}
			// The first delta of a call has its index, id, type, name and
			// empty arguments; the arguments follow
			// (docs/protocols.md#trap-tool-call-index).
			e.toolIndex = e.tools
			e.tools++
			e.gemini = p.ToolCall.Origin == "gemini"
			tc := *p.ToolCall
			tc.Arguments, tc.Signature = "", ""
			i := e.toolIndex
			e.delta(deltaBody{ToolCalls: []wireToolCall{toolCallOut(&tc, &i)}})
		case llm.PartText, llm.PartReasoning:
			e.text(p.Type, p.Text)
		}
	case llm.EventDelta:
		e.start()
		switch e.kind {
		case llm.PartToolCall:
			if ev.Arguments == "" && (ev.Signature == "" || !e.gemini) {
				return
			}
			i := e.toolIndex
			w := wireToolCall{Index: &i}
			w.Function.Arguments = &ev.Arguments
			if ev.Signature != "" && e.gemini {
				w.ExtraContent = geminiExtra(ev.Signature)
			}
			e.delta(deltaBody{ToolCalls: []wireToolCall{w}})
		case llm.PartText, llm.PartReasoning:
			e.text(e.kind, ev.Text)
		}
	case llm.EventStop:
		e.start()
		if ev.Usage != nil {
			e.usage = *ev.Usage
		}
		finish := finishReason(ev.StopReason)
		e.chunk([]completionChoice{{Delta: &deltaBody{}, FinishReason: &finish}}, nil)
		if e.includeUsage {
			e.chunk([]completionChoice{}, usageOf(e.usage))
		}
		e.stopped = true
	}
}

// start writes the first chunk, which carries the role
// (docs/protocols.md#trap-sdk-shape), once.
func (e *StreamEncoder) start() {
	if e.started {
		return
	}
	e.started = true
	if e.id == "" {
		e.id = completionID("")
	}
	empty := ""
	e.delta(deltaBody{Role: "assistant", Content: &empty})
}

func (e *StreamEncoder) text(kind llm.PartType, s string) {
	if s == "" {
		return
	}
	if kind == llm.PartReasoning {
		if room := maxReasoning - e.reasoning.Len(); room > 0 {
			e.reasoning.WriteString(s[:min(len(s), room)])
		}
		e.delta(deltaBody{ReasoningContent: &s})
		return
	}
	e.delta(deltaBody{Content: &s})
}

func (e *StreamEncoder) delta(m deltaBody) {
	e.chunk([]completionChoice{{Delta: &m}}, nil)
}

// chunkBody is a chat.completion.chunk. Usage is a pointer to a pointer so
// that it can be left out (the client did not ask for usage), null (every
// chunk but the last, as OpenAI sends them) or set.
type chunkBody struct {
	ID      string             `json:"id"`
	Object  string             `json:"object"`
	Created int64              `json:"created"`
	Model   string             `json:"model"`
	Choices []completionChoice `json:"choices"`
	Usage   **usageBody        `json:"usage,omitempty"`
}

func (e *StreamEncoder) chunk(choices []completionChoice, u *usageBody) {
	c := chunkBody{ID: e.id, Object: "chat.completion.chunk", Created: e.created, Model: e.model, Choices: choices}
	if e.includeUsage {
		c.Usage = &u
	}
	b := append([]byte("data: "), marshal(c)...)
	b = append(b, "\n\n"...)
	e.pending = append(e.pending, b)
}
