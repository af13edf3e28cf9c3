package gemini

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/switchyard-ai/switchyard/internal/provider"
)

// ListModels implements provider.ModelLister with the Developer API's GET
// /{version}/models, keeping the models that generate content (not the
// embedding-only ones) under the names clients use, without "models/".
// Vertex AI lists publisher models elsewhere; it is not asked.
func (a *Adapter) ListModels(ctx context.Context) ([]string, error) {
	if !a.cfg.ListModels || a.vertex {
		return nil, provider.ErrNotListed
	}
	prefix := a.base
	if !a.versioned {
		prefix += "/" + a.version
	}
	var list struct {
		Models []struct {
			Name    string   `json:"name"`
			Methods []string `json:"supportedGenerationMethods"`
		} `json:"models"`
	}
	header := func(h http.Header) {
		for k, v := range a.cfg.Headers {
			h.Set(k, v)
		}
		a.auth(h)
	}
	if err := provider.GetJSON(ctx, a.client, prefix+"/models?pageSize=1000", header, &list); err != nil {
		return nil, err
	}
	var ids []string
	for _, m := range list.Models {
		if id := strings.TrimPrefix(m.Name, "models/"); id != "" && slices.Contains(m.Methods, "generateContent") {
			ids = append(ids, id)
		}
	}
	return ids, nil
}
