package gemini

import (
	"context"
	"slices"
	"strings"

	"github.com/switchyard-ai/switchyard/internal/provider"
	"github.com/switchyard-ai/switchyard/internal/provider/upstream"
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
	call := upstream.Call{Client: a.client, Provider: a.cfg.Name, Timeout: a.cfg.Timeout, URL: prefix + "/models?pageSize=1000", Header: a.cfg.Headers, Auth: a.auth}
	if err := upstream.GetJSON(ctx, call, &list); err != nil {
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
