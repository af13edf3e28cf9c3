// Package llm holds the vendor-neutral types that every ingress dialect and
// provider adapter translates through.
package llm

// Usage is token usage with explicit semantics, whatever the vendor reported.
// Vendors disagree on what their counters include (see docs/protocols.md#map-usage):
// adapters normalise into this shape so that cost and limits never depend on
// which vendor served a request.
type Usage struct {
	// InputTokens is every input token, cached or not.
	InputTokens int64 `json:"input_tokens"`
	// CachedInputTokens is the part of InputTokens read from a prompt cache.
	CachedInputTokens int64 `json:"cached_input_tokens"`
	// CacheWriteTokens is the part of InputTokens written to a prompt cache.
	CacheWriteTokens int64 `json:"cache_write_tokens"`
	// OutputTokens is every generated token, reasoning included.
	OutputTokens int64 `json:"output_tokens"`
	// ReasoningTokens is the part of OutputTokens spent on reasoning.
	ReasoningTokens int64 `json:"reasoning_tokens"`
}

// Total is input plus output tokens.
func (u Usage) Total() int64 { return u.InputTokens + u.OutputTokens }
