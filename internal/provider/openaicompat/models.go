package openaicompat

import (
	"context"

	"github.com/switchyard-ai/switchyard/internal/provider"
	"github.com/switchyard-ai/switchyard/internal/provider/upstream"
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
	call := upstream.Call{Client: a.client, Provider: a.cfg.Name, Timeout: a.cfg.Timeout, URL: url, Header: a.cfg.Headers, Auth: a.auth}
	if err := upstream.GetJSON(ctx, call, &list); err != nil {
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
