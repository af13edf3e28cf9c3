package server

import (
	"strings"

	"github.com/switchyard-ai/switchyard/internal/dialect"
	"github.com/switchyard-ai/switchyard/internal/llm"
	"github.com/switchyard-ai/switchyard/internal/provider"
	"github.com/switchyard-ai/switchyard/internal/router"
)

// maxRecorded bounds the text and reasoning a tap keeps for the request log.
const maxRecorded = 1 << 20

// policy is what a route asks of a canonical answer on its way out.
type policy struct {
	strip    bool // drop reasoning parts: the client does not see them
	keepText bool // record the answer's text, for shadow comparisons
}

func routePolicy(rt *router.Route) policy {
	return policy{strip: rt.StripReasoning, keepText: len(rt.Shadows) > 0}
}

// tap passes a canonical stream through on its way to the client's
// encoder. It records the answer's reasoning for the request log (and its
// text when asked), and drops reasoning parts (renumbering the rest) when
// the route strips reasoning: the log keeps what the client does not see.
type tap struct {
	src llm.Stream
	policy

	text, reasoning strings.Builder
	meter           llm.Meter    // sees every event, stripped ones too: they are billed
	part            llm.PartType // type of the open part
	skipping        bool         // the open part is dropped
	dropped         int          // parts dropped so far
}

func newTap(src llm.Stream, p policy) *tap { return &tap{src: src, policy: p} }

func (t *tap) Next() (llm.Event, error) {
	for {
		ev, err := t.src.Next()
		if err != nil {
			return ev, err
		}
		t.meter.Observe(ev)
		switch ev.Type {
		case llm.EventPartStart:
			t.part = ev.Part.Type
			t.skipping = t.strip && t.part == llm.PartReasoning
		case llm.EventDelta:
			switch t.part {
			case llm.PartText:
				if t.keepText {
					record(&t.text, ev.Text)
				}
			case llm.PartReasoning:
				record(&t.reasoning, ev.Text)
			}
		case llm.EventPartStop:
			if t.skipping {
				t.skipping = false
				t.dropped++
				continue
			}
		}
		if t.skipping {
			continue
		}
		if ev.Type == llm.EventPartStart || ev.Type == llm.EventDelta || ev.Type == llm.EventPartStop {
			ev.Index -= t.dropped
		}
		return ev, nil
	}
}

func (t *tap) Close() error { return t.src.Close() }

func (t *tap) Text() string      { return t.text.String() }
func (t *tap) Reasoning() string { return t.reasoning.String() }

func record(b *strings.Builder, s string) {
	if room := maxRecorded - b.Len(); room > 0 {
		b.WriteString(s[:min(len(s), room)])
	}
}

// tapped is a client-dialect byte stream whose reasoning and text come from
// the tap beneath its encoder (which may have stripped the reasoning).
type tapped struct {
	provider.Stream
	tap *tap
}

func (s *tapped) Reasoning() string { return s.tap.Reasoning() }
func (s *tapped) Text() string      { return s.tap.Text() }
func (s *tapped) Meter() *llm.Meter { return &s.tap.meter }

// encode turns a canonical generation into a reply in the client's
// dialect, whole or streamed, through a tap that applies the route's
// policy.
func encode(enc dialect.Encoding, g *provider.Generation, stream bool, p policy) (*provider.Reply, error) {
	t := newTap(g.Events, p)
	if !stream {
		resp, err := llm.Collect(t)
		if err != nil {
			return nil, err
		}
		return &provider.Reply{Header: g.Header, Body: enc.Body(resp), Usage: resp.Usage, Reasoning: t.Reasoning(), Text: t.Text()}, nil
	}
	return &provider.Reply{Header: g.Header, Stream: &tapped{Stream: enc.Stream(t), tap: t}}, nil
}

// replyText is the text of a whole reply, for shadow comparisons.
func replyText(d dialect.Dialect, r *provider.Reply) string {
	if r.Text != "" {
		return r.Text
	}
	return d.Text(r.Body)
}

// textRecorder collects a streamed answer's text for shadow comparisons:
// from the tap when the stream was encoded from canonical events, else
// from the dialect's frames.
type textRecorder struct {
	tap *tapped
	d   dialect.Dialect
	b   strings.Builder
}

func newTextRecorder(d dialect.Dialect, st provider.Stream) *textRecorder {
	return &textRecorder{tap: tapOf(st), d: d}
}

func (t *textRecorder) add(chunk []byte) {
	if t.tap == nil {
		t.b.WriteString(t.d.ChunkText(chunk))
	}
}

func (t *textRecorder) String() string {
	if t.tap != nil {
		return t.tap.Text()
	}
	return t.b.String()
}

// tapOf finds the tapped stream beneath the router's wrappers, if any.
func tapOf(st provider.Stream) *tapped {
	for {
		switch s := st.(type) {
		case *tapped:
			return s
		case interface{ Unwrap() provider.Stream }:
			st = s.Unwrap()
		default:
			return nil
		}
	}
}
