package anthropic

import (
	"context"
	"net/http"

	"github.com/switchyard-ai/switchyard/internal/provider"
	"github.com/switchyard-ai/switchyard/internal/provider/upstream"
)

// ListModels implements provider.ModelLister with GET /v1/models, one page
// of up to 1000 (docs/protocols.md#anthropic-endpoints).
func (p *Provider) ListModels(ctx context.Context) ([]string, error) {
	if !p.cfg.ListModels {
		return nil, provider.ErrNotListed
	}
	var page struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	call := upstream.Call{Client: p.client, Provider: p.cfg.Name, Timeout: p.cfg.Timeout, URL: p.base + "/v1/models?limit=1000", Header: p.cfg.Headers,
		Auth: func(h http.Header) { p.setHeaders(h, p.version(), nil) }} // no client betas: the version and the key
	if err := upstream.GetJSON(ctx, call, &page); err != nil {
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
