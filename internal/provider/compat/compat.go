// Package compat is the adapter for any other server that speaks the OpenAI
// wire format: vLLM, Ollama, llama.cpp server, Together, Groq, an in-house
// model. It needs a base_url.
//
// Reasoning arrives as reasoning_content (vLLM's old name, llama.cpp), as
// reasoning (vLLM's new name, Ollama) — both handled by openaicompat for
// every vendor — or as <think> tags in the content, which the provider's
// "reasoning: think-tags" option turns into reasoning_content.
package compat

import (
	"github.com/switchyard-ai/switchyard/internal/config"
	"github.com/switchyard-ai/switchyard/internal/jsonobj"
	"github.com/switchyard-ai/switchyard/internal/provider"
	"github.com/switchyard-ai/switchyard/internal/provider/openaicompat"
)

func init() { provider.Register("openai-compatible", New) }

// New returns an adapter for an OpenAI-compatible server.
func New(cfg config.Provider, opts provider.Options) (provider.Provider, error) {
	return openaicompat.New(cfg, opts, openaicompat.Quirks{
		PrepareChat: func(model string, body *jsonobj.Object) (openaicompat.Notes, error) {
			var n openaicompat.Notes
			// metadata is OpenAI's stored-completions field, which strict
			// servers reject; the gateway keeps it in its own request log.
			n.Drop(body, "metadata")
			return n, nil
		},
		// The name vLLM (before its rename), llama.cpp and SGLang read;
		// servers that know neither ignore the field.
		ReasoningField: "reasoning_content",
		// Many open models' chat templates refuse a system message after
		// the first turn (they raise an error such as "System role must
		// be at the beginning"), so inline system text goes first.
		LeadingSystemOnly: true,
	})
}
