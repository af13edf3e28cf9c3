// Package deepseek is the adapter for DeepSeek's API.
//
// DeepSeek streams reasoning as delta.reasoning_content (the name the gateway
// uses for every vendor), reports cached input as prompt_cache_hit_tokens,
// sends ": keep-alive" comments while queued, and puts usage on its last
// content chunk. None of that needs rewriting; what does is the request.
package deepseek

import (
	"github.com/switchyard-ai/switchyard/internal/config"
	"github.com/switchyard-ai/switchyard/internal/jsonobj"
	"github.com/switchyard-ai/switchyard/internal/provider"
	"github.com/switchyard-ai/switchyard/internal/provider/openaicompat"
)

func init() { provider.Register("deepseek", New) }

// New returns a DeepSeek adapter.
func New(cfg config.Provider, opts provider.Options) (provider.Provider, error) {
	return openaicompat.New(cfg, opts, openaicompat.Quirks{
		BaseURL:      "https://api.deepseek.com",
		PrepareChat:  PrepareChat,
		NoEmbeddings: true,
		// DeepSeek answers 400 "Missing reasoning_content field" when a
		// thinking-mode tool-call turn is replayed without it.
		ReasoningField: "reasoning_content",
	})
}

// PrepareChat maps OpenAI's newer max_completion_tokens to the max_tokens
// DeepSeek reads, and drops metadata (OpenAI's stored-completions field; the
// gateway keeps it in its own request log).
func PrepareChat(model string, body *jsonobj.Object) (openaicompat.Notes, error) {
	var n openaicompat.Notes
	if !body.Has("max_tokens") {
		n.Rename(body, "max_completion_tokens", "max_tokens")
	}
	n.Drop(body, "metadata")
	return n, nil
}
