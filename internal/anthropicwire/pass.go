package anthropicwire

import (
	"io"
	"strings"

	"github.com/switchyard-ai/switchyard/internal/llm"
	"github.com/switchyard-ai/switchyard/internal/sse"
)

// PassStream passes an Anthropic event stream through to an Anthropic
// client byte for byte (docs/dialects.md). Each event is also decoded, as
// DecodeStream does, for what the gateway must know and would otherwise
// lose: the usage to charge, the reasoning to log, where the stream ends,
// and whether it failed.
type PassStream struct {
	s         stream
	meter     llm.Meter
	part      llm.PartType // type of the open canonical part
	reasoning strings.Builder
}

// NewPassStream returns the pass-through of the event stream in body,
// which it closes on Close.
func NewPassStream(body io.ReadCloser) *PassStream {
	return &PassStream{s: stream{body: body, r: sse.NewReader(body), index: map[int]int{}}}
}

// Next returns the next event's bytes as the vendor sent them. It returns
// io.EOF after message_stop, and an *llm.Error when the stream fails: cut,
// malformed, or an error event (whose bytes the server then writes in the
// client's dialect, which is the vendor's).
func (p *PassStream) Next() ([]byte, error) {
	if p.s.stopped {
		return nil, io.EOF
	}
	ev, err := p.s.r.Next()
	if err != nil {
		return nil, llm.ReadError(err)
	}
	p.s.handle(ev)
	if p.s.err != nil {
		return nil, p.s.err
	}
	for _, e := range p.s.queue {
		p.meter.Observe(e)
		switch e.Type {
		case llm.EventPartStart:
			p.part = e.Part.Type
		case llm.EventDelta:
			if p.part == llm.PartReasoning && p.reasoning.Len() < maxReasoning {
				p.reasoning.WriteString(e.Text[:min(len(e.Text), maxReasoning-p.reasoning.Len())])
			}
		}
	}
	p.s.queue = p.s.queue[:0]
	// The reader reuses its buffer; the frame may be held while the
	// router decides on the attempt.
	return append([]byte(nil), ev.Raw...), nil
}

// Usage is the usage reported so far.
func (p *PassStream) Usage() llm.Usage { return p.s.usage.canonical() }

// Meter is the stream's meter, for charging a stream that ends early.
func (p *PassStream) Meter() *llm.Meter { return &p.meter }

// Reasoning is the thinking text seen so far (bounded).
func (p *PassStream) Reasoning() string { return p.reasoning.String() }

// Close releases the upstream connection.
func (p *PassStream) Close() error { return p.s.body.Close() }
