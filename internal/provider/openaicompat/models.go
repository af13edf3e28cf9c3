package openaicompat

import (
	"context"
	"net/http"

	"github.com/switchyard-ai/switchyard/internal/provider"
)

// ListModels implements provider.ModelLister with GET {base}/models, which
// OpenAI, xAI, DeepSeek, Mistral and most OpenAI-compatible servers
// (vLLM, Ollama, llama.cpp) answer in OpenAI's shape.
func (a *Adapter) ListModels(ctx context.Context) ([]string, error) {
	if !a.cfg.ListModels || a.q.NoModelList {
		return nil, provider.ErrNotListed
	}
	url := a.base + "/models"
	if a.q.URL != nil {
		url = a.q.URL(a.base, "/models", "")
	}
	var list struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	header := func(h http.Header) {
		for k, v := range a.cfg.Headers {
			h.Set(k, v)
		}
		a.auth(h)
	}
	if err := provider.GetJSON(ctx, a.client, url, header, &list); err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(list.Data))
	for _, m := range list.Data {
		if m.ID != "" {
			ids = append(ids, m.ID)
		}
	}
	return ids, nil
}
