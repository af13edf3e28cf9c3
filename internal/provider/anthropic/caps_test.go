package anthropic_test

import (
	"encoding/json"
	"testing"

	"github.com/switchyard-ai/switchyard/internal/anthropicwire"
	"github.com/switchyard-ai/switchyard/internal/provider/providertest"
)

// Claude Code asks every model for max_tokens 32000 and adaptive thinking:
// an older Claude is sent the bound it accepts and no thinking, and the
// client is told; a current one is sent the request as it came.
func TestCapabilities(t *testing.T) {
	for _, tt := range []struct {
		model              string
		maxTokens          int
		thinking           bool
		dropped, rewritten string
	}{
		{"claude-3-5-haiku-20241022", 8192, false, "reasoning", "max_tokens"},
		{"claude-sonnet-4-5-20250929", 32000, true, "", ""},
	} {
		t.Run(tt.model, func(t *testing.T) {
			req, err := anthropicwire.DecodeRequest([]byte(`{"model":"`+tt.model+`","max_tokens":32000,
				"thinking":{"type":"adaptive"},"messages":[{"role":"user","content":"hi"}]}`), nil)
			if err != nil {
				t.Fatal(err)
			}
			res := providertest.Generate(t, cfg(), path, providertest.Transcript(t, "anthropic-message-thinking.json"), req)
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			var sent struct {
				MaxTokens int             `json:"max_tokens"`
				Thinking  json.RawMessage `json:"thinking"`
			}
			if err := json.Unmarshal(res.Sent.Body, &sent); err != nil {
				t.Fatal(err)
			}
			if sent.MaxTokens != tt.maxTokens || (sent.Thinking != nil) != tt.thinking {
				t.Errorf("sent %s", res.Sent.Body)
			}
			if got := res.Header.Get("X-Switchyard-Dropped-Params"); got != tt.dropped {
				t.Errorf("dropped %q, want %q", got, tt.dropped)
			}
			if got := res.Header.Get("X-Switchyard-Rewritten-Params"); got != tt.rewritten {
				t.Errorf("rewritten %q, want %q", got, tt.rewritten)
			}
		})
	}
}
