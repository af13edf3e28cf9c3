package anthropic

import (
	"context"
	"net/http"

	"github.com/switchyard-ai/switchyard/internal/provider"
)

// ListModels implements provider.ModelLister with GET /v1/models, one page
// of up to 1000 (PROTOCOLS.md section 5).
func (p *Provider) ListModels(ctx context.Context) ([]string, error) {
	if !p.cfg.ListModels {
		return nil, provider.ErrNotListed
	}
	var page struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	header := func(h http.Header) {
		for k, v := range p.cfg.Headers {
			h.Set(k, v)
		}
		h.Set("Anthropic-Version", p.version())
		if p.cfg.APIKey != "" {
			h.Set("X-Api-Key", p.cfg.APIKey)
		}
	}
	if err := provider.GetJSON(ctx, p.client, p.base+"/v1/models?limit=1000", header, &page); err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(page.Data))
	for _, m := range page.Data {
		if m.ID != "" {
			ids = append(ids, m.ID)
		}
	}
	return ids, nil
}
