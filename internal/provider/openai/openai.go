// Package openai is the adapter for OpenAI's own API.
package openai

import (
	"strings"

	"github.com/switchyard-ai/switchyard/internal/config"
	"github.com/switchyard-ai/switchyard/internal/jsonobj"
	"github.com/switchyard-ai/switchyard/internal/provider"
	"github.com/switchyard-ai/switchyard/internal/provider/openaicompat"
)

func init() { provider.Register("openai", New) }

// New returns an OpenAI adapter.
func New(cfg config.Provider, opts provider.Options) (provider.Provider, error) {
	return openaicompat.New(cfg, opts, openaicompat.Quirks{
		BaseURL:     "https://api.openai.com/v1",
		PrepareChat: PrepareChat,
		Responses:   true,
	})
}

// PrepareChat renames max_tokens for reasoning models, which reject it with
// 400 unsupported_parameter (transcript openai-error-400-unsupported-parameter.json)
// and accept max_completion_tokens with the same meaning.
func PrepareChat(model string, body *jsonobj.Object) (openaicompat.Notes, error) {
	var n openaicompat.Notes
	if IsReasoningModel(model) && !body.Has("max_completion_tokens") {
		n.Rename(body, "max_tokens", "max_completion_tokens")
	}
	return n, nil
}

// IsReasoningModel reports whether model is one of OpenAI's reasoning models
// (o-series, gpt-5 family).
func IsReasoningModel(model string) bool {
	for _, p := range []string{"o1", "o3", "o4", "gpt-5"} {
		if model == p || strings.HasPrefix(model, p+"-") || strings.HasPrefix(model, p+".") {
			return true
		}
	}
	return false
}
