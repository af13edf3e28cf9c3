// Package azure is the adapter for Azure OpenAI.
//
// Azure serves two surfaces: the classic deployment URLs
// (/openai/deployments/{deployment}/chat/completions?api-version=...), where
// the deployment name stands for the model, and the GA v1 surface
// (/openai/v1/chat/completions) with the model in the body. A provider with
// api_version set uses the first; without it, the second. Both authenticate
// with an "api-key" header.
package azure

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"

	"github.com/switchyard-ai/switchyard/internal/config"
	"github.com/switchyard-ai/switchyard/internal/provider"
	"github.com/switchyard-ai/switchyard/internal/provider/openaicompat"
)

func init() { provider.Register("azure-openai", New) }

// New returns an Azure OpenAI adapter.
func New(cfg config.Provider, opts provider.Options) (provider.Provider, error) {
	return openaicompat.New(cfg, opts, openaicompat.Quirks{
		URL: func(base, op, model string) string {
			base = strings.TrimSuffix(base, "/openai/v1")
			base = strings.TrimSuffix(base, "/openai")
			if cfg.APIVersion != "" {
				return base + "/openai/deployments/" + url.PathEscape(model) + op + "?api-version=" + url.QueryEscape(cfg.APIVersion)
			}
			return base + "/openai/v1" + op
		},
		Auth:  func(h http.Header, key string) { h.Set("Api-Key", key) },
		Chunk: &openaicompat.ChunkQuirk{Match: promptFilterChunk, New: newFilter},
		// Clients name deployments, which the data plane does not list
		// (its /models lists base models); only the management API does.
		NoModelList: cfg.APIVersion != "",
		// The v1 surface serves the Responses API at /openai/v1/responses
		// with the model in the body, as OpenAI does. The classic surface
		// has it at another path and with preview api-versions only, so a
		// provider configured for that surface translates instead.
		Responses: cfg.APIVersion == "",
	})
}

// promptFilterChunk matches Azure's first stream chunk, which has no choices
// and only prompt_filter_results (transcript azure-openai-chat-stream-deployments.sse).
// Clients that index choices[0] crash on it (pydantic-ai #164, langfuse #2833).
func promptFilterChunk(data []byte) bool {
	return bytes.Contains(data, []byte(`"choices":[]`)) && bytes.Contains(data, []byte(`"prompt_filter_results"`))
}

func newFilter() func(map[string]any) bool {
	return func(c map[string]any) bool {
		list, _ := c["choices"].([]any)
		return len(list) > 0 || c["usage"] != nil
	}
}
