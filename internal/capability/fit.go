package capability

import "github.com/switchyard-ai/switchyard/internal/llm"

// Changes lists what Fit changed, by parameter name, for the
// x-switchyard-dropped-params and x-switchyard-rewritten-params headers.
type Changes struct {
	Dropped   []string
	Rewritten []string
}

// Fit returns req as model can take it, for adapters that encode from the
// canonical request: reasoning settings are dropped for a model without
// reasoning ("reasoning"), temperature and top_p for a model that refuses
// them, and MaxTokens above the model's limit is lowered to it
// ("max_tokens", rewritten). req itself is not changed; when nothing
// needs to change, Fit returns it as it is. A request that asks for no
// reasoning from a model without any is already satisfied, so its
// reasoning settings go without a note.
func Fit(req *llm.Request, model string) (*llm.Request, Changes) {
	var c Changes
	m, ok := Lookup(model)
	if !ok {
		return req, c
	}
	r := *req // shallow: only top-level fields change
	if rs := r.Reasoning; rs != nil && !m.TakesReasoning() {
		r.Reasoning = nil
		if !rs.Disabled && rs.Effort != "none" {
			c.Dropped = append(c.Dropped, "reasoning")
		}
	}
	if m.RejectsSampling {
		if r.Temperature != nil {
			r.Temperature, c.Dropped = nil, append(c.Dropped, "temperature")
		}
		if r.TopP != nil {
			r.TopP, c.Dropped = nil, append(c.Dropped, "top_p")
		}
	}
	if n, lowered := m.ClampOutput(r.MaxTokens); lowered {
		r.MaxTokens, c.Rewritten = n, append(c.Rewritten, "max_tokens")
	}
	if len(c.Dropped) == 0 && len(c.Rewritten) == 0 && r.Reasoning == req.Reasoning {
		return req, c
	}
	return &r, c
}
