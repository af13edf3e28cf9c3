package llm

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

func TestEventsRoundTrip(t *testing.T) {
	want := &Response{
		ID: "msg_1", Model: "m",
		Parts: []Part{
			{Type: PartReasoning, Text: "think", Signature: "sig==", Origin: "anthropic"},
			{Type: PartReasoning, Redacted: "opaque", Origin: "anthropic"},
			{Type: PartText, Text: "hello"},
			{Type: PartToolCall, ToolCall: &ToolCall{ID: "c1", Name: "f", Arguments: `{"a":1}`, Signature: "g", Origin: "gemini"}},
			{Type: PartToolCall, ToolCall: &ToolCall{ID: "c2", Name: "g", Arguments: ""}},
		},
		StopReason: StopToolUse,
		Usage:      Usage{InputTokens: 10, OutputTokens: 5},
	}
	got, err := Collect(want.Events())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, want)
	}
	if got.Text() != "hello" || got.Reasoning() != "think" {
		t.Fatalf("Text %q Reasoning %q", got.Text(), got.Reasoning())
	}
}

func TestAccumulatorRejectsBadOrder(t *testing.T) {
	text := &Part{Type: PartText}
	for _, tt := range []struct {
		name string
		evs  []Event
		want string
	}{
		{"delta before start of part", []Event{{Type: EventStart}, {Type: EventDelta, Index: 0, Text: "x"}}, "delta for part 0"},
		{"overlapping parts", []Event{{Type: EventStart}, {Type: EventPartStart, Part: text}, {Type: EventPartStart, Index: 1, Part: text}}, "part_start 1"},
		{"skipped index", []Event{{Type: EventStart}, {Type: EventPartStart, Index: 1, Part: text}}, "part_start 1"},
		{"stop with open part", []Event{{Type: EventStart}, {Type: EventPartStart, Part: text}, {Type: EventStop}}, "stop with part 0 open"},
		{"event after stop", []Event{{Type: EventStart}, {Type: EventStop}, {Type: EventStart}}, "start after stop"},
		{"second start", []Event{{Type: EventStart, ID: "a"}, {Type: EventStart}}, "second start"},
		{"part start without part", []Event{{Type: EventStart}, {Type: EventPartStart}}, "part_start 0"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var a Accumulator
			var err error
			for _, ev := range tt.evs {
				if err = a.Add(ev); err != nil {
					break
				}
			}
			if !errors.Is(err, errOrder) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

type failing struct{ evs []Event }

func (f *failing) Next() (Event, error) {
	if len(f.evs) == 0 {
		return Event{}, io.EOF
	}
	ev := f.evs[0]
	f.evs = f.evs[1:]
	return ev, nil
}
func (f *failing) Close() error { return nil }

func TestCollectCutStream(t *testing.T) {
	_, err := Collect(&failing{evs: []Event{{Type: EventStart}, {Type: EventPartStart, Part: &Part{Type: PartText}}}})
	var e *Error
	if !errors.As(err, &e) || e.Class != "stream_cut" {
		t.Fatalf("err = %v, want a stream_cut *Error", err)
	}
}

func TestUsesCacheControl(t *testing.T) {
	mark := []byte(`{"type":"ephemeral"}`)
	for _, tt := range []struct {
		name string
		r    Request
		want bool
	}{
		{"none", Request{Messages: []Message{{Role: RoleUser, Parts: []Part{{Type: PartText, Text: "hi"}}}}}, false},
		{"system", Request{System: []Part{{Type: PartText, Text: "s", CacheControl: mark}}}, true},
		{"message", Request{Messages: []Message{{Role: RoleUser, Parts: []Part{{Type: PartText, Text: "hi", CacheControl: mark}}}}}, true},
		{"tool result content", Request{Messages: []Message{{Role: RoleUser, Parts: []Part{{Type: PartToolResult,
			ToolResult: &ToolResult{CallID: "c", Content: []Part{{Type: PartText, Text: "r", CacheControl: mark}}}}}}}}, true},
		{"tool", Request{Tools: []Tool{{Name: "f", CacheControl: mark}}}, true},
	} {
		if got := tt.r.UsesCacheControl(); got != tt.want {
			t.Errorf("%s: %v", tt.name, got)
		}
	}
}
