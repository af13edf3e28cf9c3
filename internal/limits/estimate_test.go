package limits_test

import (
	"strings"
	"testing"

	"github.com/switchyard-ai/switchyard/internal/limits"
	"github.com/switchyard-ai/switchyard/internal/llm"
)

func TestTextTokens(t *testing.T) {
	for _, tc := range []struct {
		typ, model, text string
		want             int64
	}{
		// o200k_base counts, as OpenAI's tiktoken gives them.
		{"openai", "gpt-4o", "hello world", 2},
		{"azure-openai", "my-deployment", "The quick brown fox jumps over the lazy dog.", 10},
		{"openai-compatible", "openai/gpt-oss-120b", "hello world", 2},
		// Published ratios elsewhere: 3.5 bytes for Claude, 4 for Gemini.
		{"anthropic", "claude-sonnet-4-5", strings.Repeat("x", 35), 10},
		{"gemini", "gemini-2.5-flash", strings.Repeat("x", 40), 10},
		{"deepseek", "deepseek-chat", strings.Repeat("x", 33), 10},
		{"openai", "gpt-4o", "", 0},
		{"anthropic", "claude", "a", 1},
	} {
		if got := limits.TextTokens(tc.typ, tc.model, tc.text); got != tc.want {
			t.Errorf("TextTokens(%s, %s, %q) = %d, want %d", tc.typ, tc.model, tc.text, got, tc.want)
		}
	}
	// Past the tokenized bound the rest is counted at the same ratio.
	long := strings.Repeat("hello world ", 50000) // 600 kB, 2 tokens per 12 bytes
	got := limits.TextTokens("openai", "gpt-4o", long)
	if want := int64(len(long) / 6); got < want*95/100 || got > want*105/100 {
		t.Errorf("600 kB of text: %d tokens, want about %d", got, want)
	}
}

func TestInputTokens(t *testing.T) {
	req := &llm.Request{
		System: []llm.Part{{Type: llm.PartText, Text: "hello world"}},
		Messages: []llm.Message{
			{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: "hello world"}, {Type: llm.PartImage, Image: &llm.Image{URL: "https://x/y.png"}}}},
			{Role: llm.RoleAssistant, Parts: []llm.Part{{Type: llm.PartToolCall, ToolCall: &llm.ToolCall{Name: "f", Arguments: "{}"}}}},
		},
	}
	// Two prompts of 2 tokens, "f{}" (2), three messages framed at 4, the
	// reply's 3, one image at 1,600.
	if got, want := limits.InputTokens("openai", "gpt-4o", req), int64(2+2+2+3*4+3+1600); got != want {
		t.Errorf("InputTokens = %d, want %d", got, want)
	}
	// The reservation bound: 25 bytes of text at 3 bytes a token.
	if got, want := limits.MaxInputTokens(req), int64(9+3*4+3+1600); got != want {
		t.Errorf("MaxInputTokens = %d, want %d", got, want)
	}
	// The bound is above what the tokenizer counts for prose and code.
	for _, text := range []string{
		strings.Repeat("The gateway reserves a request's worst case before it calls the vendor. ", 40),
		strings.Repeat("func (s *Server) reserve(ctx context.Context, w http.ResponseWriter) error { return nil }\n", 40),
		strings.Repeat("网关在调用供应商之前预留请求的最坏情况。", 40),
	} {
		r := &llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: text}}}}}
		if bound, n := limits.MaxInputTokens(r), limits.InputTokens("openai", "gpt-4o", r); bound < n {
			t.Errorf("bound %d below the count %d for %.30q…", bound, n, text)
		}
	}
}
