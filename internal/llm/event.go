package llm

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// StopReason is why the model stopped, in canonical terms
// (docs/protocols.md#map-stop-reasons).
type StopReason string

const (
	StopEndTurn       StopReason = "end_turn"
	StopSequence      StopReason = "stop_sequence"
	StopToolUse       StopReason = "tool_use"
	StopMaxTokens     StopReason = "max_tokens"
	StopContextWindow StopReason = "context_window_exceeded"
	// StopContentFilter is a safety stop: OpenAI's content_filter,
	// Anthropic's refusal, Gemini's SAFETY and kin.
	StopContentFilter StopReason = "content_filter"
	// StopPauseTurn is Anthropic's pause_turn (a server tool loop paused).
	StopPauseTurn StopReason = "pause_turn"
	// StopError is a vendor-side failure reported as a finish reason
	// (Gemini's MALFORMED_FUNCTION_CALL, DeepSeek's
	// insufficient_system_resource).
	StopError StopReason = "error"
)

// EventType is the kind of a stream event.
type EventType uint8

const (
	// EventStart opens the response: ID, Model and, when the vendor
	// reports it this early, Usage with the input counts.
	EventStart EventType = iota + 1
	// EventPartStart opens part Index; Part carries its type and the fields
	// known up front (a tool call's id and name, a redacted block's data).
	EventPartStart
	// EventDelta appends to part Index: Text (text or reasoning), Arguments
	// (a tool call's JSON fragment) or Signature.
	EventDelta
	// EventPartStop closes part Index.
	EventPartStop
	// EventStop ends the response: StopReason, StopSequence and the final,
	// cumulative Usage.
	EventStop
)

func (t EventType) String() string {
	switch t {
	case EventStart:
		return "start"
	case EventPartStart:
		return "part_start"
	case EventDelta:
		return "delta"
	case EventPartStop:
		return "part_stop"
	case EventStop:
		return "stop"
	}
	return fmt.Sprintf("EventType(%d)", t)
}

// Event is one step of a streamed response.
//
// A well-formed stream is: Start, then for each part in order PartStart,
// any number of Deltas and PartStop, then Stop. Parts do not overlap, and
// Index counts them from 0 in order. Decoders of dialects that interleave
// parts (parallel OpenAI tool calls) hold parts back to keep this order, so
// every encoder can write blocks sequentially.
type Event struct {
	Type EventType `json:"type"`

	ID    string `json:"id,omitempty"`    // Start
	Model string `json:"model,omitempty"` // Start

	Index int   `json:"index"`          // PartStart, Delta, PartStop
	Part  *Part `json:"part,omitempty"` // PartStart

	Text      string `json:"text,omitempty"`      // Delta
	Arguments string `json:"arguments,omitempty"` // Delta
	Signature string `json:"signature,omitempty"` // Delta

	StopReason   StopReason `json:"stop_reason,omitempty"`   // Stop
	StopSequence string     `json:"stop_sequence,omitempty"` // Stop
	Usage        *Usage     `json:"usage,omitempty"`         // Start, Stop
}

// Stream is a streamed response in canonical events.
type Stream interface {
	// Next returns the next event. It returns io.EOF after the Stop event,
	// and an *Error when the stream fails (cut before Stop, malformed, or
	// an error event from the vendor).
	Next() (Event, error)
	// Close releases the upstream connection; it may be called at any time.
	Close() error
}

// Response is a whole (non-streamed) response.
type Response struct {
	ID           string     `json:"id"`
	Model        string     `json:"model"`
	Parts        []Part     `json:"parts"`
	StopReason   StopReason `json:"stop_reason"`
	StopSequence string     `json:"stop_sequence,omitempty"`
	Usage        Usage      `json:"usage"`
}

// Text is the concatenated text parts.
func (r *Response) Text() string {
	var b strings.Builder
	for _, p := range r.Parts {
		if p.Type == PartText {
			b.WriteString(p.Text)
		}
	}
	return b.String()
}

// Reasoning is the concatenated reasoning text.
func (r *Response) Reasoning() string {
	var b strings.Builder
	for _, p := range r.Parts {
		if p.Type == PartReasoning {
			b.WriteString(p.Text)
		}
	}
	return b.String()
}

// Collect reads s to its end and assembles the response. It closes s.
func Collect(s Stream) (*Response, error) {
	defer s.Close()
	var a Accumulator
	for {
		ev, err := s.Next()
		if err == io.EOF {
			if !a.Stopped() {
				return nil, &Error{Kind: KindUpstream, Class: "stream_cut", Message: "the upstream stream ended before its stop event"}
			}
			return &a.Response, nil
		}
		if err != nil {
			return nil, err
		}
		if err := a.Add(ev); err != nil {
			return nil, err
		}
	}
}

// Accumulator assembles a Response from events and checks their order.
type Accumulator struct {
	Response Response
	open     bool
	stopped  bool
}

// Stopped reports whether the Stop event was added.
func (a *Accumulator) Stopped() bool { return a.stopped }

var errOrder = errors.New("llm: event out of order")

// Add applies ev. It returns an error wrapping a description of the fault
// when ev breaks the stream grammar; tests of every decoder rely on it.
func (a *Accumulator) Add(ev Event) error {
	r := &a.Response
	if a.stopped {
		return fmt.Errorf("%w: %s after stop", errOrder, ev.Type)
	}
	switch ev.Type {
	case EventStart:
		if r.ID != "" || len(r.Parts) > 0 {
			return fmt.Errorf("%w: second start", errOrder)
		}
		r.ID, r.Model = ev.ID, ev.Model
		if ev.Usage != nil {
			r.Usage = *ev.Usage
		}
	case EventPartStart:
		if a.open || ev.Part == nil || ev.Index != len(r.Parts) {
			return fmt.Errorf("%w: part_start %d with %d parts (open %v)", errOrder, ev.Index, len(r.Parts), a.open)
		}
		p := *ev.Part
		if p.ToolCall != nil {
			tc := *p.ToolCall
			p.ToolCall = &tc
		}
		r.Parts = append(r.Parts, p)
		a.open = true
	case EventDelta:
		if !a.open || ev.Index != len(r.Parts)-1 {
			return fmt.Errorf("%w: delta for part %d", errOrder, ev.Index)
		}
		p := &r.Parts[ev.Index]
		p.Text += ev.Text
		if p.ToolCall != nil {
			p.ToolCall.Arguments += ev.Arguments
			p.ToolCall.Signature += ev.Signature
		} else {
			p.Signature += ev.Signature
		}
	case EventPartStop:
		if !a.open || ev.Index != len(r.Parts)-1 {
			return fmt.Errorf("%w: part_stop for part %d", errOrder, ev.Index)
		}
		a.open = false
	case EventStop:
		if a.open {
			return fmt.Errorf("%w: stop with part %d open", errOrder, len(r.Parts)-1)
		}
		r.StopReason, r.StopSequence = ev.StopReason, ev.StopSequence
		if ev.Usage != nil {
			r.Usage = *ev.Usage
		}
		a.stopped = true
	default:
		return fmt.Errorf("%w: unknown event type %d", errOrder, ev.Type)
	}
	return nil
}

// Events replays r as a stream: Start, each part whole, Stop. Providers
// use it for non-streamed upstream answers, so that every ingress encodes
// from one kind of input.
func (r *Response) Events() Stream {
	evs := make([]Event, 0, 2+3*len(r.Parts))
	evs = append(evs, Event{Type: EventStart, ID: r.ID, Model: r.Model})
	for i, p := range r.Parts {
		start := p
		start.Text, start.Signature = "", ""
		if p.ToolCall != nil {
			tc := *p.ToolCall
			tc.Arguments, tc.Signature = "", ""
			start.ToolCall = &tc
		}
		evs = append(evs, Event{Type: EventPartStart, Index: i, Part: &start})
		d := Event{Type: EventDelta, Index: i, Text: p.Text, Signature: p.Signature}
		if p.ToolCall != nil {
			d.Arguments, d.Signature = p.ToolCall.Arguments, p.ToolCall.Signature
		}
		if d.Text != "" || d.Arguments != "" || d.Signature != "" {
			evs = append(evs, d)
		}
		evs = append(evs, Event{Type: EventPartStop, Index: i})
	}
	u := r.Usage
	evs = append(evs, Event{Type: EventStop, StopReason: r.StopReason, StopSequence: r.StopSequence, Usage: &u})
	return &sliceStream{evs: evs}
}

type sliceStream struct {
	evs []Event
	i   int
}

func (s *sliceStream) Next() (Event, error) {
	if s.i >= len(s.evs) {
		return Event{}, io.EOF
	}
	s.i++
	return s.evs[s.i-1], nil
}

func (s *sliceStream) Close() error { return nil }
