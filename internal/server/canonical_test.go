package server

import (
	"reflect"
	"testing"

	"github.com/switchyard-ai/switchyard/internal/llm"
)

func answer() *llm.Response {
	return &llm.Response{
		ID: "r", Model: "m",
		Parts: []llm.Part{
			{Type: llm.PartReasoning, Text: "first I think", Signature: "s", Origin: "anthropic"},
			{Type: llm.PartText, Text: "Paris"},
			{Type: llm.PartReasoning, Redacted: "xx", Origin: "anthropic"},
			{Type: llm.PartToolCall, ToolCall: &llm.ToolCall{ID: "c", Name: "f", Arguments: "{}"}},
		},
		StopReason: llm.StopToolUse,
		Usage:      llm.Usage{InputTokens: 3, OutputTokens: 4},
	}
}

// A stripped route's clients see no reasoning parts, the remaining parts are
// renumbered so the stream stays well formed, and the log keeps the text.
func TestTapStripsReasoning(t *testing.T) {
	tp := newTap(answer().Events(), policy{strip: true, keepText: true})
	got, err := llm.Collect(tp)
	if err != nil {
		t.Fatal(err)
	}
	want := []llm.Part{
		{Type: llm.PartText, Text: "Paris"},
		{Type: llm.PartToolCall, ToolCall: &llm.ToolCall{ID: "c", Name: "f", Arguments: "{}"}},
	}
	if !reflect.DeepEqual(got.Parts, want) {
		t.Fatalf("parts = %+v", got.Parts)
	}
	if tp.Reasoning() != "first I think" || tp.Text() != "Paris" {
		t.Fatalf("recorded reasoning %q text %q", tp.Reasoning(), tp.Text())
	}
	if got.Usage.OutputTokens != 4 || got.StopReason != llm.StopToolUse {
		t.Fatalf("stop = %+v", got)
	}
}

func TestTapPassesReasoning(t *testing.T) {
	tp := newTap(answer().Events(), policy{})
	got, err := llm.Collect(tp)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, answer()) {
		t.Fatalf("got %+v", got)
	}
	if tp.Reasoning() != "first I think" {
		t.Fatalf("recorded reasoning %q", tp.Reasoning())
	}
	// Text is kept only for routes with shadows.
	if tp.Text() != "" {
		t.Fatalf("recorded text %q without keepText", tp.Text())
	}
}
