package deepseek_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/switchyard-ai/switchyard/internal/config"
	"github.com/switchyard-ai/switchyard/internal/fakeupstream"
	"github.com/switchyard-ai/switchyard/internal/llm"
	_ "github.com/switchyard-ai/switchyard/internal/provider/deepseek"
	pt "github.com/switchyard-ai/switchyard/internal/provider/providertest"
)

var cfg = config.Provider{Type: "deepseek"}

func TestReasonerStream(t *testing.T) {
	res := pt.Chat(t, cfg, pt.Transcript(t, "deepseek-reasoner-stream.sse"),
		`{"model":"deepseek/deepseek-reasoner","messages":[{"role":"user","content":"hi"}],"stream":true}`)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	want := llm.Usage{InputTokens: 6, OutputTokens: 212, ReasoningTokens: 198}
	if res.Usage != want {
		t.Errorf("usage = %+v, want %+v", res.Usage, want)
	}
	if len(res.Reasoning) < 100 {
		t.Errorf("reasoning not captured: %q", res.Reasoning)
	}
	// Usage rides on the last content chunk, which must reach the client.
	if !bytes.Equal(res.Out, pt.Body(t, "deepseek-reasoner-stream.sse")) {
		t.Error("stream changed in transit")
	}
	if res.Sent.Path != "/chat/completions" {
		t.Errorf("path %s", res.Sent.Path)
	}
}

func TestToolCallStreamCachedTokens(t *testing.T) {
	res := pt.Chat(t, cfg, pt.Transcript(t, "deepseek-reasoner-stream-tool-call.chunks.jsonl"),
		`{"model":"deepseek-reasoner","messages":[{"role":"user","content":"hi"}],"stream":true}`)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if res.Usage.CachedInputTokens != 320 {
		t.Errorf("usage = %+v", res.Usage)
	}
}

func TestNonStream(t *testing.T) {
	res := pt.Chat(t, cfg, pt.Transcript(t, "deepseek-reasoner.json"), `{"model":"deepseek-reasoner","messages":[{"role":"user","content":"hi"}],"max_completion_tokens":9}`)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if res.Reasoning == "" || !bytes.Equal(res.Out, pt.Body(t, "deepseek-reasoner.json")) {
		t.Errorf("reasoning %q; body changed: %v", res.Reasoning, !bytes.Equal(res.Out, pt.Body(t, "deepseek-reasoner.json")))
	}
	if !bytes.Contains(res.Sent.Body, []byte(`"max_tokens":9`)) {
		t.Errorf("max_completion_tokens not renamed: %s", res.Sent.Body)
	}
}

// DeepSeek holds queued connections open with ": keep-alive" comments; they
// pass through (keeping the client's connection alive too) without
// disturbing the stream.
func TestKeepAlive(t *testing.T) {
	s := fakeupstream.TextStream(3, "x", false)
	s.Body = append([]byte(": keep-alive\n\n: keep-alive\n\n"), s.Body...)
	res := pt.Chat(t, cfg, s, `{"model":"deepseek-chat","messages":[{"role":"user","content":"hi"}],"stream":true}`)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if !strings.HasPrefix(string(res.Out), ": keep-alive\n\n") || !bytes.HasSuffix(res.Out, []byte("data: [DONE]\n\n")) {
		t.Errorf("out = %q", res.Out)
	}
}
