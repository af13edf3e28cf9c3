package llm

import (
	"strings"
	"testing"
)

func TestMeter(t *testing.T) {
	var m Meter
	for _, ev := range []Event{
		{Type: EventStart, Usage: &Usage{InputTokens: 43}},
		{Type: EventPartStart, Part: &Part{Type: PartReasoning}},
		{Type: EventDelta, Text: "think"},
		{Type: EventPartStop},
		{Type: EventPartStart, Part: &Part{Type: PartToolCall, ToolCall: &ToolCall{Name: "f"}}},
		{Type: EventDelta, Arguments: `{"a":1}`, Signature: "opaque"},
	} {
		m.Observe(ev)
	}
	// Cut here: the input count of the start, no final usage.
	if text, _ := m.Text(); text != `thinkf{"a":1}` || m.Finished() || m.Final() || m.Usage().InputTokens != 43 {
		t.Fatalf("text %q, finished %v, final %v, usage %+v", text, m.Finished(), m.Final(), m.Usage())
	}
	// A stop whose usage is zero is no report of it.
	m.Observe(Event{Type: EventStop, Usage: &Usage{}})
	if !m.Finished() || m.Final() {
		t.Fatalf("after an empty stop: finished %v, final %v", m.Finished(), m.Final())
	}
	m.Observe(Event{Type: EventStop, Usage: &Usage{InputTokens: 43, OutputTokens: 9}})
	if !m.Final() || m.Usage().OutputTokens != 9 {
		t.Fatalf("after the stop: final %v, usage %+v", m.Final(), m.Usage())
	}
	// Text past the bound is counted, not kept.
	var big Meter
	big.Output(strings.Repeat("x", maxMetered+10))
	if text, n := big.Text(); len(text) != maxMetered || n != maxMetered+10 {
		t.Errorf("kept %d of %d bytes", len(text), n)
	}
}
