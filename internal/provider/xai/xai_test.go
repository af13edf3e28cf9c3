package xai_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/switchyard-ai/switchyard/internal/config"
	"github.com/switchyard-ai/switchyard/internal/fakeupstream"
	"github.com/switchyard-ai/switchyard/internal/llm"
	pt "github.com/switchyard-ai/switchyard/internal/provider/providertest"
	_ "github.com/switchyard-ai/switchyard/internal/provider/xai"
)

var cfg = config.Provider{Type: "xai"}

func TestReasoningAndUsage(t *testing.T) {
	body := `{"model":"xai/grok-3-mini","messages":[{"role":"user","content":"weather?"}],"stream":true,"stream_options":{"include_usage":true},"metadata":{"app":"x"}}`
	res := pt.Chat(t, cfg, pt.Transcript(t, "xai-chat-stream-tool-call.chunks.jsonl"), body)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	// xAI's completion_tokens exclude reasoning: 26 + 227 reasoning.
	want := llm.Usage{InputTokens: 307, CachedInputTokens: 306, OutputTokens: 253, ReasoningTokens: 227}
	if res.Usage != want {
		t.Errorf("usage = %+v, want %+v", res.Usage, want)
	}
	// The client sees OpenAI's semantics too.
	if !bytes.Contains(res.Out, []byte(`"completion_tokens":253`)) {
		t.Error("client usage not normalised")
	}
	if !strings.HasPrefix(res.Reasoning, "First, the user") && res.Reasoning == "" {
		t.Error("reasoning not captured")
	}
	if bytes.Contains(res.Sent.Body, []byte("metadata")) || res.Header.Get("X-Switchyard-Dropped-Params") != "metadata" {
		t.Errorf("metadata not dropped with a note: %s / %v", res.Sent.Body, res.Header)
	}
	pt.Golden(t, "tool-call.golden", res.Out)
}

func TestErrorBody(t *testing.T) {
	r := fakeupstream.Response{Status: 400, ContentType: "application/json",
		Body: []byte(`{"code":"Client specified an invalid argument","error":"Model grok-9 does not exist"}`)}
	res := pt.Chat(t, cfg, r, `{"model":"grok-9","messages":[{"role":"user","content":"hi"}]}`)
	if res.Err == nil || res.Err.HTTPStatus() != 400 || res.Err.Message != "Model grok-9 does not exist" {
		t.Fatalf("err = %+v", res.Err)
	}
}

func TestNonStreamUsage(t *testing.T) {
	c := fakeupstream.TextCompletion("hello")
	var m map[string]any
	json.Unmarshal(c.Body, &m)
	m["usage"] = map[string]any{"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 35,
		"completion_tokens_details": map[string]any{"reasoning_tokens": 20}}
	c.Body, _ = json.Marshal(m)
	res := pt.Chat(t, cfg, c, `{"model":"grok-3-mini","messages":[{"role":"user","content":"hi"}]}`)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if res.Usage.OutputTokens != 25 || !bytes.Contains(res.Out, []byte(`"completion_tokens":25`)) {
		t.Errorf("usage = %+v body %s", res.Usage, res.Out)
	}
}
