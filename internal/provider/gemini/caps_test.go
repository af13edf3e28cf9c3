package gemini_test

import (
	"encoding/json"
	"testing"

	"github.com/switchyard-ai/switchyard/internal/llm"
	pt "github.com/switchyard-ai/switchyard/internal/provider/providertest"
)

// The capability table on the Gemini path: no thinkingConfig for a model
// without thinking, and an output bound above the model's limit lowered.
func TestCapabilities(t *testing.T) {
	for _, tt := range []struct {
		model              string
		maxTokens, want    int
		thinking           bool
		dropped, rewritten string
	}{
		{"gemini-2.0-flash-lite", 32000, 8192, false, "reasoning", "max_tokens"},
		{"gemini-2.5-pro", 100000, 65536, true, "", "max_tokens"},
		{"gemini-2.5-pro", 1000, 1000, true, "", ""},
		{"gemini-experimental-x", 100000, 100000, true, "", ""}, // unknown: sent as asked
	} {
		t.Run(tt.model, func(t *testing.T) {
			req := userText(tt.model, "hi", true)
			req.MaxTokens = tt.maxTokens
			req.Reasoning = &llm.Reasoning{Effort: "high"}
			res := pt.Generate(t, cfg, ":streamGenerateContent", pt.Transcript(t, "gemini-stream-text.sse"), req)
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			var sent struct {
				GenerationConfig struct {
					MaxOutputTokens int             `json:"maxOutputTokens"`
					ThinkingConfig  json.RawMessage `json:"thinkingConfig"`
				} `json:"generationConfig"`
			}
			if err := json.Unmarshal(res.Sent.Body, &sent); err != nil {
				t.Fatal(err)
			}
			gc := sent.GenerationConfig
			if gc.MaxOutputTokens != tt.want || (gc.ThinkingConfig != nil) != tt.thinking {
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
